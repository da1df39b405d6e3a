// SPDX-License-Identifier: Apache-2.0
// hooks/force_clamp: MaxForceClampHook, which caps the magnitude of every atom's force.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "batchmd/dynamics/dynamics.hpp"

namespace batchmd::hooks {

namespace detail {
class DeviceSlots;
}

/// Scales each atom's force vector down to a magnitude of at most `max_force` (eV/Å), keeping
/// its direction; smaller forces are left bitwise unchanged. Default stage AFTER_COMPUTE, i.e.
/// right after the model and before the integrator's second half update uses the forces.
/// open() also clamps the forces of the starting state (computed by Dynamics::prepare before any
/// hook runs), so the first step's update already sees clamped forces. Register it after hooks
/// that add forces at the same stage (BiasedPotentialHook) so the total force is clamped.
/// Reads/writes: "forces". Errors: InvalidArgument for a max_force that is not finite and > 0.
/// On a GPU batch the clamp is one kernel on the compute stream and the hook never waits for the
/// GPU: the clamped-atom counts are kept on the device and copied only when last_clamped() or
/// total_clamped() is called.
class MaxForceClampHook : public dynamics::Hook {
 public:
  explicit MaxForceClampHook(double max_force, dynamics::Stage stage = dynamics::Stage::AFTER_COMPUTE);
  std::string name() const override { return "MaxForceClampHook(" + std::to_string(max_force_) + " eV/A)"; }
  dynamics::Stage stage() const override { return stage_; }
  void open(dynamics::Context& ctx) override;
  void operator()(dynamics::Context& ctx) override;
  double max_force() const { return max_force_; }
  /// Atoms clamped by the last call, and by all calls (on a GPU batch: waits for the GPU).
  std::int64_t last_clamped() const;
  std::int64_t total_clamped() const;
  /// Clamps the forces of `batch` in place (on its device); returns the number of atoms clamped
  /// (on a GPU batch this waits for the GPU to count them).
  static std::int64_t clamp(Batch& batch, double max_force);

 private:
  double max_force_;
  dynamics::Stage stage_;
  std::int64_t last_clamped_ = 0, total_clamped_ = 0;  // CPU calls (and GPU totals of a left device)
  std::shared_ptr<detail::DeviceSlots> gpu_;           // GPU counters: [last, total]
  bool last_on_gpu_ = false;
};

}  // namespace batchmd::hooks
