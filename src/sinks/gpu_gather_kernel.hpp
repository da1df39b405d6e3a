// SPDX-License-Identifier: Apache-2.0
// sinks/gpu_gather_kernel (internal): what one warp lane of the fused gather kernel does for one
// (piece, field) item, as a host/device function — gpu_gather.cu runs it on the GPU, and the CPU
// tests run it lane by lane on host memory, so the table layout, the row arithmetic and the
// vector copies are checked on every build.
#pragma once
#include <cstddef>
#include <cstdint>

#include "gpu_gather.hpp"

#ifdef __CUDACC__
#define BATCHMD_GATHER_HD __host__ __device__
#else
#define BATCHMD_GATHER_HD
#endif
#ifdef __CUDA_ARCH__  // the device pass only (the host compiler does not know the pragma)
#define BATCHMD_GATHER_UNROLL _Pragma("unroll")
#else
#define BATCHMD_GATHER_UNROLL
#endif

namespace batchmd::sinks::detail {

/// A descriptor table (GatherPlan::write_table): n_fields fields, then the pieces; launched at
/// destination base rows `base` (added to every piece's dst rows and edge_add).
struct GatherTableView {
  const GatherFieldDesc* fields;
  const GatherPiece* pieces;
  std::int64_t n_fields;
  GatherBase base;
};

BATCHMD_GATHER_HD inline GatherTableView gather_table_view(const void* table, std::int64_t n_fields,
                                                           const GatherBase& base) {
  const auto* bytes = static_cast<const std::byte*>(table);
  return GatherTableView{reinterpret_cast<const GatherFieldDesc*>(bytes),
                         reinterpret_cast<const GatherPiece*>(bytes + n_fields * sizeof(GatherFieldDesc)), n_fields,
                         base};
}

// The element types of the copies: CUDA's vector types on the GPU; on the host (the CPU tests)
// types that may alias the bytes they are read from.
#ifdef __CUDACC__
using GatherVec16 = uint4;
using GatherVec8 = uint2;
using GatherVec4 = unsigned;
using GatherInt64 = long long;
#else
struct [[gnu::may_alias]] alignas(16) GatherVec16 {
  std::uint64_t a, b;
};
struct [[gnu::may_alias]] alignas(8) GatherVec8 {
  std::uint64_t a;
};
typedef std::uint32_t __attribute__((may_alias)) GatherVec4;
typedef std::int64_t __attribute__((may_alias)) GatherInt64;
#endif

inline constexpr int kGatherUnroll = 4;

/// Lane `lane` of `lanes` copies its share of n_vec elements of type V, kGatherUnroll loads in
/// flight before the stores.
template <typename V>
BATCHMD_GATHER_HD inline void gather_vectors(const std::byte* __restrict__ src, std::byte* __restrict__ dst,
                                             std::uint64_t n_vec, unsigned lane, unsigned lanes) {
  const V* s = reinterpret_cast<const V*>(src);
  V* d = reinterpret_cast<V*>(dst);
  for (std::uint64_t base = lane; base < n_vec; base += std::uint64_t(lanes) * kGatherUnroll) {
    V v[kGatherUnroll];
    BATCHMD_GATHER_UNROLL
    for (int k = 0; k < kGatherUnroll; ++k) {
      const std::uint64_t i = base + std::uint64_t(k) * lanes;
      if (i < n_vec) v[k] = s[i];
    }
    BATCHMD_GATHER_UNROLL
    for (int k = 0; k < kGatherUnroll; ++k) {
      const std::uint64_t i = base + std::uint64_t(k) * lanes;
      if (i < n_vec) d[i] = v[k];
    }
  }
}

/// Lane `lane` of the `lanes` lanes (a warp) that copy item `item` = (piece item / n_fields,
/// field item % n_fields).
BATCHMD_GATHER_HD inline void gather_item(const GatherTableView& t, std::int64_t item, unsigned lane, unsigned lanes) {
  const GatherFieldDesc& field = t.fields[item % t.n_fields];
  const GatherPiece& piece = t.pieces[item / t.n_fields];
  const int level = field.level;
  const std::int32_t rows = piece.rows[level];
  if (rows <= 0) return;
  const std::uint64_t rb = field.row_bytes;
  const std::byte* src = field.src + std::uint64_t(piece.src_row[level]) * rb;
  std::byte* dst = field.dst + (std::uint64_t(t.base.rows[level]) + std::uint64_t(piece.dst_row[level])) * rb;
  const std::uint64_t n = std::uint64_t(rows) * rb;
  const std::int64_t edge_add = piece.edge_add + t.base.edge_add;
  if (field.edge_index && edge_add != 0) {  // int64 atom indices, shifted
    const auto* s = reinterpret_cast<const GatherInt64*>(src);
    auto* d = reinterpret_cast<GatherInt64*>(dst);
    const auto add = static_cast<GatherInt64>(edge_add);
    for (std::uint64_t i = lane; i < n / 8; i += lanes) d[i] = s[i] + add;
    return;
  }
  const auto align = reinterpret_cast<std::uintptr_t>(src) | reinterpret_cast<std::uintptr_t>(dst);
  std::uint64_t done = 0;
  if (align % 16 == 0) {
    gather_vectors<GatherVec16>(src, dst, n / 16, lane, lanes);
    done = n / 16 * 16;
  } else if (align % 8 == 0) {
    gather_vectors<GatherVec8>(src, dst, n / 8, lane, lanes);
    done = n / 8 * 8;
  } else if (align % 4 == 0) {
    gather_vectors<GatherVec4>(src, dst, n / 4, lane, lanes);
    done = n / 4 * 4;
  }
  for (std::uint64_t i = done + lane; i < n; i += lanes) dst[i] = src[i];
}

static_assert(sizeof(GatherFieldDesc) == 24, "GatherFieldDesc is shared with the GPU as raw bytes");
static_assert(sizeof(GatherPiece) == 48, "GatherPiece is shared with the GPU as raw bytes");
static_assert(sizeof(GatherBase) == 32, "GatherBase is a kernel parameter");

}  // namespace batchmd::sinks::detail
