// SPDX-License-Identifier: Apache-2.0
// model/full_list_device.cu: the kernels of the device-built full list and their launchers
// (declared in full_list_device_kernels.hpp; what each thread does is full_list_device_hd.hpp,
// the host logic that sequences the launches full_list_device.cpp).
//
// Each system is binned in the fractional coordinates of its frame (core/frame.hpp) on a
// CellGrid (cell_grid.hpp); every atom of a rebuilt system scans the (2m+1)^3 bins around its
// own and keeps a candidate (j, image n) when the displacement, computed as the host view
// computes it, is inside the pair's cutoff + skin and non-zero. The grid only proposes
// candidates; the test is the host's in the same arithmetic (this file is compiled with
// --fmad=false), so the pair set is the host view's. Each atom's pairs are then sorted by
// (neighbor, image): the host view's canonical order, so every sum over them is the host's.
//
// Two passes (count, then fill into offsets from a scan), no capacity guess; no atomics on
// pairs (only bin arrival ranks, which the final sort makes irrelevant).
#include <cuda_runtime.h>

#include <cstdint>
#include <cub/device/device_scan.cuh>
#include <string>

#include "batchmd/core/error.hpp"
#include "batchmd/core/launch.cuh"
#include "full_list_device_block.cuh"
#include "full_list_device_hd.hpp"
#include "full_list_device_kernels.hpp"

