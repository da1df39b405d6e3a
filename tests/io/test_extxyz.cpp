// SPDX-License-Identifier: Apache-2.0
// Extended XYZ: batchmd's writer and reader round-trip every field kind exactly; ASE reads what
// batchmd writes (velocities through ASE's momenta) and batchmd reads what ASE writes, compared
// with ASE's own reading of the same file; frame selection; the comment-line syntax ASE accepts;
// and malformed files, each a FormatError naming the file and line.
#include <cmath>
#include <numbers>

#include "batchmd/data/schema.hpp"
#include "batchmd/io/extxyz.hpp"
#include "batchmd/io/structures.hpp"
#include "io_test_util.hpp"

using namespace batchmd;
using namespace io_test;

namespace {

/// A periodic triclinic system with every kind of field: standard ones (velocities, forces,
/// charges, energy, a non-symmetric stress, virial, step/system_id/status) and user fields of
/// every dtype and several shapes.
AtomicData rich_system(std::int64_t n, double seed) {
  std::vector<double> pos;
  std::vector<std::int64_t> z;
  for (std::int64_t a = 0; a < n; ++a) {
    for (int c = 0; c < 3; ++c) pos.push_back(std::sqrt(2.0) * static_cast<double>(a + c) + seed / 3.0);
    z.push_back(1 + (a * 29 + static_cast<std::int64_t>(seed)) % 92);
  }
  AtomicData d =
      AtomicData::make(DType::Float64, pos, z,
                       {10.0 + seed / 7.0, 0, 0, 1.25, 11.0 + std::sqrt(3.0), 0, -0.5, 0.75, 12 + std::numbers::pi},
                       {true, false, true});
  Tensor v(DType::Float64, {n, 3}), f(DType::Float64, {n, 3}), q(DType::Float64, {n}), w(DType::Float64, {n, 2});
  Tensor im(DType::Int64, {n, 3}), flag(DType::Bool, {n}), one(DType::Float64, {n});
  for (std::int64_t i = 0; i < 3 * n; ++i) {
    v.data<double>()[i] = 1e-2 * std::sin(static_cast<double>(i) + seed);
    f.data<double>()[i] = -std::cos(0.7 * static_cast<double>(i) + seed) / 7.0;
    im.data<std::int64_t>()[i] = (i % 5) - 2;
  }
  for (std::int64_t a = 0; a < n; ++a) {
    q.data<double>()[a] = 0.1 * static_cast<double>(a) - 1.0 / 7.0;
    w.data<double>()[2 * a] = std::exp(-static_cast<double>(a));
    w.data<double>()[2 * a + 1] = 1e-300 * static_cast<double>(a + 1);
    flag.data<bool>()[a] = a % 2 == 0;
    one.data<double>()[a] = -0.0;
  }
  d.set("velocities", Level::Atom, std::move(v));
  d.set("forces", Level::Atom, std::move(f));
  d.set("charges", Level::Atom, std::move(q));
  d.set("weights", Level::Atom, std::move(w));
  d.set("image_flags", Level::Atom, std::move(im));
  d.set("mobile", Level::Atom, std::move(flag));
  d.set("zero", Level::Atom, std::move(one));
  Tensor s(DType::Float64, {1, 3, 3}), vir(DType::Float64, {1, 3, 3}), m22(DType::Float64, {1, 2, 2});
  for (int k = 0; k < 9; ++k) {
    s.data<double>()[k] = 1e-3 * (k + 1) + seed * 1e-5;
    vir.data<double>()[k] = -static_cast<double>(k * k) / 3.0;
  }
  for (int k = 0; k < 4; ++k) m22.data<double>()[k] = static_cast<double>(k) + 0.5;
  d.set("stress", Level::System, std::move(s));
  d.set("virial", Level::System, std::move(vir));
  d.set("matrix", Level::System, std::move(m22));
  d.set("energy", Level::System, Tensor::from<double>({-1.0 / 3.0 - seed}, {1}));
  d.set("temperature", Level::System, Tensor::from<double>({300.0 + seed}, {1}));
  d.set("direction", Level::System, Tensor::from<double>({1.0, -2.5, 1e-7}, {1, 3}));
  d.set("counts", Level::System, Tensor::from<std::int64_t>({3, -4}, {1, 2}));
  d.set("converged", Level::System, Tensor::from<bool>({true}, {1}));
  d.set("step", Level::System, Tensor::from<std::int64_t>({1000 + static_cast<std::int64_t>(seed)}, {1}));
  d.set("system_id", Level::System, Tensor::from<std::int64_t>({7}, {1}));
  d.set("status", Level::System, Tensor::from<std::int32_t>({2}, {1}));
  return d;
}

/// An open molecule (zero cell, no pbc) with only the standard fields.
AtomicData molecule() {
  return AtomicData::make(DType::Float64, {0.0, 0.0, 0.119, 0.0, 0.763, -0.477, 0.0, -0.763, -0.477}, {8, 1, 1});
}

std::vector<AtomicData> parse(const std::string& text, const io::ReadOptions& o = {}) {
  return io::parse_structures(text, io::Format::ExtXYZ, o, "t.xyz");
}

std::string write(std::span<const AtomicData> systems) { return io::format_structures(systems, io::Format::ExtXYZ); }

}  // namespace

