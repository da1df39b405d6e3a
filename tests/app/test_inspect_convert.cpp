// SPDX-License-Identifier: Apache-2.0
// Tests for `batchmd inspect` and `batchmd convert`: inspect names every field with its level and
// dtype and counts samples right (text and JSON); convert writes extended XYZ that an independent
// reader (ASE, through tests/app/interop/read_extxyz.py run by /usr/bin/python3) reads back to
// exactly what TrajectoryReader reads from the store; filters; and every kind of bad input.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numbers>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "../sinks/trajectory_fixture.hpp"
#include "../support/error_of.hpp"
#include "batchmd/app/commands.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "batchmd/zarr/group.hpp"

using namespace batchmd;
using namespace batchmd::app;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ------------------------------------------------------------------ helpers

/// A fresh directory for one test (removed first if a previous run left it).
fs::path test_dir(const std::string& name) {
  fs::path d = fs::path(::testing::TempDir()) / ("batchmd_ic_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

/// Runs a command with `out` pointing at a temporary FILE; returns what it printed.
template <typename F>
std::string capture(F&& f) {
  std::FILE* tmp = std::tmpfile();
  if (!tmp) throw std::runtime_error("tmpfile failed");
  try {
    f(tmp);
  } catch (...) {
    std::fclose(tmp);
    throw;
  }
  std::fflush(tmp);
  std::rewind(tmp);
  std::string s;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, tmp)) > 0) s.append(buf, n);
  std::fclose(tmp);
  return s;
}

std::string inspect_text(const std::string& url, bool as_json = false) {
  return capture([&](std::FILE* out) { EXPECT_EQ(inspect_command({url, as_json}, out), 0); });
}

std::string convert(std::string url, std::string output, std::optional<std::int64_t> system = {},
                    std::optional<std::int64_t> step_min = {}, std::optional<std::int64_t> step_max = {}) {
  const ConvertOptions o{std::move(url), std::move(output), system, step_min, step_max, {}};
  return capture([&](std::FILE* out) { EXPECT_EQ(convert_command(o, out), 0); });
}

using batchmd::test_support::error_of;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// What ASE reads from an XYZ file: runs the interop script with Debian's python3 (which has
/// python3-ase); a missing interpreter, ASE or a reader error is a test failure.
json ase_read(const fs::path& xyz) {
  const std::string python = "/usr/bin/python3";
  const std::string script = std::string(BATCHMD_INTEROP_DIR) + "/read_extxyz.py";
  EXPECT_TRUE(fs::exists(python)) << python << " is missing: install Debian's python3 and python3-ase";
  const fs::path err = xyz.string() + ".stderr";
  const std::string cmd = python + " " + script + " '" + xyz.string() + "' 2>'" + err.string() + "'";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    ADD_FAILURE() << "popen failed: " << cmd;
    return json();
  }
  std::string s;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) s.append(buf, n);
  const int status = ::pclose(p);
  if (status != 0) {
    ADD_FAILURE() << "the ASE reader failed (status " << status << "; python3-ase must be installed):\n"
                  << cmd << "\n"
                  << slurp(err);
    return json();
  }
  return json::parse(s);
}

bool close_to(double want, double got, double rel = 1e-8) {
  return std::abs(want - got) <= rel * std::max(1.0, std::abs(want));
}

double value_at(const Tensor& t, std::int64_t row, std::int64_t k) {
  const std::int64_t i = row * t.row_numel() + k;
  switch (t.dtype()) {
    case DType::Float64:
      return t.data<double>()[i];
    case DType::Float32:
      return static_cast<double>(t.data<float>()[i]);
    case DType::Int64:
      return static_cast<double>(t.data<std::int64_t>()[i]);
    case DType::Int32:
      return static_cast<double>(t.data<std::int32_t>()[i]);
    case DType::UInt8:
      return static_cast<double>(t.data<std::uint8_t>()[i]);
    case DType::Bool:
      return t.data<bool>()[i] ? 1.0 : 0.0;
  }
  return 0.0;
}

// ------------------------------------------------------------------ test trajectories

