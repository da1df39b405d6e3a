// SPDX-License-Identifier: Apache-2.0
// VASP POSCAR/CONTCAR: round trips (Cartesian and Direct, species runs kept in atom order,
// selective dynamics, velocities); scale factors (one, a negative volume, three); VASP 4 files
// and POTCAR labels; a CONTCAR's extra blocks; ASE reads what batchmd writes and batchmd reads
// what ASE writes; malformed files, each a FormatError naming the file and line.
#include <cmath>

#include "batchmd/data/schema.hpp"
#include "batchmd/io/poscar.hpp"
#include "batchmd/io/structures.hpp"
#include "io_test_util.hpp"

using namespace batchmd;
using namespace io_test;

namespace {

AtomicData first(std::vector<AtomicData> v) { return std::move(v.at(0)); }

/// Fe/Co in a skewed cell, species interleaved (Fe Co Co Fe Fe), flags and velocities.
AtomicData magnet() {
  AtomicData d = AtomicData::make(
      DType::Float64, {0.1, 0.2, 0.3, 1.0 / 3.0, 1.5, 0.25, 2.0, 0.5, 1.0 / 7.0, 0.9, 2.2, 2.8, 2.5, 2.5, 0.05},
      {26, 27, 27, 26, 26}, {2.8, 0.1, 0.0, 0.0, 2.9, 0.2, 0.3, 0.0, 3.1}, {true, true, true});
  d.set("selective_dynamics", Level::Atom,
        Tensor::from<bool>(
            {true, true, true, false, false, false, true, false, true, true, true, true, false, true, false}, {5, 3}));
  Tensor v(DType::Float64, {5, 3});
  for (int i = 0; i < 15; ++i) v.data<double>()[i] = 1e-3 * std::cos(static_cast<double>(i));
  d.set("velocities", Level::Atom, std::move(v));
  return d;
}

std::vector<AtomicData> parse(const std::string& text, std::vector<std::string> elements = {}) {
  io::ReadOptions o;
  o.elements = std::move(elements);
  return io::parse_structures(text, io::Format::Poscar, o, "POSCAR");
}

std::string write(const AtomicData& d, bool direct = false) {
  io::WriteOptions o;
  o.direct = direct;
  return io::format_structures(std::span<const AtomicData>(&d, 1), io::Format::Poscar, o);
}

}  // namespace

TEST(Poscar, CartesianRoundTripIsExact) {
  const AtomicData d = magnet();
  const std::string text = write(d);
  EXPECT_NE(text.find("\n Fe Co Fe\n 1 2 2\nSelective dynamics\nCartesian\n"), std::string::npos) << text;
  expect_same_system(d, first(parse(text)));
}

TEST(Poscar, DirectRoundTrip) {
  const AtomicData d = magnet();
  const std::string text = write(d, true);
  EXPECT_NE(text.find("\nDirect\n"), std::string::npos);
  const AtomicData back = first(parse(text));
  for (std::int64_t i = 0; i < 15; ++i) EXPECT_NEAR(at(back, "positions", 0, i), at(d, "positions", 0, i), 1e-14);
  AtomicData a = d.clone(), b = back.clone();
  a.erase("positions");
  b.erase("positions");
  expect_same_system(a, b);
}

