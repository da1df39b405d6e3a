// SPDX-License-Identifier: Apache-2.0
// SNAP physics against independent references: forces and virials are the derivatives of the
// energy (central differences in positions and in strain), for single- and multi-element models,
// linear and quadratic, chemflag with and without bnorm/wselfall, inner switching, rmin0 > 0 —
// on periodic (small triclinic cells with self-images), slab and open systems; invariance under
// rotation, translation and permutation; results independent of the neighbor list's history;
// float32 against float64; NVE energy conservation. Batched against separate is in snap_cases.hpp
// (one body for every backend).
#include <gtest/gtest.h>

#include <cstdlib>
#include <numeric>
#include <random>

#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/model/snap.hpp"
#include "batchmd/model/snap_potential.hpp"
#include "snap_test_util.hpp"

namespace batchmd::model {
namespace {

using namespace testing;

// A synthetic SNAP model: every flag combination the kernels branch on, with random coefficients
// (decaying with the descriptor index so energies stay moderate).
SNAPConfig synthetic(int twojmax, bool chem, bool quadratic, bool bnorm, bool wselfall, bool inner, double rmin0,
                     std::uint64_t seed) {
  SNAPConfig c;
  auto& p = c.params;
  p.rcutfac = 1.0;
  p.twojmax = twojmax;
  p.rfac0 = 0.99363;
  p.rmin0 = rmin0;
  p.bzeroflag = true;
  p.quadraticflag = quadratic;
  p.chemflag = chem;
  p.bnormflag = bnorm;
  p.wselfallflag = wselfall;
  p.switchinnerflag = inner;
  p.elements = {{"W", 74, 2.3, 1.0, {}}, {"Be", 4, 2.0, 0.8, {}}};
  if (inner) {
    p.sinner = {2.4, 2.2};  // W-W switches on between 2.4 and 3.0 Å: the nearest neighbors are inside
    p.dinner = {0.6, 0.5};
  }
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  const int n = p.coefficients_per_element();
  for (auto& e : p.elements) {
    e.coefficients.resize(static_cast<std::size_t>(n));
    for (int k = 0; k < n; ++k) e.coefficients[k] = (k < 1 + p.descriptors() ? 0.05 : 1e-4) * u(rng);
  }
  return c;
}

void expect_derivatives(Model& m, const Sys& s, const std::string& where, bool virial = true) {
  const Result r = evaluate(m, s);
  const auto f = fd_forces(m, s, 1e-4);
  const double fs = max_abs(r.forces);
  ASSERT_GT(fs, 0) << where;
  for (std::size_t k = 0; k < f.size(); ++k)
    EXPECT_NEAR(r.forces[k], f[k], 2e-7 * fs + 1e-9) << where << " force " << k;
  if (!virial) return;
  const auto w = fd_virial(m, s, 1e-5);
  double ws = 0;
  for (double v : r.virial) ws = std::max(ws, std::abs(v));
  for (int k = 0; k < 9; ++k) EXPECT_NEAR(r.virial[k], w[k], 2e-7 * ws + 1e-9) << where << " virial " << k;
}

TEST(SnapPhysics, Ta06AForcesAndVirialAreDerivatives) {
  auto m = load_snap_potential(kPotentials + "Ta06A.snap");
  Sys s = bcc(2, 3.316, 73);
  jitter(s, 0.3, 1);
  expect_derivatives(*m, s, "Ta06A");
}

TEST(SnapPhysics, TungstenBerylliumForcesAndVirialAreDerivatives) {
  auto m = load_snap_potential(kPotentials + "WBe_Wood_PRB2019.snap");
  expect_derivatives(*m, wbe_triclinic(2), "W-Be triclinic");
}

TEST(SnapPhysics, ChemflagForcesAndVirialAreDerivatives) {
  auto m = load_snap_potential(kPotentials + "InP_JCPA2020.snap");
  Sys s = cubic(1, 1, 1, 5.83,
                {{0, 0, 0},
                 {0, .5, .5},
                 {.5, 0, .5},
                 {.5, .5, 0},
                 {.25, .25, .25},
                 {.25, .75, .75},
                 {.75, .25, .75},
                 {.75, .75, .25}},
                49);
  for (int i = 4; i < 8; ++i) s.z[static_cast<std::size_t>(i)] = 15;
  jitter(s, 0.2, 3);
  expect_derivatives(*m, s, "InP (chemflag, bnorm, wselfall)");
}

TEST(SnapPhysics, QuadraticForcesAndVirialAreDerivatives) {
  auto m = load_snap_potential(kPotentials + "Cu_Zuo_JPCA2020.quadratic.snap");
  Sys s = fcc(2, 3.62, 29);
  jitter(s, 0.2, 4);
  expect_derivatives(*m, s, "Cu quadratic");
}

TEST(SnapPhysics, EveryFlagCombinationHasConsistentDerivatives) {
  struct Case {
    bool chem, quad, bnorm, wselfall, inner;
    double rmin0;
  };
  const Case cases[] = {{false, false, false, false, false, 0.0}, {false, true, true, false, false, 0.0},
                        {true, false, false, false, false, 0.0},  {true, true, true, true, false, 0.0},
                        {true, false, true, false, true, 0.0},    {false, false, false, true, true, 0.5}};
  Sys s = wbe_triclinic(7);
  int k = 0;
  for (const Case& c : cases) {
    SNAP m(synthetic(4, c.chem, c.quad, c.bnorm, c.wselfall, c.inner, c.rmin0, 100 + k));
    expect_derivatives(m, s,
                       "case " + std::to_string(k) + " (chem " + std::to_string(c.chem) + ", quad " +
                           std::to_string(c.quad) + ", bnorm " + std::to_string(c.bnorm) + ", wselfall " +
                           std::to_string(c.wselfall) + ", inner " + std::to_string(c.inner) + ")");
    ++k;
  }
}

TEST(SnapPhysics, LammpsChemflagForcesDifferOnlyForAsymmetricCoefficients) {
  // LAMMPS's chemflag adjoint (SNAPConfig::lammps_chemflag_forces) is not the gradient for
  // coefficients that differ between element permutations of one bispectrum triple; without
  // chemflag it is the same computation.
  const Sys s = wbe_triclinic(8);
  SNAPConfig chem = synthetic(4, true, false, false, false, false, 0.0, 31);
  chem.lammps_chemflag_forces = true;
  SNAP lammps_like(chem);
  const Result r = evaluate(lammps_like, s);
  const auto f = fd_forces(lammps_like, s, 1e-4);
  double err = 0;
  for (std::size_t k = 0; k < f.size(); ++k) err = std::max(err, std::abs(r.forces[k] - f[k]));
  EXPECT_GT(err, 1e-3 * max_abs(r.forces));
  SNAPConfig plain = synthetic(4, false, true, false, false, false, 0.0, 32);
  SNAP exact(plain);
  plain.lammps_chemflag_forces = true;
  SNAP lammps_plain(plain);
  const Result a = evaluate(exact, s), b = evaluate(lammps_plain, s);
  for (std::size_t k = 0; k < a.forces.size(); ++k) EXPECT_EQ(a.forces[k], b.forces[k]);
}

TEST(SnapPhysics, OpenClusterAndSlab) {
  auto m = load_snap_potential(kPotentials + "W_2940_2017_2.snap");
  Sys cluster = bcc(2, 3.1803, 74);
  jitter(cluster, 0.2, 5);
  cluster.pbc = {false, false, false};
  cluster.cell.assign(9, 0.0);
  expect_derivatives(*m, cluster, "open W cluster");
  Sys slab = bcc(2, 3.1803, 74);
  jitter(slab, 0.2, 6);
  slab.pbc = {true, true, false};
  slab.cell[8] = 0;
  expect_derivatives(*m, slab, "W slab");
}

// Rotation R applied to every position (and cell row): energies equal, forces rotate.
TEST(SnapPhysics, InvariantUnderRotationTranslationAndPermutation) {
  auto m = load_snap_potential(kPotentials + "WBe_Wood_PRB2019.snap");
  const Sys s = wbe_triclinic(9);
  const Result r0 = evaluate(*m, s);
  const double fs = max_abs(r0.forces);

  const double a = 0.7, b = -1.1, c = 0.4;  // Euler angles
  const double R[9] = {std::cos(a) * std::cos(c) - std::sin(a) * std::cos(b) * std::sin(c),
                       -std::cos(a) * std::sin(c) - std::sin(a) * std::cos(b) * std::cos(c),
                       std::sin(a) * std::sin(b),
                       std::sin(a) * std::cos(c) + std::cos(a) * std::cos(b) * std::sin(c),
                       -std::sin(a) * std::sin(c) + std::cos(a) * std::cos(b) * std::cos(c),
                       -std::cos(a) * std::sin(b),
                       std::sin(b) * std::sin(c),
                       std::sin(b) * std::cos(c),
                       std::cos(b)};
  auto rot = [&](const double* v, double* out) {
    for (int i = 0; i < 3; ++i) out[i] = R[3 * i] * v[0] + R[3 * i + 1] * v[1] + R[3 * i + 2] * v[2];
  };
  Sys rs = s;
  for (std::int64_t i = 0; i < s.n(); ++i) rot(&s.x[3 * i], &rs.x[3 * i]);
  for (int r = 0; r < 3; ++r) rot(&s.cell[3 * r], &rs.cell[3 * r]);  // a general (not triangular) cell
  const Result r1 = evaluate(*m, rs);
  EXPECT_NEAR(r1.energy[0], r0.energy[0], 1e-10 * std::abs(r0.energy[0]));
  for (std::int64_t i = 0; i < s.n(); ++i) {
    double f[3];
    rot(&r0.forces[3 * i], f);
    for (int d = 0; d < 3; ++d) EXPECT_NEAR(r1.forces[3 * i + d], f[d], 1e-9 * fs) << "rotation, atom " << i;
  }

  Sys ts = s;  // translated, and every third atom moved by a lattice vector (a - c)
  for (std::int64_t i = 0; i < s.n(); ++i)
    for (int d = 0; d < 3; ++d) ts.x[3 * i + d] += 1.37 * (d + 1) - (i % 3 == 0 ? s.cell[d] - s.cell[6 + d] : 0.0);
  const Result r2 = evaluate(*m, ts);
  EXPECT_NEAR(r2.energy[0], r0.energy[0], 1e-10 * std::abs(r0.energy[0]));
  for (std::size_t k = 0; k < r0.forces.size(); ++k)
    EXPECT_NEAR(r2.forces[k], r0.forces[k], 1e-9 * fs) << "translation";

  std::vector<std::int64_t> perm(static_cast<std::size_t>(s.n()));
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), std::mt19937_64(3));
  Sys ps = s;
  for (std::int64_t i = 0; i < s.n(); ++i) {
    const auto j = perm[static_cast<std::size_t>(i)];
    ps.z[static_cast<std::size_t>(i)] = s.z[static_cast<std::size_t>(j)];
    for (int d = 0; d < 3; ++d) ps.x[3 * i + d] = s.x[3 * j + d];
  }
  const Result r3 = evaluate(*m, ps);
  EXPECT_NEAR(r3.energy[0], r0.energy[0], 1e-11 * std::abs(r0.energy[0]));
  for (std::int64_t i = 0; i < s.n(); ++i)
    for (int d = 0; d < 3; ++d)
      EXPECT_NEAR(r3.forces[3 * i + d], r0.forces[3 * perm[static_cast<std::size_t>(i)] + d], 1e-10 * fs)
          << "permutation";
}

