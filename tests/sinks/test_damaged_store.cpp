// SPDX-License-Identifier: Apache-2.0
// Damaged and crafted trajectory stores (issue 10 §4): a batchmd store missing a chunk inside its
// committed samples is an error naming the key (it used to read as atoms at the origin); a store
// of another writer, where a missing chunk means the fill value, still reads; crafted metadata
// (num_samples against the pointer arrays, non-monotonic or out-of-range atoms_ptr, standard
// fields of the wrong shape or level, edge indices outside their sample, sizes beyond memory)
// gives a FormatError or CapacityError with bounded memory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>

#include "../support/error_of.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "batchmd/zarr/array.hpp"
#include "batchmd/zarr/group.hpp"
#include "batchmd/zarr/memory_store.hpp"
#include "batchmd/zarr/metadata.hpp"
#include "batchmd/zarr/read_limits.hpp"
#include "trajectory_fixture.hpp"

namespace batchmd::sinks {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test_support::check_encoded;
using test_support::encoded_batch;

using batchmd::test_support::error_of;

std::string temp_store(const std::string& name) {
  const fs::path p =
      fs::temp_directory_path() / ("batchmd_damaged_" + std::to_string(::getpid()) + "_" + name + ".zarr");
  fs::remove_all(p);
  return p.string();
}

// 30 samples of encoded_batch, 3 samples per chunk of a field, 4 entries per chunk of a pointer
// array (many chunks), flushed and closed.
std::string written(const std::string& name, zarr::ZarrFormat format = zarr::ZarrFormat::V3,
                    std::int64_t chunks_per_shard = 0) {
  const std::string url = temp_store(name);
  ZarrWriteConfig cfg;
  cfg.format = format;
  cfg.compressor = {"zstd", 1, true, false};
  cfg.chunk_samples = 3;
  cfg.chunk_bytes = 32;  // bookkeeping arrays (atoms_ptr, ...) in chunks of 4 rows
  cfg.chunks_per_shard = chunks_per_shard;
  ZarrData sink(url, 1000, cfg);
  sink.write(encoded_batch(0, 17));
  sink.write(encoded_batch(17, 13));
  return url;
}

// The key of chunk `i` of array `path` in a store of `format`.
std::string chunk_key(zarr::ZarrFormat format, const std::string& path, int ndim, std::int64_t i) {
  std::string k = path + (format == zarr::ZarrFormat::V3 ? "/c/" : "/") + std::to_string(i);
  for (int d = 1; d < ndim; ++d) k += format == zarr::ZarrFormat::V3 ? "/0" : ".0";
  return k;
}

json root_attrs(const std::string& url) { return zarr::Group::open(zarr::open_store(url), "").attributes(); }
void set_root_attrs(const std::string& url, const json& a) {
  zarr::Group::open(zarr::open_store(url), "").set_attributes(a);
}

// Rewrites one field of an array's metadata (v3 zarr.json or v2 .zarray).
void patch_array(const std::string& url, const std::string& path, const std::function<void(json&)>& f) {
  auto store = zarr::open_store(url);
  const std::string key = store->exists(path + "/zarr.json") ? path + "/zarr.json" : path + "/.zarray";
  json doc = zarr::parse_json(*store->get(key), key);
  f(doc);
  store->set(key, zarr::dump_json(doc));
}

TEST(DamagedStore, MissingChunkInsideTheCommittedSamplesIsAnErrorNamingTheKey) {
  for (const auto format : {zarr::ZarrFormat::V3, zarr::ZarrFormat::V2}) {
    const std::string url = written(format == zarr::ZarrFormat::V3 ? "miss3" : "miss2", format);
    EXPECT_EQ(root_attrs(url)["batchmd"]["chunks"], "complete");
    TrajectoryReader ok(url);
    const auto atoms = ok.atom_counts();
    // Atom rows of sample 10 onwards: find the positions chunk that holds sample 10's first atom.
    std::int64_t first_atom = 0;
    for (int s = 0; s < 10; ++s) first_atom += atoms[static_cast<std::size_t>(s)];
    const std::int64_t chunk_rows =
        zarr::Group::open(zarr::open_store(url), "").open_array("core/positions").meta().chunk_rows;
    const std::string key = chunk_key(format, "core/positions", 2, first_atom / chunk_rows);
    ASSERT_TRUE(fs::remove(fs::path(url) / key)) << key;

    TrajectoryReader r(url);
    const std::string e = error_of<FormatError>([&] { r.read(10); });
    EXPECT_NE(e.find(url + "/" + key + ": chunk "), std::string::npos) << e;
    EXPECT_NE(e.find("missing inside the committed rows"), std::string::npos) << e;
    EXPECT_THROW(r.read_range(0, 30), FormatError);
    EXPECT_EQ(check_encoded(r.read(0), 0, 0), "");  // samples in chunks that exist still read
    EXPECT_EQ(check_encoded(r.read(29), 0, 29), "");
    fs::remove_all(url);
  }
}

TEST(DamagedStore, MissingPointerOrBookkeepingChunks) {
  const std::string url = written("meta");
  fs::remove(fs::path(url) / "meta/atoms_ptr/c/3");
  EXPECT_NE(error_of<FormatError>([&] { TrajectoryReader r(url); }).find("meta/atoms_ptr/c/3: chunk 3"),
            std::string::npos);
  const std::string url2 = written("ids");
  fs::remove(fs::path(url2) / "core/system_id/c/2");
  TrajectoryReader r(url2);
  EXPECT_NE(error_of<FormatError>([&] { r.system_ids(); }).find("core/system_id/c/2"), std::string::npos);
  EXPECT_THROW(last_snapshot_per_system(r), FormatError);  // a restart would have run empty systems
  fs::remove_all(url);
  fs::remove_all(url2);
}

TEST(DamagedStore, MissingShardOrInnerChunkOfASharedStore) {
  const std::string url = written("shard", zarr::ZarrFormat::V3, 2);
  fs::remove(fs::path(url) / "core/energy/c/1");  // samples 6..11
  TrajectoryReader r(url);
  EXPECT_NE(error_of<FormatError>([&] { r.read(7); }).find("core/energy/c/1: chunk 2"), std::string::npos);
  EXPECT_EQ(check_encoded(r.read(12), 0, 12), "");
  fs::remove_all(url);
}

TEST(DamagedStore, StoresOfOtherWritersStillReadMissingChunksAsFill) {
  // The same store without batchmd's promise: a missing chunk is the fill value, as Zarr says.
  const std::string url = written("foreign");
  json attrs = root_attrs(url);
  attrs["batchmd"].erase("chunks");
  set_root_attrs(url, attrs);
  fs::remove(fs::path(url) / "core/energy/c/2");  // samples 6..8
  TrajectoryReader r(url);
  const Batch b = r.read_range(0, 30);
  const double* e = b.get("energy").data<double>();
  for (int s = 0; s < 30; ++s) EXPECT_EQ(e[s], s >= 6 && s < 9 ? 0.0 : -0.5 * s) << s;
  fs::remove_all(url);
}

TEST(DamagedStore, AppendingKeepsTheConventionOfTheStore) {
  // batchmd's own store stays "complete" after an append ...
  const std::string own = written("append_own");
  {
    ZarrWriteConfig cfg;
    cfg.append = true;
    ZarrData sink(own, 1000, cfg);
    sink.write(encoded_batch(30, 2));
  }
  EXPECT_EQ(root_attrs(own)["batchmd"]["chunks"], "complete");
  // ... while appending to a store of another writer (missing chunks as fill) promises nothing
  // about the samples it did not write: they still read, missing chunk as fill.
  const std::string foreign = written("append_foreign");
  json attrs = root_attrs(foreign);
  attrs.erase("batchmd");
  set_root_attrs(foreign, attrs);
  fs::remove(fs::path(foreign) / "core/energy/c/2");  // samples 6..8
  {
    ZarrWriteConfig cfg;
    cfg.append = true;
    cfg.chunk_samples = 3;
    ZarrData sink(foreign, 1000, cfg);
    sink.write(encoded_batch(30, 2));
  }
  EXPECT_EQ(root_attrs(foreign)["batchmd"]["chunks"], "unknown");
  TrajectoryReader r(foreign);
  ASSERT_EQ(r.num_samples(), 32);
  const Batch b = r.read_range(0, 32);
  const double* e = b.get("energy").data<double>();
  for (int s = 0; s < 32; ++s) EXPECT_EQ(e[s], s >= 6 && s < 9 ? 0.0 : -0.5 * s) << s;
  fs::remove_all(own);
  fs::remove_all(foreign);
}

TEST(CraftedStore, NumSamplesAgainstThePointerArrays) {
  const std::string url = written("nsamples");
  json attrs = root_attrs(url);
  for (const json& n : {json(31), json(1000000), json(-1), json(9223372036854775807LL), json("30"), json(3.5)}) {
    attrs["num_samples"] = n;
    set_root_attrs(url, attrs);
    EXPECT_THROW(TrajectoryReader r(url), FormatError) << n.dump();
  }
  // Pointer arrays that claim as many entries, in a batchmd store: the first missing chunk stops
  // the read (memory grows only with the chunks that exist).
  attrs["num_samples"] = 100000000;
  set_root_attrs(url, attrs);
  for (const char* p : {"meta/atoms_ptr", "meta/edges_ptr"})
    patch_array(url, p, [](json& d) { d["shape"] = {100000001}; });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_NE(error_of<FormatError>([&] { TrajectoryReader r(url); }).find("meta/atoms_ptr/c/8: chunk 8"),
            std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  // Beyond the memory of the machine: refused before reading.
  attrs["num_samples"] = 4000000000000000LL;
  set_root_attrs(url, attrs);
  for (const char* p : {"meta/atoms_ptr", "meta/edges_ptr"})
    patch_array(url, p, [](json& d) { d["shape"] = {4000000000000001LL}; });
  EXPECT_NE(error_of<CapacityError>([&] { TrajectoryReader r(url); }).find("meta/atoms_ptr"), std::string::npos);
  fs::remove_all(url);
}

// A store in memory with the layout's arrays as given (for pointer arrays of any content).
struct Crafted {
  std::string url;
  std::shared_ptr<zarr::Store> store;
  zarr::Group root;
  explicit Crafted(const std::string& name, std::int64_t n, bool complete = true)
      : url("memory://crafted_" + name), store(zarr::open_store(url)), root(make_root(store, n, complete)) {}
  static zarr::Group make_root(const std::shared_ptr<zarr::Store>& s, std::int64_t n, bool complete) {
    json attrs = {{"num_samples", n}, {"fields", {{"core", json::object()}, {"custom", json::object()}}}};
    if (complete) attrs["batchmd"] = {{"chunks", "complete"}};
    return zarr::Group::create(s, "", zarr::ZarrFormat::V3, attrs);
  }
  template <typename T>
  void array(const std::string& path, DType dt, std::vector<std::int64_t> trailing, const std::vector<T>& v,
             const std::string& level = "") {
    std::int64_t w = 1;
    for (auto d : trailing) w *= d;
    zarr::ArrayMeta m;
    m.dtype = dt;
    m.shape = {0};
    m.shape.insert(m.shape.end(), trailing.begin(), trailing.end());
    m.chunk_rows = 4;
    zarr::Array a = zarr::Array::create(store, path, m);
    const auto rows = static_cast<std::int64_t>(v.size()) / w;
    a.append(reinterpret_cast<const std::byte*>(v.data()), rows);
    a.commit_rows(rows);
    if (!level.empty()) {
      json attrs = root.attributes();
      const auto slash = path.find('/');
      attrs["fields"][path.substr(0, slash)][path.substr(slash + 1)] = level;
      root.set_attributes(attrs);
    }
  }
};

TEST(CraftedStore, PointerArraysMustStartAtZeroAndNeverDecrease) {
  struct Case {
    std::vector<std::int64_t> ptr;
    const char* says;
  };
  int i = 0;
  for (const Case& c : {Case{{0, 2, 1, 3}, "decreases at sample 1"}, Case{{1, 2, 3, 4}, "must start at 0"},
                        Case{{0, -5, 3, 4}, "decreases at sample 0"},
                        Case{{0, 2, 4, 9223372036854775807LL}, "core/positions has 8 rows"}}) {
    Crafted s("ptr" + std::to_string(i++), 3);
    s.array<std::int64_t>("meta/atoms_ptr", DType::Int64, {}, c.ptr);
    s.array<double>("core/positions", DType::Float64, {3}, std::vector<double>(24, 1.0), "atom");
    const std::string e = error_of<FormatError>([&] { TrajectoryReader r(s.url); });
    EXPECT_NE(e.find(c.says), std::string::npos) << e;
  }
  Crafted s("ptr2d", 3);
  s.array<std::int64_t>("meta/atoms_ptr", DType::Int64, {2}, {0, 0, 1, 1, 2, 2, 3, 3});
  EXPECT_NE(error_of<FormatError>([&] { TrajectoryReader r(s.url); }).find("one-dimensional"), std::string::npos);
  Crafted f("ptrfloat", 3);
  f.array<double>("meta/atoms_ptr", DType::Float64, {}, {0, 1, 2, 3});
  EXPECT_NE(error_of<FormatError>([&] { TrajectoryReader r(f.url); }).find("must hold integers"), std::string::npos);
}

TEST(CraftedStore, StandardFieldsMustMatchTheSchema) {
  struct Case {
    std::string name, level;
    DType dt;
    std::vector<std::int64_t> trailing;
    std::int64_t rows;
    const char* says;
  };
  int i = 0;
  for (const Case& c : {Case{"positions", "atom", DType::Float64, {2}, 6, "2 values per row, positions has 3"},
                        Case{"positions", "system", DType::Float64, {3}, 3, "is per atom"},
                        Case{"positions", "atom", DType::Int64, {3}, 6, "are floating-point"},
                        Case{"cell", "system", DType::Float64, {3}, 3, "cell has 9"},
                        Case{"edge_index", "atom", DType::Int64, {2}, 6, "is per edge"},
                        Case{"system_id", "system", DType::Float64, {}, 3, "are int64"},
                        Case{"pbc", "system", DType::Bool, {}, 3, "pbc has 3"}}) {
    Crafted s("schema" + std::to_string(i++), 3);
    s.array<std::int64_t>("meta/atoms_ptr", DType::Int64, {}, {0, 2, 4, 6});
    std::int64_t w = 1;
    for (auto d : c.trailing) w *= d;
    const std::size_t count = static_cast<std::size_t>(c.rows * w);
    if (c.dt == DType::Float64)
      s.array<double>("core/" + c.name, c.dt, c.trailing, std::vector<double>(count), c.level);
    if (c.dt == DType::Int64)
      s.array<std::int64_t>("core/" + c.name, c.dt, c.trailing, std::vector<std::int64_t>(count), c.level);
    if (c.dt == DType::Bool)
      s.array<std::uint8_t>("core/" + c.name, c.dt, c.trailing, std::vector<std::uint8_t>(count), c.level);
    const std::string e = error_of<FormatError>([&] { TrajectoryReader r(s.url); });
    EXPECT_NE(e.find("core/" + c.name), std::string::npos) << e;
    EXPECT_NE(e.find(c.says), std::string::npos) << c.name << ": " << e;
  }
}

TEST(CraftedStore, EdgeIndicesOutsideTheirSample) {
  for (const std::vector<std::int64_t>& ei : {std::vector<std::int64_t>{0, 1, 0, 2}, {0, 1, -1, 0}, {0, 1, 1, 9}}) {
    Crafted s("edges" + std::to_string(ei[3]), 2);
    s.array<std::int64_t>("meta/atoms_ptr", DType::Int64, {}, {0, 2, 4});
    s.array<std::int64_t>("meta/edges_ptr", DType::Int64, {}, {0, 1, 2});
    s.array<double>("core/positions", DType::Float64, {3}, std::vector<double>(12), "atom");
    s.array<std::int64_t>("core/edge_index", DType::Int64, {2}, ei, "edge");
    TrajectoryReader r(s.url);
    EXPECT_NO_THROW(r.read(0));
    const std::string e = error_of<FormatError>([&] { r.read(1); });
    EXPECT_NE(e.find("core/edge_index of sample 1 holds atom index"), std::string::npos) << e;
  }
}

TEST(CraftedStore, SamplesLargerThanTheReadBudget) {
  // Legal metadata for a store of a few huge samples whose chunks are missing (a foreign store:
  // fill values): reading one sample would take terabytes.
  Crafted s("huge", 2, /*complete=*/false);
  s.array<std::int64_t>("meta/atoms_ptr", DType::Int64, {}, {0, 1000000000000LL, 2000000000000LL});
  s.array<double>("core/positions", DType::Float64, {3}, std::vector<double>(3), "atom");
  patch_array(s.url, "core/positions", [](json& d) { d["shape"] = {2000000000000LL, 3}; });
  TrajectoryReader r(s.url);
  const std::string e = error_of<CapacityError>([&] { r.read(0); });
  EXPECT_NE(e.find(s.url + ": samples [0, 1)"), std::string::npos) << e;
  // A budget set for the process applies the same way.
  zarr::set_max_read_bytes(1000);
  Crafted t("budget", 1, false);
  t.array<std::int64_t>("meta/atoms_ptr", DType::Int64, {}, {0, 100});
  t.array<double>("core/positions", DType::Float64, {3}, std::vector<double>(300, 2.0), "atom");
  EXPECT_THROW(TrajectoryReader(t.url).read(0), CapacityError);
  zarr::set_max_read_bytes(0);
  EXPECT_EQ(TrajectoryReader(t.url).read(0).n_atoms(), 100);
}

}  // namespace
}  // namespace batchmd::sinks
