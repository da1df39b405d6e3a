// SPDX-License-Identifier: Apache-2.0
// CIF through gemmi: the symmetry expansion to the full cell from an H-M name, a Hall symbol, a
// space-group number and an explicit symop list; hexagonal cells and rounded coordinates on
// special positions; many data blocks as frames; ASE's CIF reader as the reference; malformed
// files as FormatErrors naming the file (and the data block, or the line for syntax errors).
#include <algorithm>
#include <cmath>

#include "batchmd/io/cif.hpp"
#include "batchmd/io/structures.hpp"
#include "io_test_util.hpp"

using namespace batchmd;
using namespace io_test;

namespace {

std::vector<AtomicData> parse(const std::string& text, const io::ReadOptions& o = {}) {
  return io::parse_structures(text, io::Format::Cif, o, "t.cif");
}

std::string cell_block(const std::string& name, double a, double b, double c, double al, double be, double ga) {
  return "data_" + name + "\n_cell_length_a " + std::to_string(a) + "\n_cell_length_b " + std::to_string(b) +
         "\n_cell_length_c " + std::to_string(c) + "\n_cell_angle_alpha " + std::to_string(al) + "\n_cell_angle_beta " +
         std::to_string(be) + "\n_cell_angle_gamma " + std::to_string(ga) + "\n";
}

const std::string kSites =
    "loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n"
    "_atom_site_fract_z\n";

std::string nacl() {
  return cell_block("NaCl", 5.64, 5.64, 5.64, 90, 90, 90) + "_symmetry_space_group_name_H-M 'F m -3 m'\n" + kSites +
         "Na1 Na 0 0 0\nCl1 Cl 0.5 0.5 0.5\n";
}

/// (Z, fractional x, y, z) of every atom, sorted, for order-free comparison.
std::vector<std::array<double, 4>> sites(const AtomicData& d) {
  std::vector<std::array<double, 4>> v;
  double c[9];
  for (int k = 0; k < 9; ++k) c[k] = at(d, "cell", 0, k);
  // Cells here are lower-triangular (a along x, b in xy): solve f C = r by back substitution.
  for (std::int64_t a = 0; a < d.n_atoms(); ++a) {
    const double r[3] = {at(d, "positions", a, 0), at(d, "positions", a, 1), at(d, "positions", a, 2)};
    const double fz = r[2] / c[8];
    const double fy = (r[1] - fz * c[7]) / c[4];
    const double fx = (r[0] - fy * c[3] - fz * c[6]) / c[0];
    auto wrap = [](double f) {
      f -= std::floor(f + 1e-9);
      return std::abs(f) < 1e-9 ? 0.0 : f;
    };
    v.push_back({at(d, "atomic_numbers", a), wrap(fx), wrap(fy), wrap(fz)});
  }
  std::sort(v.begin(), v.end(), [](auto& x, auto& y) {
    for (int k = 0; k < 4; ++k)
      if (std::abs(x[static_cast<std::size_t>(k)] - y[static_cast<std::size_t>(k)]) > 1e-6)
        return x[static_cast<std::size_t>(k)] < y[static_cast<std::size_t>(k)];
    return false;
  });
  return v;
}

void expect_sites(const AtomicData& d, std::vector<std::array<double, 4>> want) {
  std::sort(want.begin(), want.end());
  const auto got = sites(d);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    for (int k = 0; k < 4; ++k)
      EXPECT_NEAR(got[i][static_cast<std::size_t>(k)], want[i][static_cast<std::size_t>(k)], 1e-9) << "atom " << i;
}

}  // namespace

