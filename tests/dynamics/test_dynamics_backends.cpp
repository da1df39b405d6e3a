// SPDX-License-Identifier: Apache-2.0
// The dynamics module's backend-independent tests (dynamics_cases.hpp) on the CPU: every
// integrator, FusedStage, InflightBatcher and the helpers against their physics references.
// test_dynamics_gpu.cpp runs the same bodies on a GPU, each also against the CPU run.
#include "dynamics_cases.hpp"

namespace batchmd::dynamics::cases {

INSTANTIATE_TEST_SUITE_P(Backends, DynamicsOn,
                         ::testing::Combine(::testing::Values(Backend::Cpu),
                                            ::testing::Values(DType::Float64, DType::Float32)),
                         dynamics_on_name);
INSTANTIATE_TEST_SUITE_P(Backends, OptimizerOn,
                         ::testing::Combine(::testing::Values(Backend::Cpu),
                                            ::testing::Values(DType::Float64, DType::Float32),
                                            ::testing::Values(false, true)),
                         optimizer_on_name);
INSTANTIATE_TEST_SUITE_P(Backends, HelpersOn, ::testing::Values(Backend::Cpu), helpers_on_name);

}  // namespace batchmd::dynamics::cases
