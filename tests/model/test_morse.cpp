// SPDX-License-Identifier: Apache-2.0
// Morse against LAMMPS `pair_style morse` (Debian's lmp, run 0, as a real process): energy,
// every per-atom force and the six virial components to 1e-9 relative in float64, for two
// parameter sets (Cu after Girifalco and Weizer, unshifted; a three-element set with
// `pair_modify shift yes`), each on a perfect crystal, a displaced crystal, a vacancy, a slab open
// along z and a random alloy in a triclinic cell. Plus the shift itself, float32, batched against
// separate, NVE conservation and bad parameters.
#include <gtest/gtest.h>

#include <cstdio>

#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/model/morse.hpp"
#include "lammps_compare.hpp"

namespace batchmd::model {
namespace {

using namespace testing;

constexpr std::int64_t Cu = 29, Ag = 47, Ni = 28;

// Cu (Girifalco and Weizer, Phys. Rev. 114, 687 (1959)), cutoff 6 Å, no shift.
MorseConfig copper() {
  MorseConfig c;
  c.pairs = {{Cu, Cu, 0.3429, 1.3588, 2.866, 6.0}};
  return c;
}
// Three elements, every pair its own parameters and cutoff, energies shifted.
MorseConfig alloy() {
  MorseConfig c;
  c.pairs = {{Cu, Cu, 0.3429, 1.3588, 2.866, 5.5}, {Ag, Ag, 0.3323, 1.369, 3.115, 6.0},
             {Ni, Ni, 0.4205, 1.4199, 2.780, 5.2}, {Cu, Ag, 0.33, 1.36, 2.99, 5.8},
             {Ni, Cu, 0.38, 1.39, 2.82, 5.4},      {Ag, Ni, 0.36, 1.38, 2.95, 5.6}};
  c.shift_energy = true;
  return c;
}

// The LAMMPS pair commands of a config (types in the order of `types`).
std::string lammps_morse(const MorseConfig& c, const std::vector<std::int64_t>& types) {
  double maxc = 0;
  for (const auto& p : c.pairs) maxc = std::max(maxc, p.cutoff);
  std::ostringstream o;
  o.precision(17);
  o << "pair_style morse " << maxc << "\n";
  auto type_of = [&](std::int64_t z) {
    return static_cast<int>(std::find(types.begin(), types.end(), z) - types.begin()) + 1;
  };
  for (const auto& p : c.pairs) {
    int a = type_of(p.z_a), b = type_of(p.z_b);
    if (a > static_cast<int>(types.size()) || b > static_cast<int>(types.size())) continue;
    if (a > b) std::swap(a, b);
    o << "pair_coeff " << a << " " << b << " " << p.d0 << " " << p.alpha << " " << p.r0 << " " << p.cutoff << "\n";
  }
  if (c.shift_energy) o << "pair_modify shift yes\n";
  return o.str();
}

void check(const MorseConfig& c, const Sys& s, const std::vector<std::int64_t>& types, const std::string& name) {
  Morse m(c);
  expect_matches_lammps(evaluate(m, s), lammps_run0(s, types, lammps_morse(c, types), name), name);
}

TEST(Morse, CuPerfectCrystalMatchesLammps) { check(copper(), fcc(3, 3.60, Cu), {Cu}, "cu_perfect"); }
TEST(Morse, CuDisplacedCrystalMatchesLammps) {
  Sys s = fcc(3, 3.615, Cu);
  jitter(s, 0.15, 1);
  check(copper(), s, {Cu}, "cu_hot");
}
TEST(Morse, CuVacancySlabMatchesLammps) {
  Sys s = fcc(3, 3.615, Cu);
  remove_atom(s, 17);
  jitter(s, 0.05, 2);
  open_along(s, 2);
  check(copper(), s, {Cu}, "cu_slab");
}
TEST(Morse, CuTriclinicMatchesLammps) {
  const Sys s = random_alloy({12.5, 0, 0, 3.1, 12.0, 0, -2.4, 1.7, 12.2}, {true, true, true}, 90, 2.2, {Cu}, 3);
  check(copper(), s, {Cu}, "cu_triclinic");
}
TEST(Morse, ShiftedAlloyPerfectCrystalMatchesLammps) {
  Sys s = fcc(3, 3.70, Cu);
  for (std::size_t i = 0; i < s.z.size(); i += 3) s.z[i] = Ag;
  for (std::size_t i = 1; i < s.z.size(); i += 5) s.z[i] = Ni;
  check(alloy(), s, {Cu, Ag, Ni}, "alloy_perfect");
}
TEST(Morse, ShiftedAlloyDisplacedVacancyMatchesLammps) {
  Sys s = fcc(3, 3.70, Cu);
  std::mt19937_64 rng(4);
  for (auto& z : s.z) z = std::array<std::int64_t, 3>{Cu, Ag, Ni}[rng() % 3];
  remove_atom(s, 50);
  jitter(s, 0.12, 4);
  check(alloy(), s, {Cu, Ag, Ni}, "alloy_vacancy");
}
TEST(Morse, ShiftedAlloySlabMatchesLammps) {
  Sys s = fcc(3, 3.70, Cu);
  for (std::size_t i = 0; i < s.z.size(); i += 2) s.z[i] = Ag;
  jitter(s, 0.1, 5);
  open_along(s, 2);
  check(alloy(), s, {Cu, Ag}, "alloy_slab");
}
TEST(Morse, ShiftedTriclinicRandomAlloyMatchesLammps) {
  const Sys s = random_alloy({11.8, 0, 0, -2.6, 12.4, 0, 1.9, 2.9, 11.6}, {true, true, true}, 80, 2.2, {Cu, Ag, Ni}, 6);
  check(alloy(), s, {Cu, Ag, Ni}, "alloy_triclinic");
}
TEST(Morse, OpenClusterMatchesLammps) {
  Sys s = fcc(2, 3.615, Cu);
  jitter(s, 0.1, 7);
  for (int d = 0; d < 3; ++d) open_along(s, d);
  check(copper(), s, {Cu}, "cu_cluster");
}

TEST(Morse, ShiftMovesEachPairByItsCutoffEnergy) {
  // Two atoms: shifted and unshifted differ by exactly E(r_c) of the pair.
  Sys s;
  s.x = {0, 0, 0, 2.7, 0.3, 0.1};
  s.z = {Cu, Cu};
  s.cell.assign(9, 0.0);
  s.pbc = {false, false, false};
  MorseConfig a = copper(), b = copper();
  b.shift_energy = true;
  Morse ma(a), mb(b);
  const double ea = evaluate(ma, s).energy[0], eb = evaluate(mb, s).energy[0];
  const double x = std::exp(-1.3588 * (6.0 - 2.866));
  EXPECT_NEAR(ea - eb, 0.3429 * (x * x - 2 * x), 1e-15);
  const double r = std::sqrt(2.7 * 2.7 + 0.3 * 0.3 + 0.1 * 0.1), y = std::exp(-1.3588 * (r - 2.866));
  EXPECT_NEAR(ea, 0.3429 * (y * y - 2 * y), 1e-14);
}

TEST(Morse, BatchedEqualsSeparate) {
  Sys a = fcc(2, 3.615, Cu);
  jitter(a, 0.1, 8);
  Sys b = fcc(3, 3.70, Cu);
  for (std::size_t i = 0; i < b.z.size(); i += 2) b.z[i] = Ag;
  jitter(b, 0.1, 9);
  open_along(b, 0);
  Sys c = fcc(2, 3.615, Ni);
  for (int d = 0; d < 3; ++d) open_along(c, d);
  Morse m(alloy());
  Batch batch = batch_of({a, b, c});
  const Result all = evaluate(m, batch);
  std::size_t atom = 0;
  int sys = 0;
  for (const Sys* s : {&a, &b, &c}) {
    Morse one(alloy());
    const Result r = evaluate(one, *s);
    EXPECT_EQ(all.energy[static_cast<std::size_t>(sys)], r.energy[0]) << sys;
    for (std::size_t k = 0; k < r.forces.size(); ++k) EXPECT_EQ(all.forces[3 * atom + k], r.forces[k]) << sys;
    for (int k = 0; k < 9; ++k) EXPECT_EQ(all.virial[static_cast<std::size_t>(9 * sys + k)], r.virial[k]) << sys;
    atom += static_cast<std::size_t>(s->n());
    ++sys;
  }
}

TEST(Morse, Float32AgreesWithFloat64) {
  Sys s = fcc(3, 3.615, Cu);
  jitter(s, 0.1, 10);
  Morse m64(copper()), m32(copper());
  const Result a = evaluate(m64, s), b = evaluate(m32, s, DType::Float32);
  EXPECT_NEAR(b.energy[0], a.energy[0], 1e-5 * std::abs(a.energy[0]));
  const double fs = max_abs(a.forces);
  for (std::size_t k = 0; k < a.forces.size(); ++k) EXPECT_NEAR(b.forces[k], a.forces[k], 1e-4 * fs) << k;
}

// Total-energy drift of an NVE run of Morse Cu (108 atoms from 300 K, dt 1 fs, shifted so that
// the energy is continuous at the cutoff).
double nve_drift(std::int64_t steps) {
  MorseConfig c = copper();
  c.shift_energy = true;
  auto model = std::make_shared<Morse>(c);
  Sys s = fcc(3, 3.615, Cu);
  s.masses.assign(static_cast<std::size_t>(s.n()), 63.546);
  Batch b = batch_of({s});
  dynamics::maxwell_boltzmann(b, 300.0, 78);
  dynamics::DemoDynamics md(model, 1.0);
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

TEST(Morse, NveConservesEnergyShortRun) {
  const double drift = nve_drift(1000);
  std::printf("Morse Cu NVE, 1000 steps of 1 fs: max relative total-energy drift %.2e\n", drift);
  EXPECT_LT(drift, 1e-5);
}

// The 10,000-step run: by hand with
//   build/release/tests/model/test_sw --gtest_also_run_disabled_tests --gtest_filter='Morse.*LongRun'
TEST(Morse, DISABLED_NveConservesEnergyLongRun) {
  const double drift = nve_drift(10000);
  std::printf("Morse Cu NVE, 10000 steps of 1 fs: max relative total-energy drift %.2e\n", drift);
  EXPECT_LT(drift, 1e-5);
}

TEST(Morse, RejectsBadParametersAndMissingPairs) {
  auto bad = [](auto edit) {
    MorseConfig c = copper();
    edit(c);
    EXPECT_THROW(Morse{c}, InvalidArgument);
  };
  bad([](MorseConfig& c) { c.pairs.clear(); });
  bad([](MorseConfig& c) { c.pairs[0].d0 = NAN; });
  bad([](MorseConfig& c) { c.pairs[0].d0 = -1; });
  bad([](MorseConfig& c) { c.pairs[0].alpha = 0; });
  bad([](MorseConfig& c) { c.pairs[0].r0 = -2; });
  bad([](MorseConfig& c) { c.pairs[0].cutoff = 0; });
  bad([](MorseConfig& c) { c.pairs[0].z_a = 0; });
  bad([](MorseConfig& c) { c.pairs.push_back(c.pairs[0]); });
  bad([](MorseConfig& c) { c.skin = -1; });
  // Cu-Cu only, but the batch also has Ag: no Cu-Ag or Ag-Ag parameters.
  Morse m(copper());
  Sys s = fcc(2, 3.615, Cu);
  s.z[3] = Ag;
  try {
    evaluate(m, s);
    ADD_FAILURE() << "no error for a missing pair";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("Cu-Ag"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace batchmd::model
