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

// RAII: a kernel-shape variable (BATCHMD_SNAP_GPU_GROUP, _LANES) set while alive (read when a
// model is made).
struct ShapeEnv {
  const char* name;
  ShapeEnv(const char* var, const char* v) : name(var) { setenv(name, v, 1); }
  ~ShapeEnv() { unsetenv(name); }
  ShapeEnv(const ShapeEnv&) = delete;
  ShapeEnv& operator=(const ShapeEnv&) = delete;
};

// The B and Y passes stage the U of A atoms per block and split a group's work over blocks as
// the batch size asks: neither may change any atom's sums. Every group size against the default
// (32 atoms), bit for bit, for a single-element 2J=8 model and the explicit multi-element one, on
// a batch whose atom count is no multiple of 32 (a partial last group).
TEST_F(SnapGpu, EveryAtomGroupingGivesTheSameBits) {
  for (const std::string file : {"W_2940_2017_2.snap", "InP_JCPA2020.snap"}) {
    const bool inp = file[0] == 'I';
    std::vector<Sys> systems = inp ? mixed(3.0, {49, 15}, 41) : mixed(3.1803, {74}, 42);
    Sys small = bcc(2, inp ? 3.0 : 3.1803, inp ? 15 : 74);
    jitter(small, 0.1, 43);
    systems.push_back(small);
    auto batch = [&] { return batch_of(systems).to(device_of(Backend::Cuda)); };
    auto model = [&] { return load_snap_potential(kPotentials + file); };
    const Out base = run(*model(), batch());
    for (const char* group : {"1", "4", "16"}) {
      const ShapeEnv env("BATCHMD_SNAP_GPU_GROUP", group);
      const Out got = run(*model(), batch());
      EXPECT_EQ(got.energy, base.energy) << file << ", " << group << " atoms per block";
      EXPECT_EQ(got.forces, base.forces) << file << ", " << group << " atoms per block";
      EXPECT_EQ(got.virial, base.virial) << file << ", " << group << " atoms per block";
    }
  }
}

// The U and force kernels give each neighbor L lanes (teams of 8, 16 or 32 in a warp): every team
// size against the CPU model (the sums' order changes with L, so not bit for bit), a 2J=6, a
// 2J=8 and the multi-element model.
TEST_F(SnapGpu, EveryLaneCountAgreesWithTheReference) {
  for (const char* lanes : {"8", "16", "32"}) {
    const ShapeEnv env("BATCHMD_SNAP_GPU_LANES", lanes);
    const std::string t = std::string(", ") + lanes + " lanes per neighbor";
    expect_agrees(Backend::Cuda, shipped("Ta06A.snap"), mixed(3.316, {73}, 51), DType::Float64, expect_agree, kFdRel,
                  "Ta06A" + t);
    expect_agrees(Backend::Cuda, shipped("W_2940_2017_2.snap"), mixed(3.1803, {74}, 52), DType::Float64, expect_agree,
                  kFdRel, "W 2J=8" + t);
    expect_agrees(Backend::Cuda, shipped("InP_JCPA2020.snap"), mixed(3.0, {49, 15}, 53), DType::Float64, expect_agree,
                  kFdRel, "InP chemflag" + t);
  }
}

TEST_F(SnapGpu, BadAtomGroupIsAnError) {
  const ShapeEnv env("BATCHMD_SNAP_GPU_GROUP", "12");
  try {
    Batch b = batch_of({bcc(2, 3.1803, 74)}).to(device_of(Backend::Cuda));
    auto m = load_snap_potential(kPotentials + "W_2940_2017_2.snap");
    m->compute(b, false);
    FAIL() << "expected an InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("BATCHMD_SNAP_GPU_GROUP='12': expected a power of two"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace batchmd::model::snap_cases
