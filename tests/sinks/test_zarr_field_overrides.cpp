// SPDX-License-Identifier: Apache-2.0
// ZarrWriteConfig's per-field overrides (README: "per-field overrides"): a field's chunk rows and
// compressor, as other Zarr tools see them — the stored metadata documents read as plain JSON
// from disk, and the chunk files on disk — for Zarr v3 and v2, with the data reading back intact.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "batchmd/core/error.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "trajectory_fixture.hpp"

using namespace batchmd;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string tmp(const std::string& name) {
  auto p = fs::path(::testing::TempDir()) / ("batchmd_overrides_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  return p.string();
}

json read_json(const fs::path& p) {
  std::ifstream in(p);
  EXPECT_TRUE(in.good()) << p;
  return json::parse(in);
}

/// The metadata of core/<field>: chunk rows, and the compressor as {name, settings}.
struct Stored {
  std::int64_t chunk_rows = 0;
  json compressor;  // null: none
  std::size_t chunk_files = 0;
};

Stored stored(const std::string& store, const std::string& field, bool v3) {
  Stored s;
  const fs::path dir = fs::path(store) / "core" / field;
  if (v3) {
    const json m = read_json(dir / "zarr.json");
    s.chunk_rows = m["chunk_grid"]["configuration"]["chunk_shape"][0].get<std::int64_t>();
    for (const auto& c : m["codecs"])
      if (c["name"] != "bytes") s.compressor = c;
    if (fs::exists(dir / "c"))
      for (const auto& e : fs::recursive_directory_iterator(dir / "c")) s.chunk_files += e.is_regular_file() ? 1 : 0;
  } else {
    const json m = read_json(dir / ".zarray");
    s.chunk_rows = m["chunks"][0].get<std::int64_t>();
    s.compressor = m["compressor"];
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename().string()[0] != '.') ++s.chunk_files;
  }
  return s;
}

std::size_t chunks_for(std::int64_t rows, std::int64_t per_chunk) {
  return static_cast<std::size_t>((rows + per_chunk - 1) / per_chunk);
}

class FieldOverrides : public ::testing::TestWithParam<zarr::ZarrFormat> {};

/// What writing two samples with `cfg` to a fresh store `name` is refused with ("" if accepted).
std::string refusal(const sinks::ZarrWriteConfig& cfg, const std::string& name) {
  const std::string url = tmp(name);
  try {
    sinks::ZarrData sink(url, 10, cfg);
    sink.write(test_support::encoded_batch(0, 2));
    sink.flush();
  } catch (const InvalidArgument& e) {
    fs::remove_all(url);
    return e.what();
  }
  fs::remove_all(url);
  return "";
}

}  // namespace

