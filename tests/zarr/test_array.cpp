// SPDX-License-Identifier: Apache-2.0
// Arrays: round trips of every dtype through v2 and v3 with every compressor, several chunk sizes
// and sharding; appends across chunk boundaries, reopening and appending again; encode/commit
// separation; fill values; cache behaviour; corrupt chunks and metadata.
#include <gtest/gtest.h>

#include <cmath>
#include <mutex>
#include <span>
#include <thread>

#include "batchmd/core/error.hpp"
#include "batchmd/zarr/array.hpp"
#include "batchmd/zarr/file_store.hpp"
#include "batchmd/zarr/memory_store.hpp"
#include "test_util.hpp"

namespace batchmd::zarr {
namespace {

using nlohmann::json;
using testing::CountingStore;
using testing::make_values;
using testing::TempDir;

struct Case {
  ZarrFormat format;
  DType dtype;
  std::string compressor;
  bool checksum;
  std::int64_t chunk_rows;
  std::int64_t shard_rows;
  std::vector<std::int64_t> trailing;
  bool file_store;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  std::string name = std::string(c.format == ZarrFormat::V2 ? "v2" : "v3") + "_" +
                     std::string(c.dtype == DType::Float32   ? "f4"
                                 : c.dtype == DType::Float64 ? "f8"
                                 : c.dtype == DType::Int32   ? "i4"
                                 : c.dtype == DType::Int64   ? "i8"
                                 : c.dtype == DType::Bool    ? "b1"
                                                             : "u1") +
                     "_" + c.compressor + (c.checksum ? "_crc" : "") + "_c" + std::to_string(c.chunk_rows);
  if (c.shard_rows > 0) name += "_s" + std::to_string(c.shard_rows);
  name += c.file_store ? "_file" : "_mem";
  for (char& ch : name) {
    if (ch == '-') ch = '_';
  }
  return name;
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  const DType dtypes[] = {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::Bool, DType::UInt8};
  const char* compressors[] = {"none", "zstd", "blosc-lz4", "blosc-zstd", "gzip"};
  bool file = false;
  for (const ZarrFormat format : {ZarrFormat::V2, ZarrFormat::V3}) {
    for (const DType dtype : dtypes) {
      for (const char* compressor : compressors) {
        for (const std::int64_t chunk : {1, 7, 64}) {
          const std::vector<std::int64_t> trailing = chunk == 1   ? std::vector<std::int64_t>{2, 2}
                                                     : chunk == 7 ? std::vector<std::int64_t>{3}
                                                                  : std::vector<std::int64_t>{};
          cases.push_back({format, dtype, compressor, false, chunk, 0, trailing, file});
          file = !file;
        }
        // Sharded: several inner chunks per shard, and one per shard.
        if (format == ZarrFormat::V3) {
          cases.push_back({format, dtype, compressor, false, 4, 12, {3}, file});
          cases.push_back({format, dtype, compressor, false, 5, 5, {}, !file});
        }
      }
    }
  }
  // Checksums: zstd's own (v2 and v3), crc32c after the others (v3), inside shards.
  cases.push_back({ZarrFormat::V2, DType::Float64, "zstd", true, 7, 0, {3}, true});
  cases.push_back({ZarrFormat::V3, DType::Float64, "zstd", true, 7, 0, {3}, true});
  cases.push_back({ZarrFormat::V3, DType::Int32, "none", true, 7, 0, {3}, false});
  cases.push_back({ZarrFormat::V3, DType::Float32, "gzip", true, 7, 0, {3}, true});
  cases.push_back({ZarrFormat::V3, DType::Float32, "blosc-lz4", true, 4, 16, {3}, true});
  return cases;
}

class ArrayRoundTrip : public ::testing::TestWithParam<Case> {
 protected:
  std::shared_ptr<Store> make_store() {
    if (GetParam().file_store) return std::make_shared<FileStore>(dir_.path() / "s.zarr");
    return std::make_shared<MemoryStore>();
  }
  ArrayMeta meta() const {
    const Case& c = GetParam();
    ArrayMeta m;
    m.format = c.format;
    m.dtype = c.dtype;
    m.shape = {0};
    m.shape.insert(m.shape.end(), c.trailing.begin(), c.trailing.end());
    m.chunk_rows = c.chunk_rows;
    m.shard_rows = c.shard_rows;
    m.compressor = {c.compressor, 3, true, c.checksum};
    m.attributes = {{"field", "positions"}};
    return m;
  }
  /// A new array at core/positions and `rows` rows of test values for it.
  std::pair<Array, Bytes> array_and_rows(const std::shared_ptr<Store>& store, std::int64_t rows) const {
    Array a = Array::create(store, "core/positions", meta());
    const std::size_t row_elements = a.row_bytes() / dtype_size(GetParam().dtype);
    Bytes all = make_values(GetParam().dtype, static_cast<std::size_t>(rows) * row_elements);
    return {std::move(a), std::move(all)};
  }
  TempDir dir_;
};

void expect_rows(const Array& a, const Bytes& all, std::int64_t start, std::int64_t n) {
  Bytes got(static_cast<std::size_t>(n) * a.row_bytes());
  a.read_rows(start, n, got.data());
  const auto offset = static_cast<std::ptrdiff_t>(static_cast<std::size_t>(start) * a.row_bytes());
  ASSERT_TRUE(std::equal(got.begin(), got.end(), all.begin() + offset)) << "rows " << start << "+" << n;
}

TEST_P(ArrayRoundTrip, AppendsAcrossChunksReopenAndAppendAgain) {
  auto store = make_store();
  const std::int64_t total = 3 * GetParam().chunk_rows + 40;
  auto [a, all] = array_and_rows(store, total);
  const std::size_t row_bytes = a.row_bytes();
  // Append in uneven pieces (1 row, a chunk and a bit, ...), committing after each.
  const std::int64_t pieces[] = {1, GetParam().chunk_rows + 2, 3, 17, 0};
  std::int64_t written = 0;
  for (const std::int64_t n : pieces) {
    a.append(all.data() + written * static_cast<std::int64_t>(row_bytes), n);
    written += n;
    a.commit_rows(written);
    ASSERT_EQ(a.rows(), written);
    expect_rows(a, all, 0, written);
  }
  // Reopen: the metadata round trips, and appending continues where the last append stopped
  // (inside a chunk, and inside a shard), without rewriting what came before.
  Array b = Array::open(store, "core/positions");
  EXPECT_EQ(b.meta().shape, a.meta().shape);
  EXPECT_EQ(b.meta().dtype, GetParam().dtype);
  EXPECT_EQ(b.meta().chunk_rows, GetParam().chunk_rows);
  EXPECT_EQ(b.meta().shard_rows, GetParam().shard_rows);
  EXPECT_EQ(b.meta().compressor, a.meta().compressor);
  EXPECT_EQ(b.meta().attributes, meta().attributes);
  EXPECT_EQ(b.rows(), written);
  expect_rows(b, all, 0, written);
  b.append(all.data() + written * static_cast<std::int64_t>(row_bytes), total - written);
  EXPECT_EQ(b.rows(), written);  // not visible before the commit
  b.commit_rows(total);
  Array c = Array::open(store, "core/positions");
  ASSERT_EQ(c.rows(), total);
  expect_rows(c, all, 0, total);
  // Partial ranges that start and end inside chunks.
  for (std::int64_t start = 0; start < total; start += 5) {
    expect_rows(c, all, start, std::min<std::int64_t>(9, total - start));
  }
  expect_rows(c, all, total, 0);
}

// The streaming path (append_complete, store_tail, commit_rows): the same bytes as append, with
// whole chunks stored as they fill and the tail only when a commit asks; a reopened array goes on.
TEST_P(ArrayRoundTrip, StreamingAppendsHoldTheTailUntilACommit) {
  auto store = make_store();
  const std::int64_t total = 3 * GetParam().chunk_rows + 40;
  auto [a, all] = array_and_rows(store, total);
  const std::size_t row_bytes = a.row_bytes();
  const std::int64_t pieces[] = {1, GetParam().chunk_rows + 2, 3, 17, 0, 5};
  std::int64_t written = 0;
  bool commit = false;
  for (const std::int64_t n : pieces) {
    a.append_complete(all.data() + written * static_cast<std::int64_t>(row_bytes), n);
    written += n;
    EXPECT_EQ(a.rows_encoded(), written);
    commit = !commit;
    if (!commit) continue;  // every other piece: a commit
    a.store_tail();
    a.commit_rows(written);
    Array fresh = Array::open(store, "core/positions");
    ASSERT_EQ(fresh.rows(), written);
    expect_rows(fresh, all, 0, written);
  }
  a.store_tail();
  a.commit_rows(written);
  Array b = Array::open(store, "core/positions");
  ASSERT_EQ(b.rows(), written);
  expect_rows(b, all, 0, written);
  b.append_complete(all.data() + written * static_cast<std::int64_t>(row_bytes), total - written);
  b.store_tail();
  b.commit_rows(total);
  Array c = Array::open(store, "core/positions");
  ASSERT_EQ(c.rows(), total);
  expect_rows(c, all, 0, total);
}

// The writer's parallel path (append_chunks, store_chunk from other threads in any order,
// store_tail, commit_rows): the same bytes; a reopened array goes on from its stored tail. A
// sharded array refuses it (a shard packs its chunks in order) and is left as it was.
TEST_P(ArrayRoundTrip, ChunksStoredOutOfOrderFromThreadsReadBackInOrder) {
  auto store = make_store();
  const std::int64_t total = 5 * GetParam().chunk_rows + 40;
  auto [a, all] = array_and_rows(store, total);
  const std::size_t row_bytes = a.row_bytes();
  std::vector<EncodedChunk> done;
  std::vector<Bytes> spare;
  if (GetParam().shard_rows > 0) {
    EXPECT_THROW(a.append_chunks(all.data(), 3, done, spare), InvalidArgument);
    EXPECT_TRUE(done.empty());
    EXPECT_EQ(a.rows_encoded(), 0);
    return;
  }
  const auto store_out_of_order = [&](Array& arr) {
    // Two threads, each taking chunks from the back: stores land in reverse and interleaved.
    std::vector<std::thread> threads;
    std::mutex m;
    for (int t = 0; t < 2; ++t)
      threads.emplace_back([&] {
        for (;;) {
          EncodedChunk c;
          {
            std::lock_guard lk(m);
            if (done.empty()) return;
            c = std::move(done.back());
            done.pop_back();
          }
          arr.store_chunk(c.first, c.second);
          std::lock_guard lk(m);
          spare.push_back(std::move(c.second));
        }
      });
    for (auto& t : threads) t.join();
  };
  const std::int64_t pieces[] = {1, 2 * GetParam().chunk_rows + 2, 3, 0, 17};
  std::int64_t written = 0;
  for (const std::int64_t n : pieces) {
    a.append_chunks(all.data() + written * static_cast<std::int64_t>(row_bytes), n, done, spare);
    written += n;
    EXPECT_EQ(a.rows_encoded(), written);
    EXPECT_EQ(static_cast<std::int64_t>(done.size()),
              written / GetParam().chunk_rows - (written - n) / GetParam().chunk_rows);
    store_out_of_order(a);
  }
  a.store_tail();
  a.commit_rows(written);
  Array b = Array::open(store, "core/positions");
  ASSERT_EQ(b.rows(), written);
  expect_rows(b, all, 0, written);
  const std::size_t not_a_chunk = row_bytes * static_cast<std::size_t>(GetParam().chunk_rows) + 1;
  EXPECT_THROW(b.store_chunk("core/positions/c/0/0", std::span(all.data(), not_a_chunk)), InvalidArgument);
  b.append_chunks(all.data() + written * static_cast<std::int64_t>(row_bytes), total - written, done, spare);
  store_out_of_order(b);
  b.store_tail();
  b.commit_rows(total);
  Array c = Array::open(store, "core/positions");
  ASSERT_EQ(c.rows(), total);
  expect_rows(c, all, 0, total);
}

INSTANTIATE_TEST_SUITE_P(AllDtypesCodecsChunks, ArrayRoundTrip, ::testing::ValuesIn(all_cases()), case_name);

ArrayMeta simple_meta(ZarrFormat format = ZarrFormat::V3, std::int64_t chunk_rows = 4) {
  ArrayMeta m;
  m.format = format;
  m.dtype = DType::Float64;
  m.shape = {0, 3};
  m.chunk_rows = chunk_rows;
  return m;
}

std::vector<double> iota_rows(std::int64_t start, std::int64_t n, int width = 3) {
  std::vector<double> v(static_cast<std::size_t>(n * width));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(start * width) + static_cast<double>(i);
  return v;
}

const std::byte* raw(const std::vector<double>& v) { return reinterpret_cast<const std::byte*>(v.data()); }

TEST(Array, EncodeRowsIsPureAndCommitPublishes) {
  auto store = std::make_shared<MemoryStore>();
  Array a = Array::create(store, "x", simple_meta());
  const auto keys_before = store->list("");
  const auto rows = iota_rows(0, 6);
  const auto chunks = a.encode_rows(0, raw(rows), 6);
  EXPECT_EQ(store->list(""), keys_before);  // nothing written
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].first, "x/c/0/0");
  EXPECT_EQ(chunks[1].first, "x/c/1/0");
  EXPECT_EQ(a.rows_encoded(), 6);
  EXPECT_EQ(a.rows(), 0);
  EXPECT_THROW(a.encode_rows(0, raw(rows), 1), InvalidArgument);  // must continue at row 6
  EXPECT_THROW(a.commit_rows(7), InvalidArgument);                // beyond what was encoded
  for (const auto& [key, bytes] : chunks) store->set(key, bytes);
  EXPECT_EQ(Array::open(store, "x").rows(), 0);  // stored but not committed: invisible
  a.commit_rows(6);
  EXPECT_THROW(a.commit_rows(5), InvalidArgument);  // committed rows never shrink
  Array b = Array::open(store, "x");
  EXPECT_EQ(b.read<double>(0, 6), rows);
  // Appending the next rows re-encodes only the unfinished chunk.
  const auto more = iota_rows(6, 1);
  const auto next = a.encode_rows(6, raw(more), 1);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].first, "x/c/1/0");
}

