// SPDX-License-Identifier: Apache-2.0
// GPU tests of SNAP, ZBL and SumModel (src/model/snap_gpu.cu, zbl_gpu.cu, full_list_gpu.cu):
// compute() on a batch on cuda:0 against the CPU models on the same batch — every shipped model
// family (Ta06A + ZBL, W 2J=8, W-Be, InP chemflag, Cu quadratic) and synthetic models for every
// flag the kernels branch on; periodic, triclinic, slab, open and empty systems in one batch;
// batched equal to separate (bit for bit: no atomics anywhere); atoms wrapped back into the cell
// between calls (the image-shift upload); an MD run on the GPU against the CPU; the GPU-side
// error for an uncovered element; no cudaMalloc once warm.
//
// Tolerances, GPU against CPU (the same arithmetic in a different order: Z on the fly, per-warp
// partial sums): float64 1e-10 relative to the force scale and to |E| + n; float32 2e-4 of the
// force scale, 2e-5 of |E| (float32 sums of ~50 neighbor terms of U, then Z products).
#include <gtest/gtest.h>

#include "batchmd/core/cuda.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/model/snap.hpp"
#include "batchmd/model/snap_potential.hpp"
#include "batchmd/model/sum_model.hpp"
#include "batchmd/model/zbl.hpp"
#include "snap_test_util.hpp"

namespace batchmd::model {
namespace {

using namespace testing;

const Device kGpu{Device::Kind::CUDA, 0};

class SnapGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda::device_count() == 0) GTEST_SKIP() << "no GPU: " << cuda::unavailable_reason();
  }
};

// A mixed batch: a jittered crystal, a small triclinic cell (self-images), a slab, an open
// cluster and an empty system; elements from zs.
std::vector<Sys> mixed(double a, const std::vector<std::int64_t>& zs, std::uint64_t seed) {
  Sys crystal = bcc(3, a, zs[0]);
  jitter(crystal, 0.15, seed);
  Sys tri = bcc(2, a, zs[0]);
  tri.cell = {2 * a, 0, 0, 0.4 * a, 2 * a, 0, -0.3 * a, 0.2 * a, 2 * a};
  for (std::int64_t i = 0; i < tri.n(); ++i) {
    const double f[3] = {tri.x[3 * i] / (2 * a), tri.x[3 * i + 1] / (2 * a), tri.x[3 * i + 2] / (2 * a)};
    for (int e = 0; e < 3; ++e) tri.x[3 * i + e] = f[0] * tri.cell[e] + f[1] * tri.cell[3 + e] + f[2] * tri.cell[6 + e];
  }
  jitter(tri, 0.2, seed + 1);
  Sys slab = bcc(2, a, zs[0]);
  slab.pbc = {true, true, false};
  slab.cell[8] = 0;
  jitter(slab, 0.2, seed + 2);
  Sys cluster = bcc(2, a, zs[0]);
  cluster.pbc = {false, false, false};
  cluster.cell.assign(9, 0.0);
  jitter(cluster, 0.2, seed + 3);
  Sys empty;
  empty.cell = {10, 0, 0, 0, 10, 0, 0, 0, 10};
  std::vector<Sys> all = {crystal, tri, slab, empty, cluster};
  for (auto& s : all)
    for (std::size_t i = 0; i < s.z.size(); ++i) s.z[i] = zs[i % zs.size()];
  return all;
}

struct Out {
  std::vector<double> energy, forces, virial, stress;
};
Out run(Model& m, Batch b) {
  m.compute(b, true);
  return {doubles(b.get("energy")), doubles(b.get("forces")), doubles(b.get("virial")), doubles(b.get("stress"))};
}

void expect_agree(const Out& c, const Out& g, const Batch& b, bool f32, const std::string& where) {
  const double tf = f32 ? 2e-4 : 1e-10, te = f32 ? 2e-5 : 1e-10;
  ASSERT_EQ(c.forces.size(), g.forces.size()) << where;
  const double fs = std::max(max_abs(c.forces), 1.0);
  for (std::size_t k = 0; k < c.forces.size(); ++k)
    EXPECT_NEAR(g.forces[k], c.forces[k], tf * fs) << where << " force " << k;
  const auto* ptr = b.atoms_ptr_data();
  for (std::size_t s = 0; s < c.energy.size(); ++s) {
    const double n = static_cast<double>(ptr[s + 1] - ptr[s]);
    EXPECT_NEAR(g.energy[s], c.energy[s], te * (std::abs(c.energy[s]) + n)) << where << " energy " << s;
    double ws = n;
    for (int k = 0; k < 9; ++k) ws = std::max(ws, std::abs(c.virial[9 * s + k]));
    for (int k = 0; k < 9; ++k) {
      EXPECT_NEAR(g.virial[9 * s + k], c.virial[9 * s + k], te * ws) << where << " virial " << s;
      EXPECT_NEAR(g.stress[9 * s + k], c.stress[9 * s + k], te * ws) << where << " stress " << s;
    }
  }
}