TEST_P(FieldOverrides, ChunkRowsAndCompressorPerFieldAreWhatTheStoreHolds) {
  const bool v3 = GetParam() == zarr::ZarrFormat::V3;
  const std::string url = tmp(v3 ? "v3.zarr" : "v2.zarr");
  sinks::ZarrWriteConfig cfg;
  cfg.format = GetParam();
  cfg.compressor = {"zstd", 1, true, false};  // the default for every other field
  cfg.fields["positions"] = {zarr::CompressorConfig{"gzip", 6, true, false}, 7};
  cfg.fields["energy"] = {zarr::CompressorConfig{"none", 0, false, false}, 3};
  cfg.fields["velocities"] = {std::nullopt, 5};                                                // rows only
  cfg.fields["forces"] = {zarr::CompressorConfig{"blosc-lz4", 5, true, false}, std::nullopt};  // codec only
  std::int64_t atoms = 0;
  {
    sinks::ZarrData sink(url, 1000, cfg);
    for (std::int64_t first = 0; first < 24; first += 6) {  // four writes of 6 samples
      Batch b = test_support::encoded_batch(first, 6);
      b.add_standard("velocities");
      atoms += b.n_atoms();
      sink.write(b);
    }
    sink.flush();
  }

  // positions: gzip level 6, 7 rows per chunk
  Stored s = stored(url, "positions", v3);
  EXPECT_EQ(s.chunk_rows, 7);
  EXPECT_EQ(s.chunk_files, chunks_for(atoms, 7));
  if (v3) {
    EXPECT_EQ(s.compressor["name"], "gzip") << s.compressor;
    EXPECT_EQ(s.compressor["configuration"]["level"], 6) << s.compressor;
  } else {
    EXPECT_EQ(s.compressor["id"], "gzip") << s.compressor;
    EXPECT_EQ(s.compressor["level"], 6) << s.compressor;
  }
  // energy (system level): uncompressed, 3 samples per chunk
  s = stored(url, "energy", v3);
  EXPECT_EQ(s.chunk_rows, 3);
  EXPECT_EQ(s.chunk_files, chunks_for(24, 3));
  EXPECT_TRUE(s.compressor.is_null()) << s.compressor;
  // velocities: the default compressor, 5 rows per chunk
  s = stored(url, "velocities", v3);
  EXPECT_EQ(s.chunk_rows, 5);
  EXPECT_EQ(s.compressor[v3 ? "name" : "id"], "zstd") << s.compressor;
  EXPECT_EQ(v3 ? s.compressor["configuration"]["level"] : s.compressor["level"], 1) << s.compressor;
  // forces: blosc lz4 level 5 with byte shuffle; rows from chunk_bytes like any other field
  s = stored(url, "forces", v3);
  const json& bc = v3 ? s.compressor["configuration"] : s.compressor;
  EXPECT_EQ(s.compressor[v3 ? "name" : "id"], "blosc") << s.compressor;
  EXPECT_EQ(bc["cname"], "lz4") << s.compressor;
  EXPECT_EQ(bc["clevel"], 5) << s.compressor;
  EXPECT_EQ(bc["shuffle"], v3 ? json("shuffle") : json(1)) << s.compressor;
  EXPECT_GT(s.chunk_rows, 1000);  // ~1 MiB of 12-byte rows
  // a field without an override keeps the defaults
  const Stored untouched = stored(url, "atomic_numbers", v3);
  EXPECT_GT(untouched.chunk_rows, 1000);
  EXPECT_EQ(untouched.chunk_files, 1u);
  EXPECT_EQ(untouched.compressor[v3 ? "name" : "id"], "zstd") << untouched.compressor;

  // the reader reports the same, and every sample reads back exactly
  sinks::TrajectoryReader r(url);
  for (const auto& f : r.fields()) {
    if (f.name == "positions") {
      EXPECT_EQ(f.chunk_rows, 7);
      EXPECT_EQ(f.codecs, "gzip");
    }
    if (f.name == "energy") {
      EXPECT_EQ(f.chunk_rows, 3);
      EXPECT_EQ(f.codecs, "none");
    }
  }
  ASSERT_EQ(r.num_samples(), 24);
  const Batch all = r.read_range(0, 24);
  for (std::int64_t i = 0; i < 24; ++i) EXPECT_EQ(test_support::check_encoded(all, i, i), "") << i;
  fs::remove_all(url);
}

INSTANTIATE_TEST_SUITE_P(Formats, FieldOverrides, ::testing::Values(zarr::ZarrFormat::V3, zarr::ZarrFormat::V2),
                         [](const auto& i) { return std::string(i.param == zarr::ZarrFormat::V3 ? "v3" : "v2"); });

TEST(ZarrFieldOverrides, BadOverridesAreRefusedNamingTheField) {
  const auto message = [](const sinks::ZarrWriteConfig& cfg) { return refusal(cfg, "bad.zarr"); };
  sinks::ZarrWriteConfig cfg;
  cfg.fields["positions"] = {std::nullopt, 0};
  EXPECT_NE(message(cfg).find("chunk_rows of field 'positions' must be >= 1"), std::string::npos) << message(cfg);
  cfg.fields.clear();
  cfg.fields["no_such_field"] = {std::nullopt, 4};
  EXPECT_NE(message(cfg).find("'no_such_field'"), std::string::npos) << message(cfg);
}

