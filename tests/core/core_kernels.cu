// Small kernels for tests/core/test_core_gpu.cpp: parallel_for and segment_reduce on the GPU.
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

}  // namespace batchmd::test
