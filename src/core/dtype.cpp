// SPDX-License-Identifier: Apache-2.0
// core/dtype: sizes and names of element types.
#include "batchmd/core/dtype.hpp"

#include "batchmd/core/error.hpp"

namespace batchmd {

std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32:
      return 4;
    case DType::Float64:
      return 8;
    case DType::Int32:
      return 4;
    case DType::Int64:
      return 8;
    case DType::Bool:
      return 1;
    case DType::UInt8:
      return 1;
  }
  return 0;
}

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::Float32:
      return "float32";
    case DType::Float64:
      return "float64";
    case DType::Int32:
      return "int32";
    case DType::Int64:
      return "int64";
    case DType::Bool:
      return "bool";
    case DType::UInt8:
      return "uint8";
  }
  return "?";
}

DType dtype_from_name(std::string_view name) {
  for (DType t : {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::Bool, DType::UInt8})
    if (dtype_name(t) == name) return t;
  throw InvalidArgument("unknown dtype '" + std::string(name) +
                        "' (expected float32, float64, int32, int64, bool or uint8)");
}

bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

void throw_not_floating(DType t) {
  throw InvalidArgument("expected a floating dtype (float32 or float64), got " + std::string(dtype_name(t)));
}

}  // namespace batchmd