TEST(Array, AppendCostDoesNotGrowWithArraySize) {
  auto counting = std::make_shared<CountingStore>(std::make_shared<MemoryStore>());
  Array a = Array::create(counting, "x", simple_meta(ZarrFormat::V3, 8));
  for (std::int64_t r = 0; r < 500; ++r) {
    const int sets_before = counting->sets;
    a.append(raw(iota_rows(r, 1)), 1);
    a.commit_rows(r + 1);
    EXPECT_EQ(counting->sets - sets_before, 2);  // one chunk + the metadata
  }
  EXPECT_EQ(counting->gets.load(), 0);  // appending never reads the store
  // A reopened array reads its unfinished last chunk once, then appends without reading.
  Array b = Array::open(counting, "x");
  const int gets_before = counting->gets;
  b.append(raw(iota_rows(500, 1)), 1);
  b.append(raw(iota_rows(501, 1)), 1);
  EXPECT_EQ(counting->gets - gets_before, 1);
  b.commit_rows(502);
  std::vector<double> expect = iota_rows(0, 502);
  EXPECT_EQ(Array::open(counting, "x").read<double>(0, 502), expect);
}

// Streaming appends store each chunk once, when it fills, straight from the caller's rows; the
// tail costs one store write per commit, and nothing when no row came since the last one.
TEST(Array, StreamingAppendsStoreEachChunkOnce) {
  auto counting = std::make_shared<CountingStore>(std::make_shared<MemoryStore>());
  Array a = Array::create(counting, "x", simple_meta(ZarrFormat::V3, 8));
  const int sets_at_start = counting->sets;
  for (std::int64_t r = 0; r < 64; ++r) a.append_complete(raw(iota_rows(r, 1)), 1);
  EXPECT_EQ(counting->sets - sets_at_start, 8);  // 8 whole chunks, each once
  a.store_tail();
  EXPECT_EQ(counting->sets - sets_at_start, 8);  // no unfinished chunk: nothing held back
  a.append_complete(raw(iota_rows(64, 3)), 3);
  EXPECT_EQ(counting->sets - sets_at_start, 8);
  a.store_tail();
  a.store_tail();
  EXPECT_EQ(counting->sets - sets_at_start, 9);  // the tail, once
  a.commit_rows(67);
  EXPECT_EQ(counting->gets.load(), 0);
  EXPECT_EQ(Array::open(counting, "x").read<double>(0, 67), iota_rows(0, 67));
}

