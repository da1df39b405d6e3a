// SPDX-License-Identifier: Apache-2.0
// hooks/wrap_periodic: WrapPeriodicHook, which wraps positions into the cell and counts images.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "batchmd/dynamics/dynamics.hpp"

namespace batchmd::hooks {

namespace detail {
class DeviceSlots;
}

/// Wraps each atom's position into its system's cell along the periodic directions (any
/// triclinic cell, via fractional coordinates: x = f · cell with cell rows a, b, c; each periodic
/// f_k is brought into [0, 1)), and keeps per-atom integer image counts in the int32 [n,3] atom
/// field "images" (added, zero, if absent) so that
///     unwrapped = positions + images · cell
/// stays continuous. Atoms already inside are left bitwise unchanged; a moved atom is shifted by
/// whole lattice vectors, so forces (and the Lennard-Jones neighbor list) are unaffected.
/// Open directions and systems without pbc are untouched.
/// Default stage AFTER_POST_UPDATE (after the integrator finished the step, before AFTER_STEP
/// hooks such as snapshots), every `frequency` steps; open() wraps the starting positions.
/// Reads "cell", "pbc"; reads/writes "positions", "images".
/// Errors: InvalidArgument for a periodic system whose cell is singular, or an "images" field
/// that is not int32 [n,3].
/// On a GPU batch the hook runs two kernels on the compute stream (per-system frames, per-atom
/// wrap) and never waits for the GPU: the moved-atom count stays on the device until
/// last_moved() asks for it, and a singular cell found during the run is reported at the hook's
/// next firing after the GPU got there, or at close() (open() and wrap() check at once).
class WrapPeriodicHook : public dynamics::Hook {
 public:
  explicit WrapPeriodicHook(std::int64_t frequency = 1, dynamics::Stage stage = dynamics::Stage::AFTER_POST_UPDATE);
  std::string name() const override { return "WrapPeriodicHook"; }
  dynamics::Stage stage() const override { return stage_; }
  std::int64_t frequency() const override { return frequency_; }
  void open(dynamics::Context& ctx) override;
  void operator()(dynamics::Context& ctx) override;
  void close(dynamics::Context& ctx) override;
  /// Wraps `batch` in place (on its device; a GPU batch is waited for); returns the number of
  /// atoms moved.
  static std::int64_t wrap(Batch& batch);
  /// positions + images · cell, as float64 [n*3] (positions alone where there is no "images");
  /// a GPU batch is copied to the host first.
  static std::vector<double> unwrapped_positions(const Batch& batch);
  /// Atoms moved by the last call (on a GPU batch: waits for the GPU).
  std::int64_t last_moved() const;

 private:
  void check_singular(const Batch& b, const std::int64_t* slots);
  std::int64_t frequency_;
  dynamics::Stage stage_;
  std::int64_t last_moved_ = 0;
  std::shared_ptr<detail::DeviceSlots> gpu_;  // GPU: [atoms moved by the last call, lowest singular system]
  bool last_on_gpu_ = false;
};

}  // namespace batchmd::hooks
