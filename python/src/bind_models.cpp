// SPDX-License-Identifier: Apache-2.0
// python/bind_models: the Model interface (subclassable from Python) and the C++ models.
//
// A Python model subclasses batchmd.models.Model and defines compute(batch, compute_stress): before
// it is called, "energy" [S] and "forces" [N,3] (and with compute_stress "virial" and "stress"
// [S,3,3]) exist in the batch and are zero; compute either fills them in place through the views,
// or returns a dict (or an (energy, forces[, stress]) tuple) whose arrays are copied in. An optional
// attribute or method `cutoff` (Å) answers Model::cutoff(). The GIL is taken only around that call.
//
// Adding a C++ model binding (a few lines): in a new bind_model_<name>.cpp, define
//   void bind_model_<name>(py::module_& m) {
//     def_model<model::MyModel>(m, "MyModel", "doc").def(py::init(...), py::arg(...)...);
//   }
// declare it below and call it from bind_models(); list the file in python/CMakeLists.txt and
// re-export the name in batchmd/models.py.
#include <cmath>

#include "batchmd/core/error.hpp"
#include "batchmd/model/lennard_jones.hpp"
#include "common.hpp"

namespace batchmd::python {

namespace {

/// Binds a C++ model class: its Python class derives from Model, so every dynamics takes it.
template <class M>
py::class_<M, model::Model, std::shared_ptr<M>> def_model(py::module_& m, const char* name, const char* doc) {
  return py::class_<M, model::Model, std::shared_ptr<M>>(m, name, doc);
}

void prepare_outputs(Batch& batch, bool stress) {
  batch.add_standard("energy").fill_zero();
  batch.add_standard("forces").fill_zero();
  if (stress) {
    batch.add_standard("virial").fill_zero();
    batch.add_standard("stress").fill_zero();
  }
}

/// Copies the arrays a Python compute() returned into the batch's output fields.
void store_outputs(Batch& batch, py::handle result, const std::string& model) {
  py::object np = py::module_::import("numpy");
  auto store = [&](const char* name, py::handle v) {
    if (v.is_none()) return;
    Tensor& t = batch.has(name) ? batch.get(name) : batch.add_standard(name);
    py::object a = np.attr("asarray")(v);
    if (a.attr("size").cast<std::int64_t>() == t.numel()) a = np.attr("reshape")(a, py::cast(t.shape()));
    copy_into(t, a, model + ".compute() result '" + name + "'");
  };
  if (py::isinstance<py::dict>(result)) {
    auto d = result.cast<py::dict>();
    for (const char* k : {"energy", "forces", "virial", "stress"})
      if (d.contains(k)) store(k, d[k]);
    return;
  }
  if (py::isinstance<py::tuple>(result) || py::isinstance<py::list>(result)) {
    auto s = result.cast<py::sequence>();
    const char* names[] = {"energy", "forces", "stress"};
    if (s.size() < 2 || s.size() > 3)
      throw InvalidArgument(model + ".compute() returned " + std::to_string(s.size()) +
                            " values; expected (energy, forces[, stress]), a dict, or None");
    for (std::size_t i = 0; i < s.size(); ++i) store(names[i], s[i]);
    return;
  }
  throw InvalidArgument(model + ".compute() returned " + to_str(py::type::handle_of(result)) +
                        "; expected None (fields filled in place), a dict or an (energy, forces[, stress]) tuple");
}

/// The Model a Python subclass implements.
class PyModel : public model::Model {
 public:
  using model::Model::Model;

  std::string name() const override {
    py::gil_scoped_acquire gil;
    py::handle self = py::detail::get_object_handle(this, py::detail::get_type_info(typeid(model::Model)));
    if (!self) return "python_model";
    return py::type::handle_of(self).attr("__name__").cast<std::string>();  // not str(): see call_compute
  }

  void compute(Batch& batch, bool compute_stress) override {
    prepare_outputs(batch, compute_stress);
    py::gil_scoped_acquire gil;
    try {
      evaluate(batch, compute_stress);
    } catch (py::error_already_set& e) {
      // Ctrl-C during the evaluation: its result is incomplete, so evaluate once more (a second
      // Ctrl-C then aborts the step) and let the run stop cleanly after this step.
      if (interrupt_pending() || !defer_interrupt(e)) throw;
      prepare_outputs(batch, compute_stress);
      evaluate(batch, compute_stress);
    }
  }

  double cutoff() const override {
    py::gil_scoped_acquire gil;
    py::handle self = py::detail::get_object_handle(this, py::detail::get_type_info(typeid(model::Model)));
    if (!self) return 0.0;
    py::object c = py::getattr(self, "cutoff", py::none());
    if (c.is_none()) return 0.0;
    if (PyCallable_Check(c.ptr())) c = c();
    return c.cast<double>();
  }