TEST(ExtXYZ, RoundTripKeepsEveryFieldExactly) {
  std::vector<AtomicData> in;
  in.push_back(rich_system(5, 1.0));
  in.push_back(molecule());
  in.push_back(rich_system(3, 2.0));
  const std::string text = write(in);
  const auto out = parse(text);
  ASSERT_EQ(out.size(), in.size());
  for (std::size_t s = 0; s < in.size(); ++s) {
    SCOPED_TRACE("system " + std::to_string(s));
    AtomicData a = in[s].clone(), b = out[s].clone();
    // Velocities travel as ASE's momenta (m v / fs_ase) and come back as p / m * fs_ase: equal to
    // a few ulps, not bit for bit.
    if (a.has("velocities")) {
      ASSERT_TRUE(b.has("velocities"));
      for (std::int64_t i = 0; i < 3 * a.n_atoms(); ++i)
        EXPECT_TRUE(close(at(a, "velocities", 0, i), at(b, "velocities", 0, i), 1e-15)) << i;
      a.erase("velocities");
      b.erase("velocities");
    }
    expect_same_system(a, b);
  }
}

TEST(ExtXYZ, Float32AndNarrowIntegersReadBack) {
  AtomicData d = AtomicData::make(DType::Float32, {0.1, 0.2, 0.3, 1.0 / 3.0, 2.0, 1e-8}, {29, 28},
                                  {3.6, 0, 0, 0, 3.6, 0, 0, 0, 3.6}, {true, true, true});
  d.set("tag", Level::Atom, Tensor::from<std::uint8_t>({7, 255}, {2}));
  const auto text = write(std::span<const AtomicData>(&d, 1));
  // float32 values are written as their exact doubles: read as float32 they are bit-identical.
  io::ReadOptions o;
  o.float_dtype = DType::Float32;
  const auto back = parse(text, o);
  ASSERT_EQ(back.size(), 1u);
  AtomicData want = d.clone();
  want.set("tag", Level::Atom, Tensor::from<std::int64_t>({7, 255}, {2}));  // extxyz 'I' reads as int64
  expect_same_system(want, back[0]);
  EXPECT_EQ(back[0].get("positions").dtype(), DType::Float32);
}