namespace batchmd::model::detail::devlist {
namespace {

constexpr int kThreads = 256;

// Per-item functors (cuda::parallel_for: 256 threads per block, grid-stride, one item each).
template <typename T>
struct CheckFn {
  ListArgs<T> a;
  __device__ void operator()(std::int64_t i) const { check_atom(a, i); }
};
template <typename T>
struct BinFn {
  ListArgs<T> a;
  __device__ void operator()(std::int64_t i) const { bin_atom(a, i); }
};
template <typename T>
struct PlaceFn {
  ListArgs<T> a;
  __device__ void operator()(std::int64_t i) const { place_atom(a, i); }
};
template <typename T>
struct CountFn {
  ListArgs<T> a;
  PairArrays old;
  std::int64_t* counts;
  __device__ void operator()(std::int64_t i) const { count_atom(a, old, counts, i); }
};
template <typename T>
struct FillFn {
  ListArgs<T> a;
  PairArrays old, out;
  __device__ void operator()(std::int64_t i) const { fill_atom(a, old, out, i); }
};
struct ReverseFn {
  PairArrays out;
  Status* st;
  __device__ void operator()(std::int64_t p) const { reverse_pair(out, st, p); }
};

// Launch: one block of kThreads per system (grid = n_systems); a no-op unless the system is to
// be rebuilt. Thread 0 builds the frame, all threads reduce the extent along open directions
// (kThreads atoms at a time), thread 0 the grid; all zero the system's bin counts.
template <typename T>
__global__ void __launch_bounds__(kThreads) grid_kernel(ListArgs<T> a) {
  const std::int64_t s = blockIdx.x;
  __shared__ Frame f;
  __shared__ double cell[9];
  __shared__ int ok;
  const int tid = static_cast<int>(threadIdx.x);
  if (tid == 0) ok = a.flag[s] == 1 ? 1 : 0;  // one read decides for the whole block
  __syncthreads();
  if (!ok) return;
  __syncthreads();
  if (tid == 0) ok = system_frame(a, s, f, cell) ? 1 : 0;
  __syncthreads();
  if (!ok) return;
  double lo[3], hi[3];
  block_extent<kThreads>(
      a.ptr[s], a.ptr[s + 1], [&](std::int64_t i, double* l, double* h) { extend_extent(a, f, i, l, h); }, lo, hi);
  if (tid == 0) ok = system_grid(a, s, f, cell, lo, hi) ? 1 : 0;
  __syncthreads();
  if (!ok) return;
  const int n_bins = a.grid[s].n_bins;
  const long long base = a.bin_base[s];
  for (int b = tid; b < n_bins; b += kThreads) a.bin_count[base + b] = 0;
}

// Launch: one block of kThreads per system: bin starts (batch slots from the system's first
// atom) by an exclusive block scan of the bin counts, kThreads bins at a time.
template <typename T>
__global__ void __launch_bounds__(kThreads) scan_kernel(ListArgs<T> a) {
  const std::int64_t s = blockIdx.x;
  __shared__ int active;
  if (threadIdx.x == 0) active = a.flag[s] == 1 ? 1 : 0;  // one read decides for the whole block
  __syncthreads();
  if (!active) return;
  block_bin_starts<kThreads>(a.bin_count, a.bin_start, a.bin_base[s], a.grid[s].n_bins, static_cast<int>(a.ptr[s]));
}

}  // namespace

template <typename T>
void devlist_check(int device, const ListArgs<T>& a) {
  cuda::parallel_for(device, a.n_atoms, CheckFn<T>{a}, nullptr, "device list check");
}

template <typename T>
void devlist_bin(int device, std::int64_t n_systems, const ListArgs<T>& a) {
  if (n_systems <= 0) return;
  cuda::set_device(device);  // the raw launches below go to the current device
  const auto s = static_cast<cudaStream_t>(cuda::compute_stream(device));
  grid_kernel<T><<<static_cast<unsigned>(n_systems), kThreads, 0, s>>>(a);
  cuda::check_launch("device list grid");
  cuda::parallel_for(device, a.n_atoms, BinFn<T>{a}, nullptr, "device list bin");
  scan_kernel<T><<<static_cast<unsigned>(n_systems), kThreads, 0, s>>>(a);
  cuda::check_launch("device list scan");
  cuda::parallel_for(device, a.n_atoms, PlaceFn<T>{a}, nullptr, "device list place");
}

template <typename T>
void devlist_count(int device, const ListArgs<T>& a, const PairArrays& old, std::int64_t* counts) {
  cuda::parallel_for(device, a.n_atoms, CountFn<T>{a, old, counts}, nullptr, "device list count");
}

std::size_t devlist_scan_bytes(std::int64_t n) {
  std::size_t bytes = 0;
  const std::int64_t* none = nullptr;
  std::int64_t* out = nullptr;
  const cudaError_t err = cub::DeviceScan::InclusiveSum(nullptr, bytes, none, out, n + 1);
  if (err != cudaSuccess)
    throw DeviceError(std::string("device list: cub scan sizing failed: ") + cudaGetErrorString(err));
  return bytes;
}

void devlist_scan(int device, void* temp, std::size_t temp_bytes, const std::int64_t* counts, std::int64_t* offsets,
                  std::int64_t n) {
  cuda::set_device(device);
  const auto s = static_cast<cudaStream_t>(cuda::compute_stream(device));
  std::size_t bytes = temp_bytes;
  const cudaError_t err = cub::DeviceScan::InclusiveSum(temp, bytes, counts, offsets, n + 1, s);
  if (err != cudaSuccess)
    throw DeviceError(std::string("device list: offsets scan failed: ") + cudaGetErrorString(err));
  cuda::check_launch("device list offsets scan");
}

template <typename T>
void devlist_fill(int device, const ListArgs<T>& a, const PairArrays& old, const PairArrays& out,
                  std::int64_t n_pairs) {
  cuda::parallel_for(device, a.n_atoms, FillFn<T>{a, old, out}, nullptr, "device list fill");
  cuda::parallel_for(device, n_pairs, ReverseFn{out, a.st}, nullptr, "device list reverse");
}

#define BATCHMD_DEVLIST_INSTANTIATE(T)                                                       \
  template void devlist_check<T>(int, const ListArgs<T>&);                                   \
  template void devlist_bin<T>(int, std::int64_t, const ListArgs<T>&);                       \
  template void devlist_count<T>(int, const ListArgs<T>&, const PairArrays&, std::int64_t*); \
  template void devlist_fill<T>(int, const ListArgs<T>&, const PairArrays&, const PairArrays&, std::int64_t);
BATCHMD_DEVLIST_INSTANTIATE(float)
BATCHMD_DEVLIST_INSTANTIATE(double)
#undef BATCHMD_DEVLIST_INSTANTIATE

}  // namespace batchmd::model::detail::devlist