TEST(Array, SequentialScanDecodesEachChunkOnce) {
  auto counting = std::make_shared<CountingStore>(std::make_shared<MemoryStore>());
  ArrayMeta m = simple_meta(ZarrFormat::V3, 10);
  m.compressor = {"zstd", 1, true, false};
  Array w = Array::create(counting, "x", m);
  w.append(raw(iota_rows(0, 100)), 100);
  w.commit_rows(100);
  Array r = Array::open(counting, "x");
  const int before = counting->gets;
  for (std::int64_t row = 0; row < 100; ++row) {
    EXPECT_EQ(r.read<double>(row, 1), iota_rows(row, 1));
  }
  EXPECT_EQ(counting->gets - before, 10);
  // With room for one chunk only, going back re-reads.
  r.set_cache_capacity(1);
  r.read<double>(0, 1);
  r.read<double>(50, 1);
  r.read<double>(0, 1);
  EXPECT_EQ(counting->gets - before, 13);
}

TEST(Array, ShardedReadsUseRangesOfCompleteChunks) {
  auto counting = std::make_shared<CountingStore>(std::make_shared<MemoryStore>());
  ArrayMeta m = simple_meta(ZarrFormat::V3, 4);
  m.shard_rows = 16;
  Array w = Array::create(counting, "x", m);
  w.append(raw(iota_rows(0, 40)), 40);
  w.commit_rows(40);
  EXPECT_EQ(counting->list("x/c/").size(), 3u);  // three shards
  Array r = Array::open(counting, "x");
  EXPECT_EQ(r.read<double>(0, 40), iota_rows(0, 40));
  EXPECT_EQ(r.read<double>(13, 7), iota_rows(13, 7));
}

