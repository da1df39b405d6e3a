// SPDX-License-Identifier: Apache-2.0
// core/dtype: the element types a Tensor can hold, their sizes and names.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace batchmd {

enum class DType : std::uint8_t { Float32, Float64, Int32, Int64, Bool, UInt8 };

/// Size of one element in bytes.
std::size_t dtype_size(DType t);
/// Canonical name: "float32", "float64", "int32", "int64", "bool", "uint8".
std::string_view dtype_name(DType t);
/// Parses a canonical name; throws InvalidArgument naming the bad value.
DType dtype_from_name(std::string_view name);
bool is_floating(DType t);

template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::Float32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::Float64;
}
template <>
constexpr DType dtype_of<std::int32_t>() {
  return DType::Int32;
}
template <>
constexpr DType dtype_of<std::int64_t>() {
  return DType::Int64;
}
template <>
constexpr DType dtype_of<bool>() {
  return DType::Bool;
}
template <>
constexpr DType dtype_of<std::uint8_t>() {
  return DType::UInt8;
}

[[noreturn]] void throw_not_floating(DType t);

/// Calls f(T{}) with T the C++ type of a floating dtype; throws for other dtypes.
template <typename F>
decltype(auto) dispatch_float(DType t, F&& f) {
  if (t == DType::Float32) return f(float{});
  if (t == DType::Float64) return f(double{});
  throw_not_floating(t);
}

}  // namespace batchmd