TEST(Poscar, ScaleFactorsVasp4AndPotcarLabels) {
  const std::string tail = "Cartesian\n0 0 0\n1 1 1\n";
  // One factor scales the lattice and Cartesian positions.
  AtomicData d = first(parse("x\n2.0\n1 0 0\n0 1 0\n0 0 1.5\nCu_pv Ni/8a2b\n1 1\n" + tail));
  EXPECT_EQ(at(d, "cell", 0, 8), 3.0);
  EXPECT_EQ(at(d, "positions", 1, 2), 2.0);
  EXPECT_EQ(at(d, "atomic_numbers", 0), 29);
  EXPECT_EQ(at(d, "atomic_numbers", 1), 28);
  // A negative factor is the volume.
  d = first(parse("x\n-27\n1 0 0\n0 1 0\n0 0 1\nCu Ni\n1 1\n" + tail));
  EXPECT_NEAR(at(d, "cell", 0, 0), 3.0, 1e-15);
  EXPECT_NEAR(at(d, "positions", 1, 1), 3.0, 1e-15);
  // Three factors scale x, y and z.
  d = first(parse("x\n1 2 3\n1 0 0\n0 1 0\n0 0 1\nCu Ni\n1 1\n" + tail));
  EXPECT_EQ(at(d, "cell", 0, 4), 2.0);
  EXPECT_EQ(at(d, "positions", 1, 2), 3.0);
  // Direct coordinates use the scaled lattice; 'd' and anything not C/K mean Direct.
  d = first(parse("x\n2.0\n1 0 0\n0 1 0\n0 0 1\nCu Ni\n1 1\nd\n0 0 0\n0.5 0.25 0.125\n"));
  EXPECT_EQ(at(d, "positions", 1, 0), 1.0);
  EXPECT_EQ(at(d, "positions", 1, 2), 0.25);
  // VASP 4: counts right after the lattice; the species must be given.
  const std::string vasp4 = "Cu Ni\n1.0\n3 0 0\n0 3 0\n0 0 3\n1 1\n" + tail;
  EXPECT_NE(error_of<FormatError>([&] {
              parse(vasp4);
            }).find("POSCAR:6: a VASP 4 POSCAR (no species line): give the elements of the species"),
            std::string::npos);
  d = first(parse(vasp4, {"Ag", "au"}));
  EXPECT_EQ(at(d, "atomic_numbers", 1), 79);
  EXPECT_NE(error_of<InvalidArgument>([&] { parse(vasp4, {"Ag"}); }).find("2 species but 1 elements"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] {
              parse("x\n1\n3 0 0\n0 3 0\n0 0 3\nCu Ni\n1 1\n" + tail, {"Ni", "Cu"});
            }).find("do not match the file's species line"),
            std::string::npos);
  // Extra tokens after the coordinates (site labels some tools write) are ignored, as by VASP.
  d = first(parse("x\n1\n3 0 0\n0 3 0\n0 0 3\nCu\n1\nCartesian\n0.5 0.5 0.5 Cu1 ! comment\n"));
  EXPECT_EQ(at(d, "positions", 0, 0), 0.5);
}

TEST(Poscar, ContcarVelocitiesAndLatticeBlock) {
  const std::string head = "Si\n1.0\n5 0 0\n0 5 0\n0 0 5\nSi\n2\nDirect\n0 0 0\n0.25 0.25 0.25\n";
  // Velocities after a blank line: Cartesian Å/fs.
  AtomicData d = first(parse(head + "\n0.001 0.002 0.003\n-0.001 0 0\n\n predictor-corrector data\n 1 2 3\n"));
  EXPECT_EQ(at(d, "velocities", 0, 2), 0.003);
  EXPECT_EQ(at(d, "velocities", 1, 0), -0.001);
  // A lattice-velocities block is skipped.
  d = first(parse(head + "Lattice velocities and vectors\n 1\n 0 0 0\n 0 0 0\n 0 0 0\n 5 0 0\n 0 5 0\n 0 0 5\n"
                         "Cartesian\n0.1 0.2 0.3\n0.4 0.5 0.6\n"));
  EXPECT_EQ(at(d, "velocities", 1, 1), 0.5);
  // Trailing blank lines: no velocities.
  d = first(parse(head + "\n\n"));
  EXPECT_FALSE(d.has("velocities"));
  EXPECT_FALSE(d.has("selective_dynamics"));
}

