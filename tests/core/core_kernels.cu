// SPDX-License-Identifier: Apache-2.0
// Small kernels for tests/core/test_core_gpu.cpp: parallel_for and segment_reduce on the GPU, and
// core/frame.hpp evaluated on the device.
#include "batchmd/core/frame.hpp"
#include "batchmd/core/launch.cuh"
#include "batchmd/core/reduce.cuh"

namespace batchmd::test {

void gpu_square(int device, std::int64_t n, const double* x, double* y) {
  cuda::parallel_for(device, n, [=] __device__(std::int64_t i) { y[i] = x[i] * x[i]; });
}

void gpu_segment_sum_max(int device, std::int64_t n_seg, const std::int64_t* ptr, const double* x, double* sum,
                         double* max) {
  cuda::segment_reduce<2>(
      device, n_seg, ptr,
      [=] __device__(std::int64_t i, double* v) {
        v[0] = x[i];
        v[1] = 2 * x[i];
      },
      sum);
  cuda::segment_reduce<1, cuda::MaxOp>(
      device, n_seg, ptr, [=] __device__(std::int64_t i, double* v) { v[0] = x[i]; }, max);
}

void gpu_make_frames(int device, std::int64_t n, const double* cells, const bool* pbc, Frame* frames, int* errors) {
  cuda::parallel_for(device, n, [=] __device__(std::int64_t s) {
    errors[s] = static_cast<int>(make_frame(cells + 9 * s, pbc + 3 * s, frames[s]).error);
  });
}

}  // namespace batchmd::test
