// hooks/hook_util (internal): small helpers shared by the hook implementations.
#pragma once
#include <cstdint>
#include <string>

#include "batchmd/data/batch.hpp"

namespace batchmd::hooks::detail {

/// The system_id of system s (its index when the batch has no system_id field).
inline std::int64_t system_id_of(const Batch& b, std::int64_t s) {
  if (!b.has("system_id")) return s;
  const Tensor& t = b.get("system_id");
  if (t.dtype() == DType::Int64) return t.data<std::int64_t>()[s];
  if (t.dtype() == DType::Int32) return t.data<std::int32_t>()[s];
  return s;
}

/// "system 3 (system_id 17)".
inline std::string describe_system(const Batch& b, std::int64_t s) {
  return "system " + std::to_string(s) + " (system_id " + std::to_string(system_id_of(b, s)) + ")";
}

}  // namespace batchmd::hooks::detail