TEST(Cif, ExpandsByTheSpaceGroupNamedInAnyWay) {
  ASSERT_TRUE(io::cif_supported());
  // H-M name: rock salt, 2 sites -> 8 atoms.
  AtomicData d = std::move(parse(nacl())[0]);
  expect_sites(d, {{11, 0, 0, 0},
                   {11, 0, 0.5, 0.5},
                   {11, 0.5, 0, 0.5},
                   {11, 0.5, 0.5, 0},
                   {17, 0.5, 0.5, 0.5},
                   {17, 0.5, 0, 0},
                   {17, 0, 0.5, 0},
                   {17, 0, 0, 0.5}});
  EXPECT_EQ(at(d, "cell", 0, 0), 5.64);
  EXPECT_EQ(at(d, "cell", 0, 3), 0.0);  // right angles stay exact
  EXPECT_EQ(at(d, "pbc", 0, 2), 1.0);
  const std::vector<std::array<double, 4>> fcc = {
      {29, 0, 0, 0}, {29, 0, 0.5, 0.5}, {29, 0.5, 0, 0.5}, {29, 0.5, 0.5, 0}};
  // Hall symbol.
  d = std::move(parse(cell_block("Cu", 3.6, 3.6, 3.6, 90, 90, 90) + "_space_group_name_Hall '-F 4 2 3'\n" + kSites +
                      "Cu1 Cu 0 0 0\n")[0]);
  expect_sites(d, fcc);
  // International Tables number.
  d = std::move(parse(cell_block("Cu", 3.6, 3.6, 3.6, 90, 90, 90) + "_space_group_IT_number 225\n" + kSites +
                      "Cu1 Cu 0 0 0\n")[0]);
  expect_sites(d, fcc);
  // An explicit symop list (body centring) wins over a name that disagrees.
  d = std::move(parse(cell_block("Fe", 2.87, 2.87, 2.87, 90, 90, 90) +
                      "_symmetry_space_group_name_H-M 'P 1'\nloop_\n_space_group_symop_operation_xyz\n'x, y, z'\n"
                      "'x+1/2, y+1/2, z+1/2'\n" +
                      kSites + "Fe1 Fe 0 0 0\n")[0]);
  expect_sites(d, {{26, 0, 0, 0}, {26, 0.5, 0.5, 0.5}});
  // No symmetry at all: P1.
  d = std::move(parse(cell_block("X", 3, 4, 5, 90, 90, 90) + kSites + "O1 O 0.1 0.2 0.3\nH1 H 0.2 0.2 0.3\n")[0]);
  expect_sites(d, {{8, 0.1, 0.2, 0.3}, {1, 0.2, 0.2, 0.3}});
}

TEST(Cif, HexagonalCellAndRoundedSpecialPositions) {
  // hcp Mg, P6_3/mmc, Mg on 2c written with four decimals: the 24 images fall on 2 atoms.
  const AtomicData d =
      std::move(parse(cell_block("Mg", 3.2094, 3.2094, 5.2108, 90, 90, 120) +
                      "_symmetry_space_group_name_H-M 'P 63/m m c'\n" + kSites + "Mg1 Mg 0.3333 0.6667 0.25\n")[0]);
  ASSERT_EQ(d.n_atoms(), 2);
  EXPECT_NEAR(at(d, "cell", 0, 3), 3.2094 * -0.5, 1e-12);
  EXPECT_NEAR(at(d, "cell", 0, 4), 3.2094 * std::sqrt(3.0) / 2, 1e-12);
  EXPECT_EQ(at(d, "cell", 0, 1), 0.0);
}

TEST(Cif, DataBlocksAreFrames) {
  const std::string two = nacl() + "\n" + cell_block("Cu", 3.6, 3.6, 3.6, 90, 90, 90) +
                          "_symmetry_space_group_name_H-M 'F m -3 m'\n" + kSites + "Cu1 Cu 0 0 0\n";
  EXPECT_EQ(parse(two).size(), 2u);
  io::ReadOptions o;
  o.frames = io::FrameSelection::index(-1);
  const auto last = parse(two, o);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].n_atoms(), 4);
}

TEST(Cif, SameAtomsAsAse) {
  // Rutile TiO2 (P4_2/mnm) and a monoclinic cell (P2_1/c), both expanded by ASE's reader too.
  const auto dir = test_dir("cif_ase");
  const std::string rutile = cell_block("rutile", 4.594, 4.594, 2.959, 90, 90, 90) +
                             "_symmetry_space_group_name_H-M 'P 42/m n m'\n" + kSites +
                             "Ti1 Ti 0 0 0\nO1 O 0.3049 0.3049 0\n";
  const std::string mono = cell_block("mono", 5.1, 6.2, 7.3, 90, 104.5, 90) +
                           "_symmetry_space_group_name_H-M 'P 21/c'\n" + kSites +
                           "Si1 Si 0.11 0.22 0.33\nO1 O 0.41 0.05 0.27\n";
  for (const auto& [name, text, n] : {std::tuple{"rutile", rutile, 6}, std::tuple{"mono", mono, 8}}) {
    SCOPED_TRACE(name);
    const fs::path file = dir / (std::string(name) + ".cif");
    write_file(file, text);
    const AtomicData d = std::move(io::read_structures(file)[0]);
    ASSERT_EQ(d.n_atoms(), n);
    const json ase = io_test::ase("read cif '" + file.string() + "'");
    ASSERT_EQ(ase["frames"].size(), 1u);
    const json& f = ase["frames"][0];
    for (int k = 0; k < 9; ++k) EXPECT_NEAR(at(d, "cell", 0, k), f["cell"][k / 3][k % 3].get<double>(), 1e-12) << k;
    // The same atoms, in any order: ASE's positions into an AtomicData, then the site lists.
    std::vector<double> pos;
    std::vector<std::int64_t> z;
    for (std::size_t a = 0; a < f["numbers"].size(); ++a) {
      z.push_back(f["numbers"][a].get<std::int64_t>());
      for (int c = 0; c < 3; ++c) pos.push_back(f["positions"][a][c].get<double>());
    }
    std::vector<double> cell;
    for (int k = 0; k < 9; ++k) cell.push_back(f["cell"][k / 3][k % 3].get<double>());
    const AtomicData ref = AtomicData::make(DType::Float64, pos, z, cell, {true, true, true});
    const auto want = sites(ref);
    expect_sites(d, std::vector<std::array<double, 4>>(want.begin(), want.end()));
  }
}

