// SPDX-License-Identifier: Apache-2.0
// dynamics/dynamics: the step loop with its nine hook stages, the Hook interface and the
// Context hooks see, per-system status and convergence, and VelocityVerlet (NVE; DemoDynamics in
// nvalchemi's naming).
//
// Status and masking. A Dynamics that tracks status (every integrator with a convergence
// criterion, FIRE, FIRE2, Langevin, Nosé–Hoover chain and FusedStage) keeps these system-level
// fields in the batch (added by prepare()):
//   status      int32  stage the system is in: 0 = running; final_status() (1, or the number of
//                      stages of a FusedStage) = finished; finished systems are not updated.
//   stage_step  int64  steps the system has taken in its current stage (reset on stage entry).
//   prev_energy float  energy after the previous step (for the energy-change criterion).
// Each step updates only the systems active at its start (Context::active). The per-system
// "step" field counts the steps a system has actually taken.
//
// GPU batches (batch.is_cuda()). The same step loop runs with every integrator's arithmetic in
// kernels on the device's compute stream; the host never waits for the GPU inside a step except
// once to read the convergence inputs when a criterion that reads forces or energies has
// systems to judge (one small per-system copy; step-count criteria need none). The host decides
// status transitions, so a Dynamics keeps host mirrors of "status" and "stage_step" (see
// host_status) and uploads Context::active to the device only when it changed. Hooks run
// unchanged; a hook that reads a GPU batch's fields on the host must copy them itself.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "batchmd/dynamics/convergence.hpp"
#include "batchmd/model/model.hpp"

namespace batchmd::dynamics {

/// Hook insertion points, in the order they run within one step.
enum class Stage : int {
  BEFORE_STEP = 0,
  BEFORE_PRE_UPDATE,
  AFTER_PRE_UPDATE,
  BEFORE_COMPUTE,
  AFTER_COMPUTE,
  BEFORE_POST_UPDATE,
  AFTER_POST_UPDATE,
  AFTER_STEP,
  ON_CONVERGE,
};
inline constexpr int kNumStages = 9;
std::string_view stage_name(Stage s);
Stage stage_from_name(std::string_view s);

class Dynamics;

/// What a hook sees when it fires.
struct Context {
  Batch& batch;
  model::Model& model;
  Dynamics& dynamics;
  std::int64_t step;  ///< steps completed before the current one (0 during the first step)
  double dt_fs;       ///< time step (fs)
  /// At AFTER_STEP and ON_CONVERGE: systems that converged in this step (one entry per system;
  /// empty when the dynamics has no criterion). Empty at the earlier stages.
  std::vector<bool> newly_converged;
  /// In Hook::close: true when the run ends because a step threw.
  bool failed = false;
  /// Systems updated in this step (1 = updated), fixed at the start of the step; empty = all.
  std::vector<std::uint8_t> active{};
  bool is_active(std::int64_t s) const { return active.empty() || active[static_cast<std::size_t>(s)] != 0; }
  /// For a batch on a GPU: `active` on that device (uint8 per system) for kernels; nullptr when
  /// every system is active (active is empty). Set by Dynamics before the step's first hook.
  const std::uint8_t* active_device = nullptr;
};

/// A callback the step loop runs at one stage of a step (the hook library: docs/hooks.md).
///
/// Contract — what a hook author can rely on without reading Dynamics::step():
///  - When. At stage(), in the steps where Context::step % frequency() == 0, after the hooks
///    registered before it at the same stage. The batch holds, by stage:
///      BEFORE_STEP, BEFORE_PRE_UPDATE  the step's starting state: positions x(t), velocities,
///                                      forces and energy belonging to x(t);
///      AFTER_PRE_UPDATE, BEFORE_COMPUTE the integrator's first half has moved the active systems
///                                      (positions x(t+dt)); forces and energy are stale;
///      AFTER_COMPUTE, BEFORE_POST_UPDATE the model has rewritten energy and forces of every
///                                      system for x(t+dt): the place to change forces (a clamp, a
///                                      bias) before the integrator's second half uses them;
///      AFTER_POST_UPDATE               velocities complete the step; "step" not yet counted;
///      AFTER_STEP                      "step" (and "stage_step") counted for the active systems,
///                                      convergence evaluated ("status", Context::newly_converged):
///                                      the state a snapshot records;
///      ON_CONVERGE                     as AFTER_STEP, only in steps where a system converged.
///  - Fields. A hook may read and write any field at any level (atom [N,...], edge, system
///    [S,...]) in place; what it writes is what the rest of the step sees. A field it adds must
///    have the leading dimension of its level. It must not change the batch's structure (systems,
///    atoms, atoms_ptr) inside a run. It is called for the whole batch; the step moves only the
///    systems in Context::active, and whether a hook skips the others is its own choice (the
///    library's hooks do not).
///  - Device. For a GPU batch the fields live on the device and the step's kernels (integrator,
///    model) are enqueued on its compute stream (cuda::compute_stream(batch.device().index)) in
///    step order. A hook's kernels and copies go on the same stream: then they see everything
///    before them and everything after sees their writes, with no waiting. Reading values on the
///    host (Tensor::to(Device::cpu()), cuda::copy) waits for the GPU; a per-step hook should not.
///    Another stream must be ordered against the compute stream with events.
///  - Errors. Throwing a batchmd::Error stops the run: every opened hook's close() is called with
///    Context::failed set, and run() rethrows the first exception.
///  - Threads. Called on the thread that called run(), never concurrently with the step.
class Hook {
 public:
  virtual ~Hook() = default;
  virtual std::string name() const = 0;
  virtual Stage stage() const = 0;
  /// Fires when step % frequency == 0 (frequency >= 1).
  virtual std::int64_t frequency() const { return 1; }
  /// Called once when a run starts: after prepare() has computed the starting forces, before the
  /// first step (Context::step = steps completed so far).
  virtual void open(Context&) {}
  /// Called once when a run ends, also when it ends with an exception (Context::failed).
  virtual void close(Context&) {}
  /// The hook's work at its stage (see the contract above).
  virtual void operator()(Context& ctx) = 0;
};

/// The step loop. Subclasses supply the integrator's two half updates.
class Dynamics {
 public:
  Dynamics(std::shared_ptr<model::Model> model, double dt_fs);
  virtual ~Dynamics();
  virtual std::string name() const = 0;