constexpr std::int64_t kSystems = 5;
const std::int64_t kSteps[] = {0, 10, 20, 30};

/// One snapshot of kSystems systems at `step`: every standard field with awkward values (full
/// double precision, a non-symmetric stress, open systems with a zero cell, triclinic cells) and
/// two user fields.
Batch md_batch(std::int64_t step) {
  std::vector<AtomicData> systems;
  for (std::int64_t id = 0; id < kSystems; ++id) {
    const std::int64_t na = 2 + id;
    std::vector<double> pos;
    std::vector<std::int64_t> z;
    for (std::int64_t a = 0; a < na; ++a) {
      for (int c = 0; c < 3; ++c)
        pos.push_back(std::sqrt(2.0) * static_cast<double>(a + 1) + 0.1 * c + 1e-3 * static_cast<double>(step) -
                      std::exp(-static_cast<double>(id)) / 3.0);
      z.push_back(1 + (id * 11 + a * 7) % 54);
    }
    std::vector<double> cell;
    if (id % 2 == 0)
      cell = {10.0 + 1.0 / 3.0, 0, 0, 1.25, 11.0 + std::sqrt(3.0), 0, -0.5, 0.75, 12.0 + std::numbers::pi};
    else
      cell = std::vector<double>(9, 0.0);
    AtomicData d = AtomicData::make(DType::Float64, pos, z, cell, {true, id % 3 != 0, false});
    Tensor v(DType::Float64, {na, 3}), f(DType::Float64, {na, 3}), q(DType::Float64, {na});
    Tensor tag(DType::UInt8, {na});
    for (std::int64_t i = 0; i < 3 * na; ++i) {
      v.data<double>()[i] = 1e-3 * std::sin(static_cast<double>(i + step + 7 * id));
      f.data<double>()[i] = -std::cos(static_cast<double>(i) * 0.7 + static_cast<double>(id + step)) / 7.0;
    }
    for (std::int64_t a = 0; a < na; ++a) {
      q.data<double>()[a] = 0.1 * static_cast<double>(a) - 1.0 / 7.0;
      tag.data<std::uint8_t>()[a] = static_cast<std::uint8_t>(a + id);
    }
    d.set("velocities", Level::Atom, std::move(v));
    d.set("forces", Level::Atom, std::move(f));
    d.set("charges", Level::Atom, std::move(q));
    d.set("tag", Level::Atom, std::move(tag));
    Tensor s(DType::Float64, {1, 3, 3});
    for (int k = 0; k < 9; ++k) s.data<double>()[k] = 1e-3 * (k + 1) + 1e-5 * static_cast<double>(id);
    d.set("stress", Level::System, std::move(s));
    d.set("energy", Level::System,
          Tensor::from<double>({-1.0 * static_cast<double>(na) - std::exp(-static_cast<double>(step + id))}, {1}));
    d.set("temperature", Level::System, Tensor::from<double>({300.0 + static_cast<double>(id) / 3.0}, {1}));
    d.set("step", Level::System, Tensor::from<std::int64_t>({step}, {1}));
    d.set("system_id", Level::System, Tensor::from<std::int64_t>({id}, {1}));
    d.set("status", Level::System, Tensor::from<std::int32_t>({static_cast<std::int32_t>(id % 3)}, {1}));
    systems.push_back(std::move(d));
  }
  return Batch::from_systems(systems);
}

/// A store of kSystems systems x 4 steps (20 samples), written in `format`.
std::string make_md_store(const fs::path& dir, zarr::ZarrFormat format = zarr::ZarrFormat::V3) {
  const std::string url = (dir / "md.zarr").string();
  sinks::ZarrWriteConfig cfg;
  cfg.format = format;
  sinks::ZarrData sink(url, 1000, cfg);
  for (auto step : kSteps) sink.write(md_batch(step));
  sink.flush();
  return url;
}

/// The fixture's encoded store (float32 positions, edges, a uint8 field, no step field).
std::string make_encoded_store(const fs::path& dir, std::int64_t n = 12) {
  const std::string url = (dir / "encoded.zarr").string();
  sinks::ZarrData sink(url, 1000);
  sink.write(test_support::encoded_batch(0, n, DType::Float32));
  sink.flush();
  return url;
}

