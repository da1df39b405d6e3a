// SPDX-License-Identifier: Apache-2.0
// python/views: Tensor memory seen from Python without copies. A host tensor becomes a NumPy array
// whose data pointer is the tensor's and whose base is a capsule holding the owning Python object;
// a GPU tensor becomes a DeviceArray that exports DLPack. Every live view (and every DLPack capsule
// not yet released by its consumer) counts one export of the C++ object holding the tensor (a Batch
// or an AtomicData); operations that would reallocate or drop fields refuse with BufferError while
// exports exist — the rule bytearray uses — so a view can never point at freed memory.
#include <Python.h>

#include <array>
#include <cstring>
#include <unordered_map>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "common.hpp"
#include "dlpack.hpp"

namespace batchmd::python {

namespace {

// Live exports per C++ object. Only touched with the GIL held.
std::unordered_map<const void*, std::int64_t>& exports() {
  static auto* table = new std::unordered_map<const void*, std::int64_t>();  // leaked: outlives module teardown
  return *table;
}
void add_export(const void* key) {
  if (key) ++exports()[key];
}
void drop_export(const void* key) {
  if (!key) return;
  auto it = exports().find(key);
  if (it != exports().end() && --it->second <= 0) exports().erase(it);
}

/// What a NumPy view's base capsule holds: the owner reference and the export it counts.
struct ExportToken {
  PyObject* owner;
  const void* key;
};

void release_token(void* p) {
  auto* t = static_cast<ExportToken*>(p);
  drop_export(t->key);
  Py_XDECREF(t->owner);
  delete t;
}

py::capsule export_token(py::handle owner, const void* key) {
  add_export(key);
  return py::capsule(new ExportToken{owner.inc_ref().ptr(), key}, release_token);
}

std::vector<py::ssize_t> py_shape(const Tensor& t) { return {t.shape().begin(), t.shape().end()}; }

dlpack::DLDataType dl_dtype(DType t) {
  switch (t) {
    case DType::Float32:
      return {dlpack::kDLFloat, 32, 1};
    case DType::Float64:
      return {dlpack::kDLFloat, 64, 1};
    case DType::Int32:
      return {dlpack::kDLInt, 32, 1};
    case DType::Int64:
      return {dlpack::kDLInt, 64, 1};
    case DType::Bool:
      return {dlpack::kDLBool, 8, 1};
    case DType::UInt8:
      return {dlpack::kDLUInt, 8, 1};
  }
  throw InvalidArgument("no DLPack type for dtype " + std::string(dtype_name(t)));
}

/// What a DLPack capsule's manager_ctx holds.
struct DLPackCtx {
  PyObject* owner;
  const void* key;
  std::vector<std::int64_t> shape;
};

void dlpack_deleter(dlpack::DLManagedTensor* self) {
  auto* c = static_cast<DLPackCtx*>(self->manager_ctx);
  if (Py_IsInitialized()) {  // consumers may release from any thread, without the GIL
    PyGILState_STATE g = PyGILState_Ensure();
    drop_export(c->key);
    Py_XDECREF(c->owner);
    PyGILState_Release(g);
  }
  delete c;
  delete self;
}

void dlpack_capsule_destructor(PyObject* capsule) {
  // A consumer renames the capsule "used_dltensor" and owns the tensor from then on; only an
  // unconsumed capsule still owns it.
  if (PyCapsule_IsValid(capsule, "dltensor")) {
    auto* mt = static_cast<dlpack::DLManagedTensor*>(PyCapsule_GetPointer(capsule, "dltensor"));
    mt->deleter(mt);
  } else {
    PyErr_Clear();
  }
}

/// A view of GPU memory: the DLPack producer (`__dlpack__`, `__dlpack_device__`) plus shape, dtype,
/// device and explicit host copies.
class DeviceArray {
 public:
  DeviceArray(const Tensor& t, py::handle owner, const void* key)
      : t_(&t), owner_(py::reinterpret_borrow<py::object>(owner)), key_(key) {
    add_export(key_);
  }
  ~DeviceArray() { drop_export(key_); }  // Python deallocates it with the GIL held
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  py::tuple shape() const { return py::cast(py_shape(*t_)); }
  py::dtype dtype() const { return numpy_dtype(t_->dtype()); }
  std::string device() const { return t_->device().str(); }
  std::int64_t ndim() const { return static_cast<std::int64_t>(t_->ndim()); }
  std::int64_t size() const { return t_->numel(); }
  std::int64_t len() const { return t_->ndim() ? t_->dim(0) : 0; }