  /// Registers a hook; hooks at one stage fire in registration order.
  void register_hook(std::shared_ptr<Hook> hook);
  const std::vector<std::shared_ptr<Hook>>& hooks(Stage s) const { return hooks_[static_cast<std::size_t>(s)]; }

  /// Opens hooks, computes forces for the starting positions, runs n_steps steps (stopping
  /// early if every system converged), then closes hooks — also when a step throws.
  /// Returns the number of steps taken.
  std::int64_t run(Batch& batch, std::int64_t n_steps);
  /// One step (the batch must have been prepared by run() or prepare()).
  void step(Batch& batch);
  /// Adds the fields dynamics needs (velocities, forces, energy, step, system_id) and computes
  /// forces for the current positions (unless assume_forces_current() was called).
  virtual void prepare(Batch& batch);
  /// The batch's forces and energies already belong to its positions (e.g. restored from a
  /// restart snapshot): the next prepare() keeps them instead of recomputing, so a restarted
  /// run continues bitwise like the uninterrupted one.
  void assume_forces_current() { forces_current_ = true; }

  std::int64_t step_count() const { return step_count_; }
  void set_step_count(std::int64_t n);
  double dt() const { return dt_fs_; }
  model::Model& model() { return *model_; }
  /// Whether the integrator reads "virial"/"stress" (barostats, cell relaxation): the step loop
  /// then asks the model for them (Model::compute(batch, true)) in prepare() and every step.
  virtual bool needs_stress() const { return false; }
  /// Called after each step by run() with the steps taken so far; returning false ends the run
  /// early and cleanly (hooks closed as after a normal end), e.g. on Ctrl-C.
  void set_step_callback(std::function<bool(std::int64_t done)> cb) { on_step_ = std::move(cb); }
  const std::function<bool(std::int64_t)>& step_callback() const { return on_step_; }