/// Checks every frame ASE read against the store's samples `indices`.
void expect_same_as_store(const json& ase, const sinks::TrajectoryReader& reader,
                          const std::vector<std::int64_t>& indices) {
  ASSERT_TRUE(ase.is_object());
  const auto& frames = ase["frames"];
  ASSERT_EQ(frames.size(), indices.size());
  for (std::size_t fi = 0; fi < indices.size(); ++fi) {
    SCOPED_TRACE("frame " + std::to_string(fi) + " = sample " + std::to_string(indices[fi]));
    const Batch b = reader.read(indices[fi]);
    const json& fr = frames[fi];
    const std::int64_t na = b.n_atoms();
    ASSERT_EQ(fr["natoms"].get<std::int64_t>(), na);
    const Tensor& z = b.get("atomic_numbers");
    const Tensor& pos = b.get("positions");
    for (std::int64_t a = 0; a < na; ++a) {
      EXPECT_EQ(fr["numbers"][a].get<std::int64_t>(), z.data<std::int64_t>()[a]) << "atom " << a;
      for (int c = 0; c < 3; ++c)
        EXPECT_TRUE(close_to(value_at(pos, a, c), fr["positions"][a][c].get<double>()))
            << "position " << a << "," << c << ": " << value_at(pos, a, c) << " vs " << fr["positions"][a][c];
    }
    // Cell and pbc: Lattice (and pbc) only for a non-zero cell; ASE's cell rows are a, b, c.
    const Tensor& cell = b.get("cell");
    bool nonzero = false;
    for (int k = 0; k < 9; ++k) nonzero = nonzero || value_at(cell, 0, k) != 0.0;
    for (int k = 0; k < 9; ++k)
      EXPECT_TRUE(close_to(value_at(cell, 0, k), fr["cell"][k / 3][k % 3].get<double>())) << "cell " << k;
    const Tensor& pbc = b.get("pbc");
    for (int k = 0; k < 3; ++k) EXPECT_EQ(fr["pbc"][k].get<bool>(), nonzero && pbc.data<bool>()[k]) << "pbc " << k;
    // Energy and forces on ASE's SinglePointCalculator.
    if (b.has("energy")) {
      ASSERT_FALSE(fr["energy"].is_null());
      EXPECT_TRUE(close_to(value_at(b.get("energy"), 0, 0), fr["energy"].get<double>()));
    }
    if (b.has("forces")) {
      ASSERT_FALSE(fr["forces"].is_null());
      for (std::int64_t a = 0; a < na; ++a)
        for (int c = 0; c < 3; ++c)
          EXPECT_TRUE(close_to(value_at(b.get("forces"), a, c), fr["forces"][a][c].get<double>())) << "force " << a;
    }
    if (b.has("stress")) {  // full 3x3 in info (as stored, row-major), Voigt on the calculator
      const Tensor& s = b.get("stress");
      for (int k = 0; k < 9; ++k)
        EXPECT_TRUE(close_to(value_at(s, 0, k), fr["info"]["stress"][k / 3][k % 3].get<double>())) << "stress " << k;
      const int voigt[6][2] = {{0, 0}, {1, 1}, {2, 2}, {1, 2}, {0, 2}, {0, 1}};
      for (int k = 0; k < 6; ++k)
        EXPECT_TRUE(close_to(value_at(s, 0, voigt[k][0] * 3 + voigt[k][1]), fr["stress"][k].get<double>()));
    }
    for (const char* key : {"step", "system_id", "status"})
      if (b.has(key)) {
        EXPECT_EQ(fr["info"][key].get<std::int64_t>(), static_cast<std::int64_t>(value_at(b.get(key), 0, 0))) << key;
      }
    if (b.has("temperature")) {
      EXPECT_TRUE(close_to(value_at(b.get("temperature"), 0, 0), fr["info"]["temperature"].get<double>()));
    }
    // Other per-atom columns, under their XYZ names.
    // Velocities travel as ASE's momenta (amu·Å per ASE time unit, ase.units.fs = 0.0982... of it
    // per fs) beside the masses, so that ASE's get_velocities() has them.
    if (b.has("velocities")) {
      ASSERT_TRUE(fr["arrays"].contains("momenta"));
      for (std::int64_t a = 0; a < na; ++a)
        for (int c = 0; c < 3; ++c) {
          const double v = fr["arrays"]["momenta"][a][c].get<double>() / fr["arrays"]["masses"][a].get<double>();
          EXPECT_TRUE(close_to(value_at(b.get("velocities"), a, c), v * 0.09822694788464063)) << "velocity " << a;
        }
    }
    const std::pair<const char*, const char*> cols[] = {{"masses", "masses"}, {"tag", "tag"}};
    for (const auto& [field, key] : cols) {
      if (!b.has(field)) continue;
      const Tensor& t = b.get(field);
      ASSERT_TRUE(fr["arrays"].contains(key)) << key;
      for (std::int64_t a = 0; a < na; ++a)
        for (std::int64_t c = 0; c < t.row_numel(); ++c) {
          const json& v = t.row_numel() == 1 ? fr["arrays"][key][a] : fr["arrays"][key][a][c];
          EXPECT_TRUE(close_to(value_at(t, a, c), v.get<double>())) << key << " " << a << "," << c;
        }
    }
    if (b.has("charges")) {  // ASE keeps them as the initial charges
      ASSERT_TRUE(fr["arrays"].contains("initial_charges"));
      for (std::int64_t a = 0; a < na; ++a)
        EXPECT_TRUE(close_to(value_at(b.get("charges"), a, 0), fr["arrays"]["initial_charges"][a].get<double>()));
    }
  }
}

