// SPDX-License-Identifier: Apache-2.0
// python/bind_atomic_data: AtomicData, one system, with the ALCHEMI toolkit's names
// (num_nodes, add_node_property, ...). Fields read as views of the C++ memory (see views.cpp);
// assigning to an existing field copies into its storage.
#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"
#include "fields.hpp"

namespace batchmd::python {

namespace {

py::object data_get(py::object self, const std::string& name) {
  auto& d = self.cast<AtomicData&>();
  if (!d.has(name)) no_field("AtomicData", name);
  return tensor_view(d.get(name), self, &d);
}

void data_set(AtomicData& d, const std::string& name, py::handle values, std::optional<std::string> level,
              py::handle dtype) {
  const std::string what = "AtomicData['" + name + "']";
  if (d.has(name) && !level && dtype.is_none()) {
    Tensor& t = d.get(name);
    Shape s = py_shape_of(values);
    Shape row1 = t.shape();
    if (!row1.empty() && row1[0] == 1) row1.erase(row1.begin());
    if (s == t.shape() || (d.level(name) == Level::System && s == row1) || s.empty()) {
      copy_into(t, values, what);
      return;
    }
  }
  if (d.has(name)) check_no_exports(&d, "replacing field '" + name + "'");
  const DType fdt = d.has("positions") ? d.get("positions").dtype() : DType::Float64;
  const DType dt = choose_dtype(name, values, fdt, dtype);
  const Shape shape = py_shape_of(values);
  Level lv;
  if (level) {
    lv = level_from_name(*level);
  } else if (auto spec = standard_field(name)) {
    lv = spec->level;
  } else {
    const std::int64_t rows = shape.empty() ? 1 : shape[0];
    if (rows == d.n_atoms() && d.n_atoms() != 1)
      lv = Level::Atom;
    else if (rows == 1)
      lv = Level::System;
    else
      throw InvalidArgument(what + ": cannot tell the level from " + std::to_string(rows) +
                            " rows; use add_node_property, add_edge_property or add_system_property");
  }
  std::optional<Shape> trailing;
  if (auto spec = standard_field(name)) trailing = spec->trailing;
  if (lv == Level::System && !trailing) {  // a system value given without its leading 1
    if (shape.empty() || shape[0] != 1) trailing = shape;
  }
  const std::int64_t rows = lv == Level::System ? 1
                            : lv == Level::Atom ? d.n_atoms()
                                                : std::max<std::int64_t>(d.n_edges(), 0);
  d.set(name, lv,
        tensor_from_py(rows >= 0 ? broadcast_rows(values, rows, trailing) : py::reinterpret_borrow<py::object>(values),
                       dt, trailing, lv == Level::System, what));
}

std::unique_ptr<AtomicData> make_atomic_data(py::handle positions, py::handle atomic_numbers, py::handle cell,
                                             py::handle pbc, py::handle masses, py::handle velocities, py::handle dtype,
                                             const py::kwargs& fields) {
  DType fdt = DType::Float64;
  if (!dtype.is_none()) {
    fdt = dtype_from_py(dtype, DType::Float64);
  } else {
    py::array a = py::module_::import("numpy").attr("asarray")(positions).cast<py::array>();
    if (a.dtype().kind() == 'f' && a.dtype().itemsize() == 4) fdt = DType::Float32;
  }
  if (!is_floating(fdt)) throw_not_floating(fdt);
  auto d = std::make_unique<AtomicData>();
  Tensor pos = tensor_from_py(positions, fdt, Shape{3}, false, "AtomicData positions");
  const std::int64_t n = pos.rows();
  Tensor z = tensor_from_py(atomic_numbers, DType::Int64, Shape{}, false, "AtomicData atomic_numbers");
  if (z.rows() != n)
    throw InvalidArgument("AtomicData: " + std::to_string(z.rows()) + " atomic numbers for " + std::to_string(n) +
                          " positions");
  Tensor m;
  if (masses.is_none()) {
    m = Tensor(fdt, {n});
    dispatch_float(fdt, [&](auto zero) {
      using T = decltype(zero);
      for (std::int64_t i = 0; i < n; ++i) m.data<T>()[i] = static_cast<T>(atomic_mass(z.data<std::int64_t>()[i]));
    });
  } else {
    m = tensor_from_py(masses, fdt, Shape{}, false, "AtomicData masses");
    if (m.rows() != n)
      throw InvalidArgument("AtomicData: " + std::to_string(m.rows()) + " masses for " + std::to_string(n) + " atoms");
  }
  Tensor c = cell.is_none() ? Tensor(fdt, {1, 3, 3}) : tensor_from_py(cell, fdt, Shape{3, 3}, true, "AtomicData cell");
  if (c.rows() != 1) throw InvalidArgument("AtomicData cell: expected one 3x3 cell");
  Tensor p(DType::Bool, {1, 3});
  if (!pbc.is_none()) {
    py::object arr = py::module_::import("numpy").attr("broadcast_to")(pbc, py::make_tuple(3));
    p = tensor_from_py(arr, DType::Bool, Shape{3}, true, "AtomicData pbc");
  }
  d->set("positions", Level::Atom, std::move(pos));
  d->set("atomic_numbers", Level::Atom, std::move(z));
  d->set("masses", Level::Atom, std::move(m));
  d->set("cell", Level::System, std::move(c));
  d->set("pbc", Level::System, std::move(p));
  if (!velocities.is_none())
    d->set("velocities", Level::Atom, tensor_from_py(velocities, fdt, Shape{3}, false, "AtomicData velocities"));
  for (auto [k, v] : fields) data_set(*d, k.cast<std::string>(), v, std::nullopt, py::none());
  return d;
}

std::string data_repr(const AtomicData& d) {
  std::string s = "AtomicData(n_atoms=" + std::to_string(d.n_atoms()) +
                  ", n_edges=" + std::to_string(std::max<std::int64_t>(d.n_edges(), 0)) + ", fields=[";
  bool first = true;
  for (const auto& [k, f] : d.fields()) {
    s += (first ? "" : ", ") + k;
    first = false;
  }
  return s + "])";
}

}  // namespace

void bind_atomic_data(py::module_& m) {
  using namespace py::literals;

  // ---------------------------------------------------------------- AtomicData
  py::class_<AtomicData> data(m, "AtomicData",
                              "One atomic system. Fields are NumPy views of the C++ memory (see docs/python.md).");
  data.def(py::init(&make_atomic_data), "positions"_a, "atomic_numbers"_a, "cell"_a = py::none(), "pbc"_a = py::none(),
           "masses"_a = py::none(), "velocities"_a = py::none(), "dtype"_a = py::none(),
           "A system from positions [n,3] (Å), atomic numbers [n], an optional cell (rows a, b, c in Å; "
           "zeros for an open system), pbc (3 bools), masses (amu; default: standard atomic weights) and "
           "velocities (Å/fs). Further keyword arguments become fields (standard names take their level; "
           "other names: per atom if they have n rows, else per system). dtype: float32 or float64 "
           "(default: that of positions when float32, else float64).")
      .def_property_readonly("n_atoms", &AtomicData::n_atoms)
      .def_property_readonly("num_nodes", &AtomicData::n_atoms)
      .def_property_readonly("n_edges", [](const AtomicData& d) { return std::max<std::int64_t>(d.n_edges(), 0); })
      .def_property_readonly("num_edges", [](const AtomicData& d) { return std::max<std::int64_t>(d.n_edges(), 0); })
      .def("keys", &field_names<AtomicData>, "Field names.")
      .def(
          "level", [](const AtomicData& d, const std::string& n) { return std::string(level_name(d.level(n))); },
          "name"_a, "'atom', 'edge' or 'system'.")
      .def("__contains__", [](const AtomicData& d, const std::string& n) { return d.has(n); })
      .def("__getitem__",
           [](py::object self, const std::string& n) {
             if (!self.cast<AtomicData&>().has(n)) throw py::key_error("AtomicData has no field '" + n + "'");
             return data_get(self, n);
           })
      .def("__getattr__",
           [](py::object self, const std::string& n) -> py::object {
             if (n.starts_with("__")) throw py::attribute_error(n);
             return data_get(self, n);
           })
      .def("__setitem__",
           [](AtomicData& d, const std::string& n, py::handle v) { data_set(d, n, v, std::nullopt, py::none()); })
      .def("__delitem__",
           [](AtomicData& d, const std::string& n) {
             if (!d.has(n)) throw py::key_error("AtomicData has no field '" + n + "'");
             check_no_exports(&d, "deleting field '" + n + "'");
             d.erase(n);
           })
      .def("set_field", &data_set, "name"_a, "values"_a, "level"_a = py::none(), "dtype"_a = py::none(),
           "Adds or replaces a field (level: 'atom', 'edge' or 'system').")
      .def(
          "add_node_property",
          [](AtomicData& d, const std::string& n, py::handle v) { data_set(d, n, v, "atom", py::none()); }, "name"_a,
          "values"_a)
      .def(
          "add_edge_property",
          [](AtomicData& d, const std::string& n, py::handle v) { data_set(d, n, v, "edge", py::none()); }, "name"_a,
          "values"_a)
      .def(
          "add_system_property",
          [](AtomicData& d, const std::string& n, py::handle v) { data_set(d, n, v, "system", py::none()); }, "name"_a,
          "values"_a)
      .def("clone", &AtomicData::clone, "A deep copy.")
      .def("__repr__", &data_repr);
  def_standard_properties<AtomicData>(
      data, [](py::object self, const std::string& n) { return data_get(self, n); },
      [](AtomicData& d, const std::string& n, py::handle v) { data_set(d, n, v, std::nullopt, py::none()); });
}

}  // namespace batchmd::python