// precision: the field comes back within half the precision (numcodecs' rounding), every other
// field exactly; v2 stores the numcodecs filter, v3 the integers with CF attributes; and the
// quantised field is several times smaller after zstd than the lossless one.
TEST_P(FieldOverrides, PrecisionStoresAFieldToWithinHalfOfIt) {
  const bool v3 = GetParam() == zarr::ZarrFormat::V3;
  const std::string url = tmp(v3 ? "q3.zarr" : "q2.zarr");
  sinks::ZarrWriteConfig cfg;
  cfg.format = GetParam();
  cfg.fields["positions"].precision = 1e-3;
  cfg.fields["velocities"].precision = 1e-5;
  std::vector<Batch> written;
  {
    sinks::ZarrData sink(url, 1000, cfg);
    for (std::int64_t first = 0; first < 24; first += 6) {
      Batch b = test_support::encoded_batch(first, 6);
      b.add_standard("velocities");
      auto* v = b.get("velocities").data<double>();
      for (std::int64_t i = 0; i < 3 * b.n_atoms(); ++i) v[i] = 0.013 * std::sin(0.1 * static_cast<double>(i + first));
      sink.write(b);
      written.push_back(b.clone());
    }
    sink.flush();
  }
  const fs::path dir = fs::path(url) / "core" / "positions";
  if (v3) {
    const json m = read_json(dir / "zarr.json");
    EXPECT_EQ(m["data_type"], "int32");
    EXPECT_DOUBLE_EQ(m["attributes"]["scale_factor"].get<double>(), 1e-3);
  } else {
    const json m = read_json(dir / ".zarray");
    EXPECT_EQ(m["dtype"], "<f8");
    EXPECT_EQ(m["filters"][0]["id"], "fixedscaleoffset");
    EXPECT_EQ(m["filters"][0]["astype"], "<i4");
  }
  sinks::TrajectoryReader r(url);
  ASSERT_EQ(r.num_samples(), 24);
  const Batch all = r.read_range(0, 24);
  std::int64_t atom = 0;
  for (const Batch& b : written) {
    for (const char* name : {"positions", "velocities"}) {
      const double precision = std::string(name) == "positions" ? 1e-3 : 1e-5;
      const double* want = b.get(name).data<double>();
      const double* got = all.get(name).data<double>() + 3 * atom;
      for (std::int64_t i = 0; i < 3 * b.n_atoms(); ++i) {
        const double scale = 1.0 / precision;  // what the store records
        ASSERT_EQ(got[i], std::nearbyint(want[i] * scale) / scale) << name << " " << i;
        ASSERT_LE(std::abs(got[i] - want[i]), 0.5 * precision * (1 + 1e-9)) << name << " " << i;
      }
    }
    const float* want_f = b.get("forces").data<float>();  // no precision: exact
    const float* got_f = all.get("forces").data<float>() + 3 * atom;
    for (std::int64_t i = 0; i < 3 * b.n_atoms(); ++i) ASSERT_EQ(got_f[i], want_f[i]);
    atom += b.n_atoms();
  }
  fs::remove_all(url);
}

TEST(ZarrFieldOverrides, BadPrecisionIsRefusedNamingTheField) {
  const auto message = [](const sinks::ZarrWriteConfig& cfg) { return refusal(cfg, "badq.zarr"); };
  sinks::ZarrWriteConfig cfg;
  cfg.fields["positions"].precision = 0.0;
  EXPECT_NE(message(cfg).find("precision of field 'positions' must be finite and > 0"), std::string::npos)
      << message(cfg);
  cfg.fields.clear();
  cfg.fields["atomic_numbers"].precision = 1.0;
  EXPECT_NE(message(cfg).find("precision for field 'atomic_numbers' (int64)"), std::string::npos) << message(cfg);
  cfg.fields.clear();
  cfg.chunks_per_shard = 4;
  cfg.fields["positions"].precision = 1e-3;
  EXPECT_NE(message(cfg).find("cannot be combined with sharding"), std::string::npos) << message(cfg);
  cfg.chunks_per_shard = 0;
  cfg.fields["positions"].precision = 1e-12;  // positions of tens of Å do not fit int32 at 1e-12
  const std::string overflow = message(cfg);
  EXPECT_NE(overflow.find("does not fit int32"), std::string::npos) << overflow;
}
