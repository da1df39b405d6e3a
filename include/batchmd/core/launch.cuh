// SPDX-License-Identifier: Apache-2.0
// core/launch: the CUDA side of parallel_for — a grid-stride kernel that calls a host/device
// functor for every index, launched on the device's compute stream. Included only by .cu files.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/hd.hpp"

namespace batchmd::cuda {

// Launch (parallel_for): a 1-D grid of min(ceil(n / 256), 65535·32) blocks of 256 threads, grid-
// stride: one thread per index, each thread taking every (blocks·256)-th index beyond its first.
template <typename F>
__global__ void for_each_kernel(std::int64_t n, F f) {
  const std::int64_t stride = std::int64_t(blockDim.x) * gridDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) f(i);
}

/// Calls f(i) for i in [0, n) on the GPU, asynchronously on `stream` (the compute stream of
/// `device` when null). f must be a __host__ __device__ functor or extended lambda that captures
/// device pointers by value.
template <typename F>
void parallel_for(int device, std::int64_t n, F f, Stream stream = nullptr, const char* what = "parallel_for") {
  if (n <= 0) return;
  constexpr int kThreads = 256;
  const std::int64_t want = (n + kThreads - 1) / kThreads;
  const int blocks = static_cast<int>(want < 65535 * 32 ? want : 65535 * 32);
  set_device(device);  // kernels go to the current device: make it this one (cuda:N, N > 0)
  cudaStream_t s = static_cast<cudaStream_t>(stream ? stream : compute_stream(device));
  for_each_kernel<<<blocks, kThreads, 0, s>>>(n, f);
  check_launch(what);
}

}  // namespace batchmd::cuda
