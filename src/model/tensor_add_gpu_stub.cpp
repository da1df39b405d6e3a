// SPDX-License-Identifier: Apache-2.0
// model/tensor_add_gpu_stub: without the CUDA backend no tensor lives on a GPU.
#include "batchmd/core/error.hpp"
#include "tensor_add.hpp"

namespace batchmd::model::detail {

void tensor_add_gpu(Tensor&, const Tensor&) { throw InvalidArgument("tensor_add: this build has no CUDA backend"); }

}  // namespace batchmd::model::detail