TEST(Array, RowsOutsideTheShapeAreInvalid) {
  auto store = std::make_shared<MemoryStore>();
  Array a = Array::create(store, "x", simple_meta());
  a.append(raw(iota_rows(0, 5)), 5);
  a.commit_rows(5);
  std::vector<double> out(30);
  auto* p = reinterpret_cast<std::byte*>(out.data());
  EXPECT_THROW(a.read_rows(4, 2, p), InvalidArgument);
  EXPECT_THROW(a.read_rows(-1, 1, p), InvalidArgument);
  EXPECT_THROW(a.read_rows(6, 0, p), InvalidArgument);
  EXPECT_NO_THROW(a.read_rows(5, 0, p));
  a.append(raw(iota_rows(5, 2)), 2);  // encoded and stored, not committed
  EXPECT_THROW(a.read_rows(0, 6, p), InvalidArgument);
  EXPECT_THROW(a.read<float>(0, 1), InvalidArgument);  // wrong element type
}

TEST(Array, MissingChunksReadAsFillValue) {
  for (const ZarrFormat format : {ZarrFormat::V2, ZarrFormat::V3}) {
    auto store = std::make_shared<MemoryStore>();
    ArrayMeta m = simple_meta(format);
    m.fill_value = -7.5;
    m.shape = {10, 3};  // created with rows nobody wrote
    Array a = Array::create(store, "x", m);
    EXPECT_EQ(a.read<double>(0, 10), std::vector<double>(30, -7.5));
    // Appending after unwritten rows keeps them as fill, and the last chunk is padded with fill.
    a.append(raw(iota_rows(10, 1)), 1);
    a.commit_rows(11);
    Array b = Array::open(store, "x");
    EXPECT_EQ(b.meta().fill_value, -7.5);
    auto got = b.read<double>(8, 3);
    std::vector<double> expect(6, -7.5);
    const auto tail = iota_rows(10, 1);
    expect.insert(expect.end(), tail.begin(), tail.end());
    EXPECT_EQ(got, expect);
  }
  // NaN fill.
  auto store = std::make_shared<MemoryStore>();
  ArrayMeta m = simple_meta();
  m.fill_value = std::nan("");
  m.shape = {2, 3};
  for (const double v : Array::create(store, "n", m).read<double>(0, 2)) EXPECT_TRUE(std::isnan(v));
}

