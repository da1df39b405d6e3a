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

/// Bytes each lane has in flight per step of a copy: the loads of one step are all issued before
/// its stores, so a lane copying 4-byte words keeps 16 of them in flight, one copying 16-byte
/// vectors 4 (a misaligned piece moves as many bytes per step as an aligned one).
inline constexpr int kGatherLaneBytes = 64;

/// Lane `lane` of `lanes` copies its share of n_vec elements of type V, kGatherLaneBytes /
/// sizeof(V) loads in flight before the stores. Whole steps first, untested, then one clamped
/// step: a test on every element had taken the kernel to 96-118 registers a thread (2 blocks of
/// 256 an SM); this form needs 56 (4 blocks), and H100 measured 0.86x of a device-to-device copy
/// for a float32 batch instead of 0.78x (docs/benchmarks.md).
template <typename V>
BATCHMD_GATHER_HD inline void gather_vectors(const std::byte* __restrict__ src, std::byte* __restrict__ dst,
                                             std::uint64_t n_vec, unsigned lane, unsigned lanes) {
  constexpr unsigned kUnroll = kGatherLaneBytes / sizeof(V);
  const V* s = reinterpret_cast<const V*>(src);
  V* d = reinterpret_cast<V*>(dst);
  const std::uint64_t step = std::uint64_t(lanes) * kUnroll;
  std::uint64_t base = 0;
  // Whole steps: every lane's kUnroll elements are in range (no per-element test, so the loads
  // are offsets from one address).
  for (; base + step <= n_vec; base += step) {
    const V* sp = s + base + lane;
    V* dp = d + base + lane;
    V v[kUnroll];
    BATCHMD_GATHER_UNROLL
    for (unsigned k = 0; k < kUnroll; ++k) v[k] = sp[k * lanes];
    BATCHMD_GATHER_UNROLL
    for (unsigned k = 0; k < kUnroll; ++k) dp[k * lanes] = v[k];
  }
  // The last, partial step: the same loads, those beyond the end clamped to the last element
  // (a select, not a branch around each load: that tripled the registers), the stores tested.
  const auto rem = static_cast<unsigned>(n_vec - base);  // < step
  if (rem == 0) return;
  const V* sp = s + base + lane;
  V* dp = d + base + lane;
  V v[kUnroll];
  BATCHMD_GATHER_UNROLL
  for (unsigned k = 0; k < kUnroll; ++k) {
    // Clamped to element rem - 1 (an offset from sp, negative for lanes beyond it): no test.
    const int i =
        lane + k * lanes < rem ? static_cast<int>(k * lanes) : static_cast<int>(rem) - 1 - static_cast<int>(lane);
    v[k] = sp[i];
  }
  BATCHMD_GATHER_UNROLL
  for (unsigned k = 0; k < kUnroll; ++k)
    if (lane + k * lanes < rem) dp[k * lanes] = v[k];
}

/// The widest vector (16, 8, 4 or 1 bytes) that copies n bytes from src to dst once both are
/// aligned to it: the alignment of src - dst. Rows that start off a 16-byte boundary (12-byte
/// float32 triples at most rows, a sample appended after an odd number of atoms) keep their
/// 16-byte vectors whenever source and destination are equally misaligned.
BATCHMD_GATHER_HD inline unsigned gather_vector_bytes(const std::byte* src, const std::byte* dst) {
  const auto d = reinterpret_cast<std::uintptr_t>(src) ^ reinterpret_cast<std::uintptr_t>(dst);
  return d % 16 == 0 ? 16u : d % 8 == 0 ? 8u : d % 4 == 0 ? 4u : 1u;
}

/// Lane `lane` of `lanes` copies its share of n bytes: the bytes before dst's first multiple of
/// the common vector width one lane each, then whole vectors, then the bytes after the last one.
BATCHMD_GATHER_HD inline void gather_bytes(const std::byte* __restrict__ src, std::byte* __restrict__ dst,
                                           std::uint64_t n, unsigned lane, unsigned lanes) {
  const unsigned vec = gather_vector_bytes(src, dst);
  std::uint64_t head = (vec - reinterpret_cast<std::uintptr_t>(dst) % vec) % vec;
  if (head > n) head = n;
  for (std::uint64_t i = lane; i < head; i += lanes) dst[i] = src[i];
  const std::uint64_t n_vec = vec > 1 ? (n - head) / vec : 0;
  if (vec == 16)
    gather_vectors<GatherVec16>(src + head, dst + head, n_vec, lane, lanes);
  else if (vec == 8)
    gather_vectors<GatherVec8>(src + head, dst + head, n_vec, lane, lanes);
  else if (vec == 4)
    gather_vectors<GatherVec4>(src + head, dst + head, n_vec, lane, lanes);
  for (std::uint64_t i = head + n_vec * vec + lane; i < n; i += lanes) dst[i] = src[i];
}

/// Lane `lane` of the `lanes` lanes that copy item `item` = (piece item / n_fields, field
/// item % n_fields).
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
  gather_bytes(src, dst, n, lane, lanes);
}

static_assert(sizeof(GatherFieldDesc) == 24, "GatherFieldDesc is shared with the GPU as raw bytes");
static_assert(sizeof(GatherPiece) == 48, "GatherPiece is shared with the GPU as raw bytes");
static_assert(sizeof(GatherBase) == 32, "GatherBase is a kernel parameter");

}  // namespace batchmd::sinks::detail