TEST(SnapPhysics, ResultsDoNotDependOnTheNeighborListHistory) {
  // One model that has seen other positions (its Verlet list built elsewhere, within the skin)
  // gives bit-identical results to a fresh model: neighbors are summed in a canonical order.
  auto used = load_snap_potential(kPotentials + "Ta06A.snap", 1.0);
  Sys s = bcc(3, 3.316, 73);
  jitter(s, 0.05, 15);
  Sys before = s;
  jitter(before, 0.2, 16);
  evaluate(*used, before);
  const Result a = evaluate(*used, s);
  auto fresh = load_snap_potential(kPotentials + "Ta06A.snap", 1.0);
  const Result b = evaluate(*fresh, s);
  EXPECT_EQ(a.energy[0], b.energy[0]);
  for (std::size_t k = 0; k < a.forces.size(); ++k) EXPECT_EQ(a.forces[k], b.forces[k]);
  for (int k = 0; k < 9; ++k) EXPECT_EQ(a.virial[k], b.virial[k]);
}

TEST(SnapPhysics, Float32ErrorIsSmall) {
  // float32 computes everything in float; the error against float64 (measured here, recorded in
  // docs/snap.md) is a few 1e-7 of the energy and ~1e-5 of the force scale for W 2J=8.
  auto m64 = load_snap_potential(kPotentials + "W_2940_2017_2.snap");
  auto m32 = load_snap_potential(kPotentials + "W_2940_2017_2.snap");
  Sys s = bcc(3, 3.1803, 74);
  jitter(s, 0.1, 17);
  const Result a = evaluate(*m64, s), b = evaluate(*m32, s, DType::Float32);
  const double de = std::abs(b.energy[0] - a.energy[0]) / std::abs(a.energy[0]);
  double df = 0;
  for (std::size_t k = 0; k < a.forces.size(); ++k) df = std::max(df, std::abs(b.forces[k] - a.forces[k]));
  const double fs = max_abs(a.forces);
  std::printf("float32 vs float64 (W_2940, 54 atoms): energy %.2e relative, forces %.2e of max |F| = %.3f eV/A\n", de,
              df / fs, fs);
  EXPECT_LT(de, 2e-6);
  EXPECT_LT(df, 2e-4 * fs);
}

