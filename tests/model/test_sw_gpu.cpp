// SPDX-License-Identifier: Apache-2.0
// GPU tests of Stillinger–Weber and Morse (src/model/sw_gpu.cu, morse_gpu.cu on full_list_gpu):
// compute() on a batch on cuda:0 against the CPU models on the same batch — Si.sw, GaN.sw, the
// six-element CdTeZnSeHgS0.sw and Morse with and without shift; periodic, triclinic, slab, open,
// dense (more neighbors than the kernel keeps locally) and empty systems in one batch; float64
// and float32; batched equal to separate (bit for bit: no atomics); atoms wrapped back into the
// cell between calls; an MD run on the GPU against the CPU; the uncovered-element error; no
// cudaMalloc once warm.
//
// Tolerances, GPU against CPU (the same pairs in the same order and the same arithmetic; CUDA's
// exp and FMA contraction differ from the host's in the last bits): float64 1e-10 relative to the
// force scale and to |E| + n; float32 2e-4 of the force scale, 2e-5 of |E| + n.
#include <gtest/gtest.h>

#include "batchmd/core/cuda.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/model/morse.hpp"
#include "batchmd/model/stillinger_weber.hpp"
#include "lammps_compare.hpp"

namespace batchmd::model {
namespace {

using namespace testing;

const Device kGpu{Device::Kind::CUDA, 0};

class SwGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda::device_count() == 0) GTEST_SKIP() << "no GPU: " << cuda::unavailable_reason();
  }
};

std::shared_ptr<Model> sw(const std::string& file) {
  SWConfig c;
  c.params = read_sw_file(kPotentials + file);
  return std::make_shared<StillingerWeber>(std::move(c));
}
std::shared_ptr<Model> morse(bool shift) {
  MorseConfig c;
  c.pairs = {
      {29, 29, 0.3429, 1.3588, 2.866, 5.5}, {47, 47, 0.3323, 1.369, 3.115, 6.0}, {29, 47, 0.33, 1.36, 2.99, 5.8}};
  c.shift_energy = shift;
  return std::make_shared<Morse>(c);
}

// A mixed batch on a zincblende lattice of constant a: a displaced crystal, a triclinic random
// alloy, a slab, an empty system, an open cluster and a dense amorphous cell; elements from zs.
std::vector<Sys> mixed(double a, const std::vector<std::int64_t>& zs, double dmin, std::uint64_t seed) {
  Sys crystal = zincblende(2, 2, 2, a, zs[0], zs[zs.size() - 1]);
  jitter(crystal, 0.12, seed);
  const Sys tri = random_alloy({2 * a, 0, 0, 0.3 * a, 2 * a, 0, -0.2 * a, 0.25 * a, 2 * a}, {true, true, true}, 50,
                               dmin, zs, seed + 1);
  Sys slab = zincblende(2, 2, 1, a, zs[0], zs[zs.size() - 1]);
  jitter(slab, 0.1, seed + 2);
  open_along(slab, 2);
  Sys cluster = zincblende(1, 1, 1, a, zs[0], zs[zs.size() - 1]);
  jitter(cluster, 0.1, seed + 3);
  for (int d = 0; d < 3; ++d) open_along(cluster, d);
  const Sys dense = random_alloy({7.0, 0, 0, 0.8, 7.0, 0, -0.6, 0.5, 7.0}, {true, true, true}, 80, 1.1, zs, seed + 4);
  Sys empty;
  empty.cell = {10, 0, 0, 0, 10, 0, 0, 0, 10};
  return {crystal, tri, slab, empty, cluster, dense};
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
  const auto* ptr = b.atoms_ptr_data();
  for (std::size_t s = 0; s < c.energy.size(); ++s) {
    const double n = static_cast<double>(ptr[s + 1] - ptr[s]);
    double fs = 1.0;
    for (auto k = 3 * ptr[s]; k < 3 * ptr[s + 1]; ++k) fs = std::max(fs, std::abs(c.forces[k]));
    for (auto k = 3 * ptr[s]; k < 3 * ptr[s + 1]; ++k)
      EXPECT_NEAR(g.forces[k], c.forces[k], tf * fs) << where << " system " << s << " force " << k;
    EXPECT_NEAR(g.energy[s], c.energy[s], te * (std::abs(c.energy[s]) + n)) << where << " energy " << s;
    double ws = n;
    for (int k = 0; k < 9; ++k) ws = std::max(ws, std::abs(c.virial[9 * s + k]));
    for (int k = 0; k < 9; ++k) {
      EXPECT_NEAR(g.virial[9 * s + k], c.virial[9 * s + k], te * ws) << where << " virial " << s;
      EXPECT_NEAR(g.stress[9 * s + k], c.stress[9 * s + k], te * ws) << where << " stress " << s;
    }
  }
}

void agree(const std::function<std::shared_ptr<Model>()>& make, const std::vector<Sys>& systems, DType dt,
           const std::string& where) {
  auto cpu = make(), gpu = make();
  Batch b = batch_of(systems, dt);
  const Out c = run(*cpu, b.clone());
  const Out g = run(*gpu, b.to(kGpu));
  expect_agree(c, g, b, dt == DType::Float32, where);
}

