// SPDX-License-Identifier: Apache-2.0
// The `gzip` codec (v3 name and numcodecs v2 id): deflate in gzip framing, through zlib.
#include <zlib.h>

#include <climits>

#include "batchmd/core/error.hpp"
#include "batchmd/zarr/read_limits.hpp"
#include "codecs.hpp"

namespace batchmd::zarr::codecs {
namespace {

constexpr int kGzipWindow = 15 + 16;  // 32 KiB window, gzip header and trailer

// Ends a zlib stream however its scope is left (an error may be thrown mid-stream).
struct InflateEnd {
  z_stream* z;
  ~InflateEnd() { inflateEnd(z); }
};
struct DeflateEnd {
  z_stream* z;
  ~DeflateEnd() { deflateEnd(z); }
};

class GzipCodec final : public Codec {
 public:
  explicit GzipCodec(int level) : level_(level) {}

  std::string_view name() const override { return "gzip"; }

  Bytes encode(std::span<const std::byte> decoded) const override {
    if (decoded.size() > UINT_MAX) throw InvalidArgument("gzip: a chunk over 4 GiB cannot be compressed");
    z_stream z{};
    if (deflateInit2(&z, level_, Z_DEFLATED, kGzipWindow, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw Error("gzip: deflateInit2 failed");
    }
    const DeflateEnd end{&z};
    Bytes out(deflateBound(&z, static_cast<uLong>(decoded.size())) + 32);
    // zlib's API is not const-correct; it never writes through next_in.
    z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(decoded.data()));
    z.avail_in = static_cast<uInt>(decoded.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&z, Z_FINISH);
    const uLong written = z.total_out;
    if (rc != Z_STREAM_END) throw Error("gzip: deflate failed");
    out.resize(written);
    return out;
  }

  Bytes decode(std::span<const std::byte> encoded, std::optional<std::size_t> expected_size) const override {
    if (encoded.size() > UINT_MAX) corrupt("gzip", "encoded chunk over 4 GiB");
    z_stream z{};
    if (inflateInit2(&z, kGzipWindow) != Z_OK) throw Error("gzip: inflateInit2 failed");
    const InflateEnd end{&z};
    Bytes out(expected_size ? *expected_size + 1 : std::max<std::size_t>(encoded.size() * 4, 1024));
    z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(encoded.data()));
    z.avail_in = static_cast<uInt>(encoded.size());
    std::size_t produced = 0;
    int rc = Z_OK;
    while (true) {
      if (produced == out.size()) {
        if (expected_size) break;  // more output than expected: reported below
        // Deflate inflates up to ~1000x: without a known size, grow within the read budget.
        check_read_size(2.0 * static_cast<double>(out.size()), "gzip: decoded data");
        out.resize(out.size() * 2);
      }
      const std::size_t room = std::min<std::size_t>(out.size() - produced, UINT_MAX);
      z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
      z.avail_out = static_cast<uInt>(room);
      rc = inflate(&z, Z_NO_FLUSH);
      produced += room - z.avail_out;
      if (rc == Z_STREAM_END) {
        if (z.avail_in == 0) break;
        // Several gzip members one after another decode as their concatenation.
        if (inflateReset(&z) != Z_OK) break;
        continue;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) break;
      if (rc == Z_BUF_ERROR && z.avail_in == 0) break;
    }
    const std::string msg = z.msg ? z.msg : "";
    if (rc != Z_STREAM_END) {
      corrupt("gzip", rc == Z_BUF_ERROR || rc == Z_OK ? "truncated or oversized stream"
                                                      : "corrupt stream" + (msg.empty() ? "" : ": " + msg));
    }
    out.resize(produced);
    check_decoded_size("gzip", produced, expected_size);
    return out;
  }

  json to_v3() const override { return {{"name", "gzip"}, {"configuration", {{"level", level_}}}}; }
  std::optional<json> to_v2() const override { return json{{"id", "gzip"}, {"level", level_}}; }

 private:
  int level_;
};

std::unique_ptr<Codec> from_v3(const json& cfg, const ChunkSpec&) {
  check_fields(cfg, "gzip", {"level"});
  return std::make_unique<GzipCodec>(config_int(cfg, "gzip", "level", std::nullopt, 0, 9));
}

json from_v2(const json& v2, const ChunkSpec&) {
  check_fields(v2, "gzip", {"id", "level"});
  return {{"name", "gzip"}, {"configuration", {{"level", v2.value("level", json(1))}}}};
}

}  // namespace

CodecFactory gzip_factory() { return {"gzip", &from_v3, &from_v2}; }

}  // namespace batchmd::zarr::codecs