TEST(ExtXYZ, AseReadsWhatBatchmdWrites) {
  const auto dir = test_dir("xyz_to_ase");
  std::vector<AtomicData> in;
  in.push_back(rich_system(6, 3.0));
  in.push_back(molecule());
  const fs::path file = dir / "out.xyz";
  io::write_structures(file, in);
  const json ase = io_test::ase("read extxyz '" + file.string() + "'");
  ASSERT_TRUE(ase.contains("frames"));
  ASSERT_EQ(ase["frames"].size(), 2u);
  EXPECT_DOUBLE_EQ(ase["fs"].get<double>(), io::kAseFs);
  for (std::size_t s = 0; s < in.size(); ++s) {
    SCOPED_TRACE("frame " + std::to_string(s));
    const AtomicData& d = in[s];
    const json& f = ase["frames"][s];
    const std::int64_t n = d.n_atoms();
    ASSERT_EQ(f["natoms"].get<std::int64_t>(), n);
    for (std::int64_t a = 0; a < n; ++a) {
      EXPECT_EQ(f["numbers"][a].get<std::int64_t>(), static_cast<std::int64_t>(at(d, "atomic_numbers", a)));
      EXPECT_EQ(f["masses"][a].get<double>(), at(d, "masses", a));
      for (int c = 0; c < 3; ++c) EXPECT_EQ(f["positions"][a][c].get<double>(), at(d, "positions", a, c));
    }
    for (int k = 0; k < 9; ++k) EXPECT_EQ(f["cell"][k / 3][k % 3].get<double>(), at(d, "cell", 0, k));
    for (int k = 0; k < 3; ++k) EXPECT_EQ(f["pbc"][k].get<bool>(), at(d, "pbc", 0, k) != 0);
    if (!d.has("velocities")) {
      EXPECT_TRUE(f["velocities"].is_null());
      continue;
    }
    // ASE's velocities (Å per ASE time unit) are batchmd's (Å/fs) divided by ase.units.fs.
    for (std::int64_t a = 0; a < n; ++a)
      for (int c = 0; c < 3; ++c)
        EXPECT_TRUE(close(f["velocities"][a][c].get<double>() * io::kAseFs, at(d, "velocities", a, c), 1e-15));
    EXPECT_EQ(f["energy"].get<double>(), at(d, "energy", 0));
    for (std::int64_t a = 0; a < n; ++a) {
      EXPECT_EQ(f["charges"][a].get<double>(), at(d, "charges", a));
      for (int c = 0; c < 3; ++c) EXPECT_EQ(f["forces"][a][c].get<double>(), at(d, "forces", a, c));
      for (int c = 0; c < 2; ++c) EXPECT_EQ(f["arrays"]["weights"][a][c].get<double>(), at(d, "weights", a, c));
      for (int c = 0; c < 3; ++c)
        EXPECT_EQ(f["arrays"]["image_flags"][a][c].get<std::int64_t>(), at(d, "image_flags", a, c));
      EXPECT_EQ(f["arrays"]["mobile"][a].get<bool>(), at(d, "mobile", a) != 0);
    }
    // Stress: ASE's calculator holds Voigt xx yy zz yz xz xy; info keeps the full (row-major) 3x3.
    const int voigt[6][2] = {{0, 0}, {1, 1}, {2, 2}, {1, 2}, {0, 2}, {0, 1}};
    for (int k = 0; k < 6; ++k)
      EXPECT_EQ(f["stress"][k].get<double>(), at(d, "stress", 0, voigt[k][0] * 3 + voigt[k][1]));
    for (int k = 0; k < 9; ++k) {
      EXPECT_EQ(f["info"]["stress"][k / 3][k % 3].get<double>(), at(d, "stress", 0, k));
      EXPECT_EQ(f["info"]["virial"][k / 3][k % 3].get<double>(), at(d, "virial", 0, k));
    }
    EXPECT_EQ(f["info"]["temperature"].get<double>(), at(d, "temperature", 0));
    EXPECT_EQ(f["info"]["step"].get<std::int64_t>(), at(d, "step", 0));
    EXPECT_EQ(f["info"]["status"].get<std::int64_t>(), 2);
    EXPECT_EQ(f["info"]["converged"].get<bool>(), true);
    for (int k = 0; k < 3; ++k) EXPECT_EQ(f["info"]["direction"][k].get<double>(), at(d, "direction", 0, k));
    for (int k = 0; k < 4; ++k) EXPECT_EQ(f["info"]["matrix"][k / 2][k % 2].get<double>(), at(d, "matrix", 0, k));
  }
}

