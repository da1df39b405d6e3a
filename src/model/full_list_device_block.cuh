// SPDX-License-Identifier: Apache-2.0
// model/full_list_device_block (internal; .cu files only): the per-system block steps of binning
// that both device-built full lists (the shared one, full_list_device.cu, and the Lennard-Jones
// model's own, lj_gpu_kernels.cu) take, written once: the extent of a system's atoms along the
// open directions of its frame (before its bin grid).
//
// Deterministic: thread k folds atoms begin + k, begin + k + kThreads, ... in order, then a fixed
// shared-memory tree (fmin of lo and of -hi, halving) combines the threads, so the extent does
// not depend on scheduling. How one atom widens a thread's extent stays the caller's: each list
// keeps its own comparison (and the device list the one its CPU test runs).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

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

}  // namespace batchmd::model::detail
