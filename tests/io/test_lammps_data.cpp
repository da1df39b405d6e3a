// SPDX-License-Identifier: Apache-2.0
// LAMMPS data files: round trips (orthogonal and triclinic boxes, charge style, velocities, image
// flags); a cell in any orientation rotated into LAMMPS's box with its geometry intact; the three
// ways types get their elements; ASE reads what batchmd writes and batchmd reads what ASE writes;
// LAMMPS itself (lmp, a real process) reads batchmd's file and batchmd reads LAMMPS's write_data;
// and malformed files, each a FormatError naming the file and line.
#include <cmath>

#include "../support/lammps_process.hpp"
#include "batchmd/data/schema.hpp"
#include "batchmd/io/extxyz.hpp"
#include "batchmd/io/lammps_data.hpp"
#include "batchmd/io/structures.hpp"
#include "io_test_util.hpp"

using namespace batchmd;
using namespace io_test;

namespace {

/// Cu/Ni in a LAMMPS-shaped triclinic cell, with charges, velocities and image flags.
AtomicData alloy(std::int64_t n, bool with_extras = true) {
  std::vector<double> pos;
  std::vector<std::int64_t> z;
  for (std::int64_t a = 0; a < n; ++a) {
    for (int c = 0; c < 3; ++c) pos.push_back(0.37 * static_cast<double>(a + 1) + 0.91 * c + 1.0 / 3.0);
    z.push_back(a % 3 == 1 ? 28 : 29);
  }
  AtomicData d =
      AtomicData::make(DType::Float64, pos, z, {7.2, 0, 0, 1.08, 7.2, 0, 0.72, 0.36, 7.2}, {true, true, true});
  if (!with_extras) return d;
  Tensor v(DType::Float64, {n, 3}), q(DType::Float64, {n}), im(DType::Int64, {n, 3});
  for (std::int64_t i = 0; i < 3 * n; ++i) {
    v.data<double>()[i] = 0.01 * std::sin(static_cast<double>(i));
    im.data<std::int64_t>()[i] = (i % 3) - 1;
  }
  for (std::int64_t a = 0; a < n; ++a) q.data<double>()[a] = a % 3 == 1 ? -0.5 : 0.25;
  d.set("velocities", Level::Atom, std::move(v));
  d.set("charges", Level::Atom, std::move(q));
  d.set("image_flags", Level::Atom, std::move(im));
  return d;
}

std::vector<AtomicData> parse(const std::string& text, std::vector<std::string> elements = {}) {
  io::ReadOptions o;
  o.elements = std::move(elements);
  return io::parse_structures(text, io::Format::LammpsData, o, "t.data");
}

AtomicData first(std::vector<AtomicData> v) { return std::move(v.at(0)); }

std::string write(const AtomicData& d, const io::WriteOptions& o = {}) {
  return io::format_structures(std::span<const AtomicData>(&d, 1), io::Format::LammpsData, o);
}

/// Fractional coordinates of atom a.
std::array<double, 3> frac(const AtomicData& d, std::int64_t a) {
  double c[9], r[3];
  for (int k = 0; k < 9; ++k) c[k] = at(d, "cell", 0, k);
  for (int k = 0; k < 3; ++k) r[k] = at(d, "positions", a, k);
  // Solve f C = r by Cramer's rule.
  auto det = [](const double* m) {
    return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
  };
  const double D = det(c);
  std::array<double, 3> f{};
  for (int i = 0; i < 3; ++i) {
    double m[9];
    for (int k = 0; k < 9; ++k) m[k] = c[k];
    for (int k = 0; k < 3; ++k) m[3 * i + k] = r[k];
    f[static_cast<std::size_t>(i)] = det(m) / D;
  }
  return f;
}

double dot_rows(const AtomicData& d, const std::string& f1, std::int64_t r1, const std::string& f2, std::int64_t r2) {
  double s = 0;
  for (int k = 0; k < 3; ++k) s += at(d, f1, 0, 3 * r1 + k) * at(d, f2, 0, 3 * r2 + k);
  return s;
}

}  // namespace

