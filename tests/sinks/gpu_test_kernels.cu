// SPDX-License-Identifier: Apache-2.0
// A kernel for the GPU sink tests: changes a tensor on the GPU the way a step would, in stream
// order on the compute stream, so the tests can check that a snapshot keeps its own step's values.
#include "batchmd/core/launch.cuh"
#include "batchmd/core/tensor.hpp"

namespace batchmd::test_support {

/// Declared in gpu_test_util.hpp (kept out of this file: nvcc need not compile GoogleTest).
void gpu_add(Tensor& t, double value) {
  const int device = t.device().index;
  const std::int64_t n = t.numel();
  if (t.dtype() == DType::Float64) {
    double* p = t.data<double>();
    cuda::parallel_for(device, n, [=] __device__(std::int64_t i) { p[i] += value; });
  } else {
    float* p = t.data<float>();
    const float v = static_cast<float>(value);
    cuda::parallel_for(device, n, [=] __device__(std::int64_t i) { p[i] += v; });
  }
}

}  // namespace batchmd::test_support