TEST(Cif, MalformedFilesNameTheFileAndBlock) {
  // The line is named wherever the file has one: a bad value's tag, the site loop, the symop list.
  const std::string cu = cell_block("Cu", 3.6, 3.6, 3.6, 90, 90, 90);
  const std::pair<std::string, std::string> cases[] = {
      {"", "t.cif: no data block with atom sites"},
      {"data_x\n_cell_length_a 3\n", "t.cif: no data block with atom sites"},
      {"data_x\n_cell_length_a '3\n", "t.cif:2:18: unterminated 'string' (not a valid CIF file)"},
      {"data_x\nloop_\n_atom_site_label\n_atom_site_fract_x\nA 1 B\n", "t.cif:2:1: Wrong number of values in the loop"},
      {cu + kSites + "Cu1 Cu 0 0 0\n" + "Cu2 Cu 0.5 0.5\n", "not a valid CIF file"},
      {"data_x\n_cell_length_a 3.6\n_cell_length_b 3.6\n" + kSites + "Cu1 Cu 0 0 0\n",
       "t.cif: data block 'x': _cell_length_c is missing"},
      {"data_x\n_cell_length_a 3.6\n_cell_length_b 3.6\n_cell_length_c -1\n" + kSites + "Cu1 Cu 0 0 0\n",
       "_cell_length_c is '-1', not a valid value"},
      {cu + "_cell_angle_gamma 200\n" + kSites + "Cu1 Cu 0 0 0\n",
       "t.cif:8 in data_Cu: duplicate tag _cell_angle_gamma"},
      {"data_x\n_cell_length_a 3.6\n_cell_length_b 3.6\n_cell_length_c 3.6\n_cell_angle_gamma 200\n" + kSites +
           "Cu1 Cu 0 0 0\n",
       "t.cif:5: data block 'x': _cell_angle_gamma is '200', not a valid value"},
      {cu + kSites + "Q1 Qq 0 0 0\n", "t.cif:8: data block 'Cu': site 'Q1' is of unknown element 'Qq'"},
      {cu + kSites + "Cu1 Cu 0 ? 0\n", "site 'Cu1' has no (or no valid) fractional coordinates"},
      {cu + "loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n"
            "_atom_site_fract_z\n_atom_site_occupancy\nCu1 Cu 0 0 0 0.5\nAu1 Au 0 0 0 0.5\n",
       "site 'Cu1' has occupancy 0.5"},
      {cu + kSites + "Cu1 Cu 0 0 0\nNi1 Ni 0.0001 0 0\n", "sites 'Cu1' and 'Ni1' (different elements)"},
      {cu + "_symmetry_space_group_name_H-M 'Q 9'\n" + kSites + "Cu1 Cu 0 0 0\n", "unknown space group 'Q 9'"},
      {cu + "_space_group_IT_number 999\n" + kSites + "Cu1 Cu 0 0 0\n", "space group number '999' is not 1..230"},
      {cu + "loop_\n_symmetry_equiv_pos_as_xyz\n'x,y,w'\n" + kSites + "Cu1 Cu 0 0 0\n",
       "_symmetry_equiv_pos_as_xyz 'x,y,w' is not a symmetry operation"},
      // A long number would overflow inside gemmi's triplet parser (found by fuzzing).
      {cu + "loop_\n_symmetry_equiv_pos_as_xyz\n'x,5555555555555555555555 y,z'\n" + kSites + "Cu1 Cu 0 0 0\n",
       "is not a symmetry operation: a number with more than 6 digits"},
      // Another format.
      {"2\nProperties=species:S:1:pos:R:3\nCu 0 0 0\nCu 1 1 1\n", "t.cif:1:1: expected block header (data_)"},
  };
  for (const auto& [text, want] : cases) {
    const std::string e = error_of<FormatError>([&] { parse(text); });
    EXPECT_NE(e.find(want), std::string::npos) << "file:\n" << text << "\nerror: " << e << "\nwanted: " << want;
  }
}
