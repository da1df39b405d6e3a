// SPDX-License-Identifier: Apache-2.0
// The Zarr v2 names of batchmd's dtypes.
#include "dtype_codes.hpp"

#include <array>

namespace batchmd::zarr {

namespace {

struct Names {
  DType dtype;
  char v2_kind;  // numpy kind: f, i, u, b
};

constexpr std::array<Names, 6> kNames = {{{DType::Float32, 'f'},
                                          {DType::Float64, 'f'},
                                          {DType::Int32, 'i'},
                                          {DType::Int64, 'i'},
                                          {DType::Bool, 'b'},
                                          {DType::UInt8, 'u'}}};

}  // namespace

std::string v2_dtype_string(DType t) {
  for (const Names& n : kNames) {
    if (n.dtype == t) {
      const std::size_t size = dtype_size(t);
      return std::string(1, size == 1 ? '|' : '<') + n.v2_kind + std::to_string(size);
    }
  }
  return "unknown";
}

std::optional<DType> dtype_from_v2_string(std::string_view s, bool& big_endian) {
  if (s.size() != 3) return std::nullopt;
  const char order = s[0];
  if (order != '<' && order != '>' && order != '|' && order != '=') return std::nullopt;
  for (const Names& n : kNames) {
    if (s[1] == n.v2_kind && static_cast<std::size_t>(s[2] - '0') == dtype_size(n.dtype)) {
      // '|' (not applicable) is valid only for one-byte types, where order does not matter.
      if (order == '|' && dtype_size(n.dtype) != 1) return std::nullopt;
      big_endian = order == '>';
      return n.dtype;
    }
  }
  return std::nullopt;
}

}  // namespace batchmd::zarr
