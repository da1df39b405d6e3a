// SPDX-License-Identifier: Apache-2.0
// sinks/gpu_gather: the fused gather kernel. One launch copies every (piece, field) item of a
// descriptor table — all fields of all selected systems — a group of threads per item (a warp for
// small items, four warps for large ones), as gather_item says
// (gpu_gather_kernel.hpp). The table comes inline as a __grid_constant__ kernel parameter when it
// fits (no upload), or from device memory; the destination base rows are a kernel parameter.
#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "batchmd/core/error.hpp"
#include "gpu_gather_kernel.hpp"

namespace batchmd::sinks::detail {

namespace {

constexpr int kThreads = 256;
// Threads per item. A piece of a large run is 16-128 KB a field, and four warps per item keep
// enough loads in flight to approach cudaMemcpy's bandwidth (one warp per item reached ~0.6x of
// it). Items of a few kilobytes (every other system selected: one system's rows) are copied in one
// step of a warp (kGatherLaneBytes a lane), so a warp per item copies four at once where four
// warps would leave most of their lanes idle.
constexpr int kLargeGroup = 128;
constexpr int kSmallGroup = 32;
constexpr std::int64_t kSmallItemBytes = 4096;

constexpr std::size_t kSmallInline = 2048;
static_assert(kGatherInlineBytes + 2 * sizeof(std::int64_t) + sizeof(GatherBase) <= 32764,
              "kernel parameters are limited to 32,764 bytes");

/// Blocks of kThreads for n_items items of Group threads (grid-stride beyond 2^20 blocks).
template <int Group>
int blocks_for(std::int64_t n_items) {
  constexpr std::int64_t kGroupsPerBlock = kThreads / Group;
  const std::int64_t want = (n_items + kGroupsPerBlock - 1) / kGroupsPerBlock;
  return static_cast<int>(want < (1 << 20) ? want : (1 << 20));
}

template <std::size_t N>
struct alignas(16) InlineTable {
  std::byte bytes[N];
};

template <int Group>
__device__ void gather_items(const GatherTableView& t, std::int64_t n_items) {
  const unsigned lane = threadIdx.x % Group;
  const std::int64_t groups = std::int64_t(gridDim.x) * (blockDim.x / Group);
  for (std::int64_t i = (std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / Group; i < n_items; i += groups)
    gather_item(t, i, lane, Group);
}

// Launch (both kernels): blocks_for<Group>(n_items) × kThreads threads, Group threads per item
// (a field's rows of one piece), grid-stride over items; the table in kernel parameters or in
// global memory.
template <int Group, std::size_t N>
__global__ void gather_inline_kernel(const __grid_constant__ InlineTable<N> table, std::int64_t n_fields,
                                     std::int64_t n_items, GatherBase base) {
  gather_items<Group>(gather_table_view(table.bytes, n_fields, base), n_items);
}

template <int Group>
__global__ void gather_global_kernel(const std::byte* table, std::int64_t n_fields, std::int64_t n_items,
                                     GatherBase base) {
  gather_items<Group>(gather_table_view(table, n_fields, base), n_items);
}

template <int Group, std::size_t N>
void launch_inline(const std::byte* table, std::size_t bytes, std::int64_t n_fields, std::int64_t n_items,
                   const GatherBase& base, cudaStream_t stream) {
  InlineTable<N> t;
  std::memcpy(t.bytes, table, bytes);
  std::memset(t.bytes + bytes, 0, N - bytes);
  gather_inline_kernel<Group, N><<<blocks_for<Group>(n_items), kThreads, 0, stream>>>(t, n_fields, n_items, base);
}

template <int Group>
void launch_group(const std::byte* inline_table, const void* device_table, std::size_t table_bytes,
                  std::int64_t n_fields, std::int64_t n_items, const GatherBase& base, cudaStream_t s) {
  if (inline_table && table_bytes <= kSmallInline)
    launch_inline<Group, kSmallInline>(inline_table, table_bytes, n_fields, n_items, base, s);
  else if (inline_table && table_bytes <= kGatherInlineBytes)
    launch_inline<Group, kGatherInlineBytes>(inline_table, table_bytes, n_fields, n_items, base, s);
  else
    gather_global_kernel<Group><<<blocks_for<Group>(n_items), kThreads, 0, s>>>(
        static_cast<const std::byte*>(device_table), n_fields, n_items, base);
}

}  // namespace

void launch_gather_kernel(const std::byte* inline_table, const void* device_table, std::size_t table_bytes,
                          std::int64_t n_fields, std::int64_t n_pieces, std::int64_t copy_bytes, const GatherBase& base,
                          cuda::Stream stream) {
  const std::int64_t n_items = n_fields * n_pieces;
  if (n_items <= 0) return;
  const auto s = static_cast<cudaStream_t>(stream);
  if (copy_bytes <= kSmallItemBytes * n_items)
    launch_group<kSmallGroup>(inline_table, device_table, table_bytes, n_fields, n_items, base, s);
  else
    launch_group<kLargeGroup>(inline_table, device_table, table_bytes, n_fields, n_items, base, s);
  cuda::check_launch("sinks fused gather");
}

cuda::Stream create_upload_stream(int device) {
  cuda::set_device(device);
  cudaStream_t s = nullptr;
  const cudaError_t e = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
  if (e != cudaSuccess) {
    cudaGetLastError();
    cuda::throw_cuda_error(e, "cudaStreamCreate (gather uploads)");
  }
  return s;
}

void destroy_upload_stream(cuda::Stream s) noexcept { cudaStreamDestroy(static_cast<cudaStream_t>(s)); }

}  // namespace batchmd::sinks::detail
