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
#include "snap_test_util.hpp"

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

// Random positions in a (possibly triclinic, possibly open) cell, at least dmin apart (images
// included for periodic directions), elements drawn from zs.
Sys random_alloy(const std::vector<double>& cell, std::array<bool, 3> pbc, int n, double dmin,
                 const std::vector<std::int64_t>& zs, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  Sys s;
  s.cell = cell;
  s.pbc = pbc;
  int tries = 0;
  while (s.n() < n) {
    EXPECT_LT(++tries, 100000) << "could not place atoms";
    if (tries >= 100000) break;
    const double f[3] = {u(rng), u(rng), u(rng)};
    double p[3] = {0, 0, 0};
    for (int e = 0; e < 3; ++e) p[e] = f[0] * cell[e] + f[1] * cell[3 + e] + f[2] * cell[6 + e];
    bool ok = true;
    for (std::int64_t j = 0; j < s.n() && ok; ++j)
      for (int a = -1; a <= 1 && ok; ++a)
        for (int b = -1; b <= 1 && ok; ++b)
          for (int c = -1; c <= 1 && ok; ++c) {
            if ((a && !pbc[0]) || (b && !pbc[1]) || (c && !pbc[2])) continue;
            double d2 = 0;
            for (int e = 0; e < 3; ++e) {
              const double d = p[e] - s.x[3 * j + e] + a * cell[e] + b * cell[3 + e] + c * cell[6 + e];
              d2 += d * d;
            }
            ok = d2 > dmin * dmin;
          }
    if (!ok) continue;
    s.x.insert(s.x.end(), p, p + 3);
    s.z.push_back(zs[static_cast<std::size_t>(s.n()) % zs.size()]);
  }
  return s;
}

struct Lmp {
  double energy = 0;
  std::vector<double> forces;  // [n][3]
  std::array<double, 9> virial{};
};

// LAMMPS run 0 with the given pair commands on s (types = the distinct elements of s, in `types`).
Lmp lammps_run0(const Sys& s, const std::vector<std::int64_t>& types, const std::string& pair,
                const std::string& name) {
  const auto dir = scratch_dir(name);
  std::ofstream(dir / "data.lmp") << lammps_data(s, types);
  std::string bnd;
  for (int d = 0; d < 3; ++d) bnd += s.pbc[d] ? " p" : " f";
  const std::string script = "units metal\natom_style atomic\nboundary" + bnd + "\nread_data data.lmp\n" + pair +
                             "\nthermo_style custom step pe pxx pyy pzz pxy pxz pyz vol\n"
                             "thermo_modify norm no format float %.17g\n"
                             "dump d all custom 1 forces.dump id fx fy fz\n"
                             "dump_modify d sort id format float %.17g\nrun 0\n";
  Lmp out;
  if (!run_lammps(dir, script)) return out;
  const auto th = thermo_at(dir / "log.lammps", 0);
  out.energy = th.at("PotEng");
  const double vol = th.at("Volume");
  const char* comp[6] = {"Pxx", "Pyy", "Pzz", "Pxy", "Pxz", "Pyz"};
  const int at[6][2] = {{0, 0}, {1, 1}, {2, 2}, {0, 1}, {0, 2}, {1, 2}};
  for (int k = 0; k < 6; ++k) {
    const double w = th.at(comp[k]) * vol / kLmpNktv2p;  // no velocities: the pressure is the virial's
    out.virial[3 * at[k][0] + at[k][1]] = w;
    out.virial[3 * at[k][1] + at[k][0]] = w;
  }
  const Dump d = read_dump(dir / "forces.dump");
  const auto fx = d.column("fx"), fy = d.column("fy"), fz = d.column("fz");
  for (std::size_t i = 0; i < fx.size(); ++i) out.forces.insert(out.forces.end(), {fx[i], fy[i], fz[i]});
  std::filesystem::remove_all(dir);
  return out;
}

void expect_matches_lammps(const Result& r, const Lmp& l, const std::string& where) {
  ASSERT_EQ(r.forces.size(), l.forces.size()) << where;
  const double tol = 1e-9;
  EXPECT_NEAR(r.energy[0], l.energy, tol * std::abs(l.energy)) << where;
  const double fscale = max_abs(l.forces);
  ASSERT_GT(fscale, 0) << where;
  for (std::size_t k = 0; k < r.forces.size(); ++k)
    EXPECT_NEAR(r.forces[k], l.forces[k], tol * fscale) << where << " force " << k;
  double wscale = 0;
  for (double w : l.virial) wscale = std::max(wscale, std::abs(w));
  for (int k = 0; k < 9; ++k) EXPECT_NEAR(r.virial[k], l.virial[k], tol * wscale) << where << " virial " << k;
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
