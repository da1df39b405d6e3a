// SPDX-License-Identifier: Apache-2.0
// hooks/hook_util (internal): small helpers shared by the hook implementations.
#pragma once
#include <cstdint>
#include <string>

#include "batchmd/core/cuda.hpp"
#include "batchmd/data/batch.hpp"

namespace batchmd::hooks::detail {

/// The system_id of system s (its index when the batch has no system_id field). On a GPU batch
/// this copies one value (waits for the GPU): for messages, not for loops.
inline std::int64_t system_id_of(const Batch& b, std::int64_t s) {
  if (!b.has("system_id")) return s;
  const Tensor& t = b.get("system_id");
  if (t.dtype() != DType::Int64 && t.dtype() != DType::Int32) return s;
  if (t.is_cuda()) {
    std::int64_t v64 = 0;
    std::int32_t v32 = 0;
    const cuda::Stream stream = cuda::compute_stream(t.device().index);
    if (t.dtype() == DType::Int64) {
      cuda::copy(&v64, t.data<std::int64_t>() + s, sizeof v64, stream);
      return v64;
    }
    cuda::copy(&v32, t.data<std::int32_t>() + s, sizeof v32, stream);
    return v32;
  }
  if (t.dtype() == DType::Int64) return t.data<std::int64_t>()[s];
  return t.data<std::int32_t>()[s];
}

/// "system 3 (system_id 17)".
inline std::string describe_system(std::int64_t s, std::int64_t system_id) {
  return "system " + std::to_string(s) + " (system_id " + std::to_string(system_id) + ")";
}
inline std::string describe_system(const Batch& b, std::int64_t s) { return describe_system(s, system_id_of(b, s)); }

}  // namespace batchmd::hooks::detail