TEST(Array, AttributesAndDimensionNames) {
  for (const ZarrFormat format : {ZarrFormat::V2, ZarrFormat::V3}) {
    auto store = std::make_shared<MemoryStore>();
    ArrayMeta m = simple_meta(format);
    m.dimension_names = {"atom", "xyz"};
    m.attributes = {{"units", "eV/angstrom"}};
    Array a = Array::create(store, "forces", m);
    a.set_attributes({{"units", "eV/angstrom"}, {"level", "atom"}});
    const Array b = Array::open(store, "forces");
    EXPECT_EQ(b.meta().attributes, (json{{"units", "eV/angstrom"}, {"level", "atom"}}));
    EXPECT_EQ(b.meta().dimension_names, m.dimension_names);
    EXPECT_THROW(a.set_attributes(json::array()), InvalidArgument);
  }
}

TEST(Array, ConcurrentReadersWhileAppending) {
  auto store = std::make_shared<MemoryStore>();
  ArrayMeta m = simple_meta(ZarrFormat::V3, 5);
  m.shard_rows = 15;
  m.compressor = {"zstd", 1, true, false};
  Array w = Array::create(store, "x", m);
  std::atomic<bool> done{false};
  std::atomic<int> mismatches{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!done) {
        const std::int64_t rows = w.rows();
        if (rows == 0) continue;
        if (w.read<double>(0, rows) != iota_rows(0, rows)) ++mismatches;
      }
    });
  }
  for (std::int64_t r = 0; r < 200; r += 3) {
    w.append(raw(iota_rows(r, 3)), 3);
    w.commit_rows(r + 3);
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// Layouts our writer does not choose but other writers do: the reader (and appending after
// opening) must follow the document. Each case edits a fresh array's zarr.json before use.
TEST(Array, FollowsLayoutsOfOtherWriters) {
  struct LayoutCase {
    const char* what;
    std::function<void(json&)> edit;
    const char* first_key;
  };
  const std::vector<LayoutCase> cases = {
      {"index at the start of shards", [](json& d) { d["codecs"][0]["configuration"]["index_location"] = "start"; },
       "x/c/0/0"},
      {"v2 chunk keys",
       [](json& d) {
         d["chunk_key_encoding"] = {{"name", "v2"}, {"configuration", {{"separator", "."}}}};
       },
       "x/0.0"},
      {"'.' separator", [](json& d) { d["chunk_key_encoding"]["configuration"]["separator"] = "."; }, "x/c.0.0"},
      {"big-endian inner chunks",
       [](json& d) { d["codecs"][0]["configuration"]["codecs"][0]["configuration"]["endian"] = "big"; }, "x/c/0/0"},
      {"index without crc32c",
       [](json& d) {
         d["codecs"][0]["configuration"]["index_codecs"] =
             json::array({d["codecs"][0]["configuration"]["index_codecs"][0]});
       },
       "x/c/0/0"},
  };
  for (const LayoutCase& c : cases) {
    auto store = std::make_shared<MemoryStore>();
    ArrayMeta m = simple_meta(ZarrFormat::V3, 2);
    m.shard_rows = 6;
    Array::create(store, "x", m);
    json doc = json::parse(testing::as_string(*store->get("x/zarr.json")));
    c.edit(doc);
    store->set("x/zarr.json", dump_json(doc));
    Array a = Array::open(store, "x");
    a.append(raw(iota_rows(0, 5)), 5);
    a.commit_rows(5);
    a.append(raw(iota_rows(5, 9)), 9);
    a.commit_rows(14);
    EXPECT_TRUE(store->exists(c.first_key)) << c.what;
    const Array b = Array::open(store, "x");
    EXPECT_EQ(b.read<double>(0, 14), iota_rows(0, 14)) << c.what;
    EXPECT_EQ(json::parse(testing::as_string(*store->get("x/zarr.json")))["codecs"], doc["codecs"]) << c.what;
  }
  // Big-endian bytes really are stored big-endian.
  auto store = std::make_shared<MemoryStore>();
  Array::create(store, "be", simple_meta());
  json doc = json::parse(testing::as_string(*store->get("be/zarr.json")));
  doc["codecs"][0]["configuration"]["endian"] = "big";
  store->set("be/zarr.json", dump_json(doc));
  Array be = Array::open(store, "be");
  be.append(raw(iota_rows(0, 4)), 4);
  be.commit_rows(4);
  const Bytes chunk = *store->get("be/c/0/0");
  EXPECT_EQ(chunk[0], std::byte{0});     // 0.0
  EXPECT_EQ(chunk[8], std::byte{0x3F});  // 1.0 = 3FF0 0000 0000 0000
  EXPECT_EQ(Array::open(store, "be").read<double>(0, 4), iota_rows(0, 4));
}

// ---- corrupt stores -------------------------------------------------------------------------

std::string format_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const FormatError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception: ") + e.what();
  }
  return "no error";
}

