// SPDX-License-Identifier: Apache-2.0
// model/tensor_add_gpu.cu: dst += src on a GPU (CUDA builds), for SumModel.
#include <cuda_runtime.h>

#include "batchmd/core/error.hpp"
#include "batchmd/core/launch.cuh"
#include "tensor_add.hpp"

namespace batchmd::model::detail {

namespace {
template <typename T>
void add(int device, std::int64_t n, T* d, const T* s) {
  // One thread per element: 2 loads, 1 store.
  cuda::parallel_for(
      device, n, [=] __device__(std::int64_t i) { d[i] += s[i]; }, nullptr, "SumModel add");
}
}  // namespace

void tensor_add_gpu(Tensor& dst, const Tensor& src) {
  const int device = dst.device().index;
  if (dst.dtype() == DType::Float64)
    add(device, dst.numel(), dst.data<double>(), src.data<double>());
  else if (dst.dtype() == DType::Float32)
    add(device, dst.numel(), dst.data<float>(), src.data<float>());
  else
    throw InvalidArgument("tensor_add: not a float tensor");
}

}  // namespace batchmd::model::detail
