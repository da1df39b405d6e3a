// SPDX-License-Identifier: Apache-2.0
// python/dlpack: the DLPack data-interchange ABI (the "legacy" unversioned DLManagedTensor that
// PyTorch, CuPy, JAX and NumPy consume through a "dltensor" capsule), declared here from the
// published specification (dmlc/dlpack, include/dlpack/dlpack.h, ABI unchanged since v0.6) because
// Debian ships no standalone dlpack header. Only what the exporter needs.
#pragma once
#include <cstdint>

namespace batchmd::python::dlpack {

enum DeviceType : std::int32_t { kDLCPU = 1, kDLCUDA = 2 };
enum TypeCode : std::uint8_t { kDLInt = 0, kDLUInt = 1, kDLFloat = 2, kDLBool = 6 };

struct DLDevice {
  std::int32_t device_type;
  std::int32_t device_id;
};

struct DLDataType {
  std::uint8_t code;
  std::uint8_t bits;
  std::uint16_t lanes;
};

struct DLTensor {
  void* data;
  DLDevice device;
  std::int32_t ndim;
  DLDataType dtype;
  std::int64_t* shape;
  std::int64_t* strides;  // nullptr: compact row-major
  std::uint64_t byte_offset;
};

struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor* self);
};

}  // namespace batchmd::python::dlpack