Array written(const std::shared_ptr<Store>& store, ArrayMeta m, std::int64_t rows = 8) {
  Array a = Array::create(store, "core/positions", m);
  a.append(raw(iota_rows(0, rows)), rows);
  a.commit_rows(rows);
  return a;
}

TEST(Corrupt, TruncatedChunk) {
  for (const char* compressor : {"none", "zstd", "blosc-lz4", "gzip"}) {
    TempDir dir;
    auto store = std::make_shared<FileStore>(dir.path() / "traj.zarr");
    ArrayMeta m = simple_meta();
    m.compressor.name = compressor;
    written(store, m);
    Bytes chunk = *store->get("core/positions/c/1/0");
    chunk.resize(chunk.size() - 5);
    store->set("core/positions/c/1/0", chunk);
    const std::string msg = format_error_of([&] { Array::open(store, "core/positions").read<double>(0, 8); });
    EXPECT_NE(msg.find(store->url() + "/core/positions/c/1/0: "), std::string::npos) << msg;
  }
}

TEST(Corrupt, FlippedByteUnderCrc32c) {
  auto store = std::make_shared<MemoryStore>("flip");
  ArrayMeta m = simple_meta();
  m.compressor = {"none", 0, false, true};
  written(store, m);
  Bytes chunk = *store->get("core/positions/c/0/0");
  chunk[10] ^= std::byte{1};
  store->set("core/positions/c/0/0", chunk);
  const std::string msg = format_error_of([&] { Array::open(store, "core/positions").read<double>(0, 1); });
  EXPECT_NE(msg.find("memory://flip/core/positions/c/0/0: crc32c: checksum mismatch"), std::string::npos) << msg;
}