TEST(ExtXYZ, BatchmdReadsWhatAseWrites) {
  const auto dir = test_dir("ase_to_xyz");
  const fs::path file = dir / "ase.xyz";
  const json mem = io_test::ase("write extxyz '" + file.string() + "' extxyz");  // what ASE held
  const json back = io_test::ase("read extxyz '" + file.string() + "'");         // what ASE reads back
  const auto got = io::read_structures(file);
  ASSERT_EQ(got.size(), 3u);
  ASSERT_EQ(back["frames"].size(), 3u);
  for (std::size_t s = 0; s < got.size(); ++s) {
    SCOPED_TRACE("frame " + std::to_string(s));
    const AtomicData& d = got[s];
    const json& f = back["frames"][s];
    const json& m = mem["frames"][s];
    const std::int64_t n = f["natoms"].get<std::int64_t>();
    ASSERT_EQ(d.n_atoms(), n);
    for (std::int64_t a = 0; a < n; ++a) {
      EXPECT_EQ(at(d, "atomic_numbers", a), f["numbers"][a].get<double>());
      EXPECT_EQ(at(d, "masses", a), f["masses"][a].get<double>());  // the column, or the same table as ASE
      for (int c = 0; c < 3; ++c) {
        // Same text, same value as ASE's reading; ASE writes 8 decimals of what it held.
        EXPECT_EQ(at(d, "positions", a, c), f["positions"][a][c].get<double>());
        EXPECT_NEAR(at(d, "positions", a, c), m["positions"][a][c].get<double>(), 5.1e-9);
      }
    }
    for (int k = 0; k < 9; ++k) EXPECT_EQ(at(d, "cell", 0, k), f["cell"][k / 3][k % 3].get<double>());
    for (int k = 0; k < 3; ++k) EXPECT_EQ(at(d, "pbc", 0, k) != 0, f["pbc"][k].get<bool>());
    if (f["velocities"].is_null()) {
      EXPECT_FALSE(d.has("velocities"));
    } else {
      ASSERT_TRUE(d.has("velocities"));
      for (std::int64_t a = 0; a < n; ++a)
        for (int c = 0; c < 3; ++c) {
          EXPECT_EQ(at(d, "velocities", a, c), f["velocities"][a][c].get<double>() * io::kAseFs);
          // momenta are written with 8 decimals: velocities agree with what ASE held to that.
          EXPECT_NEAR(at(d, "velocities", a, c) / io::kAseFs, m["velocities"][a][c].get<double>(),
                      5.1e-9 / at(d, "masses", a));
        }
    }
  }
  // Frame 0: calculator results, charges, custom arrays and info.
  const AtomicData& d = got[0];
  const json& f = back["frames"][0];
  EXPECT_EQ(at(d, "energy", 0), f["energy"].get<double>());
  const int voigt[6][2] = {{0, 0}, {1, 1}, {2, 2}, {1, 2}, {0, 2}, {0, 1}};
  for (int k = 0; k < 6; ++k)
    EXPECT_EQ(at(d, "stress", 0, voigt[k][0] * 3 + voigt[k][1]), f["stress"][k].get<double>());
  for (std::int64_t a = 0; a < 4; ++a) {
    EXPECT_EQ(at(d, "charges", a), f["charges"][a].get<double>());
    EXPECT_EQ(at(d, "tag_int", a), f["arrays"]["tag_int"][a].get<double>());
    EXPECT_EQ(at(d, "flag", a) != 0, f["arrays"]["flag"][a].get<bool>());
    for (int c = 0; c < 2; ++c) EXPECT_EQ(at(d, "vec2", a, c), f["arrays"]["vec2"][a][c].get<double>());
    for (int c = 0; c < 3; ++c) EXPECT_EQ(at(d, "forces", a, c), f["forces"][a][c].get<double>());
  }
  EXPECT_EQ(d.get("tag_int").dtype(), DType::Int64);
  EXPECT_EQ(d.get("flag").dtype(), DType::Bool);
  EXPECT_EQ(d.get("vec2").shape(), (Shape{4, 2}));
  EXPECT_EQ(at(d, "temperature", 0), 300.5);
  EXPECT_EQ(at(d, "step", 0), 42);
  EXPECT_EQ(d.get("step").dtype(), DType::Int64);
  EXPECT_EQ(at(d, "converged", 0), 1.0);
  EXPECT_EQ(d.get("label_vector").shape(), (Shape{1, 3}));
  EXPECT_EQ(at(d, "label_vector", 0, 2), 3.5);
  EXPECT_FALSE(d.has("config_type"));  // strings have no field type
  // Frame 1 (open molecule, masses column): no cell; frame 2: a slab periodic in x and y.
  EXPECT_EQ(at(got[1], "pbc", 0, 0), 0.0);
  EXPECT_EQ(at(got[1], "masses", 0), 2.014);
  EXPECT_EQ(at(got[2], "pbc", 0, 2), 0.0);
  EXPECT_EQ(at(got[2], "pbc", 0, 1), 1.0);
}