std::vector<std::int64_t> all_samples(const sinks::TrajectoryReader& r) {
  std::vector<std::int64_t> v;
  for (std::int64_t i = 0; i < r.num_samples(); ++i) v.push_back(i);
  return v;
}

}  // namespace

// ====================================================================== inspect

TEST(Inspect, TextNamesEveryFieldWithLevelAndDtype) {
  const auto dir = test_dir("inspect_text");
  for (auto format : {zarr::ZarrFormat::V3, zarr::ZarrFormat::V2}) {
    const fs::path sub = dir / (format == zarr::ZarrFormat::V3 ? "v3" : "v2");
    fs::create_directories(sub);
    const std::string url = make_md_store(sub, format);
    const std::string text = inspect_text(url);
    SCOPED_TRACE(text);
    EXPECT_NE(text.find("store:        " + url), std::string::npos);
    EXPECT_NE(text.find(format == zarr::ZarrFormat::V3 ? "zarr format:  v3" : "zarr format:  v2"), std::string::npos);
    EXPECT_NE(text.find("samples:      20\n"), std::string::npos);
    EXPECT_NE(text.find("systems:      5 distinct"), std::string::npos);
    EXPECT_NE(text.find("atoms:        80 total; per sample min 2, mean 4.00, max 6"), std::string::npos);
    EXPECT_NE(text.find("steps:        0 .. 30"), std::string::npos);
    sinks::TrajectoryReader reader(url);
    const auto fields = reader.fields();
    EXPECT_EQ(fields.size(), 15u);
    for (const auto& f : fields) {
      // One table line per field: "core/<name>  <level>  <dtype>  ..."
      const std::string path = f.group + "/" + f.name + " ";
      const auto at = text.find("\n" + path);
      ASSERT_NE(at, std::string::npos) << path;
      const std::string line = text.substr(at + 1, text.find('\n', at + 1) - at - 1);
      std::istringstream words(line);
      std::string name, level, dtype;
      words >> name >> level >> dtype;
      EXPECT_EQ(level, std::string(level_name(f.level))) << line;
      EXPECT_EQ(dtype, std::string(dtype_name(f.dtype))) << line;
      EXPECT_NE(line.find(f.codecs), std::string::npos) << line;
    }
    EXPECT_NE(text.find("\ntotal "), std::string::npos);
    EXPECT_NE(text.find("compression ratio"), std::string::npos);
  }
}