 private:
  void evaluate(Batch& batch, bool compute_stress) {
    py::object r = call_compute(batch, compute_stress);
    if (!r.is_none()) store_outputs(batch, r, name());
  }
  /// The Python compute(batch, compute_stress). Looked up by hand rather than with
  /// py::get_override, whose recursion guard converts a frame name with str() — and PyObject_Str
  /// runs Python's signal handlers, which would raise a Ctrl-C outside any Python frame. (The base
  /// class binds no compute, so whatever getattr finds is the subclass's.)
  py::object call_compute(Batch& batch, bool compute_stress) {
    py::handle self = py::detail::get_object_handle(this, py::detail::get_type_info(typeid(model::Model)));
    py::object f = self ? py::getattr(self, "compute", py::none()) : py::none();
    if (f.is_none())
      throw InvalidArgument("Python model " + name() +
                            " defines no compute(batch, compute_stress) (or its Python object was deleted)");
    return f(py::cast(&batch, py::return_value_policy::reference), compute_stress);
  }
};

py::dict outputs(py::object batch_obj, bool stress) {
  py::dict d;
  auto& b = batch_obj.cast<Batch&>();
  for (const char* k : {"energy", "forces", "virial", "stress"}) {
    if ((std::string(k) == "virial" || std::string(k) == "stress") && !stress) continue;
    if (b.has(k)) d[k] = tensor_view(b.get(k), batch_obj, &b);
  }
  return d;
}

model::LJConfig lj_config(double epsilon, double sigma, double cutoff, bool shift, double skin, py::handle pairs) {
  model::LJConfig c;
  c.epsilon = epsilon;
  c.sigma = sigma;
  c.cutoff = cutoff;
  c.shift_energy = shift;
  c.skin = skin;
  if (!pairs.is_none()) {
    for (py::handle p : pairs) {
      model::LJPairOverride o{};
      if (py::isinstance<py::dict>(p)) {
        auto d = p.cast<py::dict>();
        o.z_a = d["z_a"].cast<std::int64_t>();
        o.z_b = d["z_b"].cast<std::int64_t>();
        o.epsilon = d["epsilon"].cast<double>();
        o.sigma = d["sigma"].cast<double>();
        o.cutoff = d.contains("cutoff") ? d["cutoff"].cast<double>() : 2.5 * o.sigma;
      } else {
        auto t = p.cast<py::sequence>();
        if (t.size() != 5) throw InvalidArgument("LennardJones pairs: expected (z_a, z_b, epsilon, sigma, cutoff)");
        o = {t[0].cast<std::int64_t>(), t[1].cast<std::int64_t>(), t[2].cast<double>(), t[3].cast<double>(),
             t[4].cast<double>()};
      }
      c.pairs.push_back(o);
    }
  }
  return c;
}

}  // namespace

void bind_models(py::module_& m) {
  using namespace py::literals;
  py::class_<model::Model, PyModel, std::shared_ptr<model::Model>>(
      m, "Model",
      "A potential: fills per-system energy (eV), per-atom forces (eV/Å) and on request virial and "
      "stress (eV/Å³). Subclass it in Python and define compute(batch, compute_stress).")
      .def(py::init<>())
      .def_property_readonly("name", &model::Model::name)
      .def(
          "__call__",
          [](model::Model& self, py::object batch, bool stress) {
            auto& b = batch.cast<Batch&>();
            {
              py::gil_scoped_release nogil;
              self.compute(b, stress);
            }
            return outputs(batch, stress);
          },
          "batch"_a, "compute_stress"_a = false,
          "Evaluates the model on the batch (writing its energy, forces[, virial, stress] fields) and returns "
          "those fields as views.");

  def_model<model::LennardJones>(m, "LennardJones",
                                 "Lennard-Jones with per element-pair parameters on a cell-list neighbor list "
                                 "with a Verlet skin (argon defaults).")
      .def(py::init([](double epsilon, double sigma, double cutoff, bool shift_energy, double skin, py::handle pairs) {
             return std::make_shared<model::LennardJones>(lj_config(epsilon, sigma, cutoff, shift_energy, skin, pairs));
           }),
           "epsilon"_a = 0.0104, "sigma"_a = 3.40, "cutoff"_a = 8.5, "shift_energy"_a = false, "skin"_a = 1.0,
           "pairs"_a = py::none(),
           "epsilon (eV), sigma (Å), cutoff (Å), shift_energy (E(cutoff) subtracted), skin (Å); pairs: "
           "per element-pair overrides as (z_a, z_b, epsilon, sigma, cutoff) tuples or dicts.")
      .def_property_readonly("epsilon", [](const model::LennardJones& l) { return l.config().epsilon; })
      .def_property_readonly("sigma", [](const model::LennardJones& l) { return l.config().sigma; })
      .def_property_readonly("cutoff", &model::LennardJones::cutoff)
      .def_property_readonly("shift_energy", [](const model::LennardJones& l) { return l.config().shift_energy; })
      .def_property_readonly("skin", [](const model::LennardJones& l) { return l.config().skin; })
      .def_property_readonly("neighbor_builds", &model::LennardJones::neighbor_builds);
}

}  // namespace batchmd::python
