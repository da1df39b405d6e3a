// SPDX-License-Identifier: Apache-2.0
// GPU tests of EAM (src/model/eam_gpu.cu over full_list_gpu): compute() on a batch on cuda:0
// against the CPU model on the same batch, for the three formats (Cu_u3.eam funcfl, AlCu.eam.alloy
// setfl, NiAlH_jea.eam.fs Finnis–Sinclair with asymmetric cross densities) on a mixed batch —
// periodic crystal, small triclinic cell, slab, empty system, open cluster — in float64 and
// float32; batched equal to separate (bit for bit: no atomics); an element restriction; MD on the
// GPU following the CPU; the error for an uncovered element. Skipped (not passed) without a GPU.
//
// Tolerances, GPU against CPU (same arithmetic, full list instead of half list, so a different
// summation order): float64 1e-10 of the force scale and of |E|; float32 2e-4 and 2e-5.
#include <gtest/gtest.h>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/model/eam.hpp"
#include "snap_test_util.hpp"

namespace batchmd::model {
namespace {

using namespace testing;

const Device kGpu{Device::Kind::CUDA, 0};

class EamGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda::device_count() == 0) GTEST_SKIP() << "no GPU: " << cuda::unavailable_reason();
  }
};

std::vector<Sys> mixed(double a, const std::vector<std::int64_t>& zs, std::uint64_t seed) {
  Sys crystal = fcc(3, a, zs[0]);
  jitter(crystal, 0.12, seed);
  Sys tri = fcc(2, a, zs[0]);
  tri.cell = {2 * a, 0, 0, 0.4 * a, 2 * a, 0, -0.3 * a, 0.2 * a, 2 * a};
  for (std::int64_t i = 0; i < tri.n(); ++i) {
    const double f[3] = {tri.x[3 * i] / (2 * a), tri.x[3 * i + 1] / (2 * a), tri.x[3 * i + 2] / (2 * a)};
    for (int e = 0; e < 3; ++e) tri.x[3 * i + e] = f[0] * tri.cell[e] + f[1] * tri.cell[3 + e] + f[2] * tri.cell[6 + e];
  }
  jitter(tri, 0.12, seed + 1);
  Sys slab = fcc(2, a, zs[0]);
  slab.pbc = {true, true, false};
  slab.cell[8] = 0;
  jitter(slab, 0.12, seed + 2);
  Sys cluster = fcc(2, a, zs[0]);
  cluster.pbc = {false, false, false};
  cluster.cell.assign(9, 0.0);
  jitter(cluster, 0.12, seed + 3);
  Sys empty;
  empty.cell = {10, 0, 0, 0, 10, 0, 0, 0, 10};
  std::vector<Sys> all = {crystal, tri, slab, empty, cluster};
  for (auto& s : all)
    for (std::size_t i = 0; i < s.z.size(); ++i) s.z[i] = zs[(i * 7 + 3) % zs.size()];
  return all;
}

struct Out {
  std::vector<double> energy, forces, virial, stress;
};
Out run(Model& m, Batch b) {
  m.compute(b, true);
  return {doubles(b.get("energy")), doubles(b.get("forces")), doubles(b.get("virial")), doubles(b.get("stress"))};
}

void expect_agree(const Out& c, const Out& g, bool f32, const std::string& where) {
  const double tf = f32 ? 2e-4 : 1e-10, te = f32 ? 2e-5 : 1e-10;
  ASSERT_EQ(c.forces.size(), g.forces.size()) << where;
  const double fs = std::max(max_abs(c.forces), 1.0);
  for (std::size_t k = 0; k < c.forces.size(); ++k)
    EXPECT_NEAR(g.forces[k], c.forces[k], tf * fs) << where << " f" << k;
  for (std::size_t s = 0; s < c.energy.size(); ++s)
    EXPECT_NEAR(g.energy[s], c.energy[s], te * (std::abs(c.energy[s]) + 1)) << where << " E" << s;
  const double ws = std::max(max_abs(c.virial), 1.0);
  for (std::size_t k = 0; k < c.virial.size(); ++k)
    EXPECT_NEAR(g.virial[k], c.virial[k], tf * ws) << where << " W" << k;
  const double ss = std::max(max_abs(c.stress), 1e-3);
  for (std::size_t k = 0; k < c.stress.size(); ++k)
    EXPECT_NEAR(g.stress[k], c.stress[k], tf * ss) << where << " S" << k;
}

