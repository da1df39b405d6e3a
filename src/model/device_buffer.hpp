// SPDX-License-Identifier: Apache-2.0
// model/device_buffer (internal; CUDA builds): the work buffers of the GPU models (per-atom
// energies, pair gradients, per-system scratch) — grown to what a call needs and never shrunk, so
// a steady run allocates nothing. Host code, compiled by the host compiler (*_gpu.cpp).
#pragma once
#include <algorithm>
#include <cstdint>

#include "batchmd/core/tensor.hpp"

namespace batchmd::model::detail {

/// Makes t a tensor of dtype dt on device d with at least max(count, 1) elements. t is replaced
/// by a new 1-D tensor of exactly that many (its contents are not kept) when it is undefined, of
/// another dtype or device, or smaller; otherwise it is left as it is.
inline void ensure_buffer(Tensor& t, DType dt, std::int64_t count, const Device& d) {
  count = std::max<std::int64_t>(count, 1);
  if (!t.defined() || t.dtype() != dt || t.numel() < count || t.device() != d) t = Tensor(dt, {count}, d);
}

}  // namespace batchmd::model::detail
