// SPDX-License-Identifier: Apache-2.0
// GPU tests of SNAP and ZBL (src/model/snap_gpu.cu, zbl_gpu.cu, full_list_gpu.cu): the
// backend-independent bodies of snap_cases.hpp with the cuda backend, each GPU result against the
// CPU models on the same batch, and what only the GPU has: no cudaMalloc once warm. Label gpu:
// built with the CUDA backend, run on the GPU machine; without a usable GPU every test fails.
#include "batchmd/core/cuda.hpp"
#include "snap_cases.hpp"

namespace batchmd::model::snap_cases {

INSTANTIATE_TEST_SUITE_P(Backends, SnapOn, ::testing::Values(Backend::Cuda), backend_param_name);

namespace {

class SnapGpu : public ::testing::Test {
 protected:
  void SetUp() override { test_support::require_backend(Backend::Cuda); }
};

TEST_F(SnapGpu, NoDeviceAllocationOnceWarm) {
  auto m = load_snap_potential(kPotentials + "W_2940_2017_2.snap");
  Sys s = bcc(3, 3.1803, 74);
  s.masses.assign(static_cast<std::size_t>(s.n()), 183.84);
  Batch b = batch_of({s});
  dynamics::maxwell_boltzmann(b, 300.0, 6);
  Batch g = b.to(device_of(Backend::Cuda));
  dynamics::DemoDynamics md(m, 0.5);
  md.run(g, 5);
  const auto before = cuda::allocator_stats().cuda_mallocs;
  md.run(g, 20);
  EXPECT_EQ(cuda::allocator_stats().cuda_mallocs, before);
}

}  // namespace
}  // namespace batchmd::model::snap_cases
