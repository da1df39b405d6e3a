// SPDX-License-Identifier: Apache-2.0
// `batchmd convert --format`: one sample of a trajectory store as a LAMMPS data file or a POSCAR
// (read back by the io readers to the store's values), extended XYZ under any name, and the
// errors: a selection of many samples for a one-structure format, an open system for LAMMPS,
// CIF (read-only) and an unknown format.
#include <cstdio>

#include "batchmd/app/commands.hpp"
#include "batchmd/io/structures.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "io_test_util.hpp"

using namespace batchmd;
using namespace io_test;

namespace {

/// Two systems (a periodic triclinic Cu/Ni crystal with velocities and charges, an open cluster)
/// at steps 0 and 10.
std::string make_store(const fs::path& dir) {
  const std::string url = (dir / "md.zarr").string();
  sinks::ZarrData sink(url, 100);
  for (std::int64_t step : {0, 10}) {
    std::vector<AtomicData> systems;
    for (std::int64_t id = 0; id < 2; ++id) {
      std::vector<double> pos;
      std::vector<std::int64_t> z;
      for (std::int64_t a = 0; a < 4; ++a) {
        for (int c = 0; c < 3; ++c)
          pos.push_back(0.5 + 0.7 * static_cast<double>(a) + 0.3 * c + 0.01 * static_cast<double>(step));
        z.push_back(a % 2 ? 28 : 29);
      }
      std::vector<double> cell =
          id == 0 ? std::vector<double>{5, 0, 0, 0.5, 5, 0, 0.25, 0.5, 5} : std::vector<double>(9, 0.0);
      AtomicData d = AtomicData::make(DType::Float64, pos, z, cell, {id == 0, id == 0, id == 0});
      Tensor v(DType::Float64, {4, 3}), q(DType::Float64, {4});
      for (int i = 0; i < 12; ++i) v.data<double>()[i] = 1e-3 * static_cast<double>(i - 5);
      for (int a = 0; a < 4; ++a) q.data<double>()[a] = a % 2 ? -0.5 : 0.5;
      d.set("velocities", Level::Atom, std::move(v));
      d.set("charges", Level::Atom, std::move(q));
      d.set("step", Level::System, Tensor::from<std::int64_t>({step}, {1}));
      d.set("system_id", Level::System, Tensor::from<std::int64_t>({id}, {1}));
      systems.push_back(std::move(d));
    }
    sink.write(Batch::from_systems(systems));
  }
  sink.flush();
  return url;
}

std::string convert(const std::string& url, const fs::path& out, std::optional<std::string> format,
                    std::optional<std::int64_t> system = {}, std::optional<std::int64_t> step_min = {}) {
  app::ConvertOptions o{url, out.string(), system, step_min, {}, std::move(format)};
  std::FILE* tmp = std::tmpfile();
  EXPECT_EQ(app::convert_command(o, tmp), 0);
  std::rewind(tmp);
  char buf[512] = {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, tmp);
  std::fclose(tmp);
  return std::string(buf, n);
}

}  // namespace

TEST(ConvertFormat, OneSampleAsLammpsDataAndPoscar) {
  const auto dir = test_dir("convert_format");
  const std::string url = make_store(dir);
  sinks::TrajectoryReader reader(url);
  const AtomicData want = reader.read(2).system(0);  // system 0 at step 10
  for (const char* format : {"lammps-data", "poscar"}) {
    SCOPED_TRACE(format);
    const fs::path out = dir / (std::string("final_") + format);  // no telling extension
    EXPECT_EQ(convert(url, out, format, 0, 10), "convert: wrote 1 frame, 4 atoms to " + out.string() + "\n");
    io::ReadOptions o;
    o.format = io::format_from_name(format);
    const auto got = io::read_structures(out, o);
    ASSERT_EQ(got.size(), 1u);
    for (const char* f : {"atomic_numbers", "positions", "cell", "masses", "pbc"})
      for (std::int64_t i = 0; i < want.get(f).numel(); ++i) EXPECT_EQ(at(got[0], f, 0, i), at(want, f, 0, i)) << f;
    for (std::int64_t i = 0; i < 12; ++i)
      EXPECT_TRUE(close(at(got[0], "velocities", 0, i), at(want, "velocities", 0, i), 1e-15));
    if (std::string(format) == "lammps-data") {
      EXPECT_NE(slurp(out).find("Atoms # charge"), std::string::npos);
      for (std::int64_t a = 0; a < 4; ++a) EXPECT_EQ(at(got[0], "charges", a), at(want, "charges", a));
    }
  }
  // Extended XYZ under a name that says nothing, with --format.
  const fs::path xyz = dir / "all.txt";
  EXPECT_EQ(convert(url, xyz, "extxyz"), "convert: wrote 4 frames, 16 atoms to " + xyz.string() + "\n");
  io::ReadOptions o;
  o.format = io::Format::ExtXYZ;
  EXPECT_EQ(io::read_structures(xyz, o).size(), 4u);
}

TEST(ConvertFormat, ErrorsNameTheProblem) {
  const auto dir = test_dir("convert_format_bad");
  const std::string url = make_store(dir);
  const fs::path out = dir / "out.data";
  std::string e = error_of<InvalidArgument>([&] { convert(url, out, "lammps-data", 0); });
  EXPECT_NE(e.find("a lammps-data file holds one structure, but system_id 0 selects 2 samples"), std::string::npos)
      << e;
  e = error_of<FormatError>([&] { convert(url, out, "lammps-data", 1, 10); });
  EXPECT_NE(e.find("md.zarr: sample 3: lammps-data: the system has no cell"), std::string::npos) << e;
  e = error_of<InvalidArgument>([&] { convert(url, dir / "x.cif", "cif", 0, 10); });
  EXPECT_NE(e.find("batchmd reads CIF but does not write it"), std::string::npos) << e;
  e = error_of<InvalidArgument>([&] { convert(url, dir / "x.pdb", "pdb"); });
  EXPECT_NE(e.find("unknown structure format 'pdb'"), std::string::npos) << e;
  e = error_of<InvalidArgument>([&] { convert(url, dir / "x.pdb", std::nullopt); });
  EXPECT_NE(e.find("or give --format extxyz|lammps-data|poscar"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(out));
  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
}