  /// A host copy (waits for the GPU work that produced the data).
  py::array numpy() const {
    py::array out(numpy_dtype(t_->dtype()), py_shape(*t_));
    if (t_->nbytes() == 0) return out;
    const void* src = t_->raw();
    void* dst = out.mutable_data();
    const std::size_t n = t_->nbytes();
    const int dev = t_->device().index;
    py::gil_scoped_release nogil;
    cuda::copy(dst, src, n, cuda::compute_stream(dev));
    return out;
  }

  /// Copies host values into the GPU memory (ordered before any later batchmd GPU work).
  void copy_from(py::handle values) { copy_into(const_cast<Tensor&>(*t_), values, "DeviceArray.copy_from"); }

  py::tuple dlpack_device() const { return py::make_tuple(static_cast<int>(dlpack::kDLCUDA), t_->device().index); }

  /// Exports the memory as a DLPack capsule. `stream` is the consumer's CUDA stream (Array API
  /// convention: None or 1 = the legacy default stream, 2 = per-thread default, -1 = no
  /// synchronisation, else a cudaStream_t as an integer): the consumer's stream is made to wait for
  /// the work batchmd queued on its compute stream, without blocking the host.
  py::capsule dlpack(py::object stream) const {
    const int dev = t_->device().index;
    std::intptr_t s = 1;
    if (!stream.is_none()) s = stream.cast<std::intptr_t>();
    if (s != -1) {
      if (s == 0) s = 1;  // 0 is ambiguous for CUDA; the Array API forbids it, treat as legacy default
      cuda::set_device(dev);
      cuda::Event ready;
      ready.record(cuda::compute_stream(dev));
      ready.wait(reinterpret_cast<cuda::Stream>(s));
    }
    auto* ctx = new DLPackCtx{owner_.inc_ref().ptr(), key_, t_->shape()};
    add_export(key_);
    auto* mt = new dlpack::DLManagedTensor{};
    mt->dl_tensor.data = const_cast<void*>(t_->raw());
    mt->dl_tensor.device = {dlpack::kDLCUDA, dev};
    mt->dl_tensor.ndim = static_cast<std::int32_t>(ctx->shape.size());
    mt->dl_tensor.dtype = dl_dtype(t_->dtype());
    mt->dl_tensor.shape = ctx->shape.data();
    mt->dl_tensor.strides = nullptr;
    mt->dl_tensor.byte_offset = 0;
    mt->manager_ctx = ctx;
    mt->deleter = dlpack_deleter;
    return py::capsule(mt, "dltensor", dlpack_capsule_destructor);
  }

  std::string repr() const {
    return "DeviceArray(shape=" + shape_str(t_->shape()) + ", dtype=" + std::string(dtype_name(t_->dtype())) +
           ", device=" + device() + ")";
  }

