// SPDX-License-Identifier: Apache-2.0
// Codecs: round trips of every registered codec, known answers (CRC-32C, gzip framing), corrupt
// input raising FormatError that names the codec, and CompressorConfig's mapping.
#include <gtest/gtest.h>

#include "batchmd/core/error.hpp"
#include "batchmd/zarr/codec.hpp"
#include "test_util.hpp"

namespace batchmd::zarr {
namespace {

using nlohmann::json;
using testing::random_bytes;

const ChunkSpec kF64{DType::Float64, 4096};  // 32 KiB chunks

std::vector<json> all_codec_configs() {
  return {
      {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
      {{"name", "bytes"}, {"configuration", {{"endian", "big"}}}},
      {{"name", "zstd"}, {"configuration", {{"level", 3}, {"checksum", false}}}},
      {{"name", "zstd"}, {"configuration", {{"level", -1}, {"checksum", true}}}},
      {{"name", "blosc"},
       {"configuration", {{"cname", "lz4"}, {"clevel", 5}, {"shuffle", "shuffle"}, {"typesize", 8}, {"blocksize", 0}}}},
      {{"name", "blosc"},
       {"configuration",
        {{"cname", "zstd"}, {"clevel", 3}, {"shuffle", "bitshuffle"}, {"typesize", 8}, {"blocksize", 0}}}},
      {{"name", "blosc"},
       {"configuration",
        {{"cname", "lz4"}, {"clevel", 1}, {"shuffle", "noshuffle"}, {"typesize", 8}, {"blocksize", 0}}}},
      {{"name", "gzip"}, {"configuration", {{"level", 6}}}},
      {{"name", "crc32c"}},
  };
}

TEST(Codecs, EveryCodecRoundTrips) {
  EXPECT_EQ(codec_names(), (std::vector<std::string>{"blosc", "bytes", "crc32c", "gzip", "zstd"}));
  for (const json& cfg : all_codec_configs()) {
    const auto codec = make_codec(cfg, kF64);
    for (const bool compressible : {true, false}) {
      for (const std::size_t n : {std::size_t{0}, std::size_t{8}, std::size_t{32768}}) {
        const Bytes data = random_bytes(n, 7, compressible);
        const Bytes encoded = codec->encode(data);
        EXPECT_EQ(codec->decode(encoded, n), data) << cfg.dump() << " n=" << n;
        EXPECT_EQ(codec->decode(encoded, std::nullopt), data) << cfg.dump() << " n=" << n;
      }
    }
    // Metadata round trip: the codec writes back what it was built from.
    EXPECT_EQ(make_codec(codec->to_v3(), kF64)->to_v3(), codec->to_v3());
  }
}

TEST(Codecs, CompressorsShrinkCompressibleData) {
  const Bytes data = random_bytes(32768, 3, true);
  for (const json& cfg : all_codec_configs()) {
    const auto codec = make_codec(cfg, kF64);
    if (codec->name() == "bytes" || codec->name() == "crc32c") continue;
    EXPECT_LT(codec->encode(data).size(), data.size() / 2) << cfg.dump();
  }
}

TEST(Crc32c, KnownAnswers) {
  const std::string digits = "123456789";
  EXPECT_EQ(crc32c(std::as_bytes(std::span(digits.data(), digits.size()))), 0xE3069283u);
  EXPECT_EQ(crc32c({}), 0u);
  const Bytes zeros(32, std::byte{0});
  EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);  // RFC 3720 B.4
  // Continuing a CRC over pieces equals the CRC of the whole (exercises the 8-byte path).
  const Bytes data = random_bytes(1001, 9, false);
  const auto whole = crc32c(data);
  const auto part = crc32c(std::span(data).first(333));
  EXPECT_EQ(crc32c(std::span(data).subspan(333), part), whole);
}

TEST(Crc32c, CodecAppendsLittleEndianChecksumAndVerifies) {
  const auto codec = make_codec(json{{"name", "crc32c"}}, kF64);
  const std::string digits = "123456789";
  const Bytes data(reinterpret_cast<const std::byte*>(digits.data()),
                   reinterpret_cast<const std::byte*>(digits.data()) + digits.size());
  Bytes encoded = codec->encode(data);
  ASSERT_EQ(encoded.size(), data.size() + 4);
  EXPECT_EQ(encoded[9], std::byte{0x83});
  EXPECT_EQ(encoded[12], std::byte{0xE3});
  encoded[4] ^= std::byte{0x10};
  try {
    codec->decode(encoded, std::nullopt);
    FAIL() << "flipped byte accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("crc32c"), std::string::npos);
  }
  EXPECT_THROW(codec->decode(Bytes(3), std::nullopt), FormatError);
}

TEST(Bytes, BigEndianSwapsEachElement) {
  const auto big =
      make_codec(json{{"name", "bytes"}, {"configuration", {{"endian", "big"}}}}, ChunkSpec{DType::Int32, 2});
  const std::int32_t values[2] = {0x01020304, 0x0A0B0C0D};
  const Bytes encoded = big->encode(std::as_bytes(std::span(values)));
  EXPECT_EQ(encoded[0], std::byte{0x01});
  EXPECT_EQ(encoded[3], std::byte{0x04});
  EXPECT_EQ(encoded[4], std::byte{0x0A});
  EXPECT_THROW(big->decode(Bytes(7), 8), FormatError);  // wrong size
}

TEST(Gzip, WritesRealGzipFraming) {
  const auto gz = make_codec(json{{"name", "gzip"}, {"configuration", {{"level", 5}}}}, kF64);
  const Bytes encoded = gz->encode(random_bytes(1000, 1, true));
  ASSERT_GE(encoded.size(), 18u);
  EXPECT_EQ(encoded[0], std::byte{0x1f});
  EXPECT_EQ(encoded[1], std::byte{0x8b});
  EXPECT_EQ(encoded[2], std::byte{8});  // deflate
  // Two members back to back decode as their concatenation (as Python's gzip does).
  const Bytes a = random_bytes(100, 2, true);
  const Bytes b = random_bytes(50, 3, true);
  Bytes both = gz->encode(a);
  const Bytes eb = gz->encode(b);
  both.insert(both.end(), eb.begin(), eb.end());
  Bytes ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  EXPECT_EQ(gz->decode(both, std::nullopt), ab);
}

// Corrupt input: truncated, bit-flipped, garbage, or the wrong decoded size.
TEST(Codecs, CorruptInputThrowsFormatErrorNamingTheCodec) {
  const Bytes data = random_bytes(32768, 5, true);
  for (const json& cfg : all_codec_configs()) {
    const auto codec = make_codec(cfg, kF64);
    const std::string name(codec->name());
    if (name == "bytes") continue;  // no redundancy to check: only sizes (see above)
    const Bytes encoded = codec->encode(data);
    const auto expect_format_error = [&](const Bytes& bad, std::optional<std::size_t> size, const char* what) {
      try {
        const Bytes out = codec->decode(bad, size);
        ADD_FAILURE() << cfg.dump() << ": " << what << " decoded without error";
      } catch (const FormatError& e) {
        EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
      }
    };
    expect_format_error(Bytes(encoded.begin(), encoded.begin() + static_cast<std::ptrdiff_t>(encoded.size() / 2)),
                        data.size(), "truncated");
    expect_format_error(random_bytes(200, 11, false), data.size(), "garbage");
    expect_format_error(encoded, data.size() + 8, "wrong size");
  }
}

TEST(Codecs, BadMetadataIsAFormatErrorNamingCodecAndField) {
  const auto expect_error = [](const json& cfg, const std::string& needle) {
    try {
      make_codec(cfg, kF64);
      ADD_FAILURE() << cfg.dump();
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error({{"name", "lzma"}}, "'lzma' is not supported");
  expect_error({{"name", "zstd"}, {"configuration", {{"level", 99}}}}, "level");
  expect_error({{"name", "zstd"}, {"configuration", {{"level", 1}, {"speed", 2}}}}, "speed");
  expect_error({{"name", "gzip"}, {"configuration", json::object()}}, "level");
  expect_error({{"name", "blosc"}, {"configuration", {{"cname", "lz4"}, {"clevel", 5}, {"shuffle", "sideways"}}}},
               "shuffle");
  expect_error({{"name", "blosc"}, {"configuration", {{"cname", "brotli"}, {"clevel", 5}, {"shuffle", "shuffle"}}}},
               "cname");
  expect_error({{"name", "bytes"}, {"configuration", {{"endian", "middle"}}}}, "endian");
  expect_error({{"name", "bytes"}}, "endian");  // required for 8-byte elements
  expect_error({{"name", "crc32c"}, {"configuration", {{"x", 1}}}}, "'x'");
  EXPECT_NO_THROW(make_codec(json{{"name", "bytes"}}, ChunkSpec{DType::UInt8, 4}));
}

TEST(CodecPipeline, OrderAndSizes) {
  const json codecs = json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                                   {{"name", "zstd"}, {"configuration", {{"level", 1}, {"checksum", false}}}},
                                   {{"name", "crc32c"}}});
  const CodecPipeline p(codecs, kF64);
  const Bytes data = random_bytes(kF64.element_count * 8, 4, true);
  EXPECT_EQ(p.decode(p.encode(data)), data);
  EXPECT_FALSE(p.encoded_size().has_value());
  EXPECT_EQ(CodecPipeline(json::array({codecs[0], codecs[2]}), kF64).encoded_size(), data.size() + 4);
  EXPECT_THROW(CodecPipeline(json::array({codecs[1]}), kF64), FormatError);  // no bytes codec first
  EXPECT_THROW(CodecPipeline(json::array({codecs[0], codecs[0]}), kF64), FormatError);
  EXPECT_THROW(CodecPipeline(json::array(), kF64), FormatError);
  // A chunk that decodes to the wrong size for its shape.
  const CodecPipeline small(codecs, ChunkSpec{DType::Float64, 10});
  EXPECT_THROW(small.decode(p.encode(data)), FormatError);
}

TEST(CompressorConfig, MapsToV3CodecsAndV2CompressorAndBack) {
  const auto check = [](const CompressorConfig& config, const json& expect_v3, const json& expect_v2) {
    const json v3 = compressor_codecs(config, DType::Float32);
    EXPECT_EQ(v3, expect_v3) << config.name;
    if (!v3.empty()) {
      EXPECT_EQ(*make_codec(v3[0], {DType::Float32, 1})->to_v2(), expect_v2) << config.name;
      EXPECT_EQ(v2_compressor_to_v3(expect_v2, {DType::Float32, 1}), v3[0]) << config.name;
    }
    json full = json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}});
    for (const json& x : v3) full.push_back(x);
    CompressorConfig back = compressor_config_of(full);
    if (config.name == "none") back.level = config.level;
    EXPECT_EQ(back, config) << config.name;
  };
  check({"none", 5, true, false}, json::array(), nullptr);
  check({"zstd", 3, true, false},
        json::array({{{"name", "zstd"}, {"configuration", {{"level", 3}, {"checksum", false}}}}}),
        {{"id", "zstd"}, {"level", 3}});
  check({"blosc-lz4", 5, true, false},
        json::array({{{"name", "blosc"},
                      {"configuration",
                       {{"cname", "lz4"}, {"clevel", 5}, {"shuffle", "shuffle"}, {"typesize", 4}, {"blocksize", 0}}}}}),
        {{"id", "blosc"}, {"cname", "lz4"}, {"clevel", 5}, {"shuffle", 1}, {"blocksize", 0}});
  check({"blosc-zstd", 2, false, false},
        json::array(
            {{{"name", "blosc"},
              {"configuration",
               {{"cname", "zstd"}, {"clevel", 2}, {"shuffle", "noshuffle"}, {"typesize", 4}, {"blocksize", 0}}}}}),
        {{"id", "blosc"}, {"cname", "zstd"}, {"clevel", 2}, {"shuffle", 0}, {"blocksize", 0}});
  check({"gzip", 9, true, false}, json::array({{{"name", "gzip"}, {"configuration", {{"level", 9}}}}}),
        {{"id", "gzip"}, {"level", 9}});
  // Checksum: zstd's own flag, a crc32c codec for the others.
  EXPECT_EQ(compressor_codecs({"zstd", 1, true, true}, DType::Float32)[0]["configuration"]["checksum"], true);
  EXPECT_EQ(compressor_codecs({"gzip", 1, true, true}, DType::Float32).back(), (json{{"name", "crc32c"}}));
  EXPECT_EQ(compressor_codecs({"none", 1, true, true}, DType::Float32), json::array({{{"name", "crc32c"}}}));
  EXPECT_THROW(compressor_codecs({"lzma", 1, true, false}, DType::Float32), InvalidArgument);
  EXPECT_THROW(compressor_codecs({"gzip", 10, true, false}, DType::Float32), InvalidArgument);
  EXPECT_THROW(compressor_codecs({"blosc-lz4", -1, true, false}, DType::Float32), InvalidArgument);
  // numcodecs' AUTOSHUFFLE (-1) means bit shuffle for one-byte elements.
  EXPECT_EQ(
      v2_compressor_to_v3(json{{"id", "blosc"}, {"cname", "lz4"}, {"clevel", 5}, {"shuffle", -1}, {"blocksize", 0}},
                          {DType::UInt8, 1})["configuration"]["shuffle"],
      "bitshuffle");
}

}  // namespace
}  // namespace batchmd::zarr
