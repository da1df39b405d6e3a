// SPDX-License-Identifier: Apache-2.0
// The io entry points: format names and detection by file name, frame selections, file errors
// (missing, a directory, an unknown name), atomic writes (a failed write leaves the old file), what
// each format can hold, the CIF seam, and the element symbol table of the data module.
#include "batchmd/data/schema.hpp"
#include "batchmd/io/cif.hpp"
#include "batchmd/io/structures.hpp"
#include "io_test_util.hpp"

using namespace batchmd;
using namespace io_test;

TEST(Structures, FormatNamesAndDetection) {
  for (io::Format f : {io::Format::ExtXYZ, io::Format::LammpsData, io::Format::Poscar, io::Format::Cif})
    EXPECT_EQ(io::format_from_name(io::format_name(f)), f);
  EXPECT_EQ(io::format_from_name("XYZ"), io::Format::ExtXYZ);
  EXPECT_EQ(io::format_from_name("lammps"), io::Format::LammpsData);
  EXPECT_EQ(io::format_from_name("vasp"), io::Format::Poscar);
  EXPECT_NE(error_of<InvalidArgument>([] {
              io::format_from_name("pdb");
            }).find("unknown structure format 'pdb' (expected extxyz, lammps-data, poscar or cif)"),
            std::string::npos);
  const std::pair<const char*, std::optional<io::Format>> names[] = {
      {"a/b/traj.xyz", io::Format::ExtXYZ},  {"x.EXTXYZ", io::Format::ExtXYZ},    {"cu.data", io::Format::LammpsData},
      {"cu.lmp", io::Format::LammpsData},    {"data.cu", io::Format::LammpsData}, {"POSCAR", io::Format::Poscar},
      {"dir/CONTCAR_7", io::Format::Poscar}, {"si.vasp", io::Format::Poscar},     {"NaCl.cif", io::Format::Cif},
      {"notes.txt", std::nullopt},           {"Makefile", std::nullopt},
  };
  for (const auto& [name, want] : names) EXPECT_EQ(io::format_from_path(name), want) << name;
  EXPECT_FALSE(io::can_write(io::Format::Cif));
  EXPECT_TRUE(io::holds_many(io::Format::ExtXYZ));
  EXPECT_FALSE(io::holds_many(io::Format::Poscar));
}

TEST(Structures, FrameSelectionParsesLikePython) {
  auto r = [](const std::string& s, std::int64_t n) { return io::FrameSelection::parse(s).resolve(n, "f"); };
  using V = std::vector<std::int64_t>;
  EXPECT_EQ(r(":", 3), (V{0, 1, 2}));
  EXPECT_EQ(r("::", 3), (V{0, 1, 2}));
  EXPECT_EQ(r("-2:", 5), (V{3, 4}));
  EXPECT_EQ(r(":-1", 4), (V{0, 1, 2}));
  EXPECT_EQ(r("1:100:3", 8), (V{1, 4, 7}));
  EXPECT_EQ(r("::-1", 3), (V{2, 1, 0}));
  EXPECT_EQ(r("5:1:-2", 8), (V{5, 3}));
  EXPECT_EQ(r(" 2 , -1 ", 4), (V{2, 3}));
  EXPECT_EQ(r("0", 1), (V{0}));
  EXPECT_TRUE(io::FrameSelection::parse(":").is_all());
  EXPECT_TRUE(io::FrameSelection().is_all());
  EXPECT_FALSE(io::FrameSelection::parse("0").is_all());
  for (const char* s : {"1:2:3", "::-1", "4,5", ":7", "-3"}) EXPECT_EQ(io::FrameSelection::parse(s).str(), s);
  for (const char* bad : {"", "a", "1:2:3:4", "::0", "1,,2", "1.5", "--1"})
    EXPECT_NE(error_of<InvalidArgument>([&] { io::FrameSelection::parse(bad); }).find("frames:"), std::string::npos)
        << bad;
  EXPECT_NE(error_of<InvalidArgument>([&] { r("-4", 3); }).find("frames: index -4 is out of range: f has 3 frames"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] { r("1", 1); }).find("f has 1 frame"), std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] { r("3:", 3); }).find("frames: '3:' selects no frame"), std::string::npos);
}

TEST(Structures, SingleFrameFormatsHaveFrameZero) {
  const std::string poscar = "x\n1\n3 0 0\n0 3 0\n0 0 3\nCu\n1\nCartesian\n0 0 0\n";
  io::ReadOptions o;
  o.frames = io::FrameSelection::parse("-1");
  EXPECT_EQ(io::parse_structures(poscar, io::Format::Poscar, o).size(), 1u);
  o.frames = io::FrameSelection::parse("1");
  EXPECT_NE(error_of<InvalidArgument>([&] {
              io::parse_structures(poscar, io::Format::Poscar, o, "POSCAR");
            }).find("frames: index 1 is out of range: POSCAR has 1 frame"),
            std::string::npos);
}

