// SPDX-License-Identifier: Apache-2.0
// python/bind_dynamics: the step loop and its integrators, convergence criteria, the hook stages,
// the context a Python hook sees, and the adapter that runs a Python hook object inside the C++
// loop.
//
// run() releases the GIL for the whole run. A Python hook (PythonHook) takes it only while it is
// called; its stage and frequency are read once when it is registered, so the loop decides "does it
// fire this step" in C++ without touching Python. Ctrl-C: the run's step callback takes the GIL at
// most every 20 ms to let Python run its signal handlers (PyErr_CheckSignals); when one raises
// (KeyboardInterrupt), the run stops after the current step — hooks are closed as after a normal end,
// so sinks are flushed and a final snapshot is written — and the exception is raised from run().
#include <Python.h>

#include <chrono>

#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/convergence.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/dynamics/fused.hpp"
#include "batchmd/dynamics/integrators.hpp"
#include "common.hpp"

namespace batchmd::python {

namespace {

using dynamics::Context;
using dynamics::Dynamics;
using dynamics::Stage;

/// What a Python hook receives: a handle on the C++ Context that is valid only during the call.
struct HookContext {
  Context* ctx = nullptr;
  Stage stage = Stage::AFTER_STEP;
  Context& get() const {
    if (!ctx) throw py::value_error("this hook context is only valid during the hook call that received it");
    return *ctx;
  }
};

py::object bool_array(const auto& v) {
  py::array_t<bool> a(static_cast<py::ssize_t>(v.size()));
  auto* p = a.mutable_data();
  for (std::size_t i = 0; i < v.size(); ++i) p[i] = v[i] != 0;
  return a;
}

/// Runs a Python object as a C++ hook: obj(ctx) (or obj(ctx, stage), the toolkit's protocol), and
/// obj.open(ctx) / obj.close(ctx) when it has them.
class PythonHook : public dynamics::Hook {
 public:
  PythonHook(py::object obj, Stage stage, std::int64_t frequency, std::string name, bool pass_stage)
      : obj_(std::move(obj)), stage_(stage), frequency_(frequency), name_(std::move(name)), pass_stage_(pass_stage) {
    if (frequency_ < 1)
      throw InvalidArgument("hook " + name_ + ": frequency must be >= 1, got " + std::to_string(frequency_));
    if (!PyCallable_Check(obj_.ptr())) throw py::type_error("hook " + name_ + " is not callable (define __call__)");
    if (py::hasattr(obj_, "open")) open_ = obj_.attr("open");
    if (py::hasattr(obj_, "close")) close_ = obj_.attr("close");
    auto ref = std::make_unique<HookContext>();
    ref->stage = stage_;
    ref_ = ref.get();
    pyctx_ = py::cast(std::move(ref));
    pystage_ = py::cast(stage_);
  }
  ~PythonHook() override {
    if (!Py_IsInitialized()) {  // interpreter gone: nothing left to release into
      for (py::object* o : {&obj_, &open_, &close_, &pyctx_, &pystage_}) o->release();
      return;
    }
    py::gil_scoped_acquire gil;
    obj_ = open_ = close_ = pyctx_ = pystage_ = py::object();
  }
  std::string name() const override { return name_; }
  Stage stage() const override { return stage_; }
  std::int64_t frequency() const override { return frequency_; }
  void open(Context& ctx) override {
    if (open_) call(open_, ctx, false);
  }
  void close(Context& ctx) override {
    if (close_) call(close_, ctx, false);
  }
  void operator()(Context& ctx) override { call(obj_, ctx, pass_stage_); }
  py::object object() const { return obj_; }

