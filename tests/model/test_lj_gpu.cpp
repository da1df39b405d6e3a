// SPDX-License-Identifier: Apache-2.0
// GPU tests of the Lennard-Jones model (src/model/lj_gpu*.cpp/cu): the backend-independent bodies
// of lj_model_cases.hpp with the cuda backend (each GPU result against the CPU model on the same
// input, plus the finite-difference, determinism, error and restore cases), and what only the
// GPU has: its list's overflow report, no cudaMalloc once warm, and its list kept under a
// barostat's strain (against a fresh model and the CPU; a pair the strain brings inside the cutoff). Label gpu: built
// with the CUDA backend, run on the GPU machine; without a usable GPU every test fails.
#include <array>
#include <cmath>

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

// Cell rows of system s and the positions of its atoms times A (row-major [9]; h -> h A,
// x -> x A), in the host batch b (float64).
void strain_system(Batch& b, std::int64_t s, const std::array<double, 9>& A) {
  auto times = [&](double* v) {
    const double u[3] = {v[0], v[1], v[2]};
    for (int c = 0; c < 3; ++c)
      v[c] = u[0] * A[static_cast<std::size_t>(c)] + u[1] * A[3 + static_cast<std::size_t>(c)] +
             u[2] * A[6 + static_cast<std::size_t>(c)];
  };
  double* cell = b.get("cell").data<double>() + 9 * s;
  for (int d = 0; d < 3; ++d) times(cell + 3 * d);
  double* x = b.get("positions").data<double>();
  for (std::int64_t i = b.atoms_ptr_data()[s]; i < b.atoms_ptr_data()[s + 1]; ++i) times(x + 3 * i);
}

// The strain of step k for system s: a steady deformation of Frobenius norm `rate` (a per-system
// mix of stretch, shear and rotation) plus a little noise.
std::array<double, 9> strain_step(double rate, std::int64_t s, int k) {
  return testing::strain_matrix(rate, static_cast<std::uint64_t>(50 + s), static_cast<std::uint64_t>(1000 * s + k));
}

// A barostat-like run on the GPU (float64): the periodic systems' cells (a liquid, a triclinic
// cell, a box smaller than 2 (cutoff + skin), a tiny triclinic box) strained a little at each of 30
// steps, each its own deformation, positions carried along and jittered, some atoms wrapped by
// rows of the strained cell; an open cluster only jittered. One model kept across the steps
// against a model made afresh at each step (its list built from scratch) and the CPU model kept
// alike, to 1e-10. The skin absorbs the strain for a while: the kept model rebuilds far less often
// than every step; a strain beyond the skin rebuilds.
TEST_F(LJGpu, StrainedListIsKeptAndMatchesAFreshModel) {
  std::mt19937_64 rng(21);
  const DType d = DType::Float64;
  const LJConfig cfg{};
  Batch host = Batch::from_systems(
      systems(liquid(d, rng), triclinic(d, rng), small_box(d, rng), tiny_box(d, rng), cluster(d, rng)));
  Batch dev = host.to(kGpu);
  LennardJones m(cfg), cpu(cfg);
  std::normal_distribution<double> step(0, 0.005);
  const int n_steps = 30;
  auto check = [&](const std::string& where) {
    m.compute(dev, true);
    const Result got = result_of(dev, true);
    Batch fresh_batch = host.to(kGpu);
    LennardJones fresh(cfg);
    fresh.compute(fresh_batch, true);
    expect_agree(result_of(fresh_batch, true), got, host, false, cfg, where + " (vs a fresh GPU model)");
    cpu.compute(host, true);
    expect_agree(result_of(host, true), got, host, false, cfg, where + " (vs the CPU model)");
  };
  auto upload = [&] {
    dev.get("positions").copy_from(host.get("positions"));
    dev.get("cell").copy_from(host.get("cell"));
  };
  for (int k = 0; k < n_steps; ++k) {
    check("step " + std::to_string(k));
    if (::testing::Test::HasFailure()) return;
    for (std::int64_t s = 0; s < 4; ++s) strain_system(host, s, strain_step(0.002 * static_cast<double>(s + 1), s, k));
    double* x = host.get("positions").data<double>();
    const std::int64_t* ptr = host.atoms_ptr_data();
    for (std::int64_t i = 0; i < host.n_atoms(); ++i)
      for (int e = 0; e < 3; ++e) x[3 * i + e] += step(rng);
    if (k % 5 == 2)  // every 7th atom of the periodic systems wrapped by a row of its current cell
      for (std::int64_t s = 0; s < 4; ++s)
        for (std::int64_t i = ptr[s]; i < ptr[s + 1]; i += 7)
          for (int e = 0; e < 3; ++e) x[3 * i + e] -= host.get("cell").data<double>()[9 * s + 3 * ((i + k) % 3) + e];
    upload();
  }
  check("last step");
  const std::int64_t builds = m.neighbor_builds();
  EXPECT_GE(builds, 2) << "the strain never outgrew the skin";
  EXPECT_LE(builds, n_steps / 3) << "the strained list was not kept";
  // A shear of 0.25 (volume kept): σ_min(A) ≥ √0.75, (1 - √0.75)(cutoff + skin) = 1.27 Å > skin.
  strain_system(host, 0, {1, 0.25, 0, 0, 1, 0, 0, 0, 1});
  upload();
  check("a shear of 0.25");
  EXPECT_EQ(m.neighbor_builds(), builds + 1);
}