TEST(Structures, FileErrors) {
  const auto dir = test_dir("files");
  EXPECT_NE(error_of<IOError>([&] { io::read_structures(dir / "missing.xyz"); }).find("missing.xyz"),
            std::string::npos);
  fs::create_directories(dir / "adir.xyz");
  EXPECT_NE(error_of<IOError>([&] { io::read_structures(dir / "adir.xyz"); }).find("it is a directory"),
            std::string::npos);
  write_file(dir / "structure.txt", "1\n\nCu 0 0 0\n");
  EXPECT_NE(error_of<InvalidArgument>([&] {
              io::read_structures(dir / "structure.txt");
            }).find("cannot tell the format of '" + (dir / "structure.txt").string() + "' from its name"),
            std::string::npos);
  io::ReadOptions o;
  o.format = io::Format::ExtXYZ;
  EXPECT_EQ(io::read_structures(dir / "structure.txt", o).size(), 1u);
  // A FormatError from a file names its path.
  write_file(dir / "bad.xyz", "1\n\nCu 0 0\n");
  EXPECT_NE(
      error_of<FormatError>([&] { io::read_structures(dir / "bad.xyz"); }).find((dir / "bad.xyz").string() + ":3:"),
      std::string::npos);
}

TEST(Structures, FailedWriteLeavesTheOldFile) {
  const auto dir = test_dir("atomic");
  const fs::path target = dir / "keep.data";
  write_file(target, "old content\n");
  const AtomicData open = AtomicData::make(DType::Float64, {0, 0, 0}, {29});
  EXPECT_NE(error_of<InvalidArgument>([&] {
              io::write_structures(target, std::span<const AtomicData>(&open, 1));
            }).find("no cell"),
            std::string::npos);
  EXPECT_EQ(slurp(target), "old content\n");
  // A directory that does not exist: IOError naming it.
  EXPECT_NE(error_of<IOError>([&] {
              io::write_structures(dir / "no" / "such" / "x.xyz", std::span<const AtomicData>(&open, 1));
            }).find("no/such"),
            std::string::npos);
  // A good write replaces the file; no temporary file stays behind.
  io::write_structures(dir / "ok.xyz", std::span<const AtomicData>(&open, 1));
  EXPECT_EQ(slurp(dir / "ok.xyz").rfind("1\nProperties=species:S:1:pos:R:3:masses:R:1\nCu 0.0 0.0 0.0 63.546\n", 0),
            0u);
  for (const auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  // What a format cannot hold.
  EXPECT_NE(error_of<InvalidArgument>([&] {
              io::write_structures(dir / "x.cif", std::span<const AtomicData>(&open, 1));
            }).find("batchmd reads cif files but does not write them"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] {
              io::write_structures(dir / "x.xyz", std::span<const AtomicData>());
            }).find("no system to write"),
            std::string::npos);
}

TEST(Structures, CifSeam) {
  const std::string cif =
      "data_Cu\n_cell_length_a 3.6\n_cell_length_b 3.6\n_cell_length_c 3.6\n"
      "_space_group_IT_number 225\nloop_\n_atom_site_label\n_atom_site_fract_x\n"
      "_atom_site_fract_y\n_atom_site_fract_z\nCu1 0 0 0\n";
  if (io::cif_supported()) {
    EXPECT_EQ(io::parse_structures(cif, io::Format::Cif).at(0).n_atoms(), 4);
  } else {
    EXPECT_NE(error_of<InvalidArgument>([&] {
                io::parse_structures(cif, io::Format::Cif);
              }).find("built without CIF support"),
              std::string::npos);
  }
}

TEST(Structures, ElementSymbols) {
  EXPECT_EQ(element_symbol(1), "H");
  EXPECT_EQ(element_symbol(29), "Cu");
  EXPECT_EQ(element_symbol(118), "Og");
  for (std::int64_t z = 1; z <= 118; ++z) {
    EXPECT_EQ(atomic_number(element_symbol(z)), z);
    EXPECT_GT(atomic_mass(z), atomic_mass(1) * 0.99);
  }
  EXPECT_EQ(atomic_number("cu"), 29);
  EXPECT_EQ(atomic_number("CU"), 29);
  EXPECT_EQ(atomic_number("o"), 8);
  EXPECT_FALSE(find_atomic_number("X"));
  EXPECT_FALSE(find_atomic_number(""));
  EXPECT_FALSE(find_atomic_number("Cu1"));
  EXPECT_NE(error_of<InvalidArgument>([] { atomic_number("Xx"); }).find("unknown element 'Xx'"), std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([] { element_symbol(0); }).find("no element has atomic number 0"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([] { element_symbol(119); }).find("119"), std::string::npos);
  EXPECT_EQ(atomic_mass(29), 63.546);
  EXPECT_EQ(atomic_mass(28), 58.6934);  // ASE's value (IUPAC 2016)
}
