// SPDX-License-Identifier: Apache-2.0
// ZBL against LAMMPS `pair_style zbl` (Debian's lmp, run 0, as a real process): energy, every
// per-atom force and the six virial components to 1e-9 relative in float64, for a thermally
// displaced bcc crystal, a triclinic multi-element random alloy, a slab open along z, an open
// cluster with a vacancy-like hole, and element-pair restrictions (LAMMPS hybrid/overlay).
// Plus finite differences, float32 against float64, and bad configurations.
#include <gtest/gtest.h>

#include <random>

#include "batchmd/core/error.hpp"
#include "batchmd/model/zbl.hpp"
#include "lammps_compare.hpp"

namespace batchmd::model {
namespace {

using namespace testing;

ZBLConfig zcfg(double inner, double outer, ElementPairs pairs = {}) {
  ZBLConfig c;
  c.inner = inner;
  c.outer = outer;
  c.pairs = std::move(pairs);
  return c;
}

std::string zbl_pairs_all(const std::vector<std::int64_t>& types, double inner, double outer) {
  std::string s = "pair_style zbl " + std::to_string(inner) + " " + std::to_string(outer) + "\n";
  for (std::size_t i = 0; i < types.size(); ++i)
    for (std::size_t j = i; j < types.size(); ++j)
      s += "pair_coeff " + std::to_string(i + 1) + " " + std::to_string(j + 1) + " " + std::to_string(types[i]) + " " +
           std::to_string(types[j]) + "\n";
  return s;
}

TEST(ZBL, MatchesLammpsOnADisplacedBccCrystal) {
  Sys s = bcc(3, 3.1803, 74);
  jitter(s, 0.35, 11);
  ZBL zbl(zcfg(4.0, 4.8));
  expect_matches_lammps(evaluate(zbl, s), lammps_run0(s, {74}, zbl_pairs_all({74}, 4.0, 4.8), "bcc"), "bcc W");
}

TEST(ZBL, MatchesLammpsOnATriclinicRandomAlloy) {
  const std::vector<std::int64_t> types = {74, 4, 73};
  const Sys s = random_alloy({11.5, 0, 0, 2.1, 10.8, 0, -1.7, 1.3, 11.2}, {true, true, true}, 60, 1.6, types, 5);
  ZBL zbl(zcfg(2.5, 4.2));
  expect_matches_lammps(evaluate(zbl, s), lammps_run0(s, types, zbl_pairs_all(types, 2.5, 4.2), "alloy"),
                        "triclinic W-Be-Ta");
}

TEST(ZBL, MatchesLammpsOnASlabOpenAlongZ) {
  Sys s = bcc(3, 3.316, 73);
  jitter(s, 0.3, 3);
  s.pbc = {true, true, false};
  s.cell[8] = 0;  // open along z
  ZBL zbl(zcfg(3.0, 4.5));
  expect_matches_lammps(evaluate(zbl, s), lammps_run0(s, {73}, zbl_pairs_all({73}, 3.0, 4.5), "slab"), "Ta slab");
}

TEST(ZBL, MatchesLammpsOnAnOpenClusterWithAVacancy) {
  Sys s = bcc(2, 3.1803, 74);
  s.x.erase(s.x.begin() + 3, s.x.begin() + 6);  // a vacancy
  s.z.pop_back();
  for (std::int64_t i = 0; i < s.n(); i += 3) s.z[static_cast<std::size_t>(i)] = 4;
  jitter(s, 0.2, 8);
  s.pbc = {false, false, false};
  s.cell.assign(9, 0.0);
  ZBL zbl(zcfg(4.0, 4.8));
  expect_matches_lammps(evaluate(zbl, s), lammps_run0(s, {74, 4}, zbl_pairs_all({74, 4}, 4.0, 4.8), "cluster"),
                        "open W-Be cluster");
}

TEST(ZBL, ElementPairRestrictionMatchesLammpsHybridOverlay) {
  // ZBL on W-W and W-Be only (no Be-Be), as `pair_style hybrid/overlay zbl ... zero ...`.
  const std::vector<std::int64_t> types = {74, 4};
  const Sys s = random_alloy({10, 0, 0, 0, 10.5, 0, 0, 0, 9.8}, {true, true, true}, 50, 1.5, types, 21);
  ZBL zbl(zcfg(3.0, 4.2, ElementPairs({{74, 74}, {74, 4}})));
  const std::string pair =
      "pair_style hybrid/overlay zbl 3.0 4.2 zero 4.2\npair_coeff * * zero\n"
      "pair_coeff 1 1 zbl 74 74\npair_coeff 1 2 zbl 74 4\n";
  expect_matches_lammps(evaluate(zbl, s), lammps_run0(s, types, pair, "restricted"), "W-W and W-Be only");
}

TEST(ZBL, ForcesAndVirialAreDerivativesOfTheEnergy) {
  Sys s = random_alloy({8, 0, 0, 1.5, 8.5, 0, 0.5, -1, 9}, {true, true, true}, 24, 1.4, {74, 4}, 9);
  ZBL zbl(zcfg(2.0, 3.6));
  const Result r = evaluate(zbl, s);
  const auto f = fd_forces(zbl, s, 1e-5);
  const double fs = max_abs(r.forces);
  for (std::size_t k = 0; k < f.size(); ++k) EXPECT_NEAR(r.forces[k], f[k], 1e-6 * fs) << k;
  const auto w = fd_virial(zbl, s, 1e-6);
  double ws = 0;
  for (double v : r.virial) ws = std::max(ws, std::abs(v));
  for (int k = 0; k < 9; ++k) EXPECT_NEAR(r.virial[k], w[k], 1e-6 * ws) << k;
}

TEST(ZBL, Float32AgreesWithFloat64) {
  Sys s = bcc(3, 3.1803, 74);
  jitter(s, 0.3, 4);
  ZBL z64(zcfg(4.0, 4.8)), z32(zcfg(4.0, 4.8));
  const Result a = evaluate(z64, s), b = evaluate(z32, s, DType::Float32);
  EXPECT_NEAR(b.energy[0], a.energy[0], 1e-5 * std::abs(a.energy[0]));
  const double fs = max_abs(a.forces);
  for (std::size_t k = 0; k < a.forces.size(); ++k) EXPECT_NEAR(b.forces[k], a.forces[k], 1e-5 * fs);
}

TEST(ZBL, RejectsBadCutoffsAndAtomicNumbers) {
  EXPECT_THROW(ZBL(zcfg(0.0, 4.0)), InvalidArgument);
  EXPECT_THROW(ZBL(zcfg(4.0, 3.0)), InvalidArgument);
  EXPECT_THROW(ZBL(zcfg(NAN, 4.0)), InvalidArgument);
  ZBLConfig c = zcfg(1.0, 2.0);
  c.skin = -1;
  EXPECT_THROW(ZBL{c}, InvalidArgument);
  Sys s = bcc(2, 3.2, 74);
  s.z[3] = 0;
  ZBL zbl(zcfg(2.0, 3.0));
  try {
    evaluate(zbl, s);
    ADD_FAILURE() << "no error for Z = 0";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("atom 3 of system 0"), std::string::npos) << e.what();
  }
}

TEST(ZBL, EqualInnerAndOuterCutoffsShiftTheEnergyOnly) {
  // inner == outer (allowed by LAMMPS): no switching polynomial, E shifted to 0 at the cutoff.
  Sys s = bcc(3, 3.1803, 74);
  jitter(s, 0.3, 2);
  ZBL zbl(zcfg(4.0, 4.0));
  expect_matches_lammps(evaluate(zbl, s), lammps_run0(s, {74}, zbl_pairs_all({74}, 4.0, 4.0), "equal"),
                        "inner == outer");
}

}  // namespace
}  // namespace batchmd::model