TEST(LammpsData, RoundTripTriclinicChargeVelocitiesImages) {
  const AtomicData d = alloy(7);
  const std::string text = write(d);
  EXPECT_NE(text.find("Atoms # charge"), std::string::npos);
  EXPECT_NE(text.find("1.08 0.72 0.36 xy xz yz"), std::string::npos) << text;
  EXPECT_NE(text.find("1 58.6934 # Ni\n2 63.546 # Cu"), std::string::npos) << text;  // ascending Z
  const auto back = parse(text);
  ASSERT_EQ(back.size(), 1u);
  AtomicData a = d.clone(), b = back[0].clone();
  // Å/fs -> Å/ps -> Å/fs: equal to an ulp or two.
  for (std::int64_t i = 0; i < 3 * d.n_atoms(); ++i)
    EXPECT_TRUE(close(at(a, "velocities", 0, i), at(b, "velocities", 0, i), 1e-15)) << i;
  a.erase("velocities");
  b.erase("velocities");
  expect_same_system(a, b);
}

TEST(LammpsData, OrthogonalAtomicStyleWithTypeOrder) {
  AtomicData d = alloy(4, false);
  Tensor c(DType::Float64, {1, 3, 3});
  c.data<double>()[0] = 5.0;
  c.data<double>()[4] = 6.0;
  c.data<double>()[8] = 7.0;
  d.set("cell", Level::System, std::move(c));
  io::WriteOptions o;
  o.elements = {"Cu", "Al", "Ni"};  // a potential's order, with an element the system lacks
  const std::string text = write(d, o);
  EXPECT_NE(text.find("3 atom types"), std::string::npos);
  EXPECT_EQ(text.find("xy xz yz"), std::string::npos);
  EXPECT_NE(text.find("Atoms # atomic\n\n1 1 "), std::string::npos) << text;
  EXPECT_NE(text.find("\n2 3 "), std::string::npos) << text;  // atom 2 is Ni: type 3
  expect_same_system(d, parse(text)[0]);
  expect_same_system(d, parse(text, {"Cu", "Al", "Ni"})[0]);
  o.elements = {"Cu"};
  EXPECT_NE(error_of<InvalidArgument>([&] { write(d, o); }).find("atom 1 is Ni, which the type order does not list"),
            std::string::npos);
  o.elements = {"Cu", "Ni", "Cu"};
  EXPECT_NE(error_of<InvalidArgument>([&] { write(d, o); }).find("listed twice"), std::string::npos);
  o.elements = {"Cu", "Nx"};
  EXPECT_NE(error_of<InvalidArgument>([&] { write(d, o); }).find("unknown element 'Nx'"), std::string::npos);
}

