// SPDX-License-Identifier: Apache-2.0
// Tests for ZarrData and TrajectoryReader: round trips of every dtype and level through Zarr v2
// and v3 and every codec, masks, DataSink semantics, append/reopen, background errors, corrupt
// and foreign stores, and a reader that opens while a writer appends.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "batchmd/core/error.hpp"
#include "batchmd/core/version.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "trajectory_fixture.hpp"

using namespace batchmd;
using namespace batchmd::sinks;
using batchmd::test_support::check_encoded;
using batchmd::test_support::encoded_batch;
namespace fs = std::filesystem;

namespace {

std::string temp_store(const std::string& name) {
  auto p = fs::path(::testing::TempDir()) / ("batchmd_zd_" + name + "_" + std::to_string(::getpid()) + ".zarr");
  fs::remove_all(p);
  return p.string();
}

struct Variant {
  std::string label;
  zarr::ZarrFormat format;
  zarr::CompressorConfig comp;
  std::int64_t chunks_per_shard = 0;
};

class ZarrRoundTrip : public ::testing::TestWithParam<Variant> {};

}  // namespace

TEST_P(ZarrRoundTrip, EveryFieldLevelAndDtypeWithMasks) {
  const Variant& v = GetParam();
  const std::string url = temp_store(v.label);
  {
    ZarrWriteConfig cfg;
    cfg.format = v.format;
    cfg.compressor = v.comp;
    cfg.chunk_samples = 3;  // small chunks: many chunk boundaries crossed
    cfg.chunks_per_shard = v.chunks_per_shard;
    ZarrData sink(url, 1000, cfg);
    sink.write(encoded_batch(0, 5));
    Batch b = encoded_batch(5, 6);
    sink.write(b, {true, false, true, true, false, true});  // ids 5, 7, 8, 10
    sink.write(encoded_batch(11, 17));
    EXPECT_EQ(sink.size(), 5 + 4 + 17);
    Batch all = sink.read();
    ASSERT_EQ(all.n_systems(), 26);
    EXPECT_NO_THROW(all.validate());
  }
  TrajectoryReader r(url);
  ASSERT_EQ(r.num_samples(), 26);
  EXPECT_EQ(r.zarr_format(), static_cast<int>(v.format));
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(i);
  for (int i : {5, 7, 8, 10}) ids.push_back(i);
  for (int i = 11; i < 28; ++i) ids.push_back(i);
  Batch all = r.read_range(0, 26);
  for (std::size_t s = 0; s < ids.size(); ++s)
    ASSERT_EQ(check_encoded(all, static_cast<std::int64_t>(s), ids[s]), "") << v.label << " sample " << s;
  // single samples, lists and systems
  ASSERT_EQ(check_encoded(r.read(6), 0, 7), "");
  Batch picked = r.read_indices({25, 0, 1, 13});
  ASSERT_EQ(check_encoded(picked, 0, 27), "");
  ASSERT_EQ(check_encoded(picked, 1, 0), "");
  ASSERT_EQ(check_encoded(picked, 2, 1), "");
  ASSERT_EQ(check_encoded(picked, 3, 15), "");
  Batch sys = r.read_system(8);
  ASSERT_EQ(sys.n_systems(), 1);
  ASSERT_EQ(check_encoded(sys, 0, 8), "");
  EXPECT_TRUE(r.read_system(6).n_systems() == 0);
  EXPECT_THROW(r.read(26), InvalidArgument);
  EXPECT_THROW(r.read_range(3, 2), InvalidArgument);
  fs::remove_all(url);
}

INSTANTIATE_TEST_SUITE_P(FormatsAndCodecs, ZarrRoundTrip,
                         ::testing::Values(Variant{"v3_none", zarr::ZarrFormat::V3, {"none", 0, false, false}},
                                           Variant{"v3_zstd", zarr::ZarrFormat::V3, {"zstd", 1, false, false}},
                                           Variant{"v3_zstd_crc", zarr::ZarrFormat::V3, {"zstd", 3, false, true}},
                                           Variant{"v3_blosc_lz4", zarr::ZarrFormat::V3, {"blosc-lz4", 5, true, false}},
                                           Variant{
                                               "v3_blosc_zstd", zarr::ZarrFormat::V3, {"blosc-zstd", 3, true, false}},
                                           Variant{"v3_gzip", zarr::ZarrFormat::V3, {"gzip", 6, false, true}},
                                           Variant{"v3_sharded", zarr::ZarrFormat::V3, {"zstd", 1, false, false}, 4},
                                           Variant{"v2_none", zarr::ZarrFormat::V2, {"none", 0, false, false}},
                                           Variant{"v2_zstd", zarr::ZarrFormat::V2, {"zstd", 1, false, false}},
                                           Variant{"v2_blosc_lz4", zarr::ZarrFormat::V2, {"blosc-lz4", 5, true, false}},
                                           Variant{"v2_gzip", zarr::ZarrFormat::V2, {"gzip", 6, false, false}}),
                         [](const auto& p) { return p.param.label; });

