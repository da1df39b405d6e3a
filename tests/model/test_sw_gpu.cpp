// SPDX-License-Identifier: Apache-2.0
// GPU tests of Stillinger–Weber and Morse (src/model/sw_gpu.cu, morse_gpu.cu on full_list_gpu):
// the backend-independent bodies of sw_cases.hpp with the cuda backend, each GPU result against
// the CPU models on the same batch, and what only the GPU has: no cudaMalloc once warm. Label
// gpu: built with the CUDA backend, run on the GPU machine; without a usable GPU every test fails.
#include "batchmd/core/cuda.hpp"
#include "sw_cases.hpp"

namespace batchmd::model::sw_cases {

INSTANTIATE_TEST_SUITE_P(Backends, SwOn, ::testing::Values(Backend::Cuda), backend_param_name);

namespace {

class SwGpu : public ::testing::Test {
 protected:
  void SetUp() override { test_support::require_backend(Backend::Cuda); }
};

TEST_F(SwGpu, NoDeviceAllocationOnceWarm) {
  for (auto m : {sw("Si.sw"), morse(true)}) {
    Sys s = m->name() == "sw" ? zincblende(3, 3, 3, 5.431, 14, 14) : fcc(3, 3.615, 29);
    s.masses.assign(static_cast<std::size_t>(s.n()), 28.0);
    Batch b = batch_of({s});
    dynamics::maxwell_boltzmann(b, 300.0, 8);
    Batch g = b.to(device_of(Backend::Cuda));
    dynamics::DemoDynamics md(m, 1.0);
    md.run(g, 5);
    const auto before = cuda::allocator_stats().cuda_mallocs;
    md.run(g, 20);
    EXPECT_EQ(cuda::allocator_stats().cuda_mallocs, before) << m->name();
  }
}

}  // namespace
}  // namespace batchmd::model::sw_cases
