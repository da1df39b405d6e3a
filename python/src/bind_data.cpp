// python/bind_data: AtomicData and Batch, with the ALCHEMI toolkit's names (from_data_list,
// index_select, num_graphs, batch_ptr, ...). Fields read as views of the C++ memory: NumPy arrays on
// the host, DeviceArray (DLPack) on a GPU. Assigning to an existing field copies into its storage
// (views stay valid); operations that move storage (append, put, reserve, clear, replacing or
// deleting a field) raise BufferError while views are alive (see views.cpp).
#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"
#include "common.hpp"

namespace batchmd::python {

namespace {

/// Shape of `values` as NumPy sees it.
Shape py_shape_of(py::handle values) {
  py::array a = py::module_::import("numpy").attr("asarray")(values).cast<py::array>();
  return Shape(a.shape(), a.shape() + a.ndim());
}

/// Level from an optional name, else from the standard schema, else from the leading dimension.
Level choose_level(const std::string& name, const std::optional<std::string>& level, const Shape& shape,
                   std::int64_t atoms, std::int64_t edges, std::int64_t systems) {
  if (level) return level_from_name(*level);
  if (auto spec = standard_field(name)) return spec->level;
  const std::int64_t rows = shape.empty() ? 1 : shape[0];
  std::vector<Level> fits;
  if (rows == atoms) fits.push_back(Level::Atom);
  if (rows == edges && edges > 0) fits.push_back(Level::Edge);
  if (rows == systems) fits.push_back(Level::System);
  if (fits.size() == 1) return fits[0];
  throw InvalidArgument("field '" + name + "': cannot tell its level from " + std::to_string(rows) +
                        " rows (atoms: " + std::to_string(atoms) + ", edges: " + std::to_string(edges) +
                        ", systems: " + std::to_string(systems) + "); pass level='atom', 'edge' or 'system'");
}

/// The dtype a new field gets: the schema's for standard fields (floats follow the batch), else
/// that of the values.
DType choose_dtype(const std::string& name, py::handle values, DType float_dtype, py::handle dtype) {
  if (!dtype.is_none()) return dtype_from_py(dtype, float_dtype);
  if (auto spec = standard_field(name)) return spec->floating ? float_dtype : spec->dtype;
  py::array a = py::module_::import("numpy").attr("asarray")(values).cast<py::array>();
  const char kind = a.dtype().kind();
  if (kind == 'f') return a.dtype().itemsize() == 4 ? DType::Float32 : DType::Float64;
  if (kind == 'u' && a.dtype().itemsize() == 1) return DType::UInt8;
  if (kind == 'i' && a.dtype().itemsize() == 4) return DType::Int32;
  if (kind == 'i' || kind == 'u') return DType::Int64;
  if (kind == 'b') return DType::Bool;
  throw py::type_error("field '" + name + "': values of NumPy dtype " + to_str(a.dtype()) +
                       " cannot be stored (numbers or bools only)");
}

/// values broadcast to [rows, *trailing] (standard fields, or scalars of a known level) so that
/// `batch.velocities = 0.0` or a per-system cell given once fill the whole field; other values as given.
py::object broadcast_rows(py::handle values, std::int64_t rows, const std::optional<Shape>& trailing) {
  py::object np = py::module_::import("numpy");
  py::object a = np.attr("asarray")(values);
  Shape want{rows};
  if (trailing)
    want.insert(want.end(), trailing->begin(), trailing->end());
  else if (a.attr("ndim").cast<int>() != 0)
    return a;
  try {
    return np.attr("broadcast_to")(a, py::cast(want));
  } catch (py::error_already_set&) {
    return a;  // tensor_from_py names the mismatch
  }
}

[[noreturn]] void no_field(const std::string& what, const std::string& name) {
  throw py::attribute_error(what + " has no field '" + name + "'");
}

// ------------------------------------------------------------------ AtomicData

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

// ------------------------------------------------------------------ Batch

py::object batch_get(py::object self, const std::string& name) {
  auto& b = self.cast<Batch&>();
  if (!b.has(name)) no_field("Batch", name);
  return tensor_view(b.get(name), self, &b);
}

void batch_set(Batch& b, const std::string& name, py::handle values, std::optional<std::string> level,
               py::handle dtype) {
  const std::string what = "Batch['" + name + "']";
  if (b.has(name) && !level && dtype.is_none()) {
    Tensor& t = b.get(name);
    Shape s = py_shape_of(values);
    if (s == t.shape() || s.empty() || (s.size() < t.ndim() && s.size() > 0)) {  // in place, broadcasting
      copy_into(t, values, what);
      return;
    }
  }
  if (b.has(name)) check_no_exports(&b, "replacing field '" + name + "'");
  const Shape shape = py_shape_of(values);
  const Level lv = choose_level(name, level, shape, b.n_atoms(), b.n_edges(), b.n_systems());
  const DType dt = choose_dtype(name, values, b.float_dtype(), dtype);
  std::optional<Shape> trailing;
  if (auto spec = standard_field(name)) trailing = spec->trailing;
  const std::int64_t rows = lv == Level::Atom ? b.n_atoms() : lv == Level::Edge ? b.n_edges() : b.n_systems();
  Tensor t = tensor_from_py(broadcast_rows(values, rows, trailing), dt, trailing,
                            lv == Level::System && b.n_systems() == 1, what);
  if (b.is_cuda()) t = t.to(b.device());
  b.set(name, lv, std::move(t));
}

std::vector<std::int64_t> counts(const Tensor& ptr) {
  const auto* p = ptr.data<std::int64_t>();
  std::vector<std::int64_t> out(static_cast<std::size_t>(ptr.rows() - 1));
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = p[i + 1] - p[i];
  return out;
}

std::string batch_repr(const Batch& b) {
  std::string s = "Batch(n_systems=" + std::to_string(b.n_systems()) + ", n_atoms=" + std::to_string(b.n_atoms()) +
                  ", n_edges=" + std::to_string(b.n_edges()) + ", device=" + b.device().str() + ", fields=[";
  bool first = true;
  for (const auto& [k, f] : b.fields()) {
    s += (first ? "" : ", ") + k;
    first = false;
  }
  return s + "])";
}

Batch batch_from_data_list(const py::sequence& items, const std::vector<std::string>& exclude) {
  std::vector<const AtomicData*> ptrs;
  for (py::handle h : items) {
    if (!py::isinstance<AtomicData>(h))
      throw py::type_error("Batch.from_data_list: expected AtomicData items, got " +
                           py::str(h.get_type().attr("__name__")).cast<std::string>());
    ptrs.push_back(&h.cast<const AtomicData&>());
  }
  py::gil_scoped_release nogil;
  std::vector<AtomicData> systems;
  systems.reserve(ptrs.size());
  for (const AtomicData* p : ptrs) {
    systems.push_back(p->clone());
    for (const auto& k : exclude) systems.back().erase(k);
  }
  return Batch::from_systems(systems);
}

py::object batch_getitem(py::object self, py::handle key) {
  auto& b = self.cast<Batch&>();
  if (py::isinstance<py::str>(key)) {
    const auto name = key.cast<std::string>();
    if (!b.has(name)) throw py::key_error("Batch has no field '" + name + "'");
    return tensor_view(b.get(name), self, &b);
  }
  if (py::isinstance<py::int_>(key) || py::hasattr(key, "__index__")) {
    if (!py::isinstance<py::slice>(key) && !py::hasattr(key, "__len__")) {
      std::int64_t i = key.cast<std::int64_t>();
      const std::int64_t n = b.n_systems();
      if (i < 0) i += n;
      if (i < 0 || i >= n) throw py::index_error("system index out of range for a batch of " + std::to_string(n));
      return py::cast(b.system(i));
    }
  }
  std::vector<std::int64_t> idx;
  if (py::isinstance<py::slice>(key)) {
    std::size_t start, stop, step, len;
    if (!key.cast<py::slice>().compute(static_cast<std::size_t>(b.n_systems()), &start, &stop, &step, &len))
      throw py::error_already_set();
    for (std::size_t k = 0; k < len; ++k) idx.push_back(static_cast<std::int64_t>(start + k * step));
  } else {
    idx = indices_from_py(key, b.n_systems(), "Batch[...]");
  }
  Batch out;
  {
    py::gil_scoped_release nogil;
    out = b.index_select(idx);
  }
  return py::cast(std::move(out));
}

template <class C>
void def_standard_properties(C& cls, bool is_batch) {
  for (const auto& spec : standard_fields()) {
    const std::string name(spec.name);
    const std::string doc = std::string(level_name(spec.level)) + "-level field '" + name + "'" +
                            (spec.units.empty() ? "" : " (" + std::string(spec.units) + ")") +
                            ": a view of the C++ memory; assigning copies into it";
    if (is_batch) {
      cls.def_property(
          name.c_str(), [name](py::object self) { return batch_get(self, name); },
          [name](Batch& b, py::handle v) { batch_set(b, name, v, std::nullopt, py::none()); }, doc.c_str());
    } else {
      cls.def_property(
          name.c_str(), [name](py::object self) { return data_get(self, name); },
          [name](AtomicData& d, py::handle v) { data_set(d, name, v, std::nullopt, py::none()); }, doc.c_str());
    }
  }
}

template <class T>
py::list field_names(const T& o) {
  py::list out;
  for (const auto& [k, f] : o.fields()) out.append(k);
  return out;
}

}  // namespace

void bind_data(py::module_& m) {
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
  def_standard_properties(data, false);

  // ---------------------------------------------------------------- Batch
  py::class_<Batch> batch(m, "Batch",
                          "Many systems, struct of arrays, CSR by system. Fields are views of the C++ memory "
                          "(NumPy on the host, DeviceArray/DLPack on a GPU; see docs/python.md).");
  batch.def(py::init<>())
      .def_static("from_data_list", &batch_from_data_list, "data_list"_a, "exclude_keys"_a = std::vector<std::string>{},
                  "A batch of copies of the given AtomicData (every item must have the same fields).")
      .def_static(
          "concat",
          [](const std::vector<const Batch*>& parts) {
            py::gil_scoped_release nogil;
            return Batch::concat(parts);
          },
          "batches"_a, "All systems of the given batches, in order (same fields required).")
      .def_property_readonly("n_systems", &Batch::n_systems)
      .def_property_readonly("num_graphs", &Batch::n_systems)
      .def_property_readonly("batch_size", &Batch::n_systems)
      .def("__len__", &Batch::n_systems)
      .def_property_readonly("n_atoms", &Batch::n_atoms)
      .def_property_readonly("num_nodes", &Batch::n_atoms)
      .def_property_readonly("n_edges", &Batch::n_edges)
      .def_property_readonly("num_edges", &Batch::n_edges)
      .def_property_readonly(
          "atoms_ptr",
          [](py::object self) {
            return tensor_view(self.cast<Batch&>().atoms_ptr(), self, &self.cast<Batch&>(), true);
          },
          "int64 [n_systems+1] (read-only view): system s owns atoms [atoms_ptr[s], atoms_ptr[s+1]).")
      .def_property_readonly(
          "batch_ptr",
          [](py::object self) {
            return tensor_view(self.cast<Batch&>().atoms_ptr(), self, &self.cast<Batch&>(), true);
          },
          "Same as atoms_ptr (toolkit name).")
      .def_property_readonly("edges_ptr",
                             [](py::object self) {
                               return tensor_view(self.cast<Batch&>().edges_ptr(), self, &self.cast<Batch&>(), true);
                             })
      .def_property_readonly(
          "system_index",
          [](py::object self) {
            return tensor_view(self.cast<Batch&>().system_index(), self, &self.cast<Batch&>(), true);
          },
          "int64 [n_atoms] (read-only view): the system of each atom.")
      .def_property_readonly(
          "batch_idx",
          [](py::object self) {
            return tensor_view(self.cast<Batch&>().system_index(), self, &self.cast<Batch&>(), true);
          },
          "Same as system_index (toolkit name).")
      .def_property_readonly("num_nodes_list", [](const Batch& b) { return counts(b.atoms_ptr()); })
      .def_property_readonly("num_edges_list", [](const Batch& b) { return counts(b.edges_ptr()); })
      .def_property_readonly("system_capacity", &Batch::system_capacity)
      .def_property_readonly("atom_capacity", &Batch::atom_capacity)
      .def_property_readonly("edge_capacity", &Batch::edge_capacity)
      .def_property_readonly("device", [](const Batch& b) { return b.device().str(); })
      .def_property_readonly("is_cuda", &Batch::is_cuda)
      .def_property_readonly("float_dtype", [](const Batch& b) { return std::string(dtype_name(b.float_dtype())); })
      .def("keys", &field_names<Batch>, "Field names.")
      .def(
          "level", [](const Batch& b, const std::string& n) { return std::string(level_name(b.level(n))); }, "name"_a,
          "'atom', 'edge' or 'system'.")
      .def("__contains__", [](const Batch& b, const std::string& n) { return b.has(n); })
      .def("__getitem__", &batch_getitem,
           "batch['field'] -> view; batch[i] -> AtomicData (copy); batch[slice | indices | bool mask] -> Batch (copy).")
      .def("__getattr__",
           [](py::object self, const std::string& n) -> py::object {
             if (n.starts_with("__")) throw py::attribute_error(n);
             return batch_get(self, n);
           })
      .def("__setitem__",
           [](Batch& b, const std::string& n, py::handle v) { batch_set(b, n, v, std::nullopt, py::none()); })
      .def("__delitem__",
           [](Batch& b, const std::string& n) {
             if (!b.has(n)) throw py::key_error("Batch has no field '" + n + "'");
             check_no_exports(&b, "deleting field '" + n + "'");
             b.erase(n);
           })
      .def("set_field", &batch_set, "name"_a, "values"_a, "level"_a = py::none(), "dtype"_a = py::none(),
           "Adds or replaces a field from values with a leading axis of atoms, edges or systems; copies into the "
           "existing storage when the field exists with that shape.")
      .def(
          "add_field",
          [](py::object self, const std::string& n, const std::string& level, py::handle dtype, const Shape& shape) {
            auto& b = self.cast<Batch&>();
            b.add_field(n, level_from_name(level), dtype_from_py(dtype, b.float_dtype()), shape);
            return batch_get(self, n);
          },
          "name"_a, "level"_a, "dtype"_a = py::none(), "shape"_a = Shape{},
          "Adds a zero-filled field (trailing shape `shape`; dtype default: the batch's float dtype) and returns "
          "its view; returns the existing one if it matches.")
      .def(
          "add_standard",
          [](py::object self, const std::string& n) {
            self.cast<Batch&>().add_standard(n);
            return batch_get(self, n);
          },
          "name"_a, "Adds a standard field (zero-filled) and returns its view.")
      .def(
          "index_select",
          [](const Batch& b, py::handle idx) {
            auto v = indices_from_py(idx, b.n_systems(), "index_select");
            py::gil_scoped_release nogil;
            return b.index_select(v);
          },
          "indices"_a, "A new batch of the given systems (indices or a bool mask), in the given order.")
      .def(
          "system",
          [](const Batch& b, std::int64_t i) {
            if (i < 0) i += b.n_systems();
            return b.system(i);
          },
          "index"_a, "System i as AtomicData (a copy).")
      .def(
          "get_data",
          [](const Batch& b, std::int64_t i) {
            if (i < 0) i += b.n_systems();
            return b.system(i);
          },
          "index"_a)
      .def("to_data_list", &Batch::split, py::call_guard<py::gil_scoped_release>(),
           "Every system as AtomicData (copies).")
      .def("split", &Batch::split, py::call_guard<py::gil_scoped_release>())
      .def(
          "append",
          [](Batch& b, const Batch& src, py::handle systems) {
            check_no_exports(&b, "Batch.append");
            std::vector<std::int64_t> idx;
            if (systems.is_none())
              for (std::int64_t i = 0; i < src.n_systems(); ++i) idx.push_back(i);
            else
              idx = indices_from_py(systems, src.n_systems(), "Batch.append");
            py::gil_scoped_release nogil;
            b.append(src, idx);
          },
          "other"_a, "systems"_a = py::none(), "Appends (the given) systems of other, in place.")
      .def(
          "put",
          [](Batch& b, const Batch& src, py::handle mask) {
            check_no_exports(&b, "Batch.put");
            auto msk = mask_from_py(mask, src.n_systems(), "Batch.put");
            py::gil_scoped_release nogil;
            b.put(src, msk);
          },
          "src"_a, "mask"_a = py::none(),
          "Appends src's systems where mask is true into storage reserved with reserve(); CapacityError (and no "
          "change) if they do not fit.")
      .def(
          "reserve",
          [](Batch& b, std::int64_t s, std::int64_t a, std::int64_t e) {
            check_no_exports(&b, "Batch.reserve");
            b.reserve(s, a, e);
          },
          "systems"_a, "atoms"_a, "edges"_a = 0)
      .def(
          "clear",
          [](Batch& b) {
            check_no_exports(&b, "Batch.clear");
            b.clear();
          },
          "Drops every system, keeping fields and reserved storage.")
      .def("clone", &Batch::clone, py::call_guard<py::gil_scoped_release>(), "A deep copy.")
      .def(
          "to",
          [](const Batch& b, py::handle device) {
            Device d = device_from_py(device);
            py::gil_scoped_release nogil;
            return b.to(d);
          },
          "device"_a, "A copy on another device ('cpu', 'cuda', 'cuda:N').")
      .def("cpu",
           [](const Batch& b) {
             py::gil_scoped_release nogil;
             return b.to(Device::cpu());
           })
      .def(
          "cuda",
          [](const Batch& b, int index) {
            py::gil_scoped_release nogil;
            return b.to(Device{Device::Kind::CUDA, index});
          },
          "device"_a = 0)
      .def("empty_like", &Batch::empty_like, "A batch with the same fields and no systems.")
      .def("validate", &Batch::validate, "Checks the invariants; FormatError if one does not hold.")
      .def("__repr__", &batch_repr);
  def_standard_properties(batch, true);
}

}  // namespace batchmd::python