TEST(ZarrData, SinkSemantics) {
  ZarrData sink("memory://sink_semantics", 10);
  EXPECT_THROW(sink.read(), InvalidArgument);
  Batch b = encoded_batch(0, 4);
  EXPECT_THROW(sink.write(b, {true, false}), InvalidArgument);
  sink.write(b);
  EXPECT_THROW(sink.write(encoded_batch(4, 7)), CapacityError);  // 4 + 7 > 10: nothing stored
  EXPECT_EQ(sink.size(), 4);
  sink.write(b, {true, true, false, true});
  sink.write(encoded_batch(4, 3), {false, false, false});
  EXPECT_EQ(sink.size(), 7);
  EXPECT_FALSE(sink.is_full());
  Batch d = sink.drain();
  EXPECT_EQ(d.n_systems(), 7);
  EXPECT_EQ(sink.size(), 0);
  EXPECT_THROW(sink.read(), InvalidArgument);
  sink.write(encoded_batch(20, 2));
  ASSERT_EQ(check_encoded(sink.read(), 1, 21), "");
  sink.zero();
  EXPECT_EQ(sink.size(), 0);
  EXPECT_THROW(ZarrData("memory://bad_cap", 0), InvalidArgument);
}

TEST(ZarrData, RejectsBatchesWithOtherFields) {
  ZarrData sink("memory://schema_change", 100);
  sink.write(encoded_batch(0, 2));
  Batch b = encoded_batch(2, 2);
  b.erase("tag");
  EXPECT_THROW(sink.write(b), InvalidArgument);
  EXPECT_EQ(sink.read().n_systems(), 2);
}

TEST(ZarrData, ExistingStoreIsNotOverwrittenAndCanBeAppended) {
  const std::string url = temp_store("append");
  { ZarrData(url, 100).write(encoded_batch(0, 3)); }
  EXPECT_THROW(ZarrData(url, 100), InvalidArgument);
  {
    ZarrWriteConfig cfg;
    cfg.append = true;
    ZarrData again(url, 100, cfg);
    EXPECT_EQ(again.size(), 3);
    again.write(encoded_batch(3, 4));
  }
  TrajectoryReader r(url);
  ASSERT_EQ(r.num_samples(), 7);
  Batch all = r.read_range(0, 7);
  for (int i = 0; i < 7; ++i) ASSERT_EQ(check_encoded(all, i, i), "");
  fs::remove_all(url);
}

// The root attribute says which build wrote the store (the same build information as
// `batchmd --version`), and the writer's version is the project's.
TEST(ZarrData, StoreRecordsTheBuildThatWroteIt) {
  const std::string url = temp_store("build");
  { ZarrData(url, 100).write(encoded_batch(0, 2)); }
  const nlohmann::json bm = TrajectoryReader(url).batchmd_attributes();
  EXPECT_EQ(bm.value("writer", ""), "batchmd");
  EXPECT_EQ(bm.value("version", ""), build_info().version);
  ASSERT_TRUE(bm.contains("build")) << bm.dump();
  EXPECT_EQ(bm["build"], build_info_json());
  EXPECT_EQ(bm["build"].value("commit", ""), build_info().commit);
  fs::remove_all(url);
}

TEST(ZarrData, BackgroundErrorSurfacesOnNextWriteOrFlush) {
  const std::string url = temp_store("worker_error");
  ZarrData sink(url, 1000);
  sink.write(encoded_batch(0, 2));
  sink.flush();
  // Make the positions array unwritable: its chunk folder becomes a plain file.
  fs::remove_all(fs::path(url) / "core" / "positions" / "c");
  std::ofstream(fs::path(url) / "core" / "positions" / "c") << "in the way";
  sink.write(encoded_batch(2, 2));
  EXPECT_THROW(sink.flush(), Error);
  EXPECT_THROW(sink.write(encoded_batch(4, 1)), Error);  // and stays failed
  // what was committed before the failure is still readable and intact
  TrajectoryReader r(url);
  ASSERT_EQ(r.num_samples(), 2);
  fs::remove_all(url);
}