struct FileCase {
  std::string file;
  double a;
  std::vector<std::int64_t> z;
};

TEST_F(EamGpu, ThreeFormatsAgreeWithTheCpu) {
  for (const FileCase& fc : {FileCase{"Cu_u3.eam", 3.615, {29}}, FileCase{"AlCu.eam.alloy", 3.9, {13, 29}},
                             FileCase{"NiAlH_jea.eam.fs", 3.52, {28, 13, 1}}}) {
    for (DType dt : {DType::Float64, DType::Float32}) {
      const std::string where = fc.file + (dt == DType::Float32 ? " float32" : " float64");
      auto cpu = load_eam({kPotentials + fc.file});
      auto gpu = load_eam({kPotentials + fc.file});
      const Batch host = batch_of(mixed(fc.a, fc.z, 3), dt);
      const Out c = run(*cpu, host.clone());
      const Out g = run(*gpu, host.to(kGpu));
      expect_agree(c, g, dt == DType::Float32, where);
      // A second call (the list is reused, displacements recomputed) gives the same.
      expect_agree(c, run(*gpu, host.to(kGpu)), dt == DType::Float32, where + " (second call)");
    }
  }
}

TEST_F(EamGpu, BatchedEqualsSeparateBitForBit) {
  const auto systems = mixed(3.9, {13, 29}, 11);
  auto m = load_eam({kPotentials + "AlCu.eam.alloy"});
  const Out all = run(*m, batch_of(systems).to(kGpu));
  std::size_t atom = 0;
  for (std::size_t s = 0; s < systems.size(); ++s) {
    auto one_m = load_eam({kPotentials + "AlCu.eam.alloy"});
    const Out one = run(*one_m, batch_of({systems[s]}).to(kGpu));
    EXPECT_EQ(all.energy[s], one.energy[0]) << s;
    for (std::size_t k = 0; k < one.forces.size(); ++k) EXPECT_EQ(all.forces[3 * atom + k], one.forces[k]) << s;
    for (int k = 0; k < 9; ++k) EXPECT_EQ(all.virial[9 * s + k], one.virial[k]) << s;
    atom += static_cast<std::size_t>(systems[s].n());
  }
}

TEST_F(EamGpu, ElementRestrictionAgreesWithTheCpu) {
  auto make = [] {
    EAMConfig c;
    c.tables = read_eam({kPotentials + "AlCu.eam.alloy"}, EAMFormat::Setfl);
    c.pairs = ElementPairs({{29, 29}, {13, 29}});  // no Al-Al: Al atoms are left out
    return std::make_shared<EAM>(std::move(c));
  };
  auto cpu = make(), gpu = make();
  const Batch host = batch_of(mixed(3.9, {13, 29, 2}, 21));  // He: not in the file, left out too
  expect_agree(run(*cpu, host.clone()), run(*gpu, host.to(kGpu)), false, "restricted");
}

TEST_F(EamGpu, MolecularDynamicsFollowsTheCpu) {
  Sys s = fcc(3, 3.615, 29);
  s.masses.assign(static_cast<std::size_t>(s.n()), 63.55);
  Batch host = batch_of({s});
  dynamics::maxwell_boltzmann(host, 600.0, 5);
  Batch dev = host.to(kGpu);
  dynamics::DemoDynamics cpu(load_eam({kPotentials + "Cu_u3.eam"}), 2.0);
  dynamics::DemoDynamics gpu(load_eam({kPotentials + "Cu_u3.eam"}), 2.0);
  cpu.run(host, 100);
  gpu.run(dev, 100);
  const auto xc = doubles(host.get("positions")), xg = doubles(dev.get("positions"));
  for (std::size_t k = 0; k < xc.size(); ++k) EXPECT_NEAR(xg[k], xc[k], 1e-7) << k;
  EXPECT_NEAR(doubles(dev.get("energy"))[0], doubles(host.get("energy"))[0], 1e-8);
}

TEST_F(EamGpu, UncoveredElementIsAnErrorOnTheGpuToo) {
  auto m = load_eam({kPotentials + "Cu_u3.eam"});
  Sys s = fcc(2, 3.615, 29);
  s.z[3] = 28;
  Batch b = batch_of({s}).to(kGpu);
  EXPECT_THROW(m->compute(b), InvalidArgument);
}

}  // namespace
}  // namespace batchmd::model