TEST(Inspect, JsonHasTheSameReport) {
  const auto dir = test_dir("inspect_json");
  const std::string url = make_md_store(dir);
  const json j = json::parse(inspect_text(url, true));
  EXPECT_EQ(j["url"], url);
  EXPECT_EQ(j["zarr_format"], 3);
  EXPECT_EQ(j["samples"], 20);
  EXPECT_EQ(j["systems"], 5);
  EXPECT_EQ(j["atoms"]["total"], 80);
  EXPECT_EQ(j["atoms"]["min"], 2);
  EXPECT_EQ(j["atoms"]["max"], 6);
  EXPECT_DOUBLE_EQ(j["atoms"]["mean"].get<double>(), 4.0);
  EXPECT_EQ(j["steps"]["min"], 0);
  EXPECT_EQ(j["steps"]["max"], 30);
  sinks::TrajectoryReader reader(url);
  const auto fields = reader.fields();
  ASSERT_EQ(j["fields"].size(), fields.size());
  std::uint64_t raw = 0, stored = 0;
  for (const auto& f : fields) {
    const json* e = nullptr;
    for (const auto& x : j["fields"])
      if (x["group"] == f.group && x["name"] == f.name) e = &x;
    ASSERT_NE(e, nullptr) << f.name;
    EXPECT_EQ((*e)["level"], std::string(level_name(f.level))) << f.name;
    EXPECT_EQ((*e)["dtype"], std::string(dtype_name(f.dtype))) << f.name;
    EXPECT_EQ((*e)["shape"].get<Shape>(), f.shape) << f.name;
    EXPECT_EQ((*e)["codec"], f.codecs);
    EXPECT_EQ((*e)["chunk_rows"], f.chunk_rows);
    EXPECT_EQ((*e)["stored_bytes"], f.stored_bytes);
    // raw bytes = committed rows x row bytes
    std::uint64_t row = dtype_size(f.dtype);
    for (std::size_t i = 1; i < f.shape.size(); ++i) row *= static_cast<std::uint64_t>(f.shape[i]);
    const std::uint64_t rows = f.level == Level::Atom ? 80u : 20u;
    EXPECT_EQ((*e)["raw_bytes"].get<std::uint64_t>(), rows * row) << f.name;
    raw += rows * row;
    stored += f.stored_bytes;
  }
  EXPECT_EQ(j["totals"]["raw_bytes"], raw);
  EXPECT_EQ(j["totals"]["stored_bytes"], stored);
  EXPECT_GT(stored, 0u);
  EXPECT_NEAR(j["totals"]["ratio"].get<double>(), static_cast<double>(raw) / static_cast<double>(stored), 1e-12);
  EXPECT_EQ(j["batchmd"]["writer"].is_string(), true);
}

TEST(Inspect, StoreWithEdgesAndWithoutSteps) {
  const auto dir = test_dir("inspect_edges");
  const std::string url = make_encoded_store(dir, 12);
  const std::string text = inspect_text(url);
  SCOPED_TRACE(text);
  EXPECT_NE(text.find("samples:      12\n"), std::string::npos);
  EXPECT_NE(text.find("steps:        - (no step field)"), std::string::npos);
  EXPECT_NE(text.find("\ncore/bond_length "), std::string::npos);
  const json j = json::parse(inspect_text(url, true));
  EXPECT_TRUE(j["steps"].is_null());
  EXPECT_EQ(j["systems"], 12);
  std::int64_t edges = 0;
  for (std::int64_t id = 0; id < 12; ++id) edges += test_support::atoms_of(id) - 1;
  EXPECT_EQ(j["edges"], edges);
  for (const auto& f : j["fields"])
    if (f["level"] == "edge") {
      EXPECT_EQ(f["rows"], edges) << f["name"];
    }
}