// Chunks are stored on the pool while the writer takes more writes: a chunk that cannot be
// stored stops the sink at a later write (no flush needed), and the committed samples stay whole.
TEST(ZarrData, AChunkThatFailsInTheBackgroundStopsLaterWrites) {
  const std::string url = temp_store("chunk_error");
  ZarrWriteConfig cfg;
  cfg.chunk_samples = 2;
  cfg.commit_interval = 3600;  // no commit in between: the failure must surface through the chunks
  ZarrData sink(url, 100000, cfg);
  sink.write(encoded_batch(0, 2));
  sink.flush();
  // The next chunks of positions cannot be stored: plain files stand where their folders go.
  for (int c = 1; c < 4; ++c) std::ofstream(fs::path(url) / "core" / "positions" / "c" / std::to_string(c)) << "x";
  int thrown_at = -1;
  for (int i = 0; i < 2000 && thrown_at < 0; ++i) {
    try {
      sink.write(encoded_batch(2 + i, 1));
    } catch (const Error& e) {
      thrown_at = i;
      EXPECT_NE(std::string(e.what()).find("positions"), std::string::npos) << e.what();
    }
  }
  EXPECT_GE(thrown_at, 0) << "no write raised the background error";
  EXPECT_THROW(sink.flush(), Error);
  TrajectoryReader r(url);
  ASSERT_EQ(r.num_samples(), 2);
  EXPECT_EQ(check_encoded(r.read(1), 0, 1), "");
  fs::remove_all(url);
}

TEST(ZarrData, ReaderSeesConsistentPrefixWhileWriterAppends) {
  const std::string url = temp_store("concurrent");
  {
    ZarrWriteConfig cfg;
    cfg.chunk_samples = 2;
    ZarrData sink(url, 100000, cfg);
    sink.write(encoded_batch(0, 1));
    sink.flush();
    std::atomic<bool> done{false};
    std::thread writer([&] {
      for (std::int64_t id = 1; id < 400; id += 3) sink.write(encoded_batch(id, 3));
      sink.flush();
      done = true;
    });
    std::int64_t last = 0;
    int checks = 0;
    while (!done || checks < 3) {
      TrajectoryReader r(url);
      const auto n = r.num_samples();
      EXPECT_GE(n, last);
      last = n;
      if (n > 0) {
        ASSERT_EQ(check_encoded(r.read(n - 1), 0, n - 1), "");
      }
      ++checks;
      if (done && checks >= 3) break;
    }
    writer.join();
  }
  EXPECT_EQ(TrajectoryReader(url).num_samples(), 400);
  fs::remove_all(url);
}

TEST(TrajectoryReader, ForeignTruncatedAndCorruptStoresGiveClearErrors) {
  const std::string url = temp_store("corrupt");
  auto expect_format_error = [&](const std::string& what, const std::string& needle) {
    try {
      TrajectoryReader r(url);
      r.read_range(0, r.num_samples());
      ADD_FAILURE() << what << ": no error";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << what << ": " << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << what << ": wrong exception type: " << e.what();
    }
  };
  expect_format_error("no store", "no Zarr store");
  { ZarrData(url, 100).write(encoded_batch(0, 4)); }
  const fs::path root = url;
  // bad JSON in the root document
  std::string good_root;
  {
    std::ifstream in(root / "zarr.json");
    good_root.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(root / "zarr.json") << "{ not json";
  expect_format_error("bad JSON", "zarr.json");
  // a Zarr group that is not a trajectory
  std::ofstream(root / "zarr.json") << R"({"zarr_format": 3, "node_type": "group", "attributes": {}})";
  expect_format_error("foreign group", "num_samples");
  // num_samples larger than the pointer arrays
  auto attrs = nlohmann::json::parse(good_root);
  attrs["attributes"]["num_samples"] = 99;
  std::ofstream(root / "zarr.json") << attrs.dump();
  expect_format_error("pointer arrays too short", "atoms_ptr");
  std::ofstream(root / "zarr.json") << good_root;
  // wrong dtype in an array's metadata
  std::string pos_meta;
  {
    std::ifstream in(root / "core" / "positions" / "zarr.json");
    pos_meta.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto pm = nlohmann::json::parse(pos_meta);
  pm["data_type"] = "complex128";
  std::ofstream(root / "core" / "positions" / "zarr.json") << pm.dump();
  expect_format_error("bad dtype", "data_type");
  // array shorter than the pointer arrays say
  pm = nlohmann::json::parse(pos_meta);
  pm["shape"][0] = 3;
  std::ofstream(root / "core" / "positions" / "zarr.json") << pm.dump();
  expect_format_error("short array", "positions");
  std::ofstream(root / "core" / "positions" / "zarr.json") << pos_meta;
  // truncated chunk
  for (const auto& e : fs::recursive_directory_iterator(root / "core" / "energy" / "c"))
    if (e.is_regular_file()) fs::resize_file(e.path(), fs::file_size(e.path()) / 2);
  expect_format_error("truncated chunk", "energy");
  fs::remove_all(url);
}
