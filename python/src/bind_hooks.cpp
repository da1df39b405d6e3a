// SPDX-License-Identifier: Apache-2.0
// python/bind_hooks: the C++ hook library with the ALCHEMI toolkit's constructor names
// (SnapshotHook(sink=..., frequency=...), NaNDetectorHook(frequency=...), ...). FreezeAtomsHook and
// ProfilerHook act at several stages: register_hook() calls their attach(dynamics).
#include "batchmd/core/error.hpp"
#include "batchmd/hooks/hooks.hpp"
#include "common.hpp"

namespace batchmd::python {

namespace {

using dynamics::Stage;

template <class H>
using HookClass = py::class_<H, dynamics::Hook, std::shared_ptr<H>>;

/// A Python object owned from C++ code that may copy or drop it without the GIL.
std::shared_ptr<py::object> gil_safe(py::object o) {
  return std::shared_ptr<py::object>(new py::object(std::move(o)), [](py::object* p) {
    if (!Py_IsInitialized()) {
      p->release();
      delete p;
      return;
    }
    py::gil_scoped_acquire gil;
    delete p;
  });
}

/// A Python bias function as a C++ one. fn(batch) returns the per-system bias energies (eV) after
/// adding its forces to batch.forces, or — the toolkit's convention — (energies, forces), whose
/// forces (eV/Å, [n_atoms, 3]) are then added here.
hooks::BiasedPotentialHook::BiasFunction python_bias(py::object fn) {
  auto f = gil_safe(std::move(fn));
  return [f](Batch& batch) -> std::vector<double> {
    py::gil_scoped_acquire gil;
    py::object pybatch = py::cast(&batch, py::return_value_policy::reference);
    py::object r = (*f)(pybatch);
    py::object np = py::module_::import("numpy");
    py::object energies = r;
    if (py::isinstance<py::tuple>(r) && py::len(r) == 2) {
      energies = r.cast<py::tuple>()[0];
      py::object forces = tensor_view(batch.get("forces"), pybatch, &batch);
      if (!py::hasattr(forces, "__iadd__"))
        throw InvalidArgument(
            "BiasedPotentialHook: a bias returning (energies, forces) needs a CPU batch; on a GPU "
            "add the forces to batch.forces yourself and return the energies");
      py::object add = np.attr("reshape")(np.attr("asarray")(r.cast<py::tuple>()[1], "float64"), forces.attr("shape"));
      forces.attr("__iadd__")(add);
    }
    return np.attr("ravel")(np.attr("asarray")(energies, "float64")).cast<std::vector<double>>();
  };
}

hooks::DriftAction drift_action(const std::string& s) {
  return hooks::drift_action_from_name(s == "raise" ? "stop" : s);
}

}  // namespace

void bind_hooks(py::module_& m) {
  using namespace py::literals;

  HookClass<hooks::SnapshotHook>(m, "SnapshotHook",
                                 "Writes every system and field to a sink every `frequency` steps at AFTER_STEP; "
                                 "flushes it when the run ends. final_snapshot: also record the last state.")
      .def(py::init<std::shared_ptr<sinks::DataSink>, std::int64_t, bool>(), "sink"_a, "frequency"_a = 1,
           "final_snapshot"_a = false)
      .def_property_readonly("snapshots", &hooks::SnapshotHook::snapshots, "Writes made so far.")
      .def_property_readonly("sink", &hooks::SnapshotHook::sink, py::return_value_policy::reference_internal);

  HookClass<hooks::ConvergedSnapshotHook>(m, "ConvergedSnapshotHook",
                                          "At ON_CONVERGE, writes the systems that converged in this step to a sink.")
      .def(py::init<std::shared_ptr<sinks::DataSink>>(), "sink"_a)
      .def_property_readonly("written", &hooks::ConvergedSnapshotHook::written)
      .def_property_readonly("sink", &hooks::ConvergedSnapshotHook::sink, py::return_value_policy::reference_internal);

  HookClass<hooks::MaxForceClampHook>(m, "MaxForceClampHook",
                                      "Scales every atomic force down to at most max_force (eV/Å), keeping its "
                                      "direction.")
      .def(py::init<double, Stage>(), "max_force"_a, "stage"_a = Stage::AFTER_COMPUTE)
      .def_property_readonly("max_force", &hooks::MaxForceClampHook::max_force)
      .def_property_readonly("last_clamped", &hooks::MaxForceClampHook::last_clamped)
      .def_property_readonly("total_clamped", &hooks::MaxForceClampHook::total_clamped);

  HookClass<hooks::NaNDetectorHook>(m, "NaNDetectorHook",
                                    "Raises NumericalError at the first NaN/Inf in positions, velocities, forces or "
                                    "energy.")
      .def(py::init<std::int64_t, Stage>(), "frequency"_a = 1, "stage"_a = Stage::AFTER_COMPUTE);

  HookClass<hooks::EnergyDriftMonitorHook>(m, "EnergyDriftMonitorHook",
                                           "Tracks each system's relative total-energy drift; above threshold warns "
                                           "once per system (action='warn') or raises NumericalError ('raise').")
      .def(py::init([](double threshold, const std::string& action, std::int64_t frequency) {
             return std::make_shared<hooks::EnergyDriftMonitorHook>(threshold, drift_action(action), frequency);
           }),
           "threshold"_a, "action"_a = "warn", "frequency"_a = 1)
      .def_property_readonly("drift", &hooks::EnergyDriftMonitorHook::drift)
      .def_property_readonly("max_drift", &hooks::EnergyDriftMonitorHook::max_drift)
      .def_property_readonly("warnings", &hooks::EnergyDriftMonitorHook::warnings);

  HookClass<hooks::WrapPeriodicHook>(m, "WrapPeriodicHook",
                                     "Wraps positions into the cell along periodic directions, counting images.")
      .def(py::init<std::int64_t, Stage>(), "frequency"_a = 1, "stage"_a = Stage::AFTER_POST_UPDATE)
      .def_property_readonly("last_moved", &hooks::WrapPeriodicHook::last_moved)
      .def_static("wrap", &hooks::WrapPeriodicHook::wrap, "batch"_a, py::call_guard<py::gil_scoped_release>())
      .def_static(
          "unwrapped_positions",
          [](const Batch& b) {
            std::vector<double> v;
            {
              py::gil_scoped_release nogil;
              v = hooks::WrapPeriodicHook::unwrapped_positions(b);
            }
            py::array_t<double> a({static_cast<py::ssize_t>(v.size() / 3), py::ssize_t{3}});
            std::copy(v.begin(), v.end(), a.mutable_data());
            return a;
          },
          "batch"_a, "positions + images · cell, float64 [n_atoms, 3].");

  HookClass<hooks::LoggingHook>(m, "LoggingHook",
                                "Appends step,system_id,energy,kinetic_energy,temperature,fmax[,status] CSV rows "
                                "every `frequency` steps.")
      .def(py::init([](const std::string& log_path, std::int64_t frequency, Stage stage, const std::string& backend) {
             if (backend != "csv")
               throw InvalidArgument("LoggingHook: backend '" + backend + "' is not available (only 'csv')");
             return std::make_shared<hooks::LoggingHook>(log_path, frequency, stage);
           }),
           "log_path"_a, "frequency"_a = 1, "stage"_a = Stage::AFTER_STEP, "backend"_a = "csv")
      .def_property_readonly("path", &hooks::LoggingHook::path)
      .def_property_readonly("rows", &hooks::LoggingHook::rows);

  HookClass<hooks::FreezeAtomsHook>(m, "FreezeAtomsHook",
                                    "Keeps chosen atoms fixed under any integrator: `frozen` is a bool mask over the "
                                    "batch's atoms or the name of a per-atom bool field.")
      .def(py::init([](py::handle frozen, Stage stage) {
             if (py::isinstance<py::str>(frozen))
               return std::make_shared<hooks::FreezeAtomsHook>(frozen.cast<std::string>(), stage);
             py::array_t<bool> a =
                 py::module_::import("numpy").attr("asarray")(frozen, "bool").cast<py::array_t<bool>>();
             return std::make_shared<hooks::FreezeAtomsHook>(std::vector<bool>(a.data(), a.data() + a.size()), stage);
           }),
           "frozen"_a, "stage"_a = Stage::BEFORE_PRE_UPDATE)
      .def("attach", &hooks::FreezeAtomsHook::attach, "dynamics"_a,
           "Registers the capture hook and its pins with the dynamics.")
      .def_property_readonly("n_frozen", &hooks::FreezeAtomsHook::n_frozen);

  py::class_<hooks::ProfilerHook>(m, "ProfilerHook", "Wall time per stage of the step loop (attach() to a dynamics).")
      .def(py::init<bool>(), "synchronize_gpu"_a = false)
      .def("attach", &hooks::ProfilerHook::attach, "dynamics"_a)
      .def("seconds", &hooks::ProfilerHook::seconds, "stage"_a)
      .def("calls", &hooks::ProfilerHook::calls, "stage"_a)
      .def_property_readonly("total_seconds", &hooks::ProfilerHook::total_seconds)
      .def("reset", &hooks::ProfilerHook::reset)
      .def("report", &hooks::ProfilerHook::report);

  HookClass<hooks::BiasedPotentialHook>(
      m, "BiasedPotentialHook",
      "Adds a bias to energies and forces at AFTER_COMPUTE. bias_fn(batch) returns per-system bias energies "
      "(eV) after adding its forces to batch.forces, or (energies, forces) and the forces are added for it.")
      .def(py::init([](py::object bias_fn, const std::string& label) {
             if (!PyCallable_Check(bias_fn.ptr())) throw py::type_error("BiasedPotentialHook: bias_fn is not callable");
             return std::make_shared<hooks::BiasedPotentialHook>(python_bias(std::move(bias_fn)), label);
           }),
           "bias_fn"_a, "label"_a = "bias")
      .def_static(
          "harmonic_restraint",
          [](double k, py::handle reference, py::handle atoms, const std::string& label) {
            py::object np = py::module_::import("numpy");
            auto ref = np.attr("ravel")(np.attr("asarray")(reference, "float64")).cast<std::vector<double>>();
            std::vector<bool> sel;
            if (!atoms.is_none()) {
              auto a = py::module_::import("numpy").attr("asarray")(atoms, "bool").cast<py::array_t<bool>>();
              sel.assign(a.data(), a.data() + a.size());
            }
            return std::make_shared<hooks::BiasedPotentialHook>(
                hooks::BiasedPotentialHook::harmonic_restraint(k, std::move(ref), std::move(sel)), label);
          },
          "k"_a, "reference"_a, "atoms"_a = py::none(), "label"_a = "restraint",
          "A hook with the harmonic restraint E = k/2 Σ|x_i - r_i|² (k in eV/Å², reference [n_atoms*3] Å), "
          "evaluated in C++ on the batch's device.")
      .def_property_readonly("last_bias_energy", &hooks::BiasedPotentialHook::last_bias_energy);
}

}  // namespace batchmd::python