TEST(LammpsData, AnyCellIsRotatedIntoTheLammpsBox) {
  // A triclinic cell turned by an arbitrary rotation: LAMMPS needs a along x, b in the xy plane.
  AtomicData d = alloy(6);
  const double th = 0.7, ph = -0.4;
  const double R[9] = {std::cos(th),
                       -std::sin(th),
                       0,
                       std::sin(th) * std::cos(ph),
                       std::cos(th) * std::cos(ph),
                       -std::sin(ph),
                       std::sin(th) * std::sin(ph),
                       std::cos(th) * std::sin(ph),
                       std::cos(ph)};
  for (const char* f : {"cell", "positions", "velocities"}) {
    Tensor& t = d.get(f);
    for (std::int64_t r = 0; r < t.numel() / 3; ++r) {
      double* x = t.data<double>() + 3 * r;
      const double y[3] = {x[0], x[1], x[2]};
      for (int i = 0; i < 3; ++i) x[i] = R[3 * i] * y[0] + R[3 * i + 1] * y[1] + R[3 * i + 2] * y[2];
    }
  }
  const AtomicData back = first(parse(write(d)));
  // The box is lower-triangular; lengths, angles, fractional coordinates and the velocities'
  // components along the cell vectors are those of the rotated input.
  EXPECT_EQ(at(back, "cell", 0, 1), 0.0);
  EXPECT_EQ(at(back, "cell", 0, 2), 0.0);
  EXPECT_EQ(at(back, "cell", 0, 5), 0.0);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      EXPECT_NEAR(dot_rows(back, "cell", i, "cell", j), dot_rows(d, "cell", i, "cell", j), 1e-12) << i << j;
  for (std::int64_t a = 0; a < d.n_atoms(); ++a) {
    const auto f0 = frac(d, a), f1 = frac(back, a);
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(f0[static_cast<std::size_t>(k)], f1[static_cast<std::size_t>(k)], 1e-14);
    for (int i = 0; i < 3; ++i) {
      double v0 = 0, v1 = 0;
      for (int k = 0; k < 3; ++k) {
        v0 += at(d, "velocities", a, k) * at(d, "cell", 0, 3 * i + k);
        v1 += at(back, "velocities", a, k) * at(back, "cell", 0, 3 * i + k);
      }
      EXPECT_NEAR(v0, v1, 1e-14);
    }
  }
  // A left-handed cell cannot be turned into LAMMPS's box.
  Tensor& c = d.get("cell");
  for (int k = 0; k < 3; ++k) c.data<double>()[6 + k] = -c.data<double>()[6 + k];
  EXPECT_NE(error_of<InvalidArgument>([&] { write(d); }).find("left-handed"), std::string::npos);
  // Neither can an open system.
  const AtomicData open = AtomicData::make(DType::Float64, {0, 0, 0}, {29});
  EXPECT_NE(error_of<InvalidArgument>([&] { write(open); }).find("no cell"), std::string::npos);
  // Nor a box without atoms and without a type list: LAMMPS needs one atom type at least (found
  // by fuzzing: "0 atom types" was written, which no reader takes).
  const AtomicData empty = AtomicData::make(DType::Float64, {}, {}, {4, 0, 0, 0, 4, 0, 0, 0, 4}, {true, true, true});
  EXPECT_NE(error_of<InvalidArgument>([&] { write(empty); }).find("the system has no atoms"), std::string::npos);
}

TEST(LammpsData, TypesGetElementsFromListCommentsOrMasses) {
  const std::string body = "\n2 atoms\n2 atom types\n0 4 xlo xhi\n0 4 ylo yhi\n-1 3 zlo zhi\n\nMasses\n\n";
  const std::string atoms = "\nAtoms\n\n2 2 1.0 1.0 1.0\n1 1 0.0 0.0 0.0\n";
  // Masses with "# symbol" comments (batchmd, OVITO).
  auto d = first(parse("comment" + body + "1 26.98 # Al\n2 58.69 # Ni\n" + atoms));
  EXPECT_EQ(at(d, "atomic_numbers", 0), 13);  // sorted by id
  EXPECT_EQ(at(d, "atomic_numbers", 1), 28);
  EXPECT_EQ(at(d, "masses", 0), 26.98);      // the file's masses are kept
  EXPECT_EQ(at(d, "positions", 0, 2), 1.0);  // shifted: the box starts at the origin
  EXPECT_EQ(at(d, "cell", 0, 8), 4.0);
  // Masses alone (LAMMPS's write_data): the element within 0.1 amu.
  d = first(parse("comment" + body + "1 63.55\n2 58.6934\n" + atoms));
  EXPECT_EQ(at(d, "atomic_numbers", 0), 29);
  EXPECT_EQ(at(d, "atomic_numbers", 1), 28);
  // The list wins over both, and masses stay the file's.
  d = first(parse("comment" + body + "1 63.55 # Cu\n2 58.6934\n" + atoms, {"Ag", "Au"}));
  EXPECT_EQ(at(d, "atomic_numbers", 0), 47);
  EXPECT_EQ(at(d, "masses", 0), 63.55);
  // No Masses: standard weights of the listed elements.
  d = first(
      parse("comment\n\n1 atoms\n1 atom types\n0 2 xlo xhi\n0 2 ylo yhi\n0 2 zlo zhi\nAtoms\n\n1 1 0 0 0\n", {"Si"}));
  EXPECT_EQ(at(d, "masses", 0), atomic_mass(14));
  EXPECT_FALSE(d.has("charges"));
  EXPECT_FALSE(d.has("image_flags"));
  // What cannot be told, or was told wrong.
  EXPECT_NE(error_of<FormatError>([&] {
              parse("comment" + body + "1 12.3\n2 58.69\n" + atoms);
            }).find("t.data:8: cannot tell the element of atom type 1 from its mass 12.3"),
            std::string::npos);
  EXPECT_NE(error_of<FormatError>([&] {
              parse("comment" + body + "1 247.0703\n2 58.69\n" + atoms);
            }).find("more than one"),  // Cm and Bk
            std::string::npos);
  EXPECT_NE(error_of<FormatError>([&] {
              parse("comment\n\n1 atoms\n1 atom types\n0 2 xlo xhi\n0 2 ylo yhi\n0 2 zlo zhi\nAtoms\n\n1 1 0 0 0\n");
            }).find("no Masses for it; give the elements"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] {
              parse("comment" + body + "1 1\n2 2\n" + atoms, {"Cu"});
            }).find("t.data: the file has 2 atom types but 1 elements were given"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] {
              parse("comment" + body + "1 1\n2 2\n" + atoms, {"Cu", "Xy"});
            }).find("unknown element 'Xy'"),
            std::string::npos);
}

