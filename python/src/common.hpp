// SPDX-License-Identifier: Apache-2.0
// python/common: what the binding files share — the pybind11 includes, one bind_* entry point per
// file (one file per C++ module, so they compile in parallel), and the conversions between Tensor
// memory and Python (views.cpp): NumPy views of host memory, DLPack exports of GPU memory, and the
// export count that keeps a view from outliving the storage it aliases.
//
// Threading rule for every binding: C++ work that can take long (a run, a step, a model evaluation,
// sink I/O, batch copies) runs with the GIL released; C++ code takes the GIL back only to call
// Python (Python hooks and models, the Ctrl-C check) and never holds it while waiting on C++.
#pragma once
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "batchmd/core/tensor.hpp"
#include "batchmd/data/batch.hpp"

// AtomicData holds a std::map of move-only fields, so its implicit copy constructor is declared but
// cannot be instantiated; tell pybind11 to move it instead.
namespace pybind11::detail {
template <>
struct is_copy_constructible<batchmd::AtomicData> : std::false_type {};
template <>
struct is_copy_assignable<batchmd::AtomicData> : std::false_type {};
}  // namespace pybind11::detail

namespace batchmd::python {

namespace py = pybind11;

void bind_errors(py::module_& m);
void bind_core(py::module_& m);
void bind_atomic_data(py::module_& m);
void bind_batch(py::module_& m);
void bind_models(py::module_& m);
void bind_dynamics(py::module_& m);
void bind_hooks(py::module_& m);
void bind_sinks(py::module_& m);
/// DeviceArray, the DLPack view of GPU memory (views.cpp).
void bind_views(py::module_& m);

/// str(h) as a std::string.
inline std::string to_str(py::handle h) { return py::str(h).cast<std::string>(); }

// ------------------------------------------------------------------ Ctrl-C (bind_dynamics.cpp)

/// Inside a run: parks a KeyboardInterrupt raised by Python code the step loop called, so the step
/// completes and the run stops cleanly, then raises it from run(). Returns false (leave `e` to
/// propagate) for other exceptions or outside runs. GIL held.
bool defer_interrupt(py::error_already_set& e);
/// Whether a KeyboardInterrupt is parked for the current run.
bool interrupt_pending();

// ------------------------------------------------------------------ views (views.cpp)

/// The NumPy dtype of a batchmd dtype, and back (TypeError for a NumPy dtype batchmd has no match for).
py::dtype numpy_dtype(DType t);
DType dtype_from_numpy(const py::dtype& d);
/// A dtype from a Python value: None (-> fallback), a str ("float64"), a NumPy dtype or type.
DType dtype_from_py(py::handle h, DType fallback);

/// A view of the memory of `t`, owned by `owner` (the Python object that owns the C++ object `key`
/// holding `t`; the view keeps it alive). A host tensor gives a NumPy array (writable unless
/// read_only); a GPU tensor a DeviceArray exporting DLPack. While the view lives, `key` counts one
/// export, and operations that would move or free its storage raise BufferError (check_no_exports).
py::object tensor_view(const Tensor& t, py::handle owner, const void* key, bool read_only = false);
/// Raises BufferError when views of `key`'s storage are alive (`what`: the operation refused).
void check_no_exports(const void* key, const std::string& what);

/// A new host Tensor holding `values` (anything NumPy converts: arrays, lists, scalars, CPU torch
/// tensors) as `dtype`. With `trailing` set, the shape must be [rows, *trailing] (a value without
/// the leading axis is taken as one row when `allow_single_row`); InvalidArgument names `what`.
Tensor tensor_from_py(py::handle values, DType dtype, const std::optional<Shape>& trailing, bool allow_single_row,
                      const std::string& what);
/// Copies `values` into an existing tensor of the same element count (host or GPU), converting the
/// dtype; InvalidArgument naming `what` when the shapes differ.
void copy_into(Tensor& dst, py::handle values, const std::string& what);

/// A device from None (CPU), "cpu", "cuda", "cuda:N" or an object whose str() is one of these
/// (torch.device).
Device device_from_py(py::handle h);

/// A per-system mask from None (every system), a bool sequence/array, or an index sequence.
std::vector<bool> mask_from_py(py::handle h, std::int64_t n, const std::string& what);
/// Indices from an int sequence/array or a bool mask (with n entries); negatives count from n.
std::vector<std::int64_t> indices_from_py(py::handle h, std::int64_t n, const std::string& what);

}  // namespace batchmd::python
