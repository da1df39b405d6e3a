// SPDX-License-Identifier: Apache-2.0
// The v3 `bytes` codec: array -> bytes in little- or big-endian order.
#include <algorithm>

#include "batchmd/core/dtype.hpp"
#include "codecs.hpp"

namespace batchmd::zarr::codecs {
namespace {

class BytesCodec final : public Codec {
 public:
  BytesCodec(bool big_endian, const ChunkSpec& spec) : big_endian_(big_endian), item_(dtype_size(spec.dtype)) {}

  std::string_view name() const override { return "bytes"; }
  bool is_array_to_bytes() const override { return true; }

  Bytes encode(std::span<const std::byte> decoded) const override {
    Bytes out(decoded.begin(), decoded.end());
    if (swap()) swap_in_place(out);
    return out;
  }

  Bytes decode(std::span<const std::byte> encoded, std::optional<std::size_t> expected_size) const override {
    check_decoded_size("bytes", encoded.size(), expected_size);
    if (encoded.size() % item_ != 0) corrupt("bytes", "size is not a multiple of the element size");
    Bytes out(encoded.begin(), encoded.end());
    if (swap()) swap_in_place(out);
    return out;
  }

  std::optional<std::size_t> encoded_size(std::size_t decoded_size) const override { return decoded_size; }

  json to_v3() const override {
    json cfg = json::object();
    cfg["endian"] = big_endian_ ? "big" : "little";
    return {{"name", "bytes"}, {"configuration", cfg}};
  }

  bool big_endian() const { return big_endian_; }

 private:
  // Chunks are held in host order (little-endian on every platform batchmd targets).
  bool swap() const { return big_endian_ && item_ > 1; }
  void swap_in_place(Bytes& data) const {
    for (std::size_t i = 0; i + item_ <= data.size(); i += item_) {
      std::reverse(data.begin() + static_cast<std::ptrdiff_t>(i),
                   data.begin() + static_cast<std::ptrdiff_t>(i + item_));
    }
  }

  bool big_endian_;
  std::size_t item_;
};

std::unique_ptr<Codec> from_v3(const json& cfg, const ChunkSpec& spec) {
  check_fields(cfg, "bytes", {"endian"});
  // The spec requires `endian` only where byte order matters (elements wider than a byte).
  const std::optional<std::string> fallback =
      dtype_size(spec.dtype) == 1 ? std::optional<std::string>("little") : std::nullopt;
  const std::string endian = config_string(cfg, "bytes", "endian", fallback, {"little", "big"});
  return std::make_unique<BytesCodec>(endian == "big", spec);
}

}  // namespace

CodecFactory bytes_factory() { return {"bytes", &from_v3, nullptr}; }

}  // namespace batchmd::zarr::codecs