 private:
  void call(const py::object& f, Context& ctx, bool with_stage) {
    py::gil_scoped_acquire gil;
    ref_->ctx = &ctx;
    struct Reset {
      HookContext* r;
      ~Reset() { r->ctx = nullptr; }
    } reset{ref_};
    try {
      if (with_stage)
        f(pyctx_, pystage_);
      else
        f(pyctx_);
    } catch (py::error_already_set& e) {
      // Ctrl-C landed in this hook: let the step finish and the run stop cleanly (InterruptWatch).
      if (!defer_interrupt(e)) throw;
    }
  }
  py::object obj_, open_, close_, pyctx_, pystage_;
  HookContext* ref_ = nullptr;  // owned by pyctx_
  Stage stage_;
  std::int64_t frequency_;
  std::string name_;
  bool pass_stage_;
};

}  // namespace

/// For the duration of a run: the step callback that lets Python handle signals (Ctrl-C), and the
/// place a KeyboardInterrupt raised inside a Python hook or model is parked until the step is done.
class InterruptWatch {
 public:
  explicit InterruptWatch(Dynamics& d)
      : dyn_(d), prev_(d.step_callback()), last_(std::chrono::steady_clock::now()), outer_(current_) {
    dyn_.set_step_callback([this](std::int64_t done) { return (!prev_ || prev_(done)) && poll(); });
    current_ = this;
  }
  ~InterruptWatch() {
    current_ = outer_;
    dyn_.set_step_callback(prev_);
  }
  InterruptWatch(const InterruptWatch&) = delete;
  InterruptWatch& operator=(const InterruptWatch&) = delete;

  /// The innermost run of this thread (nullptr outside runs).
  static InterruptWatch* current() { return current_; }
  /// Keeps a KeyboardInterrupt for the end of the step (the first one wins). GIL held.
  void defer(py::error_already_set e) {
    if (!error_) error_.emplace(std::move(e));
  }
  bool pending() const { return error_.has_value(); }
  /// Raises what was deferred or what a signal handler raised during the run (GIL held).
  void rethrow() {
    if (!error_) return;
    py::error_already_set e = std::move(*error_);
    error_.reset();
    throw e;
  }

 private:
  bool poll() {
    if (error_) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(20)) return true;
    last_ = now;
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() == 0) return true;
    error_.emplace();  // takes the pending exception (KeyboardInterrupt) out of the interpreter
    return false;
  }
  static thread_local InterruptWatch* current_;
  Dynamics& dyn_;
  std::function<bool(std::int64_t)> prev_;
  std::chrono::steady_clock::time_point last_;
  InterruptWatch* outer_;
  std::optional<py::error_already_set> error_;
};
thread_local InterruptWatch* InterruptWatch::current_ = nullptr;

bool defer_interrupt(py::error_already_set& e) {
  InterruptWatch* w = InterruptWatch::current();
  if (!w || !e.matches(PyExc_KeyboardInterrupt)) return false;
  w->defer(std::move(e));
  return true;
}

bool interrupt_pending() {
  InterruptWatch* w = InterruptWatch::current();
  return w && w->pending();
}

namespace {

std::int64_t run_dynamics(Dynamics& d, Batch& batch, std::int64_t n_steps) {
  InterruptWatch watch(d);
  std::int64_t taken = 0;
  {
    py::gil_scoped_release nogil;
    taken = d.run(batch, n_steps);
  }
  watch.rethrow();
  return taken;
}

template <class D>
using DynClass = py::class_<D, Dynamics, std::shared_ptr<D>>;

}  // namespace

