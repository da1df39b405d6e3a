// dynamics/dynamics: the step loop with its nine hook stages, the Hook interface and the
// Context hooks see, and DemoDynamics (velocity Verlet NVE).
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "batchmd/data/batch.hpp"
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
  /// At ON_CONVERGE: systems that converged in this step (one entry per system). Else empty.
  std::vector<bool> newly_converged;
  /// In Hook::close: true when the run ends because a step threw.
  bool failed = false;
};

class Hook {
 public:
  virtual ~Hook() = default;
  virtual std::string name() const = 0;
  virtual Stage stage() const = 0;
  /// Fires when step % frequency == 0 (frequency >= 1).
  virtual std::int64_t frequency() const { return 1; }
  /// Called once when a run starts, before the first step.
  virtual void open(Context&) {}
  /// Called once when a run ends, also when it ends with an exception.
  virtual void close(Context&) {}
  virtual void operator()(Context& ctx) = 0;
};

/// The step loop. Subclasses supply the integrator's two half updates.
class Dynamics {
 public:
  Dynamics(std::shared_ptr<model::Model> model, double dt_fs);
  virtual ~Dynamics() = default;
  virtual std::string name() const = 0;

  /// Registers a hook; hooks at one stage fire in registration order.
  void register_hook(std::shared_ptr<Hook> hook);
  const std::vector<std::shared_ptr<Hook>>& hooks(Stage s) const {
    return hooks_[static_cast<std::size_t>(s)];
  }

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
  /// Called after each step by run() with the steps taken so far; returning false ends the run
  /// early and cleanly (hooks closed as after a normal end), e.g. on Ctrl-C.
  void set_step_callback(std::function<bool(std::int64_t done)> cb) { on_step_ = std::move(cb); }

 protected:
  virtual void pre_update(Context& ctx) = 0;
  virtual void post_update(Context& ctx) = 0;
  /// Returns the systems that converged in this step (empty = none / no criterion).
  virtual std::vector<bool> check_convergence(Context&) { return {}; }
  /// True when every system has converged (run() then stops early).
  virtual bool all_converged(const Batch&) const { return false; }
  void fire(Stage s, Context& ctx);

  std::shared_ptr<model::Model> model_;
  double dt_fs_;

 private:
  std::array<std::vector<std::shared_ptr<Hook>>, kNumStages> hooks_;
  std::int64_t step_count_ = 0;
  bool forces_current_ = false;
  std::function<bool(std::int64_t)> on_step_;
};

/// Velocity Verlet, NVE. dt in fs; Å, eV, amu units.
class DemoDynamics : public Dynamics {
 public:
  using Dynamics::Dynamics;
  std::string name() const override { return "velocity_verlet"; }

 protected:
  void pre_update(Context& ctx) override;
  void post_update(Context& ctx) override;
};

/// Per-system kinetic energy (eV).
std::vector<double> kinetic_energy(const Batch& batch);
/// Per-system instantaneous temperature (K) from 3N−3 degrees of freedom (3N for N=1).
std::vector<double> temperature(const Batch& batch);
/// Sets Maxwell–Boltzmann velocities at temperature_K with zero total momentum per system.
void maxwell_boltzmann(Batch& batch, double temperature_K, std::uint64_t seed);

}  // namespace batchmd::dynamics
