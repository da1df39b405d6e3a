// SPDX-License-Identifier: Apache-2.0
// hooks/freeze_atoms: FreezeAtomsHook, which keeps chosen atoms fixed under any integrator.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "batchmd/dynamics/dynamics.hpp"

namespace batchmd::hooks {

/// Keeps frozen atoms exactly in place under any integrator (velocity Verlet, Langevin with its
/// random kicks, FIRE) and any velocity-perturbing hook. Frozen atoms are given either as a mask
/// over the batch's atoms or as the name of a per-atom bool field (e.g. "frozen"), which then
/// travels with its systems when systems are swapped in and out.
///
/// One hook has one stage, so attach() registers a group sharing one state:
///  - at this hook's stage (default BEFORE_PRE_UPDATE, the *capture* stage): find the frozen
///    atoms, record their positions as the reference, zero their velocities and forces;
///  - *pins* at AFTER_PRE_UPDATE, BEFORE_COMPUTE, AFTER_COMPUTE and AFTER_POST_UPDATE: put frozen
///    atoms back at the reference positions and zero their velocities and forces. So the model
///    sees them in place, the integrator's second half update gives them no velocity, and every
///    hook at a later point of the step (snapshots at AFTER_STEP) sees them unmoved.
/// open() also captures (the starting state). Velocity Verlet alone is held by the capture hook
/// (zero velocity and force ⇒ no drift); a thermostat's kicks need the pins. Register attach()
/// before hooks that look at positions, and before WrapPeriodicHook.
/// Reads/writes "positions", "velocities", "forces" of frozen atoms only (the frozen forces read
/// as zero, like a constraint). Errors: InvalidArgument when the mask length is not the number of
/// atoms or the field is missing / not a per-atom bool.
/// On a GPU batch capture and pins are one kernel each over the batch's atoms on the compute
/// stream, with the mask (uploaded once), the captured field and the reference positions kept in
/// device memory; nothing waits for the GPU (n_frozen() does, for the field form).
class FreezeAtomsHook : public dynamics::Hook {
 public:
  static constexpr std::array<dynamics::Stage, 4> kPinStages = {
      dynamics::Stage::AFTER_PRE_UPDATE, dynamics::Stage::BEFORE_COMPUTE, dynamics::Stage::AFTER_COMPUTE,
      dynamics::Stage::AFTER_POST_UPDATE};

  explicit FreezeAtomsHook(std::vector<bool> frozen, dynamics::Stage stage = dynamics::Stage::BEFORE_PRE_UPDATE);
  explicit FreezeAtomsHook(std::string field, dynamics::Stage stage = dynamics::Stage::BEFORE_PRE_UPDATE);

  std::string name() const override;
  dynamics::Stage stage() const override { return stage_; }
  void open(dynamics::Context& ctx) override;
  void operator()(dynamics::Context& ctx) override;

  /// Registers the capture hook (at stage()) and the pins at kPinStages, all sharing this hook's
  /// state (so n_frozen() of this object reflects the run).
  void attach(dynamics::Dynamics& dyn) const;
  /// Frozen atoms found at the last capture.
  std::int64_t n_frozen() const;

 private:
  struct State;
  FreezeAtomsHook(std::shared_ptr<State> state, dynamics::Stage stage, bool capture);
  std::shared_ptr<State> state_;
  dynamics::Stage stage_;
  bool capture_ = true;
};

}  // namespace batchmd::hooks
