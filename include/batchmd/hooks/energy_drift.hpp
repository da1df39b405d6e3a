// SPDX-License-Identifier: Apache-2.0
// hooks/energy_drift: EnergyDriftMonitorHook, which watches each system's total energy.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "batchmd/dynamics/dynamics.hpp"

namespace batchmd::hooks {

enum class DriftAction { Warn, Stop };
/// "warn" or "stop" (InvalidArgument otherwise).
DriftAction drift_action_from_name(std::string_view s);

/// Tracks each system's total energy E = energy + kinetic energy (eV) and its relative drift
/// |E − E0| / |E0| from the first value seen for that system (absolute |E − E0| when E0 == 0).
/// E0 is taken at open() (the starting state) or, for a system first seen later (e.g. a new
/// system in a slot, recognised by its system_id), when the hook first fires for it; references
/// persist across run() calls. Above `threshold`: Warn prints one line to stderr, once per system;
/// Stop throws batchmd::NumericalError naming the system, the drift and the step.
/// Default stage AFTER_STEP (after the step's velocity update, so E is consistent), every
/// `frequency` steps. Reads "energy", "velocities", "masses", "system_id"; writes nothing.
/// On a GPU batch the per-system energies and ids are reduced on the device and read back with
/// one copy per check (the only wait for the GPU; kinetic energies are summed in another order
/// than on the CPU, so they agree to rounding).
class EnergyDriftMonitorHook : public dynamics::Hook {
 public:
  explicit EnergyDriftMonitorHook(double threshold, DriftAction action = DriftAction::Warn, std::int64_t frequency = 1);
  std::string name() const override { return "EnergyDriftMonitorHook"; }
  dynamics::Stage stage() const override { return dynamics::Stage::AFTER_STEP; }
  std::int64_t frequency() const override { return frequency_; }
  void open(dynamics::Context& ctx) override;
  void operator()(dynamics::Context& ctx) override;
  /// Relative drift of each system (by batch index) at the last check.
  const std::vector<double>& drift() const { return drift_; }
  /// Largest drift seen so far over all systems.
  double max_drift() const { return max_drift_; }
  /// Warnings printed so far (at most one per system).
  std::int64_t warnings() const { return warnings_; }

 private:
  void sync_references(const std::vector<double>& e, const std::vector<std::int64_t>& ids);
  double threshold_;
  DriftAction action_;
  std::int64_t frequency_;
  std::vector<double> ref_;             // per batch slot: E0
  std::vector<std::int64_t> ref_id_;    // system_id the reference belongs to
  std::vector<bool> has_ref_, warned_;  // per slot
  std::vector<double> drift_;
  double max_drift_ = 0;
  std::int64_t warnings_ = 0;
};

}  // namespace batchmd::hooks
