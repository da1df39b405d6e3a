// SPDX-License-Identifier: Apache-2.0
// python/bind_batch: Batch, many systems CSR by system, with the ALCHEMI toolkit's names
// (from_data_list, index_select, num_graphs, batch_ptr, ...). Fields read as views of the C++
// memory: NumPy arrays on the host, DeviceArray (DLPack) on a GPU. Assigning to an existing field
// copies into its storage (views stay valid); operations that move storage (append, put, reserve,
// clear, replacing or deleting a field) raise BufferError while views are alive (see views.cpp).
#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"
#include "fields.hpp"

namespace batchmd::python {

namespace {

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
                           py::str(py::type::handle_of(h).attr("__name__")).cast<std::string>());
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

}  // namespace

void bind_batch(py::module_& m) {
  using namespace py::literals;

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
  def_standard_properties<Batch>(
      batch, [](py::object self, const std::string& n) { return batch_get(self, n); },
      [](Batch& b, const std::string& n, py::handle v) { batch_set(b, n, v, std::nullopt, py::none()); });
}

}  // namespace batchmd::python
