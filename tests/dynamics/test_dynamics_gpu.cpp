// SPDX-License-Identifier: Apache-2.0
// GPU tests of the dynamics module (label gpu; built with the CUDA backend, run on the GPU
// machine, failing where no GPU is usable): the backend-independent bodies of dynamics_cases.hpp
// with the cuda backend — every run against its physics reference and against the same run on
// the CPU — and what only the GPU has: no cudaMalloc once the step loop is warm.
#include "dynamics_cases.hpp"

namespace batchmd::dynamics::cases {

INSTANTIATE_TEST_SUITE_P(Backends, DynamicsOn,
                         ::testing::Combine(::testing::Values(Backend::Cuda),
                                            ::testing::Values(DType::Float64, DType::Float32)),
                         dynamics_on_name);
INSTANTIATE_TEST_SUITE_P(Backends, OptimizerOn,
                         ::testing::Combine(::testing::Values(Backend::Cuda),
                                            ::testing::Values(DType::Float64, DType::Float32),
                                            ::testing::Values(false, true)),
                         optimizer_on_name);
INSTANTIATE_TEST_SUITE_P(Backends, HelpersOn, ::testing::Values(Backend::Cuda), helpers_on_name);

namespace {

const Device kGpu = device_of(Backend::Cuda);

class FusedGpu : public ::testing::TestWithParam<DType> {
 protected:
  void SetUp() override { test_support::require_backend(Backend::Cuda); }
};

TEST_P(FusedGpu, NoCudaMallocOnceWarm) {
  const DType dt = GetParam();
  SpringParams sp;
  sp.r0 = 1.0;
  Batch dev = systems(dt, 61, 0.3).to(kGpu);
  auto m = springs(sp);
  auto fire = std::make_shared<FIRE>(m, 1.0);
  fire->set_convergence(Convergence::fmax(1e-3) | Convergence::steps(40));
  auto lang = std::make_shared<Langevin>(m, 1.0, 100, 0.02, 77);
  lang->set_convergence(Convergence::steps(1000));
  FusedStage fused({fire, lang});
  fused.run(dev, 10);
  const auto before = cuda::allocator_stats();
  fused.run(dev, 100);  // crosses the FIRE → Langevin transition (steps(40))
  const auto after = cuda::allocator_stats();
  EXPECT_EQ(after.cuda_mallocs, before.cuda_mallocs);
  EXPECT_EQ(fused.status_counts(dev)[1], dev.n_systems());

  NoseHooverChain nhc(springs(), 1.0, 300, 40.0, 3);
  Batch dev2 = systems(dt, 62, 0.1).to(kGpu);
  nhc.run(dev2, 10);
  const auto before2 = cuda::allocator_stats();
  nhc.run(dev2, 100);
  EXPECT_EQ(cuda::allocator_stats().cuda_mallocs, before2.cuda_mallocs);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, FusedGpu, ::testing::Values(DType::Float64, DType::Float32),
                         [](const auto& p) { return dname(p.param); });

}  // namespace
}  // namespace batchmd::dynamics::cases