TEST(Poscar, AseReadsWhatBatchmdWrites) {
  const auto dir = test_dir("poscar_to_ase");
  const AtomicData d = magnet();
  for (bool direct : {false, true}) {
    SCOPED_TRACE(direct ? "Direct" : "Cartesian");
    const fs::path file = dir / (direct ? "POSCAR_direct" : "POSCAR");
    write_file(file, write(d, direct));
    const json ase = io_test::ase("read vasp '" + file.string() + "'");
    ASSERT_EQ(ase["frames"].size(), 1u);
    const json& f = ase["frames"][0];
    for (int k = 0; k < 9; ++k) EXPECT_EQ(f["cell"][k / 3][k % 3].get<double>(), at(d, "cell", 0, k));
    for (std::int64_t a = 0; a < 5; ++a) {
      EXPECT_EQ(f["numbers"][a].get<std::int64_t>(), at(d, "atomic_numbers", a));
      for (int c = 0; c < 3; ++c) {
        if (direct)
          EXPECT_NEAR(f["positions"][a][c].get<double>(), at(d, "positions", a, c), 1e-14);
        else
          EXPECT_EQ(f["positions"][a][c].get<double>(), at(d, "positions", a, c));
        EXPECT_EQ(f["selective"][a][c].get<bool>(), at(d, "selective_dynamics", a, c) != 0);
      }
    }
  }
}

TEST(Poscar, BatchmdReadsWhatAseWrites) {
  const auto dir = test_dir("ase_to_poscar");
  const fs::path file = dir / "POSCAR";
  const json mem = io_test::ase("write vasp '" + file.string() + "' vasp");
  const json back = io_test::ase("read vasp '" + file.string() + "'");
  const AtomicData d = first(io::read_structures(file));  // POSCAR: the name says the format
  const json& f = back["frames"][0];
  const json& m = mem["frames"][0];
  ASSERT_EQ(d.n_atoms(), 6);
  for (int k = 0; k < 9; ++k) {
    EXPECT_EQ(at(d, "cell", 0, k), f["cell"][k / 3][k % 3].get<double>());
    EXPECT_EQ(at(d, "cell", 0, k), m["cell"][k / 3][k % 3].get<double>());
  }
  for (std::int64_t a = 0; a < 6; ++a) {
    EXPECT_EQ(at(d, "atomic_numbers", a), m["numbers"][a].get<double>());
    EXPECT_EQ(at(d, "masses", a), m["masses"][a].get<double>());
    for (int c = 0; c < 3; ++c) {
      EXPECT_NEAR(at(d, "positions", a, c), f["positions"][a][c].get<double>(), 1e-14);
      EXPECT_NEAR(at(d, "positions", a, c), m["positions"][a][c].get<double>(), 1e-14);  // 16 decimals written
      EXPECT_EQ(at(d, "selective_dynamics", a, c) != 0, m["selective"][a][c].get<bool>()) << a << "," << c;
    }
  }
}

TEST(Poscar, WriterRefusesWhatPoscarCannotHold) {
  const AtomicData open = AtomicData::make(DType::Float64, {0, 0, 0}, {29});
  EXPECT_NE(error_of<InvalidArgument>([&] { write(open); }).find("no cell"), std::string::npos);
  std::vector<AtomicData> two;
  two.push_back(magnet());
  two.push_back(magnet());
  EXPECT_NE(error_of<InvalidArgument>([&] {
              io::format_structures(two, io::Format::Poscar);
            }).find("a poscar file holds one system, not 2"),
            std::string::npos);
}

