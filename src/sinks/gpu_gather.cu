// SPDX-License-Identifier: Apache-2.0
// sinks/gpu_gather: the fused gather kernel. One launch copies every (piece, field) item of a
// descriptor table — all fields of all selected systems — kGroup threads (four warps) per item,
// as gather_item says
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
// Threads per item: a piece is up to 64 KB, so four warps per item keep enough loads in flight
// to approach cudaMemcpy's bandwidth (one warp per item reached ~0.6x of it).
constexpr int kGroup = 128;

template <std::size_t N>
struct alignas(16) InlineTable {
  std::byte bytes[N];
};

__device__ void gather_items(const GatherTableView& t, std::int64_t n_items) {
  const unsigned lane = threadIdx.x % kGroup;
  const std::int64_t groups = std::int64_t(gridDim.x) * (blockDim.x / kGroup);
  for (std::int64_t i = (std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / kGroup; i < n_items; i += groups)
    gather_item(t, i, lane, kGroup);
}

// Launch (both kernels): `blocks` × kThreads threads, kGroup threads per item (a field's rows of
// one selected system), grid-stride over items; the table in kernel parameters or in global memory.
template <std::size_t N>
__global__ void gather_inline_kernel(const __grid_constant__ InlineTable<N> table, std::int64_t n_fields,
                                     std::int64_t n_items, GatherBase base) {
  gather_items(gather_table_view(table.bytes, n_fields, base), n_items);
}

__global__ void gather_global_kernel(const std::byte* table, std::int64_t n_fields, std::int64_t n_items,
                                     GatherBase base) {
  gather_items(gather_table_view(table, n_fields, base), n_items);
}

template <std::size_t N>
void launch_inline(const std::byte* table, std::size_t bytes, std::int64_t n_fields, std::int64_t n_items,
                   const GatherBase& base, int blocks, cudaStream_t stream) {
  InlineTable<N> t;
  std::memcpy(t.bytes, table, bytes);
  std::memset(t.bytes + bytes, 0, N - bytes);
  gather_inline_kernel<N><<<blocks, kThreads, 0, stream>>>(t, n_fields, n_items, base);
}

constexpr std::size_t kSmallInline = 2048;
static_assert(kGatherInlineBytes + 2 * sizeof(std::int64_t) + sizeof(GatherBase) <= 32764,
              "kernel parameters are limited to 32,764 bytes");

}  // namespace

void launch_gather_kernel(const std::byte* inline_table, const void* device_table, std::size_t table_bytes,
                          std::int64_t n_fields, std::int64_t n_pieces, const GatherBase& base, cuda::Stream stream) {
  const std::int64_t n_items = n_fields * n_pieces;
  if (n_items <= 0) return;
  constexpr std::int64_t kGroupsPerBlock = kThreads / kGroup;
  const std::int64_t want = (n_items + kGroupsPerBlock - 1) / kGroupsPerBlock;
  const int blocks = static_cast<int>(want < (1 << 20) ? want : (1 << 20));
  const auto s = static_cast<cudaStream_t>(stream);
  if (inline_table && table_bytes <= kSmallInline)
    launch_inline<kSmallInline>(inline_table, table_bytes, n_fields, n_items, base, blocks, s);
  else if (inline_table && table_bytes <= kGatherInlineBytes)
    launch_inline<kGatherInlineBytes>(inline_table, table_bytes, n_fields, n_items, base, blocks, s);
  else
    gather_global_kernel<<<blocks, kThreads, 0, s>>>(static_cast<const std::byte*>(device_table), n_fields, n_items,
                                                     base);
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