TEST(ExtXYZ, FrameSelection) {
  std::vector<AtomicData> in;
  for (int i = 0; i < 5; ++i) in.push_back(rich_system(2 + i, static_cast<double>(i)));
  const std::string text = write(in);
  auto sizes = [&](const std::string& sel) {
    io::ReadOptions o;
    o.frames = io::FrameSelection::parse(sel);
    std::vector<std::int64_t> v;
    for (const auto& d : parse(text, o)) v.push_back(d.n_atoms());
    return v;
  };
  EXPECT_EQ(sizes(":"), (std::vector<std::int64_t>{2, 3, 4, 5, 6}));
  EXPECT_EQ(sizes("1"), (std::vector<std::int64_t>{3}));
  EXPECT_EQ(sizes("-1"), (std::vector<std::int64_t>{6}));
  EXPECT_EQ(sizes("::2"), (std::vector<std::int64_t>{2, 4, 6}));
  EXPECT_EQ(sizes("3:"), (std::vector<std::int64_t>{5, 6}));
  EXPECT_EQ(sizes("::-2"), (std::vector<std::int64_t>{6, 4, 2}));
  EXPECT_EQ(sizes("4,0,0"), (std::vector<std::int64_t>{6, 2, 2}));
  EXPECT_NE(error_of<InvalidArgument>([&] { sizes("5"); }).find("index 5 is out of range: t.xyz has 5 frames"),
            std::string::npos);
  EXPECT_NE(error_of<InvalidArgument>([&] { sizes("7:9"); }).find("selects no frame"), std::string::npos);
  // A bad frame after the selected ones is still found: the file is checked as a whole.
  EXPECT_NE(error_of<FormatError>([&] { parse(text + "2\ncomment\nCu 0 0 0\n", {}); }).find("declares 2 atoms"),
            std::string::npos);
}

