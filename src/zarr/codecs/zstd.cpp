// SPDX-License-Identifier: Apache-2.0
// The `zstd` codec (v3 name and numcodecs v2 id): level and an optional frame checksum.
#include <zstd.h>

#include <algorithm>

#include "batchmd/core/error.hpp"
#include "batchmd/zarr/read_limits.hpp"
#include "codecs.hpp"

namespace batchmd::zarr::codecs {
namespace {

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// One context per thread: creating one per chunk costs more than compressing a small chunk.
ZSTD_CCtx* thread_cctx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxDeleter> ctx(ZSTD_createCCtx());
  return ctx.get();
}
ZSTD_DCtx* thread_dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> ctx(ZSTD_createDCtx());
  return ctx.get();
}

class ZstdCodec final : public Codec {
 public:
  ZstdCodec(int level, bool checksum) : level_(level), checksum_(checksum) {}

  std::string_view name() const override { return "zstd"; }

  Bytes encode(std::span<const std::byte> decoded) const override {
    ZSTD_CCtx* ctx = thread_cctx();
    ZSTD_CCtx_reset(ctx, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level_);
    ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, checksum_ ? 1 : 0);
    Bytes out(ZSTD_compressBound(decoded.size()));
    const std::size_t n = ZSTD_compress2(ctx, out.data(), out.size(), decoded.data(), decoded.size());
    if (ZSTD_isError(n)) throw Error(std::string("zstd: compression failed: ") + ZSTD_getErrorName(n));
    out.resize(n);
    return out;
  }

  Bytes decode(std::span<const std::byte> encoded, std::optional<std::size_t> expected_size) const override {
    const unsigned long long framed = ZSTD_getFrameContentSize(encoded.data(), encoded.size());
    if (framed == ZSTD_CONTENTSIZE_ERROR) corrupt("zstd", "not a zstd frame");
    if (expected_size) {
      if (framed != ZSTD_CONTENTSIZE_UNKNOWN && framed != *expected_size) {
        corrupt("zstd", "frame holds " + std::to_string(framed) + " bytes, expected " + std::to_string(*expected_size));
      }
      Bytes out(*expected_size);
      const std::size_t n = ZSTD_decompressDCtx(thread_dctx(), out.data(), out.size(), encoded.data(), encoded.size());
      if (ZSTD_isError(n)) corrupt("zstd", ZSTD_getErrorName(n));
      check_decoded_size("zstd", n, expected_size);
      return out;
    }
    return decode_stream(encoded);
  }

  json to_v3() const override {
    return {{"name", "zstd"}, {"configuration", {{"level", level_}, {"checksum", checksum_}}}};
  }

  std::optional<json> to_v2() const override {
    json v2 = {{"id", "zstd"}, {"level", level_}};
    if (checksum_) v2["checksum"] = true;
    return v2;
  }

 private:
  // Size unknown up front (a crc32c codec may sit between): stream into a growing buffer.
  static Bytes decode_stream(std::span<const std::byte> encoded) {
    ZSTD_DCtx* ctx = thread_dctx();
    ZSTD_DCtx_reset(ctx, ZSTD_reset_session_only);
    Bytes out;
    ZSTD_inBuffer in{encoded.data(), encoded.size(), 0};
    std::size_t last = 1;
    while (in.pos < in.size || last != 0) {
      const std::size_t old = out.size();
      const std::size_t grow = std::max<std::size_t>(ZSTD_DStreamOutSize(), std::max(encoded.size(), old));
      check_read_size(static_cast<double>(old + grow), "zstd: decoded data");  // a frame may inflate hugely
      out.resize(old + grow);
      ZSTD_outBuffer o{out.data() + old, out.size() - old, 0};
      last = ZSTD_decompressStream(ctx, &o, &in);
      if (ZSTD_isError(last)) corrupt("zstd", ZSTD_getErrorName(last));
      out.resize(old + o.pos);
      if (in.pos == in.size && last != 0 && o.pos == 0) corrupt("zstd", "truncated frame");
    }
    return out;
  }

  int level_;
  bool checksum_;
};

std::unique_ptr<Codec> from_v3(const json& cfg, const ChunkSpec&) {
  check_fields(cfg, "zstd", {"level", "checksum"});
  const int level = config_int(cfg, "zstd", "level", 0, ZSTD_minCLevel(), ZSTD_maxCLevel());
  bool checksum = false;
  if (cfg.is_object() && cfg.contains("checksum")) {
    if (!cfg["checksum"].is_boolean()) config_error("zstd", "field 'checksum' must be true or false");
    checksum = cfg["checksum"].get<bool>();
  }
  return std::make_unique<ZstdCodec>(level, checksum);
}

json from_v2(const json& v2, const ChunkSpec&) {
  check_fields(v2, "zstd", {"id", "level", "checksum"});
  return {{"name", "zstd"},
          {"configuration", {{"level", v2.value("level", json(1))}, {"checksum", v2.value("checksum", json(false))}}}};
}

}  // namespace

CodecFactory zstd_factory() { return {"zstd", &from_v3, &from_v2}; }

}  // namespace batchmd::zarr::codecs
