// SPDX-License-Identifier: Apache-2.0
// python/fields: what the AtomicData and Batch bindings share — turning Python values into new
// fields (level and dtype from the standard schema, else from the values), and the properties for
// the standard field names.
#pragma once
#include <optional>
#include <string>

#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"
#include "common.hpp"

namespace batchmd::python {

inline Shape py_shape_of(py::handle values) {
  py::array a = py::module_::import("numpy").attr("asarray")(values).cast<py::array>();
  return Shape(a.shape(), a.shape() + a.ndim());
}

/// Level from an optional name, else from the standard schema, else from the leading dimension.
inline Level choose_level(const std::string& name, const std::optional<std::string>& level, const Shape& shape,
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
inline DType choose_dtype(const std::string& name, py::handle values, DType float_dtype, py::handle dtype) {
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
inline py::object broadcast_rows(py::handle values, std::int64_t rows, const std::optional<Shape>& trailing) {
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

[[noreturn]] inline void no_field(const std::string& what, const std::string& name) {
  throw py::attribute_error(what + " has no field '" + name + "'");
}

template <class T>
py::list field_names(const T& o) {
  py::list out;
  for (const auto& [k, f] : o.fields()) out.append(k);
  return out;
}

/// One property per standard field name (positions, velocities, ...): get(self, name) returns the
/// view, set(obj, name, values) assigns.
template <class Obj, class C, class Get, class Set>
void def_standard_properties(C& cls, Get get, Set set) {
  for (const auto& spec : standard_fields()) {
    const std::string name(spec.name);
    const std::string doc = std::string(level_name(spec.level)) + "-level field '" + name + "'" +
                            (spec.units.empty() ? "" : " (" + std::string(spec.units) + ")") +
                            ": a view of the C++ memory; assigning copies into it";
    cls.def_property(
        name.c_str(), [name, get](py::object self) { return get(self, name); },
        [name, set](Obj& o, py::handle v) { set(o, name, v); }, doc.c_str());
  }
}

}  // namespace batchmd::python