// Two fresh models (CPU, GPU) of the same kind on the same batch.
void agree(const std::function<std::shared_ptr<Model>()>& make, const std::vector<Sys>& systems, DType dt,
           const std::string& where) {
  auto cpu = make(), gpu = make();
  Batch b = batch_of(systems, dt);
  const Out c = run(*cpu, b.clone());
  const Out g = run(*gpu, b.to(kGpu));
  expect_agree(c, g, b, dt == DType::Float32, where);
}

TEST_F(SnapGpu, ShippedModelsAgreeWithTheCpu) {
  for (DType dt : {DType::Float64, DType::Float32}) {
    const std::string t = dt == DType::Float32 ? " float32" : " float64";
    agree([] { return load_snap_potential(kPotentials + "Ta06A.snap"); }, mixed(3.316, {73}, 1), dt, "Ta06A" + t);
    agree([] { return load_snap_potential(kPotentials + "W_2940_2017_2.snap"); }, mixed(3.1803, {74}, 2), dt,
          "W 2J=8" + t);
    agree([] { return load_snap_potential(kPotentials + "WBe_Wood_PRB2019.snap"); }, mixed(3.1803, {74, 74, 4}, 3), dt,
          "W-Be" + t);
    agree([] { return load_snap_potential(kPotentials + "Cu_Zuo_JPCA2020.quadratic.snap"); }, mixed(2.9, {29}, 4), dt,
          "Cu quadratic" + t);
  }
  agree([] { return load_snap_potential(kPotentials + "InP_JCPA2020.snap"); }, mixed(3.0, {49, 15}, 5), DType::Float64,
        "InP chemflag");
  agree(
      [] {
        SNAPPotentialFile f = read_snap_potential(kPotentials + "InP_JCPA2020.snap");
        f.snap.lammps_chemflag_forces = true;
        return std::make_shared<SNAP>(f.snap);
      },
      mixed(3.0, {49, 15}, 6), DType::Float64, "InP, LAMMPS's chemflag adjoint");
}

TEST_F(SnapGpu, EveryFlagAgreesWithTheCpu) {
  struct Case {
    bool chem, quad, bnorm, wselfall, inner, bzero, switchflag;
    double rmin0;
  };
  const Case cases[] = {{true, true, false, true, true, true, true, 0.3},
                        {false, false, true, false, true, false, false, 0.0},
                        {true, false, true, false, false, true, true, 0.0}};
  int k = 0;
  for (const Case& c : cases) {
    auto make = [&] {
      SNAPConfig cfg;
      auto& p = cfg.params;
      p.rcutfac = 1.0;
      p.twojmax = 5;  // odd: the mirrored row of the last layer
      p.rmin0 = c.rmin0;
      p.bzeroflag = c.bzero;
      p.switchflag = c.switchflag;
      p.quadraticflag = c.quad;
      p.chemflag = c.chem;
      p.bnormflag = c.bnorm;
      p.wselfallflag = c.wselfall;
      p.switchinnerflag = c.inner;
      p.elements = {{"W", 74, 2.3, 1.0, {}}, {"Be", 4, 2.0, 0.8, {}}, {"Ta", 73, 2.2, 0.9, {}}};
      if (c.inner) {
        p.sinner = {2.0, 1.8, 1.9};
        p.dinner = {0.6, 0.5, 0.4};
      }
      std::mt19937_64 rng(40 + k);
      std::uniform_real_distribution<double> u(-1, 1);
      const int n = p.coefficients_per_element();
      for (auto& e : p.elements) {
        e.coefficients.resize(static_cast<std::size_t>(n));
        for (int q = 0; q < n; ++q) e.coefficients[q] = (q <= p.descriptors() ? 0.05 : 1e-4) * u(rng);
      }
      return std::make_shared<SNAP>(cfg);
    };
    agree(make, mixed(3.1803, {74, 4, 73}, 10 + k), DType::Float64, "flag case " + std::to_string(k));
    ++k;
  }
}

TEST_F(SnapGpu, ZblAndSumsAgreeWithTheCpu) {
  for (DType dt : {DType::Float64, DType::Float32}) {
    agree(
        [] {
          ZBLConfig c;
          c.inner = 2.0;
          c.outer = 4.0;
          c.pairs = ElementPairs({{74, 74}, {74, 4}});
          return std::make_shared<ZBL>(c);
        },
        mixed(3.1803, {74, 4}, 20), dt, "ZBL");
  }
}

