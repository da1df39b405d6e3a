// SPDX-License-Identifier: Apache-2.0
// Damaged and crafted stores (issue 10 §4) at the Zarr level: metadata claiming absurd or
// overflowing sizes, codecs with bad parameters, data that inflates beyond any chunk, reads larger
// than memory, and chunks missing inside the committed rows of a store whose writer promises every
// chunk. Each gives a clear error (FormatError / CapacityError naming the store, key and field)
// with bounded memory; stores of other writers still read missing chunks as fill values.
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>

#include "../support/error_of.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/zarr/array.hpp"
#include "batchmd/zarr/codec.hpp"
#include "batchmd/zarr/group.hpp"
#include "batchmd/zarr/memory_store.hpp"
#include "batchmd/zarr/read_limits.hpp"
#include "test_util.hpp"

namespace batchmd::zarr {
namespace {

using nlohmann::json;
using testing::as_bytes;
using testing::as_string;

using batchmd::test_support::error_of;

// Restores the default read budget at scope exit.
struct ReadBudget {
  explicit ReadBudget(std::uint64_t bytes) { set_max_read_bytes(bytes); }
  ~ReadBudget() { set_max_read_bytes(0); }
};

ArrayMeta meta(ZarrFormat f = ZarrFormat::V3, std::int64_t chunk_rows = 4) {
  ArrayMeta m;
  m.format = f;
  m.dtype = DType::Float64;
  m.shape = {0, 3};
  m.chunk_rows = chunk_rows;
  return m;
}

// An array of `rows` rows of 3 doubles (value = 3 * row + column) in `store` at `path`.
void write_rows(const std::shared_ptr<Store>& store, const std::string& path, const ArrayMeta& m, std::int64_t rows) {
  Array a = Array::create(store, path, m);
  std::vector<double> v(static_cast<std::size_t>(3 * rows));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  a.append(reinterpret_cast<const std::byte*>(v.data()), rows);
  a.commit_rows(rows);
}

json v3_doc(const std::shared_ptr<Store>& store, const std::string& path) {
  return json::parse(as_string(*store->get(path + "/zarr.json")));
}

std::string open_error(const std::shared_ptr<Store>& store, const std::string& path, const json& doc) {
  store->set(path + "/zarr.json", dump_json(doc));
  return error_of<FormatError>([&] { Array::open(store, path); });
}

// ---- crafted metadata

TEST(CraftedMetadata, AbsurdChunkShapesAreRefusedWhenTheArrayOpens) {
  auto store = std::make_shared<MemoryStore>("crafted");
  write_rows(store, "a", meta(), 10);
  const json good = v3_doc(store, "a");
  struct Case {
    json shape, chunks;
    const char* says;
  };
  const std::int64_t big = std::int64_t{1} << 40;
  for (const Case& c : {Case{{10, 3}, {big, 3}, "2 GiB"},                                    // 8 TB chunk
                        Case{{10, 3}, {std::int64_t{1} << 29, 3}, "2 GiB"},                  // 12 GiB
                        Case{{10, big}, {4, big}, "a row"},                                  // one row of 8 TB
                        Case{{10, big, big}, {4, big, big}, "a row"},                        // product overflows
                        Case{{std::int64_t{1} << 62, 3}, {4, 3}, "overflow a 64-bit size"},  // shape[0] * row
                        Case{{10, 3}, {0, 3}, "integers >= 1"}, Case{{-5, 3}, {4, 3}, "integers >= 0"},
                        Case{{10, 0}, {4, 0}, "trailing axes"}, Case{{10, 3}, {4.5, 3}, "integers"},
                        Case{{10, 3}, {"4", 3}, "integers"}}) {
    json doc = good;
    doc["shape"] = c.shape;
    doc["chunk_grid"]["configuration"]["chunk_shape"] = c.chunks;
    const std::string e = open_error(store, "a", doc);
    EXPECT_NE(e.find("memory://crafted/a/zarr.json: "), std::string::npos) << e;
    EXPECT_NE(e.find(c.says), std::string::npos) << c.shape.dump() << " " << c.chunks.dump() << ": " << e;
  }
  // Unsigned beyond int64 (wraps negative in a naive reader).
  json doc = good;
  doc["shape"] = json::parse("[18446744073709551615, 3]");
  EXPECT_NE(open_error(store, "a", doc).find("integers >= 0"), std::string::npos);
}

TEST(CraftedMetadata, V2ChunksAndShapesToo) {
  auto store = std::make_shared<MemoryStore>("crafted2");
  write_rows(store, "a", meta(ZarrFormat::V2), 10);
  const json good = json::parse(as_string(*store->get("a/.zarray")));
  for (const auto& [shape, chunks] : {std::pair<json, json>{{10, 3}, {std::int64_t{1} << 40, 3}},
                                      {{10, std::int64_t{1} << 61}, {4, std::int64_t{1} << 61}},
                                      {{std::int64_t{1} << 62, 3}, {4, 3}}}) {
    json doc = good;
    doc["shape"] = shape;
    doc["chunks"] = chunks;
    store->set("a/.zarray", dump_json(doc));
    const std::string e = error_of<FormatError>([&] { Array::open(store, "a"); });
    EXPECT_NE(e.find("memory://crafted2/a/.zarray: chunks / shape: "), std::string::npos) << e;
  }
}

TEST(CraftedMetadata, ShardIndexesOfAbsurdSize) {
  auto store = std::make_shared<MemoryStore>("shard");
  ArrayMeta m = meta();
  m.shard_rows = 8;
  write_rows(store, "s", m, 16);
  json doc = v3_doc(store, "s");
  doc["chunk_grid"]["configuration"]["chunk_shape"] = {std::int64_t{1} << 40, 3};  // 2^38 inner chunks
  EXPECT_NE(open_error(store, "s", doc).find("index over 2 GiB"), std::string::npos);
  doc["chunk_grid"]["configuration"]["chunk_shape"] = {10, 3};  // not a multiple of the inner 4
  EXPECT_NE(open_error(store, "s", doc).find("must divide"), std::string::npos);
}

TEST(CraftedMetadata, CodecsWithBadParameters) {
  auto store = std::make_shared<MemoryStore>("codecs");
  write_rows(store, "a", meta(), 10);
  const json good = v3_doc(store, "a");
  struct Case {
    json codec;
    const char* says;
  };
  for (const Case& c :
       {Case{{{"name", "zstd"}, {"configuration", {{"level", 1000}}}}, "level"},
        Case{{{"name", "zstd"}, {"configuration", {{"level", "fast"}}}}, "level"},
        Case{{{"name", "zstd"}, {"configuration", {{"checksum", 1}}}}, "checksum"},
        Case{{{"name", "gzip"}, {"configuration", {{"level", -1}}}}, "level"},
        Case{{{"name", "gzip"}, {"configuration", {{"level", 4294967305}}}}, "level"},
        Case{{{"name", "blosc"},
              {"configuration", {{"cname", "lz4"}, {"clevel", 5}, {"shuffle", "shuffle"}, {"typesize", 0}}}},
             "typesize"},
        Case{{{"name", "blosc"}, {"configuration", {{"cname", "rot13"}, {"clevel", 5}, {"shuffle", "shuffle"}}}},
             "cname"},
        Case{{{"name", "blosc"},
              {"configuration", {{"cname", "lz4"}, {"clevel", 5}, {"shuffle", "shuffle"}, {"blocksize", -8}}}},
             "blocksize"},
        Case{{{"name", "crc32c"}, {"configuration", {{"seed", 1}}}}, "unknown configuration field"},
        Case{{{"name", "lzma"}}, "not supported"}, Case{{{"configuration", json::object()}}, "name"},
        Case{json(42), "codec entry"}}) {
    json doc = good;
    doc["codecs"] = {{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}, c.codec};
    const std::string e = open_error(store, "a", doc);
    EXPECT_NE(e.find("memory://codecs/a/zarr.json: codecs: "), std::string::npos) << e;
    EXPECT_NE(e.find(c.says), std::string::npos) << c.codec.dump() << ": " << e;
  }
  json doc = good;
  doc["codecs"] = {{{"name", "bytes"}, {"configuration", {{"endian", "middle"}}}}};
  EXPECT_NE(open_error(store, "a", doc).find("endian"), std::string::npos);
  doc["codecs"] = {{{"name", "zstd"}}};  // no array -> bytes codec first
  EXPECT_NE(open_error(store, "a", doc).find("array -> bytes"), std::string::npos);
}

TEST(CraftedMetadata, DeeplyNestedJsonIsRefusedWithoutRecursion) {
  auto store = std::make_shared<MemoryStore>("deep");
  write_rows(store, "a", meta(), 4);
  // A million levels: a recursive walk of it (dump, destruction) would overflow the stack.
  const std::string deep =
      "{\"zarr_format\": 3, \"attributes\": {\"x\": " + std::string(1000000, '[') + std::string(1000000, ']') + "}}";
  store->set("a/zarr.json", as_bytes(deep));
  EXPECT_NE(error_of<FormatError>([&] { Array::open(store, "a"); }).find("nested deeper than 64 levels"),
            std::string::npos);
  // Sixty levels of attributes are fine.
  write_rows(store, "b", meta(), 4);
  json doc = v3_doc(store, "b");
  json nested = 1;
  for (int i = 0; i < 60; ++i) nested = json::array({nested});
  doc["attributes"]["x"] = nested;
  store->set("b/zarr.json", dump_json(doc));
  EXPECT_EQ(Array::open(store, "b").meta().attributes["x"], nested);
}

// ---- decoding stays within the read budget

Bytes gzip_of(const Bytes& data) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  Bytes out(deflateBound(&z, static_cast<uLong>(data.size())) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(DecodeBudget, CompressedBombsStopAtTheBudgetWithoutAKnownSize) {
  const Bytes zeros(64u << 20);  // 64 MiB of zeros: ~64 KB of gzip, a few KB of zstd
  const Bytes gz = gzip_of(zeros);
  Bytes zs(ZSTD_compressBound(zeros.size()));
  zs.resize(ZSTD_compress(zs.data(), zs.size(), zeros.data(), zeros.size(), 19));
  ASSERT_LT(gz.size(), 200000u);
  ReadBudget budget(8u << 20);
  const ChunkSpec spec{DType::UInt8, 16};
  for (const auto& [name, data] : {std::pair<const char*, const Bytes*>{"gzip", &gz}, {"zstd", &zs}}) {
    const auto codec = make_codec(json{{"name", name}, {"configuration", {{"level", 1}}}}, spec);
    const std::string e = error_of<CapacityError>([&] { codec->decode(*data, std::nullopt); });
    EXPECT_NE(e.find(std::string(name) + ": decoded data"), std::string::npos) << e;
    EXPECT_NE(e.find("allowed for one read"), std::string::npos) << e;
    // With the size the pipeline knows, a mismatch is corruption, found without inflating it all.
    EXPECT_THROW(codec->decode(*data, 4096), FormatError);
  }
  set_max_read_bytes(0);
  const auto gzip = make_codec(json{{"name", "gzip"}, {"configuration", {{"level", 1}}}}, spec);
  EXPECT_EQ(gzip->decode(gz, std::nullopt).size(), zeros.size());  // within the default budget
}

TEST(DecodeBudget, BloscHeaderClaimingGigabytes) {
  const ChunkSpec spec{DType::Float64, 8};
  const auto blosc = make_codec(
      json{{"name", "blosc"}, {"configuration", {{"cname", "lz4"}, {"clevel", 5}, {"shuffle", "shuffle"}}}}, spec);
  const Bytes data(64, std::byte{1});
  Bytes enc = blosc->encode(data);
  // nbytes (bytes 4..7) rewritten to 1.9 GB. Where the pipeline knows the size, a mismatch;
  // where it does not, the budget (or blosc's own validation) stops it before any allocation.
  const std::uint32_t claim = 1900000000u;
  std::memcpy(enc.data() + 4, &claim, 4);
  EXPECT_NE(error_of<FormatError>([&] { blosc->decode(enc, 64); }).find("expected 64"), std::string::npos);
  {
    ReadBudget budget(1u << 20);
    EXPECT_THROW(blosc->decode(enc, std::nullopt), Error);
  }
  EXPECT_THROW(blosc->decode(Bytes(enc.begin(), enc.begin() + 10), std::nullopt), FormatError);
}

TEST(DecodeBudget, ReadsLargerThanTheBudgetAreRefusedBeforeAllocating) {
  auto store = std::make_shared<MemoryStore>("budget");
  write_rows(store, "a", meta(), 10);
  json doc = v3_doc(store, "a");
  doc["shape"] = {std::int64_t{1} << 45, 3};  // 844 TB claimed; only chunk 0..2 exist
  store->set("a/zarr.json", dump_json(doc));
  const Array a = Array::open(store, "a");
  const std::string e = error_of<CapacityError>([&] { a.read<double>(0, a.rows()); });
  EXPECT_NE(e.find("memory://budget/a: rows [0, 35184372088832)"), std::string::npos) << e;
  EXPECT_NE(e.find("of memory available"), std::string::npos) << e;
  EXPECT_EQ(a.read<double>(3, 2), (std::vector<double>{9, 10, 11, 12, 13, 14}));  // small reads still work
  // A chunk bigger than the budget (legal metadata, 1.6 GB chunks of fill values).
  ReadBudget budget(1u << 20);
  ArrayMeta m = meta(ZarrFormat::V3, 1 << 26);
  m.shape = {10, 3};
  const Array big = Array::create(store, "big", m);
  EXPECT_NE(error_of<CapacityError>([&] { big.read<double>(0, 1); }).find("a chunk of fill values"), std::string::npos);
  // Ranges are checked before the size: a negative count is an InvalidArgument, not bad_alloc.
  EXPECT_THROW(a.read<double>(0, -1), InvalidArgument);
  EXPECT_THROW(a.read<double>(-5, 1), InvalidArgument);
}

// ---- missing chunks: damage in a batchmd store, fill values elsewhere

std::shared_ptr<MemoryStore> store_with_missing_chunk(bool complete, bool sharded, const std::string& name) {
  auto store = std::make_shared<MemoryStore>(name);
  json attrs = {{"num_samples", 3}};
  if (complete) attrs["batchmd"] = {{"writer", "batchmd"}, {"chunks", "complete"}};
  Group root = Group::create(store, "", ZarrFormat::V3, attrs);
  root.create_group("core");
  ArrayMeta m = meta();
  if (sharded) m.shard_rows = 8;
  write_rows(store, "core/positions", m, 20);
  if (sharded) {
    // Drop inner chunk 1 of shard 0 from the index: rewrite the shard without it.
    Array a = Array::open(store, "core/positions");
    const Bytes shard = *store->get("core/positions/c/0/0");
    Bytes index(shard.end() - (2 * 16 + 4), shard.end() - 4);
    std::memset(index.data() + 16, 0xFF, 16);  // entry 1: missing
    Bytes patched(shard.begin(), shard.end() - (2 * 16 + 4));
    patched.insert(patched.end(), index.begin(), index.end());
    const std::uint32_t crc = crc32c(index);
    for (int i = 0; i < 4; ++i) patched.push_back(static_cast<std::byte>((crc >> (8 * i)) & 0xFF));
    store->set("core/positions/c/0/0", patched);
  } else {
    store->erase("core/positions/c/2/0");  // rows 8..11
  }
  return store;
}

TEST(MissingChunks, InABatchmdStoreAreAnErrorNamingTheKey) {
  for (const bool sharded : {false, true}) {
    auto store = store_with_missing_chunk(true, sharded, sharded ? "complete_sharded" : "complete");
    const Group root = Group::open(store, "");
    EXPECT_TRUE(root.complete_chunks());
    // Through the root, through a child group, and on a second read (not cached as fill).
    const Array a = root.open_array("core/positions");
    EXPECT_TRUE(a.requires_chunks());
    const Array b = root.open_group("core").open_array("positions");
    for (const Array* arr : {&a, &b, &a}) {
      const std::string e = error_of<FormatError>([&] { arr->read<double>(0, 20); });
      const std::string key = sharded ? "core/positions/c/0/0" : "core/positions/c/2/0";
      EXPECT_NE(e.find(store->url() + "/" + key + ": chunk " + (sharded ? "1" : "2")), std::string::npos) << e;
      EXPECT_NE(e.find("missing inside the committed rows"), std::string::npos) << e;
    }
    // Rows in chunks that exist still read.
    EXPECT_EQ(a.read<double>(0, 2), (std::vector<double>{0, 1, 2, 3, 4, 5}));
  }
}

TEST(MissingChunks, InOtherWritersStoresReadAsFillValues) {
  for (const bool sharded : {false, true}) {
    auto store = store_with_missing_chunk(false, sharded, sharded ? "foreign_sharded" : "foreign");
    const Group root = Group::open(store, "");
    EXPECT_FALSE(root.complete_chunks());
    const auto v = root.open_array("core/positions").read<double>(0, 20);
    const std::size_t first = sharded ? 12 : 24;  // rows 4..7 (inner chunk 1) or 8..11 (chunk 2)
    for (std::size_t i = 0; i < v.size(); ++i)
      EXPECT_EQ(v[i], i >= first && i < first + 12 ? 0.0 : static_cast<double>(i)) << i;
    // Arrays opened directly (not through a group) follow Zarr: fill values.
    EXPECT_FALSE(Array::open(store, "core/positions").requires_chunks());
  }
  // A batchmd attribute without the promise, or a malformed one, promises nothing.
  for (const json& bm : {json{{"writer", "batchmd"}}, json("complete"), json{{"chunks", true}}}) {
    auto store = std::make_shared<MemoryStore>();
    Group::create(store, "", ZarrFormat::V3, {{"batchmd", bm}});
    EXPECT_FALSE(Group::open(store, "").complete_chunks()) << bm.dump();
  }
}

TEST(MissingChunks, AppendingToADamagedBatchmdStoreFails) {
  // The writer reloads its unfinished last chunk before appending: a missing one is damage there
  // too, not a chunk of fill values to build on.
  auto store = std::make_shared<MemoryStore>("append");
  Group::create(store, "", ZarrFormat::V3, {{"batchmd", {{"chunks", "complete"}}}});
  write_rows(store, "core/positions", meta(), 18);
  store->erase("core/positions/c/4/0");  // the last (partial) chunk: rows 16, 17
  Array a = Group::open(store, "").open_array("core/positions");
  std::vector<double> row(3, 1.0);
  EXPECT_NE(error_of<FormatError>([&] {
              a.append(reinterpret_cast<const std::byte*>(row.data()), 1);
            }).find("core/positions/c/4/0: chunk 4"),
            std::string::npos);
}

TEST(CraftedShards, IndexEntriesClaimingHugeChunksAreRefused) {
  auto store = std::make_shared<MemoryStore>("bigentry");
  ArrayMeta m = meta();
  m.shard_rows = 8;
  write_rows(store, "s", m, 16);
  const Bytes shard = *store->get("s/c/0/0");
  Bytes patched = shard;
  const std::size_t idx = shard.size() - (2 * 16 + 4);
  const std::uint64_t huge = std::uint64_t{1} << 50;
  std::memcpy(patched.data() + idx + 8, &huge, 8);  // entry 0: nbytes 2^50
  const Bytes index(patched.begin() + static_cast<std::ptrdiff_t>(idx), patched.end() - 4);
  const std::uint32_t crc = crc32c(index);
  for (int i = 0; i < 4; ++i)
    patched[patched.size() - 4 + static_cast<std::size_t>(i)] = static_cast<std::byte>((crc >> (8 * i)) & 0xFF);
  store->set("s/c/0/0", patched);
  const std::string e = error_of<FormatError>([&] { Array::open(store, "s").read<double>(0, 1); });
  EXPECT_NE(e.find("memory://bigentry/s/c/0/0"), std::string::npos) << e;
  // offset + nbytes overflowing 64 bits.
  const std::uint64_t off = UINT64_MAX - 4;
  std::memcpy(patched.data() + idx, &off, 8);
  const std::uint64_t n = 100;
  std::memcpy(patched.data() + idx + 8, &n, 8);
  const Bytes index2(patched.begin() + static_cast<std::ptrdiff_t>(idx), patched.end() - 4);
  const std::uint32_t crc2 = crc32c(index2);
  for (int i = 0; i < 4; ++i)
    patched[patched.size() - 4 + static_cast<std::size_t>(i)] = static_cast<std::byte>((crc2 >> (8 * i)) & 0xFF);
  store->set("s/c/0/0", patched);
  EXPECT_NE(error_of<FormatError>([&] { Array::open(store, "s").read<double>(0, 1); }).find("malformed index entry 0"),
            std::string::npos);
}

}  // namespace
}  // namespace batchmd::zarr