TEST(Inspect, BadStoresAreFormatErrors) {
  const auto dir = test_dir("inspect_bad");
  EXPECT_NE(error_of<FormatError>([&] { inspect_text((dir / "missing.zarr").string()); }).find("missing.zarr"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "missing.zarr"));
  EXPECT_NE(error_of<FormatError>([&] {
              inspect_text("file://" + (dir / "missing.zarr").string());
            }).find("no Zarr store here"),
            std::string::npos);
  // A Zarr group that is not a trajectory.
  const std::string foreign = (dir / "foreign.zarr").string();
  zarr::Group::create(zarr::open_store(foreign), "", zarr::ZarrFormat::V3, json{{"hello", 1}});
  EXPECT_NE(error_of<FormatError>([&] { inspect_text(foreign); }).find("not a trajectory store"), std::string::npos);
  EXPECT_NE(error_of<FormatError>([&] { convert(foreign, (dir / "o.xyz").string()); }).find("not a trajectory"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "o.xyz"));
}

// ====================================================================== convert

TEST(Convert, AseReadsBackEveryValue) {
  const auto dir = test_dir("convert_roundtrip");
  const std::string url = make_md_store(dir);
  const fs::path xyz = dir / "all.xyz";
  const std::string summary = convert(url, xyz.string());
  EXPECT_EQ(summary, "convert: wrote 20 frames, 80 atoms to " + xyz.string() + "\n");
  const std::string text = slurp(xyz);
  // The header of the first frame (system 0: a cell; pbc T F F).
  EXPECT_EQ(text.rfind("2\nLattice=\"", 0), 0u) << text.substr(0, 300);
  EXPECT_NE(text.find("Properties=species:S:1:pos:R:3:forces:R:3:momenta:R:3:masses:R:1:charges:R:1:tag:I:1 "),
            std::string::npos);
  EXPECT_NE(text.find(" pbc=\"T F F\""), std::string::npos);
  sinks::TrajectoryReader reader(url);
  expect_same_as_store(ase_read(xyz), reader, all_samples(reader));
  // No temporary files left next to the output.
  for (const auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST(Convert, Float32StoreWithEdgesAndExtxyzExtension) {
  const auto dir = test_dir("convert_f32");
  const std::string url = make_encoded_store(dir, 9);
  const fs::path xyz = dir / "enc.extxyz";
  const std::string summary = convert(url, xyz.string());
  EXPECT_NE(summary.find("wrote 9 frames"), std::string::npos);
  EXPECT_NE(summary.find("edge fields not written: bond_length edge_index"), std::string::npos) << summary;
  sinks::TrajectoryReader reader(url);
  expect_same_as_store(ase_read(xyz), reader, all_samples(reader));
}

TEST(Convert, FiltersBySystemAndStep) {
  const auto dir = test_dir("convert_filters");
  const std::string url = make_md_store(dir);
  sinks::TrajectoryReader reader(url);
  {
    const fs::path xyz = dir / "sys3.xyz";
    EXPECT_NE(convert(url, xyz.string(), 3, {}, {}).find("wrote 4 frames, 20 atoms"), std::string::npos);
    const json ase = ase_read(xyz);
    expect_same_as_store(ase, reader, reader.samples_of_system(3));
    for (const auto& f : ase["frames"]) EXPECT_EQ(f["info"]["system_id"], 3);
  }
  {
    const fs::path xyz = dir / "steps.xyz";
    EXPECT_NE(convert(url, xyz.string(), {}, 10, 20).find("wrote 10 frames"), std::string::npos);
    std::vector<std::int64_t> want;
    for (std::int64_t i = 5; i < 15; ++i) want.push_back(i);  // steps 10 and 20, five systems each
    expect_same_as_store(ase_read(xyz), reader, want);
  }
  {
    const fs::path xyz = dir / "both.xyz";
    EXPECT_NE(convert(url, xyz.string(), 1, 15, {}).find("wrote 2 frames"), std::string::npos);
    expect_same_as_store(ase_read(xyz), reader, {11, 16});
  }
  {
    const fs::path xyz = dir / "max.xyz";
    EXPECT_NE(convert(url, xyz.string(), {}, {}, 0).find("wrote 5 frames"), std::string::npos);
    expect_same_as_store(ase_read(xyz), reader, {0, 1, 2, 3, 4});
  }
}

TEST(Convert, BadInputGivesClearErrors) {
  const auto dir = test_dir("convert_bad");
  const std::string url = make_md_store(dir);
  const std::string out = (dir / "out.xyz").string();
  // Missing store: the reader's FormatError, naming the path.
  EXPECT_NE(error_of<FormatError>([&] { convert((dir / "nope.zarr").string(), out); }).find("nope.zarr"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "nope.zarr"));  // reading never creates a store
  // Extension.
  std::string e = error_of<InvalidArgument>([&] { convert(url, (dir / "out.pdb").string()); });
  EXPECT_NE(e.find(".xyz or .extxyz"), std::string::npos) << e;
  EXPECT_NE(error_of<InvalidArgument>([&] { convert(url, (dir / "noext").string()); }).find("extension"),
            std::string::npos);
  // min > max names both options.
  e = error_of<InvalidArgument>([&] { convert(url, out, {}, 30, 10); });
  EXPECT_NE(e.find("--step-min (30) is greater than --step-max (10)"), std::string::npos) << e;
  // Nothing matched.
  e = error_of<InvalidArgument>([&] { convert(url, out, 99, {}, {}); });
  EXPECT_NE(e.find("nothing matched"), std::string::npos) << e;
  EXPECT_NE(e.find("system_id 99"), std::string::npos) << e;
  e = error_of<InvalidArgument>([&] { convert(url, out, {}, 31, {}); });
  EXPECT_NE(e.find("nothing matched"), std::string::npos) << e;
  // Step filter on a store without a step field names the option.
  const fs::path enc_dir = dir / "enc";
  fs::create_directories(enc_dir);
  const std::string enc = make_encoded_store(enc_dir, 3);
  e = error_of<InvalidArgument>([&] { convert(enc, out, {}, 0, {}); });
  EXPECT_NE(e.find("--step-min"), std::string::npos) << e;
  EXPECT_NE(e.find("no step field"), std::string::npos) << e;
  e = error_of<InvalidArgument>([&] { convert(enc, out, {}, {}, 5); });
  EXPECT_NE(e.find("--step-max"), std::string::npos) << e;
  // An output directory that does not exist.
  EXPECT_NE(error_of<IOError>([&] { convert(url, (dir / "no" / "such" / "dir.xyz").string()); }).find("no/such"),
            std::string::npos);
  // None of the failures left a file behind.
  EXPECT_FALSE(fs::exists(out));
  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
}

TEST(Convert, FailureMidWayLeavesTheOldFileAlone) {
  const auto dir = test_dir("convert_atomic");
  const std::string url = (dir / "badz.zarr").string();
  {
    sinks::ZarrData sink(url, 100);
    sink.write(md_batch(0));
    Batch b = md_batch(10);
    b.get("atomic_numbers").data<std::int64_t>()[b.n_atoms() - 1] = 200;  // no such element
    sink.write(b);
    sink.flush();
  }
  const fs::path xyz = dir / "keep.xyz";
  { std::ofstream(xyz) << "old content\n"; }
  const std::string e = error_of<FormatError>([&] { convert(url, xyz.string()); });
  EXPECT_NE(e.find("atomic number 200"), std::string::npos) << e;
  EXPECT_EQ(slurp(xyz), "old content\n");
  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  // The good part converts.
  EXPECT_NE(convert(url, xyz.string(), {}, {}, 0).find("wrote 5 frames"), std::string::npos);
}

// ====================================================================== command line

/// Writes the store the command-line tests of inspect_convert.cmake use (path from the
/// environment; a temporary one otherwise) and checks that it inspects.
TEST(Cli, WriteStore) {
  const char* env = std::getenv("BATCHMD_CLI_STORE");
  const fs::path dir = env ? fs::path(env).parent_path() : test_dir("cli_store");
  const fs::path store = env ? fs::path(env) : dir / "md.zarr";
  fs::create_directories(dir);
  fs::remove_all(store);
  {
    sinks::ZarrData sink(store.string(), 100);
    for (auto step : kSteps) sink.write(md_batch(step));
  }
  EXPECT_NE(inspect_text(store.string()).find("samples:      20\n"), std::string::npos);
}
