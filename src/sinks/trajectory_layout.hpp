// SPDX-License-Identifier: Apache-2.0
// sinks/trajectory_layout: how a batch's fields map onto the arrays of a trajectory store
// (TRAJECTORY_FORMAT.md): one FieldDef per stored field, the rows a selection of systems
// contributes, and the dimension names written into the metadata.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "batchmd/data/batch.hpp"

namespace batchmd::sinks::detail {

inline constexpr const char* kWriterName = "batchmd";

struct FieldDef {
  std::string name;
  Level level;
  DType dtype;
  Shape trailing;
  std::size_t row_bytes() const {
    std::size_t n = dtype_size(dtype);
    for (auto d : trailing) n *= static_cast<std::size_t>(d);
    return n;
  }
};

inline Shape trailing_of(const Tensor& t) { return Shape(t.shape().begin() + 1, t.shape().end()); }

/// Copies the rows of the selected systems of one field, contiguous runs at a time.
inline void gather_rows(const Tensor& t, const std::int64_t* ptr, const std::vector<std::int64_t>& idx,
                        bool system_level, std::byte* out) {
  const std::size_t rb = t.row_bytes();
  std::size_t i = 0;
  while (i < idx.size()) {
    std::size_t j = i + 1;
    while (j < idx.size() && idx[j] == idx[j - 1] + 1) ++j;
    const std::int64_t first = system_level ? idx[i] : ptr[idx[i]];
    const std::int64_t last = system_level ? idx[j - 1] + 1 : ptr[idx[j - 1] + 1];
    const std::size_t n = static_cast<std::size_t>(last - first) * rb;
    if (n) std::memcpy(out, t.bytes() + static_cast<std::size_t>(first) * rb, n);
    out += n;
    i = j;
  }
}

inline std::string dim_name(const std::string& field, std::size_t axis, Level level) {
  if (axis == 0) return level == Level::Atom ? "atom" : level == Level::Edge ? "edge" : "sample";
  return field + "_dim" + std::to_string(axis);
}

}  // namespace batchmd::sinks::detail