// Two argon atoms 9.6 Å apart in a 30 Å box (beyond cutoff + skin = 9.5 Å: not listed), beside a
// liquid. A strain of 6 % along the pair (δ = 1 - 0.06 * 9.5 = 0.43 Å) and moves of 0.2 Å each
// towards the other (< δ/2): the list is kept, the pair at 8.62 Å is beyond the 8.5 Å cutoff (no
// force). 0.07 Å more each (0.27 Å: > δ/2 but < skin/2): the pair is at 8.48 Å, inside the cutoff;
// the list is rebuilt and the force is the fresh model's (a check with the unstrained threshold
// skin/2 would keep the list and miss the pair).
TEST_F(LJGpu, AStrainThatBringsANeighbourInsideTheCutoffIsSeen) {
  std::mt19937_64 rng(22);
  const DType d = DType::Float64;
  const LJConfig cfg{};
  const Vec pair = {10, 15, 15, 19.6, 15, 15};
  Batch host = Batch::from_systems(systems(
      liquid(d, rng), AtomicData::make(d, pair, argon(pair), {30, 0, 0, 0, 30, 0, 0, 0, 30}, {true, true, true})));
  Batch dev = host.to(kGpu);
  LennardJones m(cfg);
  m.compute(dev, true);
  const std::int64_t builds = m.neighbor_builds();
  const std::int64_t a0 = host.atoms_ptr_data()[1];
  auto move = [&](double by) {
    double* x = host.get("positions").data<double>();
    x[3 * a0] += by;
    x[3 * (a0 + 1)] -= by;
    dev.get("positions").copy_from(host.get("positions"));
    dev.get("cell").copy_from(host.get("cell"));
  };
  auto fresh = [&] {
    Batch b = host.to(kGpu);
    LennardJones f(cfg);
    f.compute(b, true);
    return result_of(b, true);
  };
  strain_system(host, 1, {0.94, 0, 0, 0, 1, 0, 0, 0, 1});
  move(0.2);
  m.compute(dev, true);
  Result got = result_of(dev, true);
  EXPECT_EQ(m.neighbor_builds(), builds) << "kept";
  expect_agree(fresh(), got, host, false, cfg, "pair beyond the cutoff");
  EXPECT_EQ(got.forces[3 * static_cast<std::size_t>(a0)], 0.0);
  move(0.07);
  m.compute(dev, true);
  got = result_of(dev, true);
  EXPECT_EQ(m.neighbor_builds(), builds + 1) << "rebuilt";
  const Result want = fresh();
  EXPECT_GT(std::abs(want.forces[3 * static_cast<std::size_t>(a0)]), 1e-6) << "the pair is inside the cutoff";
  expect_agree(want, got, host, false, cfg, "pair brought inside the cutoff");
}

}  // namespace
}  // namespace batchmd::model::lj_cases