TEST(ExtXYZ, CommentLineSyntaxAseAccepts) {
  // Quotes of every kind, spaces around '=', bare flags, escapes, Voigt stress, a single pbc
  // flag, integer Lattice, _JSON arrays, a plain XYZ title.
  const std::string text =
      "2\n"
      "Lattice = '4 0 0 0 5 0 0 0 6' Properties={species:S:1:pos:R:3:Z:I:1} pbc=F relaxed note=\"say \\\"hi\\\"\" "
      "stress=\"1 2 3 4 5 6\" grid=\"_JSON [[1, 2], [3, 4]]\" mask=[T F T] e=-1.5e-3 n=-7\n"
      "cu 0.0 0.5 1.0 29\n"
      "NI 1 2 3 28\n"
      "3\n"
      "just a title line\n"
      "O 0 0 0\nH 0 0.75 0.5\nH 0 -0.75 0.5\n";
  const auto d = parse(text);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(at(d[0], "atomic_numbers", 0), 29);
  EXPECT_EQ(at(d[0], "atomic_numbers", 1), 28);
  EXPECT_EQ(at(d[0], "cell", 0, 4), 5.0);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(at(d[0], "pbc", 0, k), 0.0);
  EXPECT_EQ(at(d[0], "relaxed", 0), 1.0);
  EXPECT_FALSE(d[0].has("note"));
  const double want_stress[9] = {1, 6, 5, 6, 2, 4, 5, 4, 3};
  for (int k = 0; k < 9; ++k) EXPECT_EQ(at(d[0], "stress", 0, k), want_stress[k]);
  EXPECT_EQ(d[0].get("grid").shape(), (Shape{1, 2, 2}));
  EXPECT_EQ(d[0].get("grid").dtype(), DType::Int64);
  EXPECT_EQ(at(d[0], "grid", 0, 3), 4);
  EXPECT_EQ(d[0].get("mask").dtype(), DType::Bool);
  EXPECT_EQ(at(d[0], "mask", 0, 1), 0.0);
  EXPECT_EQ(at(d[0], "e", 0), -1.5e-3);
  EXPECT_EQ(d[0].get("n").dtype(), DType::Int64);
  // The plain XYZ frame: an open system, standard masses.
  EXPECT_EQ(d[1].n_atoms(), 3);
  EXPECT_EQ(at(d[1], "cell", 0, 0), 0.0);
  EXPECT_EQ(at(d[1], "masses", 0), atomic_mass(8));
  EXPECT_EQ(d[1].fields().size(), 5u);  // positions, atomic_numbers, masses, cell, pbc
}

TEST(ExtXYZ, VelocityColumnsOfOtherTools) {
  // velo (OVITO, batchmd before momenta) is in Å/fs as written; momenta use the masses column.
  const auto v = parse("1\nProperties=species:S:1:pos:R:3:velo:R:3\nAr 0 0 0 0.01 -0.02 0.5\n");
  EXPECT_EQ(at(v[0], "velocities", 0, 1), -0.02);
  const auto p = parse("1\nProperties=species:S:1:pos:R:3:mass:R:1:momenta:R:3\nAr 0 0 0 2.0 1.0 0 0\n");
  EXPECT_EQ(at(p[0], "masses", 0), 2.0);
  EXPECT_EQ(at(p[0], "velocities", 0, 0), 0.5 * io::kAseFs);
}