TEST(Corrupt, ChunkOfTheWrongShape) {
  auto store = std::make_shared<MemoryStore>();
  ArrayMeta m = simple_meta();
  m.compressor = {"zstd", 1, true, false};
  written(store, m);
  ArrayMeta other = m;
  other.chunk_rows = 3;  // a chunk written for another chunk shape
  auto foreign = std::make_shared<MemoryStore>();
  written(foreign, other);
  store->set("core/positions/c/0/0", *foreign->get("core/positions/c/0/0"));
  const std::string msg = format_error_of([&] { Array::open(store, "core/positions").read<double>(0, 1); });
  EXPECT_NE(msg.find("core/positions/c/0/0: zstd"), std::string::npos) << msg;
  // Uncompressed: the bytes codec sees the wrong size.
  m.compressor = {};
  other.compressor = {};
  written(store, m);
  written(foreign, other);
  store->set("core/positions/c/0/0", *foreign->get("core/positions/c/0/0"));
  const std::string msg2 = format_error_of([&] { Array::open(store, "core/positions").read<double>(0, 1); });
  EXPECT_NE(msg2.find("core/positions/c/0/0: bytes: decoded to 72 bytes, expected 96"), std::string::npos) << msg2;
}

TEST(Corrupt, BadShards) {
  auto store = std::make_shared<MemoryStore>("shards");
  ArrayMeta m = simple_meta(ZarrFormat::V3, 2);
  m.shard_rows = 8;
  written(store, m, 16);
  const std::string key = "core/positions/c/1/0";
  const Bytes good = *store->get(key);
  Bytes bad_index = good;
  bad_index[bad_index.size() - 10] ^= std::byte{4};
  store->set(key, bad_index);
  std::string msg = format_error_of([&] { Array::open(store, "core/positions").read<double>(8, 1); });
  EXPECT_NE(msg.find("memory://shards/" + key + ": shard index: crc32c"), std::string::npos) << msg;
  store->set(key, Bytes(good.begin(), good.begin() + 20));  // truncated: index gone
  msg = format_error_of([&] { Array::open(store, "core/positions").read<double>(8, 1); });
  EXPECT_NE(msg.find(key), std::string::npos) << msg;
  // A shard shorter than its index says (most of its chunks cut off, the index kept).
  Bytes short_shard(good.begin() + 150, good.end());
  store->set(key, short_shard);
  msg = format_error_of([&] { Array::open(store, "core/positions").read<double>(8, 8); });
  EXPECT_NE(msg.find(key), std::string::npos) << msg;
}

