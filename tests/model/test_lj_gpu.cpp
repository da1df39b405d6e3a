// SPDX-License-Identifier: Apache-2.0
// GPU tests of the Lennard-Jones model (src/model/lj_gpu*.cpp/cu): the backend-independent bodies
// of lj_model_cases.hpp with the cuda backend (each GPU result against the CPU model on the same
// input, plus the finite-difference, determinism, error and restore cases), and what only the
// GPU has: its list's overflow report and no cudaMalloc once warm. Label gpu: built with the CUDA
// backend, run on the GPU machine; without a usable GPU every test fails.
#include "batchmd/core/cuda.hpp"
#include "lj_model_cases.hpp"

namespace batchmd::model::lj_cases {

INSTANTIATE_TEST_SUITE_P(Backends, LJModel,
                         ::testing::Combine(::testing::Values(Backend::Cuda),
                                            ::testing::Values(DType::Float64, DType::Float32)),
                         lj_model_name);
INSTANTIATE_TEST_SUITE_P(Backends, LJModelOn, ::testing::Values(Backend::Cuda), lj_backend_name);

namespace {

const Device kGpu = device_of(Backend::Cuda);

class LJGpu : public ::testing::Test {
 protected:
  void SetUp() override { test_support::require_backend(Backend::Cuda); }
};

// A structure compressed far beyond its starting density overflows the list: NumericalError.
TEST_F(LJGpu, ListOverflowIsReported) {
  std::mt19937_64 rng(15);
  Batch cpu = Batch::from_systems(systems(liquid(DType::Float64, rng)));
  Batch gpu = cpu.to(kGpu);
  LennardJones m{LJConfig{}};
  m.compute(gpu, false);
  // Shrink by 0.6: 4.6x the density (the list has room for 1.5x + 16).
  for (const char* f : {"positions", "cell"}) {
    auto* v = cpu.get(f).data<double>();
    for (std::int64_t k = 0; k < cpu.get(f).numel(); ++k) v[k] *= 0.6;
    gpu.get(f).copy_from(cpu.get(f));
  }
  std::string msg;
  try {
    for (int calls = 0; calls < 3; ++calls) m.compute(gpu, false);
  } catch (const NumericalError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("overflowed"), std::string::npos) << msg;
}

// After the first call (setup) and a warm-up, steps — rebuilds included — allocate no GPU memory.
TEST_F(LJGpu, NoCudaMallocOnceWarm) {
  std::mt19937_64 rng(17);
  Batch cpu = Batch::from_systems(systems(liquid(DType::Float32, rng), cluster(DType::Float32, rng)));
  Batch gpu = cpu.to(kGpu);
  LennardJones m{LJConfig{}};
  std::normal_distribution<double> step(0, 0.05);
  auto move = [&] {
    auto* x = cpu.get("positions").data<float>();
    for (std::int64_t k = 0; k < 3 * cpu.n_atoms(); ++k) x[k] = static_cast<float>(x[k] + step(rng) + 0.1);
    gpu.get("positions").copy_from(cpu.get("positions"));
  };
  m.compute(gpu, true);
  move();
  m.compute(gpu, true);
  const auto before = cuda::allocator_stats();
  const std::int64_t builds = m.neighbor_builds();
  for (int it = 0; it < 20; ++it) {
    move();
    m.compute(gpu, it % 2 == 0);
  }
  const auto after = cuda::allocator_stats();
  EXPECT_EQ(after.cuda_mallocs, before.cuda_mallocs);
  EXPECT_GT(m.neighbor_builds(), builds);
}

}  // namespace
}  // namespace batchmd::model::lj_cases
