// SPDX-License-Identifier: Apache-2.0
// The Lennard-Jones model's backend-independent tests (lj_model_cases.hpp) on the CPU, each
// result checked against the direct sum over all periodic images or finite differences.
// test_lj_gpu.cpp runs the same bodies on a GPU.
#include "lj_model_cases.hpp"

namespace batchmd::model::lj_cases {

INSTANTIATE_TEST_SUITE_P(Backends, LJModel,
                         ::testing::Combine(::testing::Values(Backend::Cpu),
                                            ::testing::Values(DType::Float64, DType::Float32)),
                         lj_model_name);
INSTANTIATE_TEST_SUITE_P(Backends, LJModelOn, ::testing::Values(Backend::Cpu), lj_backend_name);

}  // namespace batchmd::model::lj_cases
