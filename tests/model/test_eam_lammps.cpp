// SPDX-License-Identifier: Apache-2.0
// EAM against LAMMPS (Debian's lmp, `run 0`, as a real process on input files written here):
// energy, every per-atom force and the six virial components to 1e-9 relative in float64, for the
// three file formats — funcfl (Cu_u3.eam), setfl (Cu_mishin1.eam.alloy, AlCu.eam.alloy) and
// Finnis–Sinclair (Fe_mm.eam.fs, AlFe_mm.eam.fs, NiAlH_jea.eam.fs) — each on four configurations: the perfect
// crystal, a thermally displaced triclinic crystal, a vacancy or a slab open along z, and a
// random alloy (two-element files) or a displaced open cluster. Plus two funcfl files mixed
// (Cu_u3 + Ni_u3, LAMMPS pair_coeff i i per file) and an element restriction (hybrid/overlay).
#include <gtest/gtest.h>

#include <random>

#include "batchmd/model/eam.hpp"
#include "lammps_compare.hpp"

namespace batchmd::model {
namespace {

using namespace testing;

// A perfect crystal has zero forces: there the scale is 1 eV/Å (an absolute 1e-9 eV/Å).
void expect_matches_eam(const Result& r, const Lmp& l, const std::string& where) {
  expect_matches_lammps(r, l, where, 1e-9, 1.0);
}

// A lattice of nx*ny*nz cells with fractional basis `basis` in a (possibly sheared) cell whose
// rows are n * (a_row); tilt adds xy, xz, yz (Å) to the whole supercell (LAMMPS form).
Sys lattice(int n, double a, const std::vector<std::array<double, 3>>& basis, std::int64_t z,
            std::array<double, 3> tilt = {0, 0, 0}) {
  Sys s;
  const double L = n * a;
  s.cell = {L, 0, 0, tilt[0], L, 0, tilt[1], tilt[2], L};
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      for (int k = 0; k < n; ++k)
        for (const auto& b : basis) {
          const double f[3] = {(i + b[0]) / n, (j + b[1]) / n, (k + b[2]) / n};
          for (int e = 0; e < 3; ++e) s.x.push_back(f[0] * s.cell[e] + f[1] * s.cell[3 + e] + f[2] * s.cell[6 + e]);
          s.z.push_back(z);
        }
  return s;
}
const std::vector<std::array<double, 3>> kFcc = {{0, 0, 0}, {.5, .5, 0}, {.5, 0, .5}, {0, .5, .5}};
const std::vector<std::array<double, 3>> kBcc = {{0, 0, 0}, {.5, .5, .5}};

void random_elements(Sys& s, const std::vector<std::int64_t>& zs, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (auto& z : s.z) z = zs[rng() % zs.size()];
}
Sys slab(Sys s) {  // open along z: the atoms keep their positions, no image along c
  s.pbc = {true, true, false};
  s.cell[8] = 0;
  return s;
}
Sys cluster(Sys s) {
  s.pbc = {false, false, false};
  s.cell.assign(9, 0.0);
  return s;
}

// `pair_style <style>` and `pair_coeff * * <file> <elements>` for types = the elements used.
std::string pair_lines(const std::string& style, const std::string& file, const std::vector<std::int64_t>& types,
                       const std::vector<std::string>& symbols) {
  std::string s = "pair_style " + style + "\n";
  if (style == "eam") {
    s += "pair_coeff * * " + kPotentials + file + "\n";
    return s;
  }
  s += "pair_coeff * * " + kPotentials + file;
  for (std::size_t t = 0; t < types.size(); ++t) s += " " + symbols[t];
  return s + "\n";
}

struct Case {
  std::string file, style;
  std::vector<std::int64_t> z;       // elements of the file used, as LAMMPS types
  std::vector<std::string> symbols;  // the same as symbols
  bool bcc;
  double a;
};

void check_case(const Case& c, const Sys& s, const std::string& name) {
  auto eam = load_eam({kPotentials + c.file});
  std::vector<std::int64_t> types;
  std::vector<std::string> symbols;
  for (std::size_t t = 0; t < c.z.size(); ++t)
    if (std::find(s.z.begin(), s.z.end(), c.z[t]) != s.z.end()) {
      types.push_back(c.z[t]);
      symbols.push_back(c.symbols[t]);
    }
  expect_matches_eam(evaluate(*eam, s), lammps_run0(s, types, pair_lines(c.style, c.file, types, symbols), name),
                     c.file + " " + name);
}

void check_four_configurations(const Case& c) {
  const auto& basis = c.bcc ? kBcc : kFcc;
  const std::int64_t z0 = c.z[0];
  // 1. Perfect crystal.
  check_case(c, lattice(3, c.a, basis, z0), "perfect");
  // 2. Thermally displaced, triclinic.
  Sys tri = lattice(3, c.a, basis, z0, {0.9, -0.7, 0.5});
  jitter(tri, 0.15, 3);
  check_case(c, tri, "triclinic");
  // 3. A vacancy (single-element files) or a slab open along z with a vacancy.
  Sys vac = lattice(3, c.a, basis, z0);
  remove_atom(vac, 13);
  jitter(vac, 0.08, 5);
  check_case(c, c.z.size() > 1 ? slab(vac) : vac, c.z.size() > 1 ? "slab" : "vacancy");
  // 4. A random alloy (two-element files), or a slab open along z / an open cluster.
  Sys last = lattice(3, c.a, basis, z0);
  jitter(last, 0.12, 7);
  if (c.z.size() > 1) {
    random_elements(last, c.z, 9);
    check_case(c, last, "alloy");
  } else {
    check_case(c, slab(last), "slab");
    Sys cl = lattice(2, c.a, basis, z0);
    jitter(cl, 0.1, 13);
    check_case(c, cluster(cl), "cluster");
  }
}

TEST(EAMLammps, FuncflCuU3) { check_four_configurations({"Cu_u3.eam", "eam", {29}, {"Cu"}, false, 3.615}); }
TEST(EAMLammps, SetflCuMishin) {
  check_four_configurations({"Cu_mishin1.eam.alloy", "eam/alloy", {29}, {"Cu"}, false, 3.615});
}
TEST(EAMLammps, SetflAlCuAlloy) {
  check_four_configurations({"AlCu.eam.alloy", "eam/alloy", {13, 29}, {"Al", "Cu"}, false, 3.9});
}
TEST(EAMLammps, FinnisSinclairFe) { check_four_configurations({"Fe_mm.eam.fs", "eam/fs", {26}, {"Fe"}, true, 2.8553}); }
TEST(EAMLammps, FinnisSinclairAlFe) {
  check_four_configurations({"AlFe_mm.eam.fs", "eam/fs", {13, 26}, {"Al", "Fe"}, true, 2.87});
}
// NiAlH_jea.eam.fs: its cross densities rho_NiAl and rho_AlNi differ (in the Mendelev files above
// they are equal), so this case tells the two density directions of a pair apart.
TEST(EAMLammps, FinnisSinclairNiAlHAsymmetricDensities) {
  check_four_configurations({"NiAlH_jea.eam.fs", "eam/fs", {28, 13, 1}, {"Ni", "Al", "H"}, false, 3.52});
}

// Two funcfl files, one per element: LAMMPS resamples both onto one grid and mixes Z_i Z_j.
TEST(EAMLammps, TwoFuncflFilesMixed) {
  Sys s = lattice(3, 3.58, kFcc, 29, {0.4, 0.2, -0.3});
  random_elements(s, {28, 29}, 21);
  jitter(s, 0.12, 22);
  auto eam = load_eam({kPotentials + "Cu_u3.eam", kPotentials + "Ni_u3.eam"});
  // types: 1 = Cu, 2 = Ni
  const std::string pair =
      "pair_style eam\npair_coeff 1 1 " + kPotentials + "Cu_u3.eam\npair_coeff 2 2 " + kPotentials + "Ni_u3.eam\n";
  expect_matches_eam(evaluate(*eam, s), lammps_run0(s, {29, 28}, pair, "cuni"), "Cu_u3 + Ni_u3");
}

// Only some elements of a file (LAMMPS: pair_coeff * * file Cu, the other type absent).
TEST(EAMLammps, SubsetOfTheFileElements) {
  Sys s = lattice(3, 3.615, kFcc, 29);
  jitter(s, 0.1, 31);
  auto eam = load_eam({kPotentials + "AlCu.eam.alloy"}, "", {"Cu"});
  EXPECT_EQ(eam->config().tables.elements, std::vector<std::int64_t>{29});
  expect_matches_eam(evaluate(*eam, s),
                     lammps_run0(s, {29}, pair_lines("eam/alloy", "AlCu.eam.alloy", {29}, {"Cu"}), "subset"),
                     "AlCu, Cu only");
}

}  // namespace
}  // namespace batchmd::model