TEST(LammpsData, AseReadsWhatBatchmdWrites) {
  const auto dir = test_dir("lmp_to_ase");
  const AtomicData d = alloy(8);
  const fs::path file = dir / "ours.data";
  io::write_structures(file, std::span<const AtomicData>(&d, 1));
  const json ase = io_test::ase("read lammps-data '" + file.string() + "' style=charge types=Ni,Cu");
  ASSERT_EQ(ase["frames"].size(), 1u);
  const json& f = ase["frames"][0];
  for (std::int64_t a = 0; a < d.n_atoms(); ++a) {
    EXPECT_EQ(f["numbers"][a].get<std::int64_t>(), at(d, "atomic_numbers", a));
    // ASE converts g/mol to amu through CODATA constants (a 2.6e-10 relative change).
    EXPECT_TRUE(close(f["masses"][a].get<double>(), at(d, "masses", a), 1e-9));
    EXPECT_EQ(f["charges"][a].get<double>(), at(d, "charges", a));
    EXPECT_EQ(f["arrays"]["travel"][a][1].get<std::int64_t>(), at(d, "image_flags", a, 1));
    for (int c = 0; c < 3; ++c) {
      EXPECT_EQ(f["positions"][a][c].get<double>(), at(d, "positions", a, c));
      // ASE converts metal velocities (Å/ps) to its own unit.
      EXPECT_TRUE(close(f["velocities"][a][c].get<double>() * io::kAseFs, at(d, "velocities", a, c), 1e-14));
    }
  }
  for (int k = 0; k < 9; ++k) EXPECT_EQ(f["cell"][k / 3][k % 3].get<double>(), at(d, "cell", 0, k));
}

TEST(LammpsData, BatchmdReadsWhatAseWrites) {
  const auto dir = test_dir("ase_to_lmp");
  const fs::path file = dir / "ase.data";
  const json mem = io_test::ase("write lammps-data '" + file.string() + "' lammps");
  const json back = io_test::ase("read lammps-data '" + file.string() + "' style=charge types=Cu,Ni");
  // ASE writes no Masses: the types' elements must be given.
  EXPECT_NE(error_of<FormatError>([&] { io::read_structures(file); }).find("give the elements"), std::string::npos);
  io::ReadOptions o;
  o.elements = {"Cu", "Ni"};
  const auto got = io::read_structures(file, o);
  ASSERT_EQ(got.size(), 1u);
  const AtomicData& d = got[0];
  const json& f = back["frames"][0];
  const json& m = mem["frames"][0];
  ASSERT_EQ(d.n_atoms(), 4);
  for (std::int64_t a = 0; a < 4; ++a) {
    EXPECT_EQ(at(d, "atomic_numbers", a), m["numbers"][a].get<double>());
    EXPECT_EQ(at(d, "masses", a), m["masses"][a].get<double>());
    EXPECT_EQ(at(d, "charges", a), f["charges"][a].get<double>());
    EXPECT_EQ(at(d, "charges", a), m["charges"][a].get<double>());
    for (int c = 0; c < 3; ++c) {
      EXPECT_EQ(at(d, "positions", a, c), f["positions"][a][c].get<double>());
      EXPECT_NEAR(at(d, "positions", a, c), m["positions"][a][c].get<double>(), 1e-12);
      EXPECT_TRUE(close(at(d, "velocities", a, c), f["velocities"][a][c].get<double>() * io::kAseFs, 1e-14));
      EXPECT_TRUE(close(at(d, "velocities", a, c), m["velocities"][a][c].get<double>() * io::kAseFs, 1e-12));
    }
  }
  for (int k = 0; k < 9; ++k) EXPECT_EQ(at(d, "cell", 0, k), f["cell"][k / 3][k % 3].get<double>());
}

