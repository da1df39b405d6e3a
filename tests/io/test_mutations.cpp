// SPDX-License-Identifier: Apache-2.0
// Every reader, fed damaged copies of a good file (truncated at any byte, bytes replaced, lines
// dropped or repeated), either reads it or throws a batchmd::Error — never another exception,
// never a crash (under ASan: never a bad memory access). A short, deterministic stand-in for the
// fuzz targets: the readers take text, so a fuzzer can call them the same way.
#include <random>

#include "batchmd/io/cif.hpp"
#include "batchmd/io/structures.hpp"
#include "io_test_util.hpp"

using namespace batchmd;
using namespace io_test;

namespace {

const char* kExtxyz =
    "3\nLattice=\"4 0 0 0.5 4 0 0 0 4\" Properties=species:S:1:pos:R:3:momenta:R:3:masses:R:1:tag:I:2:ok:L:1 "
    "energy=-1.5 stress=\"1 2 3 4 5 6 7 8 9\" grid=\"_JSON [[1, 2], [3, 4]]\" note='a b' pbc=\"T T F\"\n"
    "Cu 0 0 0 0.1 0.2 0.3 63.5 1 2 T\nNi 1 1 1 0 0 0 58.7 3 4 F\nAl 2 2 2 -0.1 0 0 27 5 6 T\n"
    "2\ntitle only\nH 0 0 0\nH 0 0 0.74\n";
const char* kLammps =
    "data\n\n3 atoms\n2 atom types\n0 4 xlo xhi\n0 4 ylo yhi\n0 4 zlo zhi\n0.5 0 0 xy xz yz\n\nMasses\n\n"
    "1 63.546 # Cu\n2 58.69\n\nPair Coeffs # lj/cut\n\n1 1 1\n2 1 1\n\nAtoms # charge\n\n"
    "3 2 -0.5 1 1 1 0 0 1\n1 1 0.5 0 0 0 0 0 0\n2 1 0 2 2 2 -1 0 0\n\nVelocities\n\n1 1 2 3\n2 0 0 0\n3 -1 0 1\n";
const char* kPoscar =
    "Fe Co\n-27.5\n3 0 0\n0.1 3 0\n0 0 3\nFe_pv Co\n2 1\nSelective dynamics\nDirect\n0 0 0 T T F\n"
    "0.5 0.5 0.5 F F F\n0.25 0.25 0.75 T T T\n\n0.01 0 0\n0 0.01 0\n0 0 0.01\n";
const char* kCif =
    "data_NaCl\n_cell_length_a 5.64\n_cell_length_b 5.64\n_cell_length_c 5.64\n_cell_angle_alpha 90\n"
    "_cell_angle_beta 90\n_cell_angle_gamma 90\n_symmetry_space_group_name_H-M 'F m -3 m'\nloop_\n"
    "_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
    "Na1 Na 0 0 0\nCl1 Cl 0.5 0.5 0.5\n";

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> v;
  std::size_t b = 0;
  for (std::size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == '\n') {
      v.push_back(s.substr(b, i - b));
      b = i + 1;
    }
  return v;
}

/// Damaged copies of `good`: every truncation, and `n` random edits (deterministic seed).
std::vector<std::string> damaged(const std::string& good, int n) {
  std::vector<std::string> out;
  for (std::size_t k = 0; k < good.size(); ++k) out.push_back(good.substr(0, k));
  std::mt19937 rng(12345);
  const char alphabet[] = "0123456789.-+eE TFnaix:\"'=_\n#[]{}\\\t";
  const auto lines = lines_of(good);
  for (int i = 0; i < n; ++i) {
    std::string s = good;
    switch (rng() % 4) {
      case 0:  // replace a few bytes
        for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k)
          s[rng() % s.size()] = alphabet[rng() % (sizeof alphabet - 1)];
        break;
      case 1: {  // drop a line
        auto l = lines;
        l.erase(l.begin() + static_cast<long>(rng() % l.size()));
        s.clear();
        for (const auto& x : l) s += x + "\n";
        break;
      }
      case 2: {  // repeat a line
        auto l = lines;
        const std::size_t k = rng() % l.size();
        l.insert(l.begin() + static_cast<long>(k), l[k]);
        s.clear();
        for (const auto& x : l) s += x + "\n";
        break;
      }
      default:  // insert a byte
        s.insert(s.begin() + static_cast<long>(rng() % s.size()), alphabet[rng() % (sizeof alphabet - 1)]);
    }
    out.push_back(s);
  }
  return out;
}

void survive(io::Format format, const std::string& good) {
  io::ReadOptions o;
  if (format == io::Format::LammpsData) o.elements = {};
  ASSERT_NO_THROW(io::parse_structures(good, format, o, "good")) << "the undamaged file must read";
  int read = 0, errors = 0;
  for (const auto& text : damaged(good, 3000)) {
    try {
      io::parse_structures(text, format, o, "damaged");
      ++read;
    } catch (const Error&) {
      ++errors;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not a batchmd::Error: " << e.what() << "\nfile:\n" << text;
      return;
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_GT(read, 0);
}

}  // namespace

TEST(DamagedFiles, ExtXYZ) { survive(io::Format::ExtXYZ, kExtxyz); }
TEST(DamagedFiles, LammpsData) { survive(io::Format::LammpsData, kLammps); }
TEST(DamagedFiles, Poscar) { survive(io::Format::Poscar, kPoscar); }
TEST(DamagedFiles, Cif) {
  if (!io::cif_supported()) {
    EXPECT_THROW(io::parse_structures(kCif, io::Format::Cif), InvalidArgument);
    return;
  }
  survive(io::Format::Cif, kCif);
}
