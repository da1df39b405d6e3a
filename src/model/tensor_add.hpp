// SPDX-License-Identifier: Apache-2.0
// model/tensor_add (internal): dst += src for two tensors of the same dtype (float32/float64),
// element count and device — on the CPU a loop, on a GPU a kernel on the compute stream
// (tensor_add_gpu.cu in CUDA builds; the stub in others, where no tensor is on a GPU).
#pragma once
#include "batchmd/core/tensor.hpp"

namespace batchmd::model::detail {

void tensor_add(Tensor& dst, const Tensor& src);
/// The GPU half of tensor_add (both tensors on the same GPU).
void tensor_add_gpu(Tensor& dst, const Tensor& src);

}  // namespace batchmd::model::detail