TEST(LammpsData, LammpsReadsWhatBatchmdWritesAndBack) {
  // lmp reads batchmd's file and writes it out again (write_data: its own layout, atoms in any
  // order, full-precision numbers, image flags, velocities in Å/ps); batchmd reads that back.
  const std::string lmp = BATCHMD_LMP;
  ASSERT_FALSE(lmp.empty() || lmp.find("NOTFOUND") != std::string::npos)
      << "lmp (Debian's lammps package) is needed for this test";
  const auto dir = test_dir("lmp_process");
  const AtomicData d = alloy(9);
  io::write_structures(dir / "in.data", std::span<const AtomicData>(&d, 1));
  ASSERT_TRUE(test_support::run_lammps(
      dir, "units metal\natom_style charge\nboundary p p p\nread_data in.data\nwrite_data out.data\n", lmp));
  ASSERT_TRUE(fs::exists(dir / "out.data")) << slurp(dir / "in.lmp");
  const std::string text = slurp(dir / "out.data");
  EXPECT_NE(text.find("Atoms # charge"), std::string::npos) << text;
  const AtomicData back = first(io::read_structures(dir / "out.data"));  // types from LAMMPS's masses
  ASSERT_EQ(back.n_atoms(), d.n_atoms());
  // LAMMPS keeps triclinic positions through its fractional (lamda) coordinates: equal to
  // rounding. Everything else is exact.
  for (const char* f : {"atomic_numbers", "masses", "charges", "image_flags", "cell", "pbc"}) {
    SCOPED_TRACE(f);
    ASSERT_TRUE(back.has(f));
    for (std::int64_t i = 0; i < d.get(f).numel(); ++i) EXPECT_EQ(at(d, f, 0, i), at(back, f, 0, i)) << i;
  }
  for (std::int64_t i = 0; i < 3 * d.n_atoms(); ++i) {
    EXPECT_NEAR(at(d, "positions", 0, i), at(back, "positions", 0, i), 1e-14) << i;
    EXPECT_TRUE(close(at(d, "velocities", 0, i), at(back, "velocities", 0, i), 1e-15)) << i;
  }
}