TEST(Poscar, MalformedFilesNameTheFileAndLine) {
  const std::string lat = "x\n1.0\n3 0 0\n0 3 0\n0 0 3\n";
  const std::pair<std::string, std::string> cases[] = {
      {"", "POSCAR:1: unexpected end of file: expected the comment line"},
      {"x\n", "POSCAR:2: unexpected end of file: expected the scale factor"},
      {"x\n1 2\n", "POSCAR:2: expected one scale factor (or three, or a negative volume), found 2 values"},
      {"x\nabc\n", "POSCAR:2: expected the scale factor, found 'abc' (is this a POSCAR file?)"},
      {"x\nnan\n", "POSCAR:2: the scale is 'nan', not a finite number"},
      {"x\n0\n", "POSCAR:2: the scale factor is 0"},
      {"x\n1 -1 1\n", "POSCAR:2: three scale factors must all be > 0"},
      {"x\n1.0\n3 0 0\n0 3\n", "POSCAR:4: expected 3 numbers for lattice vector b"},
      {"x\n1.0\n3 0 0\n0 3 0\n", "POSCAR:5: unexpected end of file: expected a lattice vector"},
      {"x\n1.0\n3 0 0\n0 3 0\n0 nan 3\n", "POSCAR:5: lattice vector c is 'nan', not a finite number"},
      {"x\n1.0\n3 0 0\n6 0 0\n0 0 3\nCu\n1\nC\n0 0 0\n", "POSCAR:5: the lattice vectors are linearly dependent"},
      {"x\n-8\n3 0 0\n6 0 0\n0 0 3\n", "POSCAR:2: the lattice has no volume"},
      {lat + "Cu Qx\n1 1\n", "POSCAR:6: unknown element 'Qx' in the species line"},
      {lat + "Cu Ni\n1\n", "POSCAR:7: 2 species but 1 counts"},
      {lat + "Cu\n1.5\n", "POSCAR:7: expected an integer for an atom count, found '1.5'"},
      {lat + "Cu\n0\n", "POSCAR:7: atom counts must be >= 1"},
      {lat + "Cu\n99999999999\n", "POSCAR:7: atom count 99999999999 is more than the file holds"},
      {lat + "\n", "POSCAR:6: expected the species or the counts of atoms, found an empty line"},
      {lat + "Cu\n2\nCartesian\n0 0 0\n", "POSCAR:10: unexpected end of file: expected an atom position"},
      {lat + "Cu\n2\nCartesian\n0 0 0\n1 1\n", "POSCAR:10: expected 3 coordinates, found '1 1'"},
      {lat + "Cu\n1\nCartesian\n0 inf 0\n", "POSCAR:9: a coordinate is 'inf', not a finite number"},
      {lat + "Cu\n1\nSelective dynamics\nCartesian\n0 0 0 T F\n", "POSCAR:10: expected 3 coordinates and 3 T/F flags"},
      {lat + "Cu\n1\nSelective dynamics\nCartesian\n0 0 0 T F X\n", "POSCAR:10: expected a selective dynamics flag"},
      {lat + "Cu\n1\nCartesian\n0 0 0\n1 1 1\n", "POSCAR:10: unexpected line after the positions: '1 1 1'"},
      {lat + "Cu\n1\nCartesian\n0 0 0\nDirect\n0 0 0\n", "POSCAR:10: velocities in Direct coordinates"},
      {lat + "Cu\n2\nCartesian\n0 0 0\n1 1 1\n\n0 0 0\n",
       "POSCAR:13: unexpected end of file: expected an atom velocity"},
      {lat + "Cu\n1\nCartesian\n0 0 0\n\n0 0 nan\n", "POSCAR:11: a velocity is 'nan', not a finite number"},
      // Another format: an extended XYZ file, a LAMMPS data file.
      {"2\nProperties=species:S:1:pos:R:3\nCu 0 0 0\nCu 1 1 1\n",
       "POSCAR:2: expected the scale factor, found 'Properties"},
      {"LAMMPS data\n\n2 atoms\n", "POSCAR:2: expected one scale factor (or three, or a negative volume), found 0"},
  };
  for (const auto& [text, want] : cases) {
    const std::string e = error_of<FormatError>([&] { parse(text); });
    EXPECT_NE(e.find(want), std::string::npos) << "file:\n" << text << "\nerror: " << e << "\nwanted: " << want;
  }
}
