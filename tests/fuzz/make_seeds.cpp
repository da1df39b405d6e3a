// SPDX-License-Identifier: Apache-2.0
// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/) from what batchmd
// itself writes: small trajectory stores (v3 and v2, every compressor, sharded, with a model
// state), their metadata documents, one input per codec and mode of the codec harness (in the
// byte layout harness_zarr.cpp reads), and the example jobs. Usage: fuzz_make_seeds CORPUS_DIR
// SOURCE_DIR. Seeds are kept small (a few KB) so that the repository stays light.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "../sinks/trajectory_fixture.hpp"
#include "batchmd/app/config.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "batchmd/zarr/codec.hpp"
#include "batchmd/zarr/store.hpp"

namespace fs = std::filesystem;
using namespace batchmd;
using nlohmann::json;

namespace {

fs::path g_out;

void save(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(g_out / target);
  std::ofstream(g_out / target / name, std::ios::binary) << bytes;
}

std::string str(const zarr::Bytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

void put16(std::string& s, std::size_t v) {
  s.push_back(static_cast<char>(v & 0xFF));
  s.push_back(static_cast<char>((v >> 8) & 0xFF));
}
void put32(std::string& s, std::size_t v) {
  put16(s, v & 0xFFFF);
  put16(s, (v >> 16) & 0xFFFF);
}

// A store serialized as the trajectory_reader harness reads it.
std::string serialize(const zarr::Store& store) {
  std::string out;
  for (const std::string& k : store.list("")) {
    const std::string v = str(*store.get(k));
    put16(out, k.size());
    out += k;
    put32(out, v.size());
    out += v;
  }
  return out;
}

void stores() {
  struct Kind {
    const char* name;
    zarr::ZarrFormat format;
    zarr::CompressorConfig comp;
    std::int64_t shards;
  };
  for (const Kind& k : {Kind{"v3_none", zarr::ZarrFormat::V3, {"none", 0, false, false}, 0},
                        Kind{"v3_zstd", zarr::ZarrFormat::V3, {"zstd", 1, false, true}, 0},
                        Kind{"v3_sharded_gzip", zarr::ZarrFormat::V3, {"gzip", 1, false, false}, 2},
                        Kind{"v2_blosc", zarr::ZarrFormat::V2, {"blosc-lz4", 5, true, false}, 0}}) {
    const std::string url = std::string("memory://seed_") + k.name;
    {
      sinks::ZarrWriteConfig cfg;
      cfg.format = k.format;
      cfg.compressor = k.comp;
      cfg.chunk_samples = 2;
      cfg.chunk_bytes = 64;
      cfg.chunks_per_shard = k.shards;
      sinks::ZarrData sink(url, 100, cfg);
      sink.write(test_support::encoded_batch(0, 3));
      sink.write(test_support::encoded_batch(3, 2));
      if (k.shards == 0) sink.write_model_state(7, {1.0, 2.0, 3.0});
    }
    const auto store = zarr::open_store(url);
    save("trajectory_reader", k.name, serialize(*store));
    const bool v3 = k.format == zarr::ZarrFormat::V3;
    for (const char* a : {"core/positions", "core/pbc", "meta/atoms_ptr", "core/edge_index"}) {
      std::string name = std::string(k.name) + "_" + a;
      for (char& c : name)
        if (c == '/') c = '_';
      if (v3) {
        save("zarr_v3_metadata", name, str(*store->get(std::string(a) + "/zarr.json")));
      } else {
        const auto attrs = store->get(std::string(a) + "/.zattrs");
        save("zarr_v2_metadata", name,
             str(*store->get(std::string(a) + "/.zarray")) + std::string(1, '\0') + (attrs ? str(*attrs) : "{}"));
      }
    }
    if (v3) save("zarr_v3_metadata", std::string(k.name) + "_root", str(*store->get("zarr.json")));
  }
}

// ---- codec_decode inputs, in the byte layout of harness_zarr.cpp

std::string head(std::uint8_t mode, std::uint8_t dtype_index, std::size_t count) {
  std::string s;
  s.push_back(static_cast<char>(mode));
  s.push_back(static_cast<char>(dtype_index));
  put16(s, count);
  return s;
}

void codecs() {
  const std::size_t count = 40;  // float64 (index 5): 320 bytes
  const zarr::ChunkSpec spec{DType::Float64, count};
  std::string raw;
  for (std::size_t i = 0; i < count; ++i) {
    const double v = static_cast<double>(i % 7) * 0.5;
    raw.append(reinterpret_cast<const char*>(&v), 8);
  }
  const zarr::Bytes plain(reinterpret_cast<const std::byte*>(raw.data()),
                          reinterpret_cast<const std::byte*>(raw.data()) + raw.size());
  struct C {
    const char* name;
    std::uint8_t which;
    std::string config;  // the bytes codec_json reads
    json v3;
  };
  const C list[] = {
      {"bytes", 0, std::string(1, '\0'), {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}},
      {"zstd",
       1,
       std::string("\x08\x01", 2),
       {{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", true}}}}},
      {"blosc",
       2,
       std::string("\x00\x05\x01\x07\x00", 5),
       {{"name", "blosc"},
        {"configuration",
         {{"cname", "lz4"}, {"clevel", 5}, {"shuffle", "shuffle"}, {"typesize", 8}, {"blocksize", 0}}}}},
      {"gzip", 3, std::string(1, '\x05'), {{"name", "gzip"}, {"configuration", {{"level", 5}}}}},
      {"crc32c", 4, "", {{"name", "crc32c"}}},
  };
  for (const C& c : list) {
    const auto codec = zarr::make_codec(c.v3, spec);
    const std::string enc = str(codec->encode(plain));
    // mode 0, size known (how = 1), then the encoded chunk
    save("codec_decode", std::string("decode_") + c.name,
         head(0, 5, count) + static_cast<char>(c.which) + c.config + '\x01' + enc);
    // mode 0, size unknown (how = 0)
    save("codec_decode", std::string("decode_nosize_") + c.name,
         head(0, 5, count) + static_cast<char>(c.which) + c.config + '\x00' + enc);
    // mode 1, round trip of the raw chunk
    save("codec_decode", std::string("roundtrip_") + c.name,
         head(1, 5, count) + static_cast<char>(c.which) + c.config + raw);
  }
  // mode 2: bytes (endian byte), one more codec (zstd: which byte 0 -> 1 + 0 % 4 = zstd), decode
  const zarr::CodecPipeline p(json::array({list[0].v3, list[1].v3}), spec);
  save("codec_decode", "pipeline_bytes_zstd",
       head(2, 5, count) + std::string(1, '\0') + '\x01' + '\x00' + list[1].config + '\x00' + str(p.encode(plain)));
  // mode 3: a shard index of 4 entries with its crc32c
  std::vector<std::uint64_t> entries = {0, 100, 100, 50, UINT64_MAX, UINT64_MAX, 150, 10};
  const zarr::CodecPipeline idx(json::array({list[0].v3, list[4].v3}), {DType::Int64, entries.size()});
  const zarr::Bytes ib = idx.encode(std::as_bytes(std::span(entries)));
  save("codec_decode", "shard_index", head(3, 5, 3) + '\x01' + str(ib));
}

void jobs(const fs::path& src) {
  for (const char* f : {"examples/argon.toml", "examples/relax_then_nvt.toml"}) {
    std::ifstream in(src / f);
    save("job_config", fs::path(f).filename().string(),
         std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
  }
  save("job_config", "default.toml", app::kDefaultConfigToml);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_make_seeds CORPUS_DIR SOURCE_DIR\n");
    return 2;
  }
  g_out = argv[1];
  stores();
  codecs();
  jobs(argv[2]);
  return 0;
}