void bind_dynamics(py::module_& m) {
  using namespace py::literals;

  py::enum_<Stage>(m, "DynamicsStage", "The nine hook insertion points of a step, in the order they run.")
      .value("BEFORE_STEP", Stage::BEFORE_STEP)
      .value("BEFORE_PRE_UPDATE", Stage::BEFORE_PRE_UPDATE)
      .value("AFTER_PRE_UPDATE", Stage::AFTER_PRE_UPDATE)
      .value("BEFORE_COMPUTE", Stage::BEFORE_COMPUTE)
      .value("AFTER_COMPUTE", Stage::AFTER_COMPUTE)
      .value("BEFORE_POST_UPDATE", Stage::BEFORE_POST_UPDATE)
      .value("AFTER_POST_UPDATE", Stage::AFTER_POST_UPDATE)
      .value("AFTER_STEP", Stage::AFTER_STEP)
      .value("ON_CONVERGE", Stage::ON_CONVERGE);
  m.def(
      "stage_from_name", [](const std::string& s) { return dynamics::stage_from_name(s); }, "name"_a);

  py::class_<HookContext>(m, "HookContext",
                          "What a Python hook sees: the batch, model and dynamics, the step and dt. Valid only "
                          "during the call that received it.")
      .def_property_readonly(
          "batch", [](const HookContext& c) { return py::cast(&c.get().batch, py::return_value_policy::reference); },
          "The batch being integrated (its fields are views; on a GPU batch DeviceArrays).")
      .def_property_readonly(
          "model", [](const HookContext& c) { return py::cast(&c.get().model, py::return_value_policy::reference); })
      .def_property_readonly(
          "dynamics",
          [](const HookContext& c) { return py::cast(&c.get().dynamics, py::return_value_policy::reference); })
      .def_property_readonly(
          "step", [](const HookContext& c) { return c.get().step; },
          "Steps completed before the current one (0 during the first step).")
      .def_property_readonly(
          "step_count", [](const HookContext& c) { return c.get().step; }, "Same as step (toolkit name).")
      .def_property_readonly(
          "dt", [](const HookContext& c) { return c.get().dt_fs; }, "Time step (fs).")
      .def_property_readonly(
          "stage", [](const HookContext& c) { return c.stage; }, "The stage this call belongs to.")
      .def_property_readonly(
          "newly_converged",
          [](const HookContext& c) -> py::object {
            const auto& v = c.get().newly_converged;
            return v.empty() ? py::none() : bool_array(v);
          },
          "At ON_CONVERGE: bool per system, the systems that converged in this step; else None.")
      .def_property_readonly("converged_mask",
                             [](const HookContext& c) -> py::object {
                               const auto& v = c.get().newly_converged;
                               return v.empty() ? py::none() : bool_array(v);
                             })
      .def_property_readonly(
          "active",
          [](const HookContext& c) -> py::object {
            const auto& v = c.get().active;
            return v.empty() ? py::none() : bool_array(v);
          },
          "bool per system: the systems this step updates (None: all).")
      .def_property_readonly(
          "failed", [](const HookContext& c) { return c.get().failed; },
          "In close(): the run ends because a step raised.");

  py::class_<dynamics::Hook, std::shared_ptr<dynamics::Hook>>(m, "NativeHook", "Base of the C++ hooks.")
      .def_property_readonly("name", &dynamics::Hook::name)
      .def_property_readonly("stage", &dynamics::Hook::stage)
      .def_property_readonly("frequency", &dynamics::Hook::frequency)
      .def("__repr__", [](const dynamics::Hook& h) { return "<" + h.name() + ">"; });

  py::class_<PythonHook, dynamics::Hook, std::shared_ptr<PythonHook>>(
      m, "PythonHook", "Adapter that runs a Python hook object in the C++ step loop (made by register_hook).")
      .def(py::init<py::object, Stage, std::int64_t, std::string, bool>(), "hook"_a, "stage"_a, "frequency"_a, "name"_a,
           "pass_stage"_a)
      .def_property_readonly("hook", &PythonHook::object);

  // ---------------------------------------------------------------- convergence
  using dynamics::Convergence;
  py::class_<Convergence>(m, "Convergence",
                          "A per-system convergence criterion: fmax(eV/Å), energy_change(eV), steps(n), combined "
                          "with & (all) and | (any).")
      .def_static("fmax", &Convergence::fmax, "threshold"_a, "max |F_i| over the system's atoms <= threshold (eV/Å).")
      .def_static("energy_change", &Convergence::energy_change, "threshold"_a,
                  "|energy - energy after the previous step| <= threshold (eV).")
      .def_static("steps", &Convergence::steps, "n"_a, "At least n steps taken in the current stage.")
      .def_static("all_of", &Convergence::all_of, "parts"_a)
      .def_static("any_of", &Convergence::any_of, "parts"_a)
      .def("__and__", [](const Convergence& a, const Convergence& b) { return a & b; })
      .def("__or__", [](const Convergence& a, const Convergence& b) { return a | b; })
      .def_property_readonly("threshold", &Convergence::threshold)
      .def_property_readonly("parts", &Convergence::parts)
      .def("describe", &Convergence::describe)
      .def("__repr__", [](const Convergence& c) { return "Convergence(" + c.describe() + ")"; })
      .def(
          "evaluate",
          [](const Convergence& c, const Batch& b) {
            std::vector<bool> r;
            {
              py::gil_scoped_release nogil;
              r = c.evaluate(b, {});
            }
            return bool_array(r);
          },
          "batch"_a, "Whether each system meets the criterion now (bool per system).");

  // ---------------------------------------------------------------- dynamics
  py::class_<Dynamics, std::shared_ptr<Dynamics>>(m, "Dynamics", "The step loop (base of every integrator).")
      .def_property_readonly("name", &Dynamics::name)
      .def_property_readonly("dt", &Dynamics::dt, "Time step (fs).")
      .def_property("step_count", &Dynamics::step_count, &Dynamics::set_step_count,
                    "Steps taken by this dynamics so far (hooks fire when step_count % frequency == 0).")
      .def(
          "_register_hook", [](Dynamics& d, std::shared_ptr<dynamics::Hook> h) { d.register_hook(std::move(h)); },
          "hook"_a)
      .def("_run", &run_dynamics, "batch"_a, "n_steps"_a)
      .def("step", &Dynamics::step, "batch"_a, py::call_guard<py::gil_scoped_release>(),
           "One step (the batch must have been prepared by run() or prepare()).")
      .def("prepare", &Dynamics::prepare, "batch"_a, py::call_guard<py::gil_scoped_release>(),
           "Adds the fields dynamics needs and computes forces for the current positions.")
      .def("assume_forces_current", &Dynamics::assume_forces_current)
      .def("set_convergence", &Dynamics::set_convergence, "convergence"_a)
      .def_property_readonly("convergence", [](const Dynamics& d) { return d.convergence(); })
      .def_property_readonly("tracks_status", &Dynamics::tracks_status)
      .def_property_readonly("final_status", &Dynamics::final_status)
      .def(
          "start_systems",
          [](Dynamics& d, Batch& b, py::handle which) {
            auto mask = mask_from_py(which, b.n_systems(), "start_systems");
            py::gil_scoped_release nogil;
            d.start_systems(b, mask);
          },
          "batch"_a, "which"_a = py::none());

  DynClass<dynamics::DemoDynamics>(m, "DemoDynamics", "Velocity Verlet (NVE).")
      .def(py::init<std::shared_ptr<model::Model>, double>(), "model"_a, "dt"_a);

  DynClass<dynamics::FIRE>(m, "FIRE", "FIRE geometry optimizer (Bitzek et al. 2006, ASE's semi-implicit Euler form).")
      .def(py::init([](std::shared_ptr<model::Model> model, double dt, double dt_start, double dt_max,
                       std::int64_t n_min, double f_inc, double f_dec, double alpha_start, double f_alpha,
                       double max_step) {
             dynamics::FIREConfig c;
             c.dt_start = dt_start;
             c.dt_max = dt_max;
             c.n_min = n_min;
             c.f_inc = f_inc;
             c.f_dec = f_dec;
             c.alpha_start = alpha_start;
             c.f_alpha = f_alpha;
             c.max_step = max_step;
             return std::make_shared<dynamics::FIRE>(std::move(model), dt, c);
           }),
           "model"_a, "dt"_a, "dt_start"_a = 0.0, "dt_max"_a = 0.0, "n_min"_a = 5, "f_inc"_a = 1.1, "f_dec"_a = 0.5,
           "alpha_start"_a = 0.1, "f_alpha"_a = 0.99, "max_step"_a = 0.2);

  DynClass<dynamics::FIRE2>(m, "FIRE2", "FIRE 2.0 (Guénolé et al. 2020).")
      .def(py::init([](std::shared_ptr<model::Model> model, double dt, double dt_start, double dt_max, double dt_min,
                       std::int64_t n_delay, double f_inc, double f_dec, double alpha_start, double f_alpha,
                       bool initial_delay, double max_step) {
             dynamics::FIRE2Config c;
             c.dt_start = dt_start;
             c.dt_max = dt_max;
             c.dt_min = dt_min;
             c.n_delay = n_delay;
             c.f_inc = f_inc;
             c.f_dec = f_dec;
             c.alpha_start = alpha_start;
             c.f_alpha = f_alpha;
             c.initial_delay = initial_delay;
             c.max_step = max_step;
             return std::make_shared<dynamics::FIRE2>(std::move(model), dt, c);
           }),
           "model"_a, "dt"_a, "dt_start"_a = 0.0, "dt_max"_a = 0.0, "dt_min"_a = 0.0, "n_delay"_a = 20, "f_inc"_a = 1.1,
           "f_dec"_a = 0.5, "alpha_start"_a = 0.25, "f_alpha"_a = 0.99, "initial_delay"_a = true, "max_step"_a = 0.2);

  DynClass<dynamics::Langevin>(m, "Langevin", "Langevin NVT, BAOAB splitting.")
      .def(py::init<std::shared_ptr<model::Model>, double, double, double, std::uint64_t>(), "model"_a, "dt"_a,
           "temperature"_a, "friction"_a, "seed"_a)
      .def_property_readonly("temperature", &dynamics::Langevin::temperature)
      .def_property_readonly("friction", &dynamics::Langevin::friction)
      .def_property_readonly("seed", &dynamics::Langevin::seed);

  DynClass<dynamics::NoseHooverChain>(m, "NoseHooverChain", "Nosé–Hoover chain NVT.")
      .def(py::init<std::shared_ptr<model::Model>, double, double, double, std::int64_t>(), "model"_a, "dt"_a,
           "temperature"_a, "tau"_a, "chain_length"_a = 3)
      .def_property_readonly("temperature", &dynamics::NoseHooverChain::temperature)
      .def_property_readonly("tau", &dynamics::NoseHooverChain::tau)
      .def_property_readonly("chain_length", &dynamics::NoseHooverChain::chain_length)
      .def(
          "conserved_energy",
          [](const dynamics::NoseHooverChain& d, const Batch& b) {
            py::gil_scoped_release nogil;
            return d.conserved_energy(b);
          },
          "batch"_a, "Per-system conserved quantity (eV).");

  DynClass<dynamics::FusedStage>(m, "FusedStage", "Several dynamics on one batch, one model evaluation per step.")
      .def(py::init<std::vector<std::shared_ptr<Dynamics>>>(), "stages"_a)
      .def_property_readonly("n_stages", &dynamics::FusedStage::n_stages)
      .def("status_counts", &dynamics::FusedStage::status_counts, "batch"_a,
           "Systems per stage (the last entry: finished).");

  // ---------------------------------------------------------------- per-system observables
  m.def(
      "kinetic_energy",
      [](const Batch& b) {
        py::gil_scoped_release nogil;
        return dynamics::kinetic_energy(b);
      },
      "batch"_a, "Per-system kinetic energy (eV).");
  m.def(
      "temperature",
      [](const Batch& b) {
        py::gil_scoped_release nogil;
        return dynamics::temperature(b);
      },
      "batch"_a, "Per-system instantaneous temperature (K, 3N-3 degrees of freedom).");
  m.def(
      "max_force",
      [](const Batch& b) {
        py::gil_scoped_release nogil;
        return dynamics::max_force(b);
      },
      "batch"_a, "Per-system largest atomic force norm (eV/Å).");
  m.def(
      "maxwell_boltzmann",
      [](Batch& b, double t, std::uint64_t seed) {
        py::gil_scoped_release nogil;
        dynamics::maxwell_boltzmann(b, t, seed);
      },
      "batch"_a, "temperature"_a, "seed"_a = 0,
      "Sets Maxwell-Boltzmann velocities at `temperature` K with zero total momentum per system.");
}

}  // namespace batchmd::python