TEST(LammpsData, MalformedFilesNameTheFileAndLine) {
  const std::string head =
      "c\n\n2 atoms\n1 atom types\n0 4 xlo xhi\n0 4 ylo yhi\n0 4 zlo zhi\n\nMasses\n\n1 63.546\n\n";
  const std::pair<std::string, std::string> cases[] = {
      {"", "t.data:1: unexpected end of file: expected the first (comment) line"},
      {"c\n\n2 atoms\n", "t.data: the header has no 'atom types' line"},
      {"c\n\n1 atom types\n\nAtoms\n\n", "t.data: the header has no 'atoms' line"},
      {"c\n\n2 atoms\n1 atom types\n0 4 xlo\n", "t.data:5: unknown header line '0 4 xlo'"},
      {"c\n\n2 atoms\n1 atom types\n4 0 xlo xhi\n", "t.data:5: 'xlo xhi': the upper bound must be above"},
      {"c\n\n2 atoms\n1 atom types\n0 nan xlo xhi\n", "t.data:5: 'xlo xhi' is 'nan', not a finite number"},
      {"c\n\n2 atoms\n1 atom types\n3 bonds\n", "t.data:5: the file has 3 bonds; batchmd reads atom styles atomic"},
      {"c\n\n2 atoms\n1 atom types\n0 4 wlo whi\n", "t.data:5: unknown header line '0 4 wlo whi'"},
      {"c\n\n2 atoms\n1 atom types\n7 widgets\n", "t.data:5: unknown header line '7 widgets'"},
      {"c\n\n2 atoms\n1 atom types\n0 4 xlo xhi 5\n", "t.data:5: unknown header line"},
      {"c\n\n2 atoms\n1 atom types\n1 2 atoms\n", "t.data:5: expected one integer before 'atoms'"},
      {"c\n\n2 atoms\n1 atom types\n0 4 0 xlo xhi\n", "t.data:5: expected 2 numbers before 'xlo xhi'"},
      {"c\n\n-2 atoms\n", "t.data:3: the number of atoms must be >= 0"},
      {"c\n\n2 atoms\n99999999999999 atom types\n", "t.data:4: the file has 99999999999999 atom types (at most"},
      {"c\n\n2 atoms\n0 atom types\n", "t.data:4: the file has 0 atom types"},
      {head + "Atoms\n\n1 1 0 0 0\n", "t.data:16: unexpected end of file: the Atoms section has 1 lines, expected 2"},
      {head + "Atoms\n\n1 1 0 0 0\nVelocities\n\n1 0 0 0\n", "t.data:16: the Atoms section ends after 1 lines"},
      {head + "Atoms\n\n1 1 0 0 0\n2 2 1 1 1\n", "t.data:16: atom type 2 is outside 1..1"},
      {head + "Atoms\n\n1 1 0 0 0\n2 1 1 1 1 0 0\n", "t.data:16: an Atoms line of style atomic has 5 or 8 values"},
      {head + "Atoms\n\n1 1 0 0 0 0 0\n2 1 1 1 1 0 0\n", "t.data:15: an Atoms line of 7 values fits neither"},
      {head + "Atoms # full\n\n1 1 1 0 0 0 0\n2 1 1 0 1 1 1\n", "t.data:13: atom style 'full' is not supported"},
      {head + "Atoms\n\n1 1 0 0 0\n1 1 1 1 1\n", "t.data:16: atom id 1 appears twice in Atoms"},
      {head + "Atoms\n\n1 1 0 0 0\n2 1 1 inf 1\n", "t.data:16: the position is 'inf', not a finite number"},
      {head + "Atoms\n\n0 1 0 0 0\n2 1 1 1 1\n", "t.data:15: atom id 0 must be >= 1"},
      {head + "Atoms\n\n1 1 0 0 0\n2 1 1 1 1\n\nVelocities\n\n1 0 0 0\n3 0 0 0\n",
       "the Velocities section has no velocity for atom id 2"},
      {head + "Atoms\n\n1 1 0 0 0\n2 1 1 1 1\n\nVelocities\n\n1 0 0 0\n1 0 0 0\n",
       "t.data:21: a second velocity for atom id 1"},
      {head + "Atoms\n\n1 1 0 0 0\n2 1 1 1 1\n\nBonds\n\n1 1 1 2\n", "t.data:18: the Bonds section is not supported"},
      {head + "Atoms\n\n1 1 0 0 0\n2 1 1 1 1\nWidgets\n", "t.data:17: expected a section name"},
      {"c\n\n2 atoms\n2 atom types\n\nMasses\n\n1 63.5\n1 63.5\n", "t.data:9: a second mass for atom type 1"},
      {"c\n\n2 atoms\n1 atom types\n\nMasses\n\n1 -3\n", "t.data:8: the mass of atom type 1 must be > 0"},
      {"c\n\n2 atoms\n1 atom types\n\nMasses\n\n1 63.546 2\n", "t.data:8: a Masses line is 'type mass'"},
      {"c\n\n2 atoms\n1 atom types\n\nMasses\n\n1 63.546\n", "no Atoms section"},
      // Another format: an extended XYZ file.
      {"2\nProperties=species:S:1:pos:R:3\nCu 0 0 0\nCu 1 1 1\n", "t.data:2: unknown header line"},
  };
  for (const auto& [text, want] : cases) {
    const std::string e = error_of<FormatError>([&] { parse(text); });
    EXPECT_NE(e.find(want), std::string::npos) << "file:\n" << text << "\nerror: " << e << "\nwanted: " << want;
  }
}
