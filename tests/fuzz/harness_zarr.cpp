// SPDX-License-Identifier: Apache-2.0
// tests/fuzz: harnesses of the Zarr layer — v3 and v2 array/group metadata, and every codec's
// decode (bytes, zstd, blosc, gzip, crc32c, pipelines, the sharding index).
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "batchmd/core/error.hpp"
#include "batchmd/zarr/array.hpp"
#include "batchmd/zarr/codec.hpp"
#include "batchmd/zarr/memory_store.hpp"
#include "batchmd/zarr/metadata.hpp"
#include "batchmd/zarr/read_limits.hpp"
#include "fuzz_input.hpp"
#include "harness.hpp"
#include "sharding.hpp"

namespace batchmd::fuzz {

using nlohmann::json;

void init() { zarr::set_max_read_bytes(64u << 20); }

namespace {

[[noreturn]] void invariant_failed(const char* what) {
  std::fprintf(stderr, "fuzz invariant failed: %s\n", what);
  std::abort();
}

bool same_array(const zarr::ArrayMeta& a, const zarr::ArrayMeta& b) {
  return a.format == b.format && a.dtype == b.dtype && a.shape == b.shape && a.chunk_rows == b.chunk_rows &&
         a.shard_rows == b.shard_rows && a.compressor == b.compressor && a.attributes == b.attributes &&
         a.dimension_names == b.dimension_names && a.quantize == b.quantize;
}

// Reads the first rows of an array whose metadata documents are in `store` (chunks are missing:
// fill values, or chunks the input also provided).
void read_some(const std::shared_ptr<zarr::Store>& store, const std::string& path) {
  const zarr::Array a = zarr::Array::open(store, path);
  const std::int64_t n = std::min<std::int64_t>(a.rows(), 16);
  std::vector<std::byte> out(static_cast<std::size_t>(n) * a.row_bytes());
  a.read_rows(0, n, out.data());
}

}  // namespace

int zarr_v3_metadata(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  json doc;
  try {
    doc = zarr::parse_json(bytes, "fuzz/zarr.json");
  } catch (const Error&) {
    return 0;
  }
  try {
    const zarr::ArrayDocument d = zarr::parse_v3_array(doc, "fuzz/zarr.json");
    // What batchmd writes for an array it read must read back as the same array.
    const zarr::ArrayDocument again = zarr::parse_v3_array(zarr::v3_array_json(d), "again/zarr.json");
    if (!same_array(d.meta, again.meta)) invariant_failed("v3 metadata does not survive a round trip");
    auto store = std::make_shared<zarr::MemoryStore>("fuzz_v3");
    store->set("a/zarr.json", std::vector<std::byte>(bytes.begin(), bytes.end()));
    read_some(store, "a");
  } catch (const Error&) {
  }
  try {
    zarr::parse_v3_group(doc, "fuzz/zarr.json");
  } catch (const Error&) {
  }
  return 0;
}

int zarr_v2_metadata(const std::uint8_t* data, std::size_t size) {
  const auto* end = data + size;
  const auto* zero = std::find(data, end, std::uint8_t{0});
  const std::span<const std::byte> zarray(reinterpret_cast<const std::byte*>(data),
                                          static_cast<std::size_t>(zero - data));
  const std::span<const std::byte> zattrs(reinterpret_cast<const std::byte*>(zero == end ? end : zero + 1),
                                          static_cast<std::size_t>(zero == end ? 0 : end - zero - 1));
  try {
    const json za = zarr::parse_json(zarray, "fuzz/.zarray");
    const json at = zattrs.empty() ? json::object() : zarr::parse_json(zattrs, "fuzz/.zattrs");
    const zarr::ArrayDocument d = zarr::parse_v2_array(za, at, "fuzz/.zarray");
    const zarr::ArrayDocument again =
        zarr::parse_v2_array(zarr::v2_array_json(d), zarr::v2_attributes_json(d.meta), "again/.zarray");
    if (!same_array(d.meta, again.meta)) invariant_failed("v2 metadata does not survive a round trip");
    auto store = std::make_shared<zarr::MemoryStore>("fuzz_v2");
    store->set("a/.zarray", std::vector<std::byte>(zarray.begin(), zarray.end()));
    if (!zattrs.empty()) store->set("a/.zattrs", std::vector<std::byte>(zattrs.begin(), zattrs.end()));
    read_some(store, "a");
  } catch (const Error&) {
  }
  return 0;
}

namespace {

constexpr DType kDtypes[] = {DType::Bool, DType::UInt8, DType::Int32, DType::Int64, DType::Float32, DType::Float64};
const char* const kBloscNames[] = {"lz4", "lz4hc", "blosclz", "zstd", "zlib", "snappy"};
const char* const kShuffles[] = {"noshuffle", "shuffle", "bitshuffle"};

// The configuration of one codec, from the input.
json codec_json(Input& in, std::uint8_t which) {
  switch (which % 5) {
    case 0:
      return {{"name", "bytes"}, {"configuration", {{"endian", in.u8() & 1 ? "big" : "little"}}}};
    case 1:
      return {{"name", "zstd"},
              {"configuration", {{"level", static_cast<int>(in.u8() % 30) - 7}, {"checksum", (in.u8() & 1) != 0}}}};
    case 2:
      return {{"name", "blosc"},
              {"configuration",
               {{"cname", kBloscNames[in.u8() % 6]},
                {"clevel", in.u8() % 10},
                {"shuffle", kShuffles[in.u8() % 3]},
                {"typesize", 1 + in.u8() % 16},
                {"blocksize", (in.u8() % 4) * 4096}}}};
    case 3:
      return {{"name", "gzip"}, {"configuration", {{"level", in.u8() % 10}}}};
    default:
      return {{"name", "crc32c"}};
  }
}

}  // namespace

int codec_decode(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  const std::uint8_t mode = in.u8();
  const DType dtype = kDtypes[in.u8() % 6];
  const std::size_t count = in.u16();
  const zarr::ChunkSpec spec{dtype, count};
  const std::size_t chunk = count * dtype_size(dtype);
  try {
    switch (mode % 4) {
      case 0: {  // one codec, decoding the rest with or without the size a pipeline would know
        const auto codec = zarr::make_codec(codec_json(in, in.u8()), spec);
        const std::uint8_t how = in.u8();
        const std::optional<std::size_t> expected = how % 3 == 0   ? std::nullopt
                                                    : how % 3 == 1 ? std::optional<std::size_t>(chunk)
                                                                   : std::optional<std::size_t>(in.u16());
        codec->decode(in.rest(), expected);
        break;
      }
      case 1: {  // round trip: whatever a codec encodes it must decode exactly
        const auto codec = zarr::make_codec(codec_json(in, in.u8()), spec);
        const auto raw = in.rest();
        const std::size_t usable =
            codec->is_array_to_bytes() ? raw.size() - raw.size() % dtype_size(dtype) : raw.size();
        const zarr::Bytes plain(raw.begin(), raw.begin() + static_cast<std::ptrdiff_t>(usable));
        const zarr::Bytes enc = codec->encode(plain);
        if (codec->decode(enc, plain.size()) != plain) invariant_failed("codec round trip with the size");
        if (codec->decode(enc, std::nullopt) != plain) invariant_failed("codec round trip without the size");
        break;
      }
      case 2: {  // a pipeline: bytes, then up to three bytes -> bytes codecs, decoding the rest
        json list = json::array({codec_json(in, 0)});
        for (int k = in.u8() % 4; k > 0; --k)
          list.push_back(codec_json(in, static_cast<std::uint8_t>(1 + in.u8() % 4)));
        const zarr::CodecPipeline p(list, {dtype, count % 4096});
        if (in.u8() & 1) {
          const auto raw = in.bytes((count % 4096) * dtype_size(dtype));
          if (raw.size() == (count % 4096) * dtype_size(dtype)) {
            const zarr::Bytes plain(raw.begin(), raw.end());
            if (p.decode(p.encode(plain)) != plain) invariant_failed("pipeline round trip");
          }
        } else {
          p.decode(in.rest());
        }
        break;
      }
      default: {  // a shard index of 1..1024 entries, with or without its checksum
        json codecs = json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}});
        if (in.u8() & 1) codecs.push_back({{"name", "crc32c"}});
        const auto index = zarr::sharding::index_pipeline(codecs, 1 + count % 1024);
        const auto extents = zarr::sharding::unpack_index(in.rest(), index);
        for (const auto& e : extents)
          if (!e.missing() && e.offset + e.nbytes < e.offset) invariant_failed("index extent overflows");
        break;
      }
    }
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace batchmd::fuzz