TEST(ExtXYZ, MalformedFilesNameTheFileAndLine) {
  const std::string good_head = "2\nLattice=\"3 0 0 0 3 0 0 0 3\" Properties=species:S:1:pos:R:3\n";
  const std::pair<std::string, std::string> cases[] = {
      {"", "t.xyz: no frames: the file is empty"},
      {"   \n\n", "t.xyz: no frames"},
      {"abc\ncomment\n", "t.xyz:1: expected the atom count of frame 0, found 'abc' (is this an XYZ file?)"},
      {"-2\nx\n", "t.xyz:1: expected the atom count"},
      {good_head + "Cu 0 0 0\n", "t.xyz:4: unexpected end of file: frame 0 (line 1) declares 2 atoms but only 1"},
      {good_head + "Cu 0 0 0\nCu 1 1\n", "t.xyz:4: expected 4 values on this atom line"},
      {good_head + "Cu 0 0 0\nCu 1 1 1 1\n", "t.xyz:4: expected 4 values"},
      {good_head + "Cu 0 0 0\nQq 1 1 1\n", "t.xyz:4: unknown element 'Qq' in column 'species'"},
      {good_head + "Cu 0 nan 0\nCu 1 1 1\n", "t.xyz:3: column 'pos' is 'nan', not a finite number"},
      {good_head + "Cu 0 inf 0\nCu 1 1 1\n", "t.xyz:3: column 'pos' is 'inf', not a finite number"},
      {good_head + "Cu 0 0x1 0\nCu 1 1 1\n", "t.xyz:3: expected a number for column 'pos', found '0x1'"},
      {good_head + "Cu 0 0 0\nCu 1 1 1\n1\n\nCu 0 0 0\nCu 0 0 0\n",
       "t.xyz:8: expected the atom count of frame 2, found 'Cu 0 0 0'"},
      {"1\nLattice=\"3 0 0 0 3 0 0 0\"\nCu 0 0 0\n", "t.xyz:2: Lattice must hold 9 numbers"},
      {"1\nLattice=\"3 0 0 0 3 0 0 0 inf\"\nCu 0 0 0\n", "t.xyz:2: 'Lattice' holds"},
      {"1\nLattice=\"0 0 0 0 0 0 0 0 0\"\nCu 0 0 0\n", "t.xyz:2: Lattice is all zeros"},
      {"1\npbc=\"T T T\" Properties=species:S:1:pos:R:3\nCu 0 0 0\n", "t.xyz:2: pbc is T in some direction but"},
      {"1\nProperties=species:S:1:posx:R:3\nCu 0 0 0\n", "t.xyz:2: Properties has no pos:R:3 column"},
      {"1\nProperties=pos:R:3\n0 0 0\n", "t.xyz:2: Properties has neither a species:S:1 nor a Z:I:1 column"},
      {"1\nProperties=species:S:1:pos:Q:3\nCu 0 0 0\n", "t.xyz:2: Properties: column 'pos' has type 'Q'"},
      {"1\nProperties=species:S:1:pos:R:2\nCu 0 0\n", "t.xyz:2: Properties: column 'pos' must be R:3, not R:2"},
      {"1\nProperties=species:S:1:pos:R\nCu 0 0 0\n", "t.xyz:2: Properties='species:S:1:pos:R' is not a list"},
      {"1\nProperties=species:S:1:pos:R:3:velo:R:3:momenta:R:3\nCu 0 0 0 0 0 0 0 0 0\n",
       "t.xyz:2: Properties: columns 'velo' and 'momenta' both give velocities"},
      {"1\nProperties=species:S:1:pos:R:3:masses:R:1\nCu 0 0 0 0\n", "t.xyz:3: mass must be > 0"},
      {"1\nProperties=Z:I:1:pos:R:3\n0 0 0 0\n", "t.xyz:3: atomic number 0 in column 'Z' is not an element"},
      {"1\nProperties=species:S:1:pos:R:3:Z:I:1\nCu 0 0 0 28\n", "t.xyz:3: column 'Z' says 28 but 'species' says Cu"},
      {"1\nProperties=species:S:1:pos:R:3:flag:L:1\nCu 0 0 0 maybe\n", "t.xyz:3: expected T or F for column 'flag'"},
      {"1\nProperties=species:S:1:pos:R:3:n:I:1\nCu 0 0 0 1.5\n", "t.xyz:3: expected an integer for column 'n'"},
      {"1\nnote=\"unterminated Properties=species:S:1:pos:R:3\nCu 0 0 0\n", "t.xyz:2: unterminated quote"},
      {"1\nenergy=nan\nCu 0 0 0\n", "t.xyz:2: 'energy' holds 'nan', not finite numbers"},
      {"1\nstress=\"1 2 3 4\"\nCu 0 0 0\n", "t.xyz:2: 'stress' must hold 9 numbers"},
      {"1\nenergy=low\nCu 0 0 0\n", "t.xyz:2: 'energy' must hold 1 number, found 'low'"},
      {"1\nmasses=3\nCu 0 0 0\n", "t.xyz:2: comment key 'masses' has the name of a per-atom or cell field"},
      {"1\ngrid=\"_JSON [[1, 2], [3\"\nCu 0 0 0\n", "t.xyz:2: the _JSON value of 'grid' is not JSON"},
      {"1\nProperties=species:S:1:pos:R:3:energy:R:1\nCu 0 0 0 1\n",
       "t.xyz:2: Properties: column 'energy' has the name of a per-system field"},
      // Another format: a POSCAR.
      {"Cu\n1.0\n3.6 0 0\n0 3.6 0\n0 0 3.6\nCu\n1\nDirect\n0 0 0\n", "t.xyz:1: expected the atom count"},
  };
  for (const auto& [text, want] : cases) {
    const std::string e = error_of<FormatError>([&] { parse(text); });
    EXPECT_NE(e.find(want), std::string::npos) << "file:\n" << text << "\nerror: " << e << "\nwanted: " << want;
  }
}
