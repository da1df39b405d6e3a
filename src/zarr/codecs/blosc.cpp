// SPDX-License-Identifier: Apache-2.0
// The `blosc` codec (v3 name and numcodecs v2 id), through c-blosc's context API, which is
// thread-safe where the global one is not.
#include <blosc.h>

#include <algorithm>
#include <array>

#include "batchmd/core/dtype.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/zarr/read_limits.hpp"
#include "codecs.hpp"

namespace batchmd::zarr::codecs {
namespace {

// v3 shuffle names, indexed by c-blosc's shuffle code (BLOSC_NOSHUFFLE, _SHUFFLE, _BITSHUFFLE).
constexpr std::array<std::string_view, 3> kShuffleNames = {"noshuffle", "shuffle", "bitshuffle"};
constexpr std::size_t kHeaderSize = 16;

class BloscCodec final : public Codec {
 public:
  BloscCodec(std::string cname, int clevel, int shuffle, int typesize, int blocksize)
      : cname_(std::move(cname)), clevel_(clevel), shuffle_(shuffle), typesize_(typesize), blocksize_(blocksize) {}

  std::string_view name() const override { return "blosc"; }

  Bytes encode(std::span<const std::byte> decoded) const override {
    if (decoded.size() > static_cast<std::size_t>(BLOSC_MAX_BUFFERSIZE)) {
      throw InvalidArgument("blosc: a chunk over 2 GiB cannot be compressed");
    }
    Bytes out(decoded.size() + BLOSC_MAX_OVERHEAD);
    const int n =
        blosc_compress_ctx(clevel_, shuffle_, static_cast<std::size_t>(typesize_), decoded.size(), decoded.data(),
                           out.data(), out.size(), cname_.c_str(), static_cast<std::size_t>(blocksize_), 1);
    if (n <= 0) throw Error("blosc: compression failed (code " + std::to_string(n) + ")");
    out.resize(static_cast<std::size_t>(n));
    return out;
  }

  Bytes decode(std::span<const std::byte> encoded, std::optional<std::size_t> expected_size) const override {
    std::size_t nbytes = 0;
    if (encoded.size() < kHeaderSize || blosc_cbuffer_validate(encoded.data(), encoded.size(), &nbytes) != 0) {
      corrupt("blosc", "not a valid blosc buffer (truncated or corrupt header)");
    }
    check_decoded_size("blosc", nbytes, expected_size);
    check_read_size(static_cast<double>(nbytes), "blosc: decoded data");  // the header's claim
    Bytes out(nbytes);
    if (nbytes == 0) return out;
    const int n = blosc_decompress_ctx(encoded.data(), out.data(), out.size(), 1);
    if (n < 0 || static_cast<std::size_t>(n) != nbytes) corrupt("blosc", "corrupt compressed data");
    return out;
  }

  json to_v3() const override {
    return {{"name", "blosc"},
            {"configuration",
             {{"cname", cname_},
              {"clevel", clevel_},
              {"shuffle", kShuffleNames[static_cast<std::size_t>(shuffle_)]},
              {"typesize", typesize_},
              {"blocksize", blocksize_}}}};
  }

  std::optional<json> to_v2() const override {
    return json{
        {"id", "blosc"}, {"cname", cname_}, {"clevel", clevel_}, {"shuffle", shuffle_}, {"blocksize", blocksize_}};
  }

 private:
  std::string cname_;
  int clevel_;
  int shuffle_;
  int typesize_;
  int blocksize_;
};

std::string checked_cname(const json& cfg) {
  const std::string cname =
      config_string(cfg, "blosc", "cname", std::nullopt, {"lz4", "lz4hc", "blosclz", "zstd", "snappy", "zlib"});
  if (blosc_compname_to_compcode(cname.c_str()) < 0) {
    config_error("blosc", "compressor '" + cname + "' is not available in this c-blosc build");
  }
  return cname;
}

std::unique_ptr<Codec> from_v3(const json& cfg, const ChunkSpec& spec) {
  check_fields(cfg, "blosc", {"cname", "clevel", "shuffle", "typesize", "blocksize"});
  const std::string cname = checked_cname(cfg);
  const int clevel = config_int(cfg, "blosc", "clevel", std::nullopt, 0, 9);
  const std::string shuffle =
      config_string(cfg, "blosc", "shuffle", std::nullopt, {"noshuffle", "shuffle", "bitshuffle"});
  const int typesize = config_int(cfg, "blosc", "typesize", static_cast<int>(dtype_size(spec.dtype)), 1, 255);
  const int blocksize = config_int(cfg, "blosc", "blocksize", 0, 0, BLOSC_MAX_BUFFERSIZE);
  const auto code = std::find(kShuffleNames.begin(), kShuffleNames.end(), shuffle) - kShuffleNames.begin();
  return std::make_unique<BloscCodec>(cname, clevel, static_cast<int>(code), typesize, blocksize);
}

json from_v2(const json& v2, const ChunkSpec& spec) {
  check_fields(v2, "blosc", {"id", "cname", "clevel", "shuffle", "blocksize"});
  // numcodecs: -1 = AUTOSHUFFLE (bit shuffle for 1-byte elements, byte shuffle otherwise).
  int shuffle = config_int(v2, "blosc", "shuffle", 1, -1, 2);
  if (shuffle == -1) shuffle = dtype_size(spec.dtype) == 1 ? 2 : 1;
  return {{"name", "blosc"},
          {"configuration",
           {{"cname", v2.value("cname", json("lz4"))},
            {"clevel", v2.value("clevel", json(5))},
            {"shuffle", kShuffleNames[static_cast<std::size_t>(shuffle)]},
            {"typesize", dtype_size(spec.dtype)},
            {"blocksize", v2.value("blocksize", json(0))}}}};
}

}  // namespace

CodecFactory blosc_factory() { return {"blosc", &from_v3, &from_v2}; }

}  // namespace batchmd::zarr::codecs
