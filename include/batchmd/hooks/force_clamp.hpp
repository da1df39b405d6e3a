// hooks/force_clamp: MaxForceClampHook, which caps the magnitude of every atom's force.
#pragma once
#include <cstdint>
#include <string>

#include "batchmd/dynamics/dynamics.hpp"

namespace batchmd::hooks {

/// Scales each atom's force vector down to a magnitude of at most `max_force` (eV/Å), keeping
/// its direction; smaller forces are left bitwise unchanged. Default stage AFTER_COMPUTE, i.e.
/// right after the model and before the integrator's second half update uses the forces.
/// open() also clamps the forces of the starting state (computed by Dynamics::prepare before any
/// hook runs), so the first step's update already sees clamped forces. Register it after hooks
/// that add forces at the same stage (BiasedPotentialHook) so the total force is clamped.
/// Reads/writes: "forces". Errors: InvalidArgument for a max_force that is not finite and > 0.
class MaxForceClampHook : public dynamics::Hook {
 public:
  explicit MaxForceClampHook(double max_force, dynamics::Stage stage = dynamics::Stage::AFTER_COMPUTE);
  std::string name() const override { return "MaxForceClampHook(" + std::to_string(max_force_) + " eV/A)"; }
  dynamics::Stage stage() const override { return stage_; }
  void open(dynamics::Context& ctx) override;
  void operator()(dynamics::Context& ctx) override;
  double max_force() const { return max_force_; }
  /// Atoms clamped by the last call, and by all calls.
  std::int64_t last_clamped() const { return last_clamped_; }
  std::int64_t total_clamped() const { return total_clamped_; }
  /// Clamps the forces of `batch` in place; returns the number of atoms clamped.
  static std::int64_t clamp(Batch& batch, double max_force);

 private:
  double max_force_;
  dynamics::Stage stage_;
  std::int64_t last_clamped_ = 0, total_clamped_ = 0;
};

}  // namespace batchmd::hooks