 private:
  const Tensor* t_;  // storage pinned by the export this view counts
  py::object owner_;
  const void* key_;
};

py::object numpy_module() {
  static py::handle np = py::module_::import("numpy").release();  // kept for the process lifetime
  return py::reinterpret_borrow<py::object>(np);
}

/// values as a C-contiguous NumPy array of `dtype`, refusing lossy kinds of conversion
/// (float -> int, int -> bool) with a message naming `what`.
py::array as_array(py::handle values, DType dtype, const std::string& what) {
  py::object np = numpy_module();
  py::object arr = np.attr("asarray")(values);
  py::dtype want = numpy_dtype(dtype);
  py::dtype have = arr.attr("dtype").cast<py::dtype>();
  if (!np.attr("can_cast")(have, want, "same_kind").cast<bool>())
    throw InvalidArgument(what + ": cannot store " + to_str(have) + " values as " + std::string(dtype_name(dtype)));
  return np.attr("ascontiguousarray")(arr, want).cast<py::array>();
}

}  // namespace

py::dtype numpy_dtype(DType t) {
  // Made once per dtype (views are made at every hook firing that reads a field).
  static const std::array<py::handle, 6> cache = [] {
    return std::array<py::handle, 6>{py::dtype::of<float>().release(),        py::dtype::of<double>().release(),
                                     py::dtype::of<std::int32_t>().release(), py::dtype::of<std::int64_t>().release(),
                                     py::dtype::of<bool>().release(),         py::dtype::of<std::uint8_t>().release()};
  }();
  const auto i = static_cast<std::size_t>(t);
  if (i >= cache.size()) throw InvalidArgument("unknown dtype");
  return py::reinterpret_borrow<py::dtype>(cache[i]);
}

DType dtype_from_numpy(const py::dtype& d) {
  const char kind = d.kind();
  const auto size = d.itemsize();
  if (kind == 'f' && size == 4) return DType::Float32;
  if (kind == 'f' && size == 8) return DType::Float64;
  if (kind == 'i' && size == 4) return DType::Int32;
  if (kind == 'i' && size == 8) return DType::Int64;
  if (kind == 'b') return DType::Bool;
  if (kind == 'u' && size == 1) return DType::UInt8;
  throw py::type_error("batchmd has no dtype for NumPy dtype " + to_str(d) +
                       " (float32, float64, int32, int64, bool, uint8)");
}

DType dtype_from_py(py::handle h, DType fallback) {
  if (h.is_none()) return fallback;
  if (py::isinstance<py::str>(h)) return dtype_from_name(h.cast<std::string>());
  return dtype_from_numpy(numpy_module().attr("dtype")(h).cast<py::dtype>());
}

py::object tensor_view(const Tensor& t, py::handle owner, const void* key, bool read_only) {
  if (t.is_cuda()) return py::cast(std::make_unique<DeviceArray>(t, owner, key));
  if (t.nbytes() == 0) {  // no memory to alias: an empty array of the right shape
    py::array a(numpy_dtype(t.dtype()), py_shape(t));
    if (read_only) py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
    return a;
  }
  py::array a(numpy_dtype(t.dtype()), py_shape(t), t.raw(), export_token(owner, key));
  if (read_only) py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return a;
}

void check_no_exports(const void* key, const std::string& what) {
  auto it = exports().find(key);
  if (it == exports().end() || it->second <= 0) return;
  throw py::buffer_error(what + ": " + std::to_string(it->second) +
                         " view(s) of this object's fields are alive (NumPy arrays, DeviceArrays or DLPack "
                         "tensors) and would be left pointing at moved memory; delete them first (del view)");
}

Tensor tensor_from_py(py::handle values, DType dtype, const std::optional<Shape>& trailing, bool allow_single_row,
                      const std::string& what) {
  py::array a = as_array(values, dtype, what);
  Shape shape(a.shape(), a.shape() + a.ndim());
  if (trailing) {
    if (allow_single_row && shape.size() == trailing->size()) shape.insert(shape.begin(), 1);
    const bool ok =
        shape.size() == trailing->size() + 1 && std::equal(trailing->begin(), trailing->end(), shape.begin() + 1);
    if (!ok) {
      Shape want{-1};
      want.insert(want.end(), trailing->begin(), trailing->end());
      throw InvalidArgument(what + ": expected shape " + shape_str(want) + " (-1: any), got " + shape_str(shape));
    }
  } else if (shape.empty()) {
    shape = {1};
  }
  Tensor t(dtype, shape);
  if (t.nbytes()) std::memcpy(t.raw(), a.data(), t.nbytes());
  return t;
}

void copy_into(Tensor& dst, py::handle values, const std::string& what) {
  py::array a = as_array(values, dst.dtype(), what);
  Shape have(a.shape(), a.shape() + a.ndim());
  if (have != dst.shape()) {
    try {  // scalars and rows broadcast, as in NumPy assignment
      a = numpy_module()
              .attr("ascontiguousarray")(numpy_module().attr("broadcast_to")(a, py::cast(dst.shape())))
              .cast<py::array>();
    } catch (py::error_already_set&) {
      throw InvalidArgument(what + ": values of shape " + shape_str(have) + " do not fit shape " +
                            shape_str(dst.shape()));
    }
  }
  if (dst.nbytes() == 0) return;
  if (!dst.is_cuda()) {
    std::memcpy(dst.raw(), a.data(), dst.nbytes());
    return;
  }
  const int dev = dst.device().index;
  void* d = dst.raw();
  const void* s = a.data();
  const std::size_t n = dst.nbytes();
  py::gil_scoped_release nogil;
  cuda::copy(d, s, n, cuda::compute_stream(dev));
}

Device device_from_py(py::handle h) {
  if (h.is_none()) return Device::cpu();
  return Device::parse(to_str(h));
}

std::vector<std::int64_t> indices_from_py(py::handle h, std::int64_t n, const std::string& what) {
  py::object np = numpy_module();
  py::array arr = np.attr("asarray")(h).cast<py::array>();
  if (arr.ndim() != 1 && !(arr.ndim() == 0)) throw InvalidArgument(what + ": expected a 1-D sequence of indices");
  if (arr.dtype().kind() == 'b') {
    if (arr.size() != n)
      throw InvalidArgument(what + ": boolean mask has " + std::to_string(arr.size()) + " entries for " +
                            std::to_string(n) + " systems");
    arr = np.attr("flatnonzero")(arr).cast<py::array>();
  }
  if (arr.size() > 0 && arr.dtype().kind() != 'i' && arr.dtype().kind() != 'u')
    throw py::type_error(what + ": indices must be integers or a boolean mask, got " + to_str(arr.dtype()));
  auto ints = np.attr("ascontiguousarray")(arr, "int64").cast<py::array_t<std::int64_t>>();
  std::vector<std::int64_t> out(ints.data(), ints.data() + ints.size());
  for (auto& i : out) {
    const std::int64_t orig = i;
    if (i < 0) i += n;
    if (i < 0 || i >= n)
      throw py::index_error(what + ": index " + std::to_string(orig) + " is out of range for " + std::to_string(n) +
                            " systems");
  }
  return out;
}

std::vector<bool> mask_from_py(py::handle h, std::int64_t n, const std::string& what) {
  if (h.is_none()) return std::vector<bool>(static_cast<std::size_t>(n), true);
  std::vector<bool> mask(static_cast<std::size_t>(n), false);
  for (std::int64_t i : indices_from_py(h, n, what)) mask[static_cast<std::size_t>(i)] = true;
  return mask;
}

void bind_views(py::module_& m) {
  py::class_<DeviceArray>(m, "DeviceArray",
                          "A field in GPU memory, exported without a copy through DLPack "
                          "(torch.from_dlpack(a), cupy.from_dlpack(a)). Valid while its batch holds the field; "
                          "numpy() copies to the host.")
      .def_property_readonly("shape", &DeviceArray::shape)
      .def_property_readonly("dtype", &DeviceArray::dtype)
      .def_property_readonly("device", &DeviceArray::device)
      .def_property_readonly("ndim", &DeviceArray::ndim)
      .def_property_readonly("size", &DeviceArray::size)
      .def("__len__", &DeviceArray::len)
      .def("numpy", &DeviceArray::numpy, "A host copy as a NumPy array.")
      .def("copy_from", &DeviceArray::copy_from, py::arg("values"), "Copies host values into this GPU memory.")
      .def("__dlpack__", &DeviceArray::dlpack, py::arg("stream") = py::none())
      .def("__dlpack_device__", &DeviceArray::dlpack_device)
      .def("__repr__", &DeviceArray::repr);
}

}  // namespace batchmd::python