// Total-energy drift of an NVE run of Ta06A (128 atoms at 300 K, dt 0.5 fs).
double nve_drift(std::int64_t steps) {
  auto model = load_snap_potential(kPotentials + "Ta06A.snap");
  Sys s = bcc(4, 3.316, 73);
  s.masses.assign(static_cast<std::size_t>(s.n()), 180.88);
  Batch b = batch_of({s});
  dynamics::maxwell_boltzmann(b, 300.0, 4928459);
  dynamics::DemoDynamics md(model, 0.5);
  md.run(b, 0);
  const double e0 = dynamics::kinetic_energy(b)[0] + doubles(b.get("energy"))[0];
  double worst = 0;
  for (std::int64_t done = 0; done < steps; done += 100) {
    md.run(b, std::min<std::int64_t>(100, steps - done));
    const double e = dynamics::kinetic_energy(b)[0] + doubles(b.get("energy"))[0];
    worst = std::max(worst, std::abs(e - e0) / std::abs(e0));
  }
  return worst;
}

TEST(SnapPhysics, NveConservesEnergyShortRun) {
  const double drift = nve_drift(300);
  std::printf("Ta06A NVE, 300 steps of 0.5 fs: max relative total-energy drift %.2e\n", drift);
  EXPECT_LT(drift, 1e-6);
}

// The full 10,000-step run of the issue (about a minute and a half of one core): run by hand with
//   build/release/tests/model/test_snap --gtest_also_run_disabled_tests --gtest_filter='*NveConservesEnergyLongRun'
TEST(SnapPhysics, DISABLED_NveConservesEnergyLongRun) {
  const double drift = nve_drift(10000);
  std::printf("Ta06A NVE, 10000 steps of 0.5 fs: max relative total-energy drift %.2e\n", drift);
  EXPECT_LT(drift, 1e-6);
}

}  // namespace
}  // namespace batchmd::model
