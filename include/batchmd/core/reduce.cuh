// SPDX-License-Identifier: Apache-2.0
// core/reduce: deterministic per-segment reductions on the GPU (segments = systems of a batch,
// CSR offsets), one block per segment with a fixed summation tree, so results do not depend on
// scheduling. Included only by .cu files.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "batchmd/core/cuda.hpp"

namespace batchmd::cuda {

struct SumOp {
  __device__ static double identity() { return 0.0; }
  __device__ static double apply(double a, double b) { return a + b; }
};
struct MaxOp {
  __device__ static double identity() { return -1.0 / 0.0; }
  __device__ static double apply(double a, double b) { return a > b ? a : b; }
};

// Launch (segment_reduce): one block of 256 threads per segment (grid = n_segments); thread k
// folds items ptr[s] + k, + 256, ... in order, then a fixed shared-memory tree combines the 256.
template <int N, typename Op, typename F>
__global__ void __launch_bounds__(256) segment_reduce_kernel(const std::int64_t* ptr, F f, double* out) {
  constexpr int kThreads = 256;
  __shared__ double sh[N][kThreads];
  const std::int64_t s = blockIdx.x;
  double acc[N];
  for (int k = 0; k < N; ++k) acc[k] = Op::identity();
  for (std::int64_t i = ptr[s] + threadIdx.x; i < ptr[s + 1]; i += kThreads) {
    double v[N];
    f(i, v);
    for (int k = 0; k < N; ++k) acc[k] = Op::apply(acc[k], v[k]);
  }
  for (int k = 0; k < N; ++k) sh[k][threadIdx.x] = acc[k];
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w /= 2) {
    if (int(threadIdx.x) < w)
      for (int k = 0; k < N; ++k) sh[k][threadIdx.x] = Op::apply(sh[k][threadIdx.x], sh[k][threadIdx.x + w]);
    __syncthreads();
  }
  if (threadIdx.x == 0)
    for (int k = 0; k < N; ++k) out[s * N + k] = sh[k][0];
}

/// For every segment s in [0, n_segments): out[s*N + k] = Op over i in [ptr[s], ptr[s+1]) of
/// v_k(i), where f(i, double v[N]) fills v. ptr and out are device pointers; an empty segment
/// gives Op's identity (0 for sums, -inf for max). Asynchronous on `stream` (the device's compute
/// stream when null).
template <int N, typename Op = SumOp, typename F>
void segment_reduce(int device, std::int64_t n_segments, const std::int64_t* ptr, F f, double* out,
                    Stream stream = nullptr, const char* what = "segment_reduce") {
  if (n_segments <= 0) return;
  set_device(device);  // kernels go to the current device: make it this one (cuda:N, N > 0)
  cudaStream_t s = static_cast<cudaStream_t>(stream ? stream : compute_stream(device));
  segment_reduce_kernel<N, Op><<<static_cast<unsigned>(n_segments), 256, 0, s>>>(ptr, f, out);
  check_launch(what);
}

}  // namespace batchmd::cuda
