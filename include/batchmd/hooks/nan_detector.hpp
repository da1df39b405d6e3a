// SPDX-License-Identifier: Apache-2.0
// hooks/nan_detector: NaNDetectorHook, which stops a run at the first NaN/Inf.
#pragma once
#include <cstdint>
#include <string>

#include "batchmd/dynamics/dynamics.hpp"

namespace batchmd::hooks {

/// Checks positions, velocities and forces (atom level) and energy (system level) — those the
/// batch has — for NaN or ±Inf, every `frequency` steps at `stage` (default AFTER_COMPUTE: right
/// after the model, before the integrator spreads a bad force into velocities), and once at
/// open() for the starting state. On a bad value it throws batchmd::NumericalError naming the
/// lowest-indexed bad system (index and system_id), the field, the atom, the value, the stage and
/// the step (Context::step: steps completed before the current one; 0 = the first step), plus how
/// many systems are affected. Reads the four fields; writes nothing.
class NaNDetectorHook : public dynamics::Hook {
 public:
  explicit NaNDetectorHook(std::int64_t frequency = 1, dynamics::Stage stage = dynamics::Stage::AFTER_COMPUTE);
  std::string name() const override { return "NaNDetectorHook"; }
  dynamics::Stage stage() const override { return stage_; }
  std::int64_t frequency() const override { return frequency_; }
  void open(dynamics::Context& ctx) override;
  void operator()(dynamics::Context& ctx) override;
  /// Throws NumericalError (with `where` in the message) if `batch` holds a NaN/Inf.
  static void check(const Batch& batch, const std::string& where);

 private:
  std::int64_t frequency_;
  dynamics::Stage stage_;
};

}  // namespace batchmd::hooks
