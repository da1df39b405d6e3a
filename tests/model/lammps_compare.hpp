// SPDX-License-Identifier: Apache-2.0
// The one harness that compares a model with LAMMPS `run 0` (used by the SW, Morse, ZBL and EAM
// tests): crystals (diamond, zincblende), random alloys in triclinic cells, a LAMMPS `run 0` with
// any pair commands (energy, per-atom forces from a dump, the six virial components from the
// virial-only pressure compute), and the comparison at 1e-9 relative.
#pragma once
#include <gtest/gtest.h>

#include <random>

#include "snap_test_util.hpp"

namespace batchmd::model::testing {

/// nx*ny*nz conventional cells of zincblende (diamond when za == zb): za on the fcc sites, zb on
/// the tetrahedral ones (a in Å).
inline Sys zincblende(int nx, int ny, int nz, double a, std::int64_t za, std::int64_t zb) {
  Sys s = cubic(nx, ny, nz, a,
                {{0, 0, 0},
                 {.5, .5, 0},
                 {.5, 0, .5},
                 {0, .5, .5},
                 {.25, .25, .25},
                 {.75, .75, .25},
                 {.75, .25, .75},
                 {.25, .75, .75}},
                za);
  for (std::size_t i = 0; i < s.z.size(); ++i)
    if (i % 8 >= 4) s.z[i] = zb;
  return s;
}

/// Random positions in a (possibly triclinic, possibly open) cell, at least dmin apart (images
/// included for periodic directions), elements drawn at random from zs.
inline Sys random_alloy(const std::vector<double>& cell, std::array<bool, 3> pbc, int n, double dmin,
                        const std::vector<std::int64_t>& zs, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  Sys s;
  s.cell = cell;
  s.pbc = pbc;
  int tries = 0;
  while (s.n() < n && ++tries < 200000) {
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
    s.z.push_back(zs[static_cast<std::size_t>(rng() % zs.size())]);
  }
  EXPECT_EQ(s.n(), n) << "could not place the atoms";
  return s;
}

/// Removes atom i (a vacancy).
inline void remove_atom(Sys& s, std::int64_t i) {
  s.x.erase(s.x.begin() + 3 * i, s.x.begin() + 3 * i + 3);
  s.z.erase(s.z.begin() + i);
}

/// Opens the cell along direction d (a slab or, for all three, a cluster).
inline void open_along(Sys& s, int d) {
  s.pbc[static_cast<std::size_t>(d)] = false;
  for (int e = 0; e < 3; ++e) s.cell[static_cast<std::size_t>(3 * d + e)] = 0;
}

struct Lmp {
  double energy = 0;
  std::vector<double> forces;  // [n][3]
  std::array<double, 9> virial{};
};

/// LAMMPS run 0 with the given pair commands on s (type t = element types[t-1]).
inline Lmp lammps_run0(const Sys& s, const std::vector<std::int64_t>& types, const std::string& pair,
                       const std::string& name) {
  const auto dir = scratch_dir(name);
  std::ofstream(dir / "data.lmp") << lammps_data(s, types);
  std::string bnd;
  for (int d = 0; d < 3; ++d) bnd += s.pbc[static_cast<std::size_t>(d)] ? " p" : " f";
  const std::string script = "units metal\natom_style atomic\nboundary" + bnd + "\nread_data data.lmp\n" + pair +
                             "\ncompute pv all pressure NULL virial\n"
                             "thermo_style custom step pe c_pv[1] c_pv[2] c_pv[3] c_pv[4] c_pv[5] c_pv[6] vol\n"
                             "thermo_modify norm no format float %.17g\n"
                             "dump d all custom 1 forces.dump id fx fy fz\n"
                             "dump_modify d sort id format float %.17g\nrun 0\n";
  Lmp out;
  if (!run_lammps(dir, script)) return out;
  const auto th = thermo_at(dir / "log.lammps", 0);
  out.energy = th.at("PotEng");
  const double vol = th.at("Volume");
  const char* comp[6] = {"c_pv[1]", "c_pv[2]", "c_pv[3]", "c_pv[4]", "c_pv[5]", "c_pv[6]"};
  const int at[6][2] = {{0, 0}, {1, 1}, {2, 2}, {0, 1}, {0, 2}, {1, 2}};
  for (int k = 0; k < 6; ++k) {
    const double w = th.at(comp[k]) * vol / kLmpNktv2p;
    out.virial[static_cast<std::size_t>(3 * at[k][0] + at[k][1])] = w;
    out.virial[static_cast<std::size_t>(3 * at[k][1] + at[k][0])] = w;
  }
  const Dump d = read_dump(dir / "forces.dump");
  const auto fx = d.column("fx"), fy = d.column("fy"), fz = d.column("fz");
  for (std::size_t i = 0; i < fx.size(); ++i) out.forces.insert(out.forces.end(), {fx[i], fy[i], fz[i]});
  std::filesystem::remove_all(dir);
  return out;
}

/// Energy, every force component and the nine virial components within tol relative (of the
/// energy, of the largest force and of the largest virial component; for a perfect crystal, whose
/// forces vanish by symmetry, tol eV/Å absolute).
/// min_scale (eV/Å and eV) floors both scales, for potentials whose tabulated forces are compared
/// absolutely below it (EAM: 1).
inline void expect_matches_lammps(const Result& r, const Lmp& l, const std::string& where, double tol = 1e-9,
                                  double min_scale = 0) {
  ASSERT_EQ(r.forces.size(), l.forces.size()) << where;
  EXPECT_NE(l.energy, 0.0) << where;
  EXPECT_NEAR(r.energy[0], l.energy, tol * std::abs(l.energy)) << where;
  const double fmax = max_abs(l.forces);
  const double fscale = std::max(fmax > 1e-6 ? fmax : 1.0, min_scale);
  for (std::size_t k = 0; k < r.forces.size(); ++k)
    EXPECT_NEAR(r.forces[k], l.forces[k], tol * fscale) << where << " force " << k;
  double wscale = 0;
  for (double w : l.virial) wscale = std::max(wscale, std::abs(w));
  EXPECT_GT(wscale, 0) << where;
  wscale = std::max(wscale, min_scale);
  for (int k = 0; k < 9; ++k) EXPECT_NEAR(r.virial[k], l.virial[k], tol * wscale) << where << " virial " << k;
}

}  // namespace batchmd::model::testing