TEST_F(SwGpu, StillingerWeberAgreesWithTheCpu) {
  for (DType dt : {DType::Float64, DType::Float32}) {
    const std::string t = dt == DType::Float32 ? " float32" : " float64";
    agree([] { return sw("Si.sw"); }, mixed(5.431, {14}, 2.1, 1), dt, "Si.sw" + t);
    agree([] { return sw("GaN.sw"); }, mixed(4.5, {31, 7}, 1.75, 2), dt, "GaN.sw" + t);
    agree([] { return sw("CdTeZnSeHgS0.sw"); }, mixed(6.4, {48, 52, 30, 34, 80, 16}, 2.3, 3), dt, "six" + t);
  }
}

TEST_F(SwGpu, MorseAgreesWithTheCpu) {
  for (DType dt : {DType::Float64, DType::Float32})
    for (bool shift : {false, true})
      agree([shift] { return morse(shift); }, mixed(3.7, {29, 47}, 1.6, 4), dt,
            std::string(shift ? "shifted" : "unshifted") + (dt == DType::Float32 ? " float32" : " float64"));
}

TEST_F(SwGpu, BatchedEqualsSeparateBitForBit) {
  const auto systems = mixed(4.5, {31, 7}, 1.75, 5);
  auto m = sw("GaN.sw");
  const Out all = run(*m, batch_of(systems).to(kGpu));
  std::size_t atom = 0;
  for (std::size_t s = 0; s < systems.size(); ++s) {
    auto one_model = sw("GaN.sw");
    const Out one = run(*one_model, batch_of({systems[s]}).to(kGpu));
    EXPECT_EQ(all.energy[s], one.energy[0]) << s;
    for (std::size_t k = 0; k < one.forces.size(); ++k) EXPECT_EQ(all.forces[3 * atom + k], one.forces[k]) << s;
    for (int k = 0; k < 9; ++k) EXPECT_EQ(all.virial[9 * s + k], one.virial[k]) << s;
    atom += static_cast<std::size_t>(systems[s].n());
  }
}

TEST_F(SwGpu, AtomsWrappedBetweenCallsKeepTheirNeighbors) {
  auto m = sw("Si.sw");
  Sys s = zincblende(3, 3, 3, 5.431, 14, 14);
  jitter(s, 0.1, 6);
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

TEST_F(SwGpu, MolecularDynamicsFollowsTheCpu) {
  // 50 NVE steps of Si.sw from 1000 K on both devices (rebuilds included).
  auto cpu = sw("Si.sw"), gpu = sw("Si.sw");
  Sys s = zincblende(3, 3, 3, 5.431, 14, 14);
  s.masses.assign(static_cast<std::size_t>(s.n()), 28.0855);
  Batch bc = batch_of({s});
  dynamics::maxwell_boltzmann(bc, 1000.0, 7);
  Batch bg = bc.to(kGpu);
  dynamics::DemoDynamics mc(cpu, 1.0), mg(gpu, 1.0);
  mc.run(bc, 50);
  mg.run(bg, 50);
  const auto xc = doubles(bc.get("positions")), xg = doubles(bg.get("positions"));
  for (std::size_t k = 0; k < xc.size(); ++k) EXPECT_NEAR(xg[k], xc[k], 1e-8) << k;
  EXPECT_NEAR(doubles(bg.get("energy"))[0], doubles(bc.get("energy"))[0],
              1e-8 * std::abs(doubles(bc.get("energy"))[0]));
}

TEST_F(SwGpu, UncoveredElementIsAnErrorOnTheGpuToo) {
  auto m = sw("GaN.sw");
  Sys s = zincblende(2, 2, 2, 4.5, 31, 7);
  s.z[5] = 14;
  Batch b = batch_of({s}).to(kGpu);
  EXPECT_THROW(m->compute(b), InvalidArgument);
  auto mo = morse(false);
  Sys c = fcc(2, 3.615, 29);
  c.z[3] = 28;  // no Cu-Ni entry
  Batch bc = batch_of({c}).to(kGpu);
  EXPECT_THROW(mo->compute(bc), InvalidArgument);
}

TEST_F(SwGpu, NoDeviceAllocationOnceWarm) {
  for (auto m : {sw("Si.sw"), morse(true)}) {
    Sys s = m->name() == "sw" ? zincblende(3, 3, 3, 5.431, 14, 14) : fcc(3, 3.615, 29);
    s.masses.assign(static_cast<std::size_t>(s.n()), 28.0);
    Batch b = batch_of({s});
    dynamics::maxwell_boltzmann(b, 300.0, 8);
    Batch g = b.to(kGpu);
    dynamics::DemoDynamics md(m, 1.0);
    md.run(g, 5);
    const auto before = cuda::allocator_stats().cuda_mallocs;
    md.run(g, 20);
    EXPECT_EQ(cuda::allocator_stats().cuda_mallocs, before) << m->name();
  }
}

}  // namespace
}  // namespace batchmd::model