TEST(Corrupt, BadMetadataDocuments) {
  TempDir dir;
  auto store = std::make_shared<FileStore>(dir.path() / "traj.zarr");
  written(store, simple_meta());
  const std::string key = "core/positions/zarr.json";
  const std::string where = store->url() + "/" + key;
  json doc = json::parse(testing::as_string(*store->get(key)));

  store->set(key, testing::as_bytes("{\"zarr_format\": 3,"));
  EXPECT_EQ(format_error_of([&] { Array::open(store, "core/positions"); }).rfind(where + ": invalid JSON", 0), 0u);

  json bad = doc;
  bad["data_type"] = "complex64";
  store->set(key, dump_json(bad));
  EXPECT_EQ(format_error_of([&] {
              Array::open(store, "core/positions");
            }).rfind(where + ": data_type 'complex64' is not supported", 0),
            0u);

  bad = doc;
  bad["shape"] = {8, 3, 2};  // chunk_shape has two axes
  store->set(key, dump_json(bad));
  EXPECT_NE(format_error_of([&] { Array::open(store, "core/positions"); }).find(where + ": chunk_grid"),
            std::string::npos);

  bad = doc;
  bad["node_type"] = "group";
  store->set(key, dump_json(bad));
  EXPECT_NE(format_error_of([&] { Array::open(store, "core/positions"); }).find("not an array"), std::string::npos);

  EXPECT_NE(format_error_of([&] { Array::open(store, "nothing/here"); }).find("no Zarr array"), std::string::npos);

  // v2: bad JSON in .zattrs, unknown dtype in .zarray.
  written(store, simple_meta(ZarrFormat::V2));
  store->erase(key);
  store->set("core/positions/.zattrs", testing::as_bytes("[1,"));
  EXPECT_NE(format_error_of([&] { Array::open(store, "core/positions"); }).find(".zattrs: invalid JSON"),
            std::string::npos);
  store->set("core/positions/.zattrs", testing::as_bytes("{}"));
  json v2 = json::parse(testing::as_string(*store->get("core/positions/.zarray")));
  v2["dtype"] = "<c16";
  store->set("core/positions/.zarray", dump_json(v2));
  EXPECT_NE(format_error_of([&] { Array::open(store, "core/positions"); }).find(".zarray: dtype \"<c16\""),
            std::string::npos);
}

}  // namespace
}  // namespace batchmd::zarr
