// SPDX-License-Identifier: Apache-2.0
// Test support for tests/hooks/test_hooks_gpu.cpp: a kernel that holds a device's compute stream
// until the host releases it, to show that a hook call returns without waiting for the GPU.
#include <cuda_runtime.h>

#include <cstdint>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"

namespace batchmd::test {

namespace {
// Launch: one block of one thread, on the compute stream it holds.
__global__ void spin(volatile int* release, long long max_ns) {
  long long start = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  for (;;) {
    if (*release != 0) return;
    long long now = 0;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
    if (now - start > max_ns) return;
    __nanosleep(1000);
  }
}
}  // namespace

int* alloc_release_flag() {
  void* p = nullptr;
  if (cudaHostAlloc(&p, sizeof(int), cudaHostAllocMapped) != cudaSuccess)
    throw InvalidArgument("cudaHostAlloc(mapped) failed");
  *static_cast<volatile int*>(p) = 0;
  return static_cast<int*>(p);
}

void free_release_flag(int* p) { cudaFreeHost(p); }

void launch_spinner(int device, int* release, double max_seconds) {
  cuda::set_device(device);
  spin<<<1, 1, 0, static_cast<cudaStream_t>(cuda::compute_stream(device))>>>(release,
                                                                             static_cast<long long>(max_seconds * 1e9));
  cuda::check_launch("spin");
}

}  // namespace batchmd::test
