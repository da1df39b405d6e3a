// SPDX-License-Identifier: Apache-2.0
// Stillinger–Weber against LAMMPS `pair_style sw` (Debian's lmp, run 0, as a real process):
// energy, every per-atom force and the six virial components to 1e-9 relative in float64, for
// three of the .sw files Debian ships (Si.sw; GaN.sw and CdTe.sw, two elements), each on a perfect
// crystal, a thermally displaced crystal, a vacancy, a slab open along z and a random alloy (or
// amorphous solid) in a triclinic cell; and the six-element CdTeZnSeHgS0.sw on random alloys, to
// the precision its own entries allow. Plus finite differences on a file whose entries
// are not symmetric (where LAMMPS's answer depends on its neighbor order), float32, NVE
// conservation, and bad files. Batched against separate and atoms wrapped between calls are in
// sw_cases.hpp (one body for every backend).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/model/stillinger_weber.hpp"
#include "lammps_compare.hpp"

namespace batchmd::model {
namespace {

using namespace testing;

StillingerWeber sw_model(const std::string& file, const std::vector<std::string>& elements = {}) {
  SWConfig c;
  c.params = read_sw_file(kPotentials + file, elements);
  return StillingerWeber(std::move(c));
}

std::string symbols(const std::vector<std::int64_t>& types) {
  std::string s;
  for (auto z : types) {
    s += ' ';
    s += element_symbol(z);
  }
  return s;
}

// LAMMPS with pair_style sw and the given file, types mapped to the elements `types`.
Lmp lammps_sw(const Sys& s, const std::string& file, const std::vector<std::int64_t>& types, const std::string& name) {
  return lammps_run0(s, types, "pair_style sw\npair_coeff * * " + kPotentials + file + symbols(types), name);
}

void check(const std::string& file, const Sys& s, const std::vector<std::int64_t>& types, const std::string& name) {
  StillingerWeber m = sw_model(file);
  expect_matches_lammps(evaluate(m, s), lammps_sw(s, file, types, name), file + " " + name);
}

constexpr std::int64_t Si = 14, Ga = 31, N = 7, Cd = 48, Te = 52, Zn = 30, Se = 34, Hg = 80, S = 16;

// ---- Si.sw

TEST(StillingerWeber, SiPerfectCrystalMatchesLammps) {
  check("Si.sw", zincblende(2, 2, 2, 5.40, Si, Si), {Si}, "si_perfect");
}
TEST(StillingerWeber, SiDisplacedCrystalMatchesLammps) {
  Sys s = zincblende(3, 3, 3, 5.431, Si, Si);
  jitter(s, 0.15, 1);
  check("Si.sw", s, {Si}, "si_hot");
}
TEST(StillingerWeber, SiVacancyMatchesLammps) {
  Sys s = zincblende(3, 3, 3, 5.431, Si, Si);
  remove_atom(s, 13);
  jitter(s, 0.05, 2);
  check("Si.sw", s, {Si}, "si_vacancy");
}
TEST(StillingerWeber, SiSlabOpenAlongZMatchesLammps) {
  Sys s = zincblende(3, 3, 2, 5.431, Si, Si);
  jitter(s, 0.1, 3);
  open_along(s, 2);
  check("Si.sw", s, {Si}, "si_slab");
}
TEST(StillingerWeber, SiTriclinicAmorphousMatchesLammps) {
  const Sys s = random_alloy({11.0, 0, 0, 2.3, 10.6, 0, -1.9, 1.4, 10.9}, {true, true, true}, 64, 2.1, {Si}, 4);
  check("Si.sw", s, {Si}, "si_triclinic");
}
TEST(StillingerWeber, SiDenseAmorphousMatchesLammps) {
  // About 50 neighbors inside the cutoff per atom: the kernel's path for more than it keeps locally.
  const Sys s = random_alloy({7.0, 0, 0, 0.8, 7.0, 0, -0.6, 0.5, 7.0}, {true, true, true}, 80, 1.1, {Si}, 18);
  check("Si.sw", s, {Si}, "si_dense");
}
TEST(StillingerWeber, SiOpenClusterMatchesLammps) {
  Sys s = zincblende(2, 2, 2, 5.431, Si, Si);
  jitter(s, 0.1, 5);
  for (int d = 0; d < 3; ++d) open_along(s, d);
  check("Si.sw", s, {Si}, "si_cluster");
}

// ---- GaN.sw (two elements; entries with sigma = 0 carry only three-body terms)

TEST(StillingerWeber, GaNPerfectZincblendeMatchesLammps) {
  check("GaN.sw", zincblende(2, 2, 2, 4.45, Ga, N), {Ga, N}, "gan_perfect");
}
TEST(StillingerWeber, GaNDisplacedCrystalMatchesLammps) {
  Sys s = zincblende(3, 3, 3, 4.50, Ga, N);
  jitter(s, 0.12, 6);
  check("GaN.sw", s, {Ga, N}, "gan_hot");
}
TEST(StillingerWeber, GaNVacancySlabMatchesLammps) {
  Sys s = zincblende(3, 3, 2, 4.50, Ga, N);
  remove_atom(s, 20);
  remove_atom(s, 7);
  jitter(s, 0.08, 7);
  open_along(s, 2);
  check("GaN.sw", s, {Ga, N}, "gan_slab");
}
TEST(StillingerWeber, GaNTriclinicRandomAlloyMatchesLammps) {
  const Sys s = random_alloy({9.5, 0, 0, 1.8, 9.2, 0, -1.1, 2.0, 9.8}, {true, true, true}, 70, 1.75, {Ga, N}, 8);
  check("GaN.sw", s, {Ga, N}, "gan_alloy");
}

// ---- CdTe.sw (two elements)

TEST(StillingerWeber, CdTePerfectCrystalMatchesLammps) {
  check("CdTe.sw", zincblende(2, 2, 2, 6.40, Cd, Te), {Cd, Te}, "cdte_perfect");
}
TEST(StillingerWeber, CdTeDisplacedVacancyMatchesLammps) {
  Sys s = zincblende(3, 3, 3, 6.48, Cd, Te);
  remove_atom(s, 40);
  jitter(s, 0.15, 9);
  check("CdTe.sw", s, {Cd, Te}, "cdte_vacancy");
}
TEST(StillingerWeber, CdTeSlabOpenAlongZMatchesLammps) {
  Sys s = zincblende(3, 3, 2, 6.48, Cd, Te);
  jitter(s, 0.1, 16);
  open_along(s, 2);
  check("CdTe.sw", s, {Cd, Te}, "cdte_slab");
}
TEST(StillingerWeber, CdTeTriclinicRandomAlloyMatchesLammps) {
  const Sys s = random_alloy({12.0, 0, 0, 2.5, 11.4, 0, 1.6, -2.2, 11.8}, {true, true, true}, 60, 2.3, {Cd, Te}, 17);
  check("CdTe.sw", s, {Cd, Te}, "cdte_triclinic");
}

// ---- CdTeZnSeHgS0.sw (six elements, 216 entries, every triplet its own parameters). Its
// entries (i j k) and (i k j) differ in lambda*epsilon by up to ~1e-7 relative (rounding in the
// file), so LAMMPS's three-body terms depend on its neighbor order there, and batchmd (which
// averages the two) can agree only to about that.

void check_six(const Sys& s, const std::vector<std::int64_t>& types, const std::string& name) {
  StillingerWeber m = sw_model("CdTeZnSeHgS0.sw");
  expect_matches_lammps(evaluate(m, s), lammps_sw(s, "CdTeZnSeHgS0.sw", types, name), name, 2e-7);
}
TEST(StillingerWeber, SixElementRandomAlloySlabMatchesLammps) {
  // A zincblende lattice with every site of a random element of the six, open along z.
  Sys s = zincblende(3, 3, 2, 6.2, Cd, Te);
  std::mt19937_64 rng(10);
  const std::int64_t zs[6] = {Cd, Te, Zn, Se, Hg, S};
  for (auto& z : s.z) z = zs[rng() % 6];
  jitter(s, 0.1, 10);
  open_along(s, 2);
  check_six(s, {Cd, Te, Zn, Se, Hg, S}, "six_slab");
}
TEST(StillingerWeber, SixElementTriclinicRandomAlloyMatchesLammps) {
  const Sys s = random_alloy({12.0, 0, 0, 2.5, 11.4, 0, 1.6, -2.2, 11.8}, {true, true, true}, 60, 2.3,
                             {Cd, Te, Zn, Se, Hg, S}, 11);
  check_six(s, {Cd, Te, Zn, Se, Hg, S}, "six_triclinic");
}

// ---- beyond LAMMPS

std::filesystem::path write_file(const std::string& name, const std::string& text) {
  const auto dir = scratch_dir("swfiles");
  const auto p = dir / name;
  std::ofstream(p) << text;
  return p;
}

TEST(StillingerWeber, AsymmetricEntriesGiveForcesAndVirialThatAreDerivatives) {
  // Si-Ge-like parameters where (i j j) != (j i i) and (i j k) != (i k j): both orders averaged.
  const std::string text =
      "Si Si Si 2.1683 2.0951 1.80 21.0 1.20 -0.3333 7.0496 0.6022 4.0 0.0 0.0\n"
      "Ge Ge Ge 1.93 2.181 1.80 31.0 1.20 -0.3333 7.0496 0.6022 4.0 0.0 0.0\n"
      "Si Ge Ge 2.05 2.14 1.80 26.0 1.20 -0.3333 7.0496 0.6022 4.0 0.0 0.0\n"
      "Ge Si Si 2.00 2.10 1.75 26.0 1.10 -0.3333 7.2 0.58 4.0 0.5 0.0\n"
      "Si Si Ge 2.05 2.14 1.80 24.0 1.20 -0.30 7.0496 0.6022 4.0 0.0 0.0\n"
      "Si Ge Si 2.15 2.14 1.80 22.0 1.20 -0.35 7.0496 0.6022 4.0 0.0 0.0\n"
      "Ge Si Ge 2.05 2.14 1.80 29.0 1.20 -0.3333 7.0496 0.6022 4.0 0.0 0.0\n"
      "Ge Ge Si 2.05 2.14 1.80 27.0 1.20 -0.3333 7.0496 0.6022 4.0 0.0 0.0\n";
  SWConfig c;
  c.params = read_sw_file(write_file("SiGe.sw", text).string());
  StillingerWeber m(std::move(c));
  const Sys s = random_alloy({8.5, 0, 0, 1.2, 8.8, 0, -0.7, 0.9, 9.1}, {true, true, true}, 30, 2.0, {14, 32}, 12);
  const Result r = evaluate(m, s);
  const auto f = fd_forces(m, s, 1e-5);
  const double fs = max_abs(r.forces);
  ASSERT_GT(fs, 0.1);
  for (std::size_t k = 0; k < f.size(); ++k) EXPECT_NEAR(r.forces[k], f[k], 1e-6 * fs) << k;
  const auto w = fd_virial(m, s, 1e-6);
  double ws = 0;
  for (double v : r.virial) ws = std::max(ws, std::abs(v));
  for (int k = 0; k < 9; ++k) EXPECT_NEAR(r.virial[k], w[k], 1e-6 * ws) << k;
}

TEST(StillingerWeber, AlternatingFloatTypesOnOneModel) {
  // One model, float64 and float32 batches in turn (each float type keeps its own view, the
  // neighbor list is shared), atoms drifting out of the cell without being wrapped: every call
  // equals a fresh model's.
  // (a = 5.5 Å: the cell is the same in float32 and float64, so switching types does not rebuild.)
  StillingerWeber m = sw_model("Si.sw");
  Sys s = zincblende(2, 2, 2, 5.5, Si, Si);
  jitter(s, 0.1, 21);
  for (int round = 0; round < 4; ++round) {
    for (std::size_t k = 0; k < s.x.size(); k += 3)
      s.x[k] += 0.6;  // out of the cell along x, more than skin/2: a rebuild
    for (DType dt : {DType::Float64, DType::Float32}) {
      StillingerWeber fresh = sw_model("Si.sw");
      const Result a = evaluate(m, s, dt), b = evaluate(fresh, s, dt);
      EXPECT_EQ(a.energy, b.energy) << round;
      EXPECT_EQ(a.forces, b.forces) << round;
    }
  }
}

TEST(StillingerWeber, EmptySystemsInABatch) {
  Sys empty;
  empty.cell = {10, 0, 0, 0, 10, 0, 0, 0, 10};
  Sys a = zincblende(2, 2, 2, 5.431, Si, Si);
  jitter(a, 0.1, 20);
  StillingerWeber m = sw_model("Si.sw"), one = sw_model("Si.sw");
  Batch b = batch_of({empty, a, empty});
  const Result all = evaluate(m, b), ref = evaluate(one, a);
  EXPECT_EQ(all.energy[0], 0.0);
  EXPECT_EQ(all.energy[1], ref.energy[0]);
  EXPECT_EQ(all.energy[2], 0.0);
  EXPECT_EQ(all.forces, ref.forces);
}

TEST(StillingerWeber, Float32AgreesWithFloat64) {
  Sys s = zincblende(3, 3, 3, 4.50, Ga, N);
  jitter(s, 0.1, 15);
  StillingerWeber m64 = sw_model("GaN.sw"), m32 = sw_model("GaN.sw");
  const Result a = evaluate(m64, s), b = evaluate(m32, s, DType::Float32);
  EXPECT_NEAR(b.energy[0], a.energy[0], 1e-5 * std::abs(a.energy[0]));
  const double fs = max_abs(a.forces);
  for (std::size_t k = 0; k < a.forces.size(); ++k) EXPECT_NEAR(b.forces[k], a.forces[k], 1e-4 * fs) << k;
}

TEST(StillingerWeber, PairsAtTheCutoffGiveFiniteForcesInBothPrecisions) {
  // Two and three Si atoms (an open cluster) with a pair at distances within a few units in the
  // last place of Si.sw's cutoff a sigma, in the batch's own precision: in float32 the rounded
  // squared cutoff once let r = a sigma through (1 / (r - a sigma) = inf: NaN forces, seen in a
  // float32 relaxation of examples/si_sw.toml). Energy and forces are finite; the energy at the
  // cutoff is zero to rounding (the SW terms vanish there with every derivative).
  const double cut = 2.0951 * 1.80;
  for (DType dt : {DType::Float32, DType::Float64}) {
    for (int k = -4; k <= 4; ++k) {
      double d = dt == DType::Float32 ? static_cast<double>(static_cast<float>(cut)) : cut;
      for (int q = 0; q < std::abs(k); ++q)
        d = dt == DType::Float32 ? static_cast<double>(std::nextafter(static_cast<float>(d), k < 0 ? 0.f : 10.f))
                                 : std::nextafter(d, k < 0 ? 0.0 : 10.0);
      for (int atoms : {2, 3}) {
        Sys s;
        s.pbc = {false, false, false};
        s.cell.assign(9, 0.0);
        s.x = {0, 0, 0, d, 0, 0};
        s.z = {Si, Si};
        if (atoms == 3) {  // a third atom 2.35 Å from the first: a triplet with the edge pair
          s.x.insert(s.x.end(), {0, 2.35, 0});
          s.z.push_back(Si);
        }
        StillingerWeber m = sw_model("Si.sw");
        const Result r = evaluate(m, s, dt);
        const std::string what = std::string(dt == DType::Float32 ? "float32" : "float64") + ", " +
                                 std::to_string(atoms) + " atoms, " + std::to_string(k) + " ulp from a sigma";
        ASSERT_TRUE(std::isfinite(r.energy[0])) << what;
        for (double f : r.forces) {
          ASSERT_TRUE(std::isfinite(f)) << what;
        }
        if (atoms == 2) {
          EXPECT_NEAR(r.energy[0], 0.0, 1e-30) << what;
        }
      }
    }
  }
}

// Total-energy drift of an NVE run of Si.sw (216 atoms from 600 K, dt 0.5 fs).
double nve_drift(std::int64_t steps) {
  SWConfig c;
  c.params = read_sw_file(kPotentials + "Si.sw");
  auto model = std::make_shared<StillingerWeber>(std::move(c));
  Sys s = zincblende(3, 3, 3, 5.431, Si, Si);
  s.masses.assign(static_cast<std::size_t>(s.n()), 28.0855);
  Batch b = batch_of({s});
  dynamics::maxwell_boltzmann(b, 600.0, 77);
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

TEST(StillingerWeber, NveConservesEnergyShortRun) {
  const double drift = nve_drift(1000);
  std::printf("Si.sw NVE, 1000 steps of 0.5 fs: max relative total-energy drift %.2e\n", drift);
  EXPECT_LT(drift, 1e-5);
}

// The 10,000-step run of the issue: run by hand with
//   build/release/tests/model/test_sw --gtest_also_run_disabled_tests --gtest_filter='*NveConservesEnergyLongRun'
TEST(StillingerWeber, DISABLED_NveConservesEnergyLongRun) {
  const double drift = nve_drift(10000);
  std::printf("Si.sw NVE, 10000 steps of 0.5 fs: max relative total-energy drift %.2e\n", drift);
  EXPECT_LT(drift, 1e-5);
}

// ---- bad input

std::string error_of(const std::string& text, const std::vector<std::string>& elements = {}) {
  const auto p = write_file("bad.sw", text);
  try {
    read_sw_file(p.string(), elements);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

const std::string kSi = "# comment\nSi Si Si 2.1683 2.0951 1.80 21.0 1.20 -0.333333333333\n";

TEST(StillingerWeber, BadFilesNameFileAndLine) {
  // Too many words on the line that completes an entry.
  auto e = error_of(kSi + "  7.049556277 0.6022245584 4.0 0.0 0.0 1.0\n");
  EXPECT_NE(e.find("bad.sw:3:"), std::string::npos) << e;
  EXPECT_NE(e.find("15 words"), std::string::npos) << e;
  // Truncated: the file ends inside an entry.
  e = error_of(kSi + "  7.049556277 0.6022245584 4.0\n");
  EXPECT_NE(e.find("bad.sw:3:"), std::string::npos) << e;
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  // NaN and other non-numbers.
  e = error_of(kSi + "  7.049556277 nan 4.0 0.0 0.0\n");
  EXPECT_NE(e.find("bad.sw:3:"), std::string::npos) << e;
  EXPECT_NE(e.find("B must be a finite number"), std::string::npos) << e;
  e = error_of("Si Si Si 2.1683 2.0951 x 21.0 1.20 -0.33 7.05 0.60 4.0 0.0 0.0\n");
  EXPECT_NE(e.find("bad.sw:1: a must be a finite number, got 'x'"), std::string::npos) << e;
  // Unknown element symbols.
  e = error_of(kSi + "  7.049556277 0.6022245584 4.0 0.0 0.0\nSi Xx Si 1 1 1 1 1 0 1 1 4 0 0\n");
  EXPECT_NE(e.find("bad.sw:4: 'Xx' is not a chemical element symbol"), std::string::npos) << e;
  // A negative parameter (LAMMPS: "Illegal Stillinger-Weber parameter").
  e = error_of("Si Si Si 2.1683 -2.0951 1.8 21.0 1.20 -0.33 7.05 0.60 4.0 0.0 0.0\n");
  EXPECT_NE(e.find("bad.sw:1: sigma must be >= 0"), std::string::npos) << e;
  // Duplicate and missing entries.
  e = error_of("Si Si Si 2 2 1.8 21 1.2 -0.33 7 0.6 4 0 0\n\nSi Si Si 2 2 1.8 21 1.2 -0.33 7 0.6 4 0 0\n");
  EXPECT_NE(e.find("bad.sw:3: duplicate entry Si Si Si (first on line 1)"), std::string::npos) << e;
  e = error_of("Si Si Si 2 2 1.8 21 1.2 -0.33 7 0.6 4 0 0\nGe Ge Ge 2 2 1.8 21 1.2 -0.33 7 0.6 4 0 0\n");
  EXPECT_NE(e.find("missing the entry Si Si Ge"), std::string::npos) << e;
  // A requested element the file does not have, and an unreadable file.
  EXPECT_THROW(read_sw_file(kPotentials + "Si.sw", {"Ge"}), InvalidArgument);
  EXPECT_THROW(read_sw_file("/nonexistent/x.sw"), IOError);
  // An empty file.
  e = error_of("# nothing\n");
  EXPECT_NE(e.find("no entries"), std::string::npos) << e;
}

TEST(StillingerWeber, ElementsPickAndOrderTheFilesElements) {
  const SWParams all = read_sw_file(kPotentials + "CdTeZnSeHgS0.sw");
  EXPECT_EQ(all.elements, (std::vector<std::int64_t>{Cd, Te, Zn, Se, Hg, S}));
  const SWParams two = read_sw_file(kPotentials + "CdTeZnSeHgS0.sw", {"Te", "Cd"});
  ASSERT_EQ(two.elements, (std::vector<std::int64_t>{Te, Cd}));
  EXPECT_EQ(two.entry(1, 0, 0).epsilon, all.entry(0, 1, 1).epsilon);  // Cd Te Te
  EXPECT_EQ(two.entry(1, 0, 0).sigma, all.entry(0, 1, 1).sigma);
}

TEST(StillingerWeber, AnElementTheModelDoesNotCoverIsAnError) {
  StillingerWeber m = sw_model("GaN.sw");
  Sys s = zincblende(2, 2, 2, 4.5, Ga, N);
  s.z[5] = Si;
  try {
    evaluate(m, s);
    ADD_FAILURE() << "no error for Si in a GaN model";
  } catch (const InvalidArgument& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("element Si"), std::string::npos) << w;
    EXPECT_NE(w.find("atom 5 in system 0"), std::string::npos) << w;
    EXPECT_NE(w.find("not covered"), std::string::npos) << w;
  }
  SWConfig bad;
  bad.params = read_sw_file(kPotentials + "Si.sw");
  bad.skin = -1;
  EXPECT_THROW(StillingerWeber{bad}, InvalidArgument);
  EXPECT_THROW(StillingerWeber{SWConfig{}}, InvalidArgument);
}

}  // namespace
}  // namespace batchmd::model