  /// Sets the convergence criterion: a system that meets it at AFTER_STEP (evaluated before
  /// any AFTER_STEP hook) gets status 1 and is no longer updated; run() stops when all have.
  void set_convergence(Convergence c);
  const std::optional<Convergence>& convergence() const { return convergence_; }
  /// Whether prepare() adds and step() honours the status fields (see the file comment).
  bool tracks_status() const { return tracks_status_; }
  /// The status of a finished system.
  virtual std::int32_t final_status() const { return 1; }
  /// (Re)starts the given systems (one entry per system) in this dynamics: status 0,
  /// stage_step 0, prev_energy = energy, integrator state reset. Needs prepare() first.
  virtual void start_systems(Batch& batch, const std::vector<bool>& which);

  /// The batch's "status" (one entry per system) readable on the host. For a CPU batch the field
  /// itself; for a GPU batch a host mirror this dynamics keeps equal to the device field: it is
  /// read from the device by prepare() and start_systems(), when the batch or its number of
  /// systems differs from the mirror's, and by resync_status(); status changes made by this
  /// dynamics update both. Code that changes the "status" of a GPU batch by other means between
  /// steps must call resync_status(). The span is valid until the next call on this dynamics.
  std::span<const std::int32_t> host_status(const Batch& batch) const;
  /// Reads a GPU batch's "status" and "stage_step" into the host mirrors (waits for the GPU);
  /// no-op for a CPU batch.
  void resync_status(const Batch& batch) const;

 protected:
  friend class FusedStage;
  /// The systems a step updates (empty = all); default: status == 0 when status is tracked.
  virtual std::vector<std::uint8_t> active_systems(const Batch& batch) const;
  /// Adds the integrator's per-system state fields; returns true when it added any (prepare()
  /// then initialises them with init_state for every system).
  virtual bool add_state(Batch&) { return false; }
  /// Resets the integrator's per-system state of the given systems.
  virtual void init_state(Batch&, const std::vector<bool>&) {}
  /// Evaluates `stages[k]`'s criterion on the active systems with status k, moves the systems
  /// that meet it to status k+1 (starting them in stage k+1) and returns them.
  std::vector<bool> advance_converged(Context& ctx, const std::vector<Dynamics*>& stages);

  /// The integrator's first half step, after the BEFORE_PRE_UPDATE hooks and before the model.
  /// Reads the atom-level "positions", "velocities", "forces" (which belong to the positions) and
  /// "masses" (amu) in the batch's float dtype, system-level parameters (system_parameter: e.g.
  /// "thermostat_temperature"), its own per-system state (add_state) and ctx.dt_fs (fs).
  /// @post For every active system (Context::is_active; Context::active_device on a GPU):
  ///   positions are those the model is evaluated at next (velocity Verlet: x(t+dt); FIRE: the
  ///   whole relaxation step), velocities as far as the scheme gets before the new forces
  ///   (velocity Verlet: v(t+dt/2)), its own state fields updated. Inactive systems are left
  ///   bit for bit unchanged. It does not touch "forces" or "energy" (the model rewrites them
  ///   next) nor "step", "status", "stage_step", "prev_energy" (the step loop owns them).
  /// Device: for a GPU batch, kernels on the compute stream only; no waiting for the GPU.
  /// Under FusedStage each stage's pre_update sees a Context whose active set is the stage's
  /// own systems.
  virtual void pre_update(Context& ctx) = 0;
  /// The second half, after the model and the AFTER_COMPUTE and BEFORE_POST_UPDATE hooks: the
  /// forces are F(t+dt). Reads and writes as pre_update.
  /// @post For every active system the velocities (and thermostat state) complete the step
  ///   (velocity Verlet: v(t+dt)); positions are not moved. Inactive systems unchanged.
  /// Device: as pre_update.
  virtual void post_update(Context& ctx) = 0;
  /// Called by run() after its last step, before the hooks close: an integrator that reports
  /// device-side errors lagged (the GPU cell integrators) waits for and raises those of the last
  /// steps here, so a run never ends quietly on a fault it had found. Default: nothing.
  virtual void finish_run(Batch& /*batch*/) {}
  /// Returns the systems that converged in this step (empty = none / no criterion).
  /// Default: the convergence criterion, if set (see set_convergence).
  virtual std::vector<bool> check_convergence(Context& ctx);
  /// True when every system has converged (run() then stops early).
  /// Default: with a criterion, every system has status >= final_status().
  virtual bool all_converged(const Batch& batch) const;
  void fire(Stage s, Context& ctx);

