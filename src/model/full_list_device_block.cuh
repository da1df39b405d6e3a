// SPDX-License-Identifier: Apache-2.0
// model/full_list_device_block (internal; .cu files only): the per-system block steps of binning
// that both device-built full lists (the shared one, full_list_device.cu, and the Lennard-Jones
// model's own, lj_gpu_kernels.cu) take, written once: the extent of a system's atoms along the
// open directions of its frame (before its bin grid), and the bin starts (after the binning).
//
// Deterministic: thread k folds atoms begin + k, begin + k + kThreads, ... in order, then a fixed
// shared-memory tree (fmin of lo and of -hi, halving) combines the threads, so the extent does
// not depend on scheduling. How one atom widens a thread's extent stays the caller's: each list
// keeps its own comparison (and the device list the one its CPU test runs).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <cub/block/block_scan.cuh>

namespace batchmd::model::detail {

/// The extent [lo, hi] (fractional, per direction) of atoms [begin, end) of a block of kThreads
/// threads: each thread starts from an empty extent (lo = 1e300, hi = -1e300) and calls
/// extend(i, lo, hi) for its atoms; every thread gets the block's result. Call from every thread
/// of the block (barriers inside); a direction no atom widened stays empty (lo > hi).
template <int kThreads, typename Extend>
__device__ void block_extent(std::int64_t begin, std::int64_t end, Extend&& extend, double* lo_out, double* hi_out) {
  constexpr double kBig = 1e300;
  __shared__ double red[6][kThreads];
  const int tid = static_cast<int>(threadIdx.x);
  double lo[3] = {kBig, kBig, kBig}, hi[3] = {-kBig, -kBig, -kBig};
  for (std::int64_t i = begin + tid; i < end; i += kThreads) extend(i, lo, hi);
  for (int d = 0; d < 3; ++d) {
    red[d][tid] = lo[d];
    red[3 + d][tid] = -hi[d];
  }
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w /= 2) {
    if (tid < w)
      for (int q = 0; q < 6; ++q) red[q][tid] = fmin(red[q][tid], red[q][tid + w]);
    __syncthreads();
  }
  for (int d = 0; d < 3; ++d) {
    lo_out[d] = red[d][0];
    hi_out[d] = -red[3 + d][0];
  }
}

/// bin_start[base + b] = first + the counts bin_count[base + b'] of the bins b' < b, for the
/// n_bins bins of one system: an exclusive block scan (cub) of kThreads bins at a time. Call from
/// every thread of a block of kThreads threads (barriers inside).
template <int kThreads>
__device__ void block_bin_starts(const std::int32_t* bin_count, std::int32_t* bin_start, long long base, int n_bins,
                                 int first) {
  using Scan = cub::BlockScan<int, kThreads>;
  __shared__ typename Scan::TempStorage tmp;
  int running = first;
  for (int b0 = 0; b0 < n_bins; b0 += kThreads) {
    const int b = b0 + static_cast<int>(threadIdx.x);
    const int c = b < n_bins ? bin_count[base + b] : 0;
    int excl = 0, total = 0;
    Scan(tmp).ExclusiveSum(c, excl, total);
    if (b < n_bins) bin_start[base + b] = running + excl;
    running += total;
    __syncthreads();
  }
}

}  // namespace batchmd::model::detail
