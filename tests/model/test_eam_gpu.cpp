// SPDX-License-Identifier: Apache-2.0
// GPU tests of EAM (src/model/eam_gpu.cu over full_list_gpu): the backend-independent bodies of
// eam_cases.hpp with the cuda backend, each GPU result against the CPU model on the same batch
// (the three formats on a mixed batch in float64 and float32, batched equal to separate, an
// element restriction, MD following the CPU, the uncovered-element error). Label gpu: built with
// the CUDA backend, run on the GPU machine; without a usable GPU every test fails.
#include "eam_cases.hpp"

namespace batchmd::model::eam_cases {

INSTANTIATE_TEST_SUITE_P(Backends, EamOn, ::testing::Values(Backend::Cuda), backend_param_name);

}  // namespace batchmd::model::eam_cases