  /// GPU batches: a device buffer of at least n doubles on device d, kept per slot and reused (no
  /// allocation once the batch size is steady). Slot 0 is the integrator's step scratch.
  double* device_scratch(std::size_t slot, std::int64_t n, const Device& d);
  /// GPU batches: `mask` (one entry per system) on device d as uint8, kept per slot and uploaded
  /// only when it differs from the slot's previous upload (asynchronously, in stream order).
  /// nullptr for an empty mask. Slots: kMaskActive (Context::active_device), kMaskWhich (masks
  /// of start_systems / init_state / convergence), kMaskStage0 + k (FusedStage's stage k).
  const std::uint8_t* device_mask(std::size_t slot, const std::vector<std::uint8_t>& mask, const Device& d);
  const std::uint8_t* device_mask(std::size_t slot, const std::vector<bool>& mask, const Device& d);
  static constexpr std::size_t kMaskActive = 0, kMaskWhich = 1, kMaskStage0 = 2;

  std::shared_ptr<model::Model> model_;
  double dt_fs_;
  std::optional<Convergence> convergence_;
  bool tracks_status_ = false;

 private:
  std::array<std::vector<std::shared_ptr<Hook>>, kNumStages> hooks_;
  std::int64_t step_count_ = 0;
  bool forces_current_ = false;
  std::function<bool(std::int64_t)> on_step_;
  /// GPU-batch state: the status mirror, device masks and scratch (defined in dynamics.cpp).
  struct DeviceState;
  std::unique_ptr<DeviceState> dev_;
};

/// Velocity Verlet, NVE. dt in fs; Å, eV, amu units. Updates only active systems.
class VelocityVerlet : public Dynamics {
 public:
  using Dynamics::Dynamics;
  std::string name() const override { return "velocity_verlet"; }

 protected:
  void pre_update(Context& ctx) override;
  void post_update(Context& ctx) override;
};

/// Velocity Verlet under the name nvalchemi (ALCHEMI's `nvalchemi.dynamics.DemoDynamics`) gives
/// it, so code written against that API reads the same here. Identical behaviour; a subclass
/// rather than an alias so classes derived from it can name it in their constructors.
class DemoDynamics : public VelocityVerlet {
 public:
  using VelocityVerlet::VelocityVerlet;
};

/// Per-system kinetic energy (eV). These helpers accept GPU batches too (a device reduction and
/// a small copy to the host; maxwell_boltzmann draws on the host and uploads).
std::vector<double> kinetic_energy(const Batch& batch);
/// Per-system instantaneous temperature (K) from 3N−3 degrees of freedom (3N for N=1).
std::vector<double> temperature(const Batch& batch);
/// Number of degrees of freedom temperature() uses for system s: 3N−3 (3N for N=1).
double degrees_of_freedom(const Batch& batch, std::int64_t s);
/// A per-system parameter: the system-level field `name` if the batch has it (any float
/// dtype), else `fallback` for every system.
std::vector<double> system_parameter(const Batch& batch, std::string_view name, double fallback);
/// Sets Maxwell–Boltzmann velocities at temperature_K with zero total momentum per system.
void maxwell_boltzmann(Batch& batch, double temperature_K, std::uint64_t seed);

}  // namespace batchmd::dynamics