TEST_F(SnapGpu, BatchedEqualsSeparateBitForBit) {
  const auto systems = mixed(3.1803, {74, 74, 4}, 30);
  auto m = load_snap_potential(kPotentials + "WBe_Wood_PRB2019.snap");
  const Out all = run(*m, batch_of(systems).to(kGpu));
  std::size_t atom = 0;
  for (std::size_t s = 0; s < systems.size(); ++s) {
    auto one_model = load_snap_potential(kPotentials + "WBe_Wood_PRB2019.snap");
    const Out one = run(*one_model, batch_of({systems[s]}).to(kGpu));
    EXPECT_EQ(all.energy[s], one.energy[0]) << s;
    for (std::size_t k = 0; k < one.forces.size(); ++k) EXPECT_EQ(all.forces[3 * atom + k], one.forces[k]) << s;
    for (int k = 0; k < 9; ++k) EXPECT_EQ(all.virial[9 * s + k], one.virial[k]) << s;
    atom += static_cast<std::size_t>(systems[s].n());
  }
}

TEST_F(SnapGpu, AtomsWrappedBetweenCallsKeepTheirNeighbors) {
  // Move every third atom of a periodic crystal by a lattice vector between two calls (what a
  // wrap hook does): no rebuild, the per-atom image shifts change, the results must not.
  auto m = load_snap_potential(kPotentials + "Ta06A.snap");
  Sys s = bcc(3, 3.316, 73);
  jitter(s, 0.1, 31);
  Batch b = batch_of({s}).to(kGpu);
  const Out first = run(*m, b.clone());
  Sys moved = s;
  for (std::int64_t i = 0; i < s.n(); i += 3)
    for (int d = 0; d < 3; ++d) moved.x[3 * i + d] += s.cell[d] - s.cell[3 + d];
  b.get("positions").copy_from(batch_of({moved}).get("positions"));
  const Out second = run(*m, std::move(b));
  const double fs = max_abs(first.forces);
  EXPECT_NEAR(second.energy[0], first.energy[0], 1e-10 * std::abs(first.energy[0]));
  for (std::size_t k = 0; k < first.forces.size(); ++k) EXPECT_NEAR(second.forces[k], first.forces[k], 1e-10 * fs);
}

TEST_F(SnapGpu, MolecularDynamicsFollowsTheCpu) {
  // 50 NVE steps of Ta06A from 300 K on both devices (rebuilds included): positions agree to
  // the accumulated rounding of 50 steps.
  auto cpu = load_snap_potential(kPotentials + "Ta06A.snap");
  auto gpu = load_snap_potential(kPotentials + "Ta06A.snap");
  Sys s = bcc(3, 3.316, 73);
  s.masses.assign(static_cast<std::size_t>(s.n()), 180.88);
  Batch bc = batch_of({s});
  dynamics::maxwell_boltzmann(bc, 600.0, 5);
  Batch bg = bc.to(kGpu);
  dynamics::DemoDynamics mc(cpu, 1.0), mg(gpu, 1.0);
  mc.run(bc, 50);
  mg.run(bg, 50);
  const auto xc = doubles(bc.get("positions")), xg = doubles(bg.get("positions"));
  for (std::size_t k = 0; k < xc.size(); ++k) EXPECT_NEAR(xg[k], xc[k], 1e-8) << k;
  EXPECT_NEAR(doubles(bg.get("energy"))[0], doubles(bc.get("energy"))[0],
              1e-8 * std::abs(doubles(bc.get("energy"))[0]));
}

TEST_F(SnapGpu, UncoveredElementIsAnErrorOnTheGpuToo) {
  auto m = load_snap_potential(kPotentials + "Ta06A.snap");
  Sys s = bcc(2, 3.316, 73);
  s.z[5] = 74;
  Batch b = batch_of({s}).to(kGpu);
  EXPECT_THROW(m->compute(b), InvalidArgument);
}

TEST_F(SnapGpu, NoDeviceAllocationOnceWarm) {
  auto m = load_snap_potential(kPotentials + "W_2940_2017_2.snap");
  Sys s = bcc(3, 3.1803, 74);
  s.masses.assign(static_cast<std::size_t>(s.n()), 183.84);
  Batch b = batch_of({s});
  dynamics::maxwell_boltzmann(b, 300.0, 6);
  Batch g = b.to(kGpu);
  dynamics::DemoDynamics md(m, 0.5);
  md.run(g, 5);
  const auto before = cuda::allocator_stats().cuda_mallocs;
  md.run(g, 20);
  EXPECT_EQ(cuda::allocator_stats().cuda_mallocs, before);
}

}  // namespace
}  // namespace batchmd::model
