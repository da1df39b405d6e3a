// SPDX-License-Identifier: Apache-2.0
// The v3 `crc32c` checksum codec and the CRC-32C (Castagnoli) it appends, slicing-by-8.
#include <array>
#include <cstring>

#include "codecs.hpp"

namespace batchmd::zarr {
namespace {

// Reflected Castagnoli polynomial.
constexpr std::uint32_t kPoly = 0x82F63B78u;

constexpr std::array<std::array<std::uint32_t, 256>, 8> make_tables() {
  std::array<std::array<std::uint32_t, 256>, 8> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ kPoly : c >> 1;
    t[0][i] = c;
  }
  for (std::size_t s = 1; s < 8; ++s) {
    for (std::size_t i = 0; i < 256; ++i) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFFu];
  }
  return t;
}

constexpr auto kTables = make_tables();

}  // namespace

std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t crc) {
  crc = ~crc;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
  while (n >= 8) {
    std::uint32_t lo;
    std::uint32_t hi;
    std::memcpy(&lo, p, 4);  // little-endian host
    std::memcpy(&hi, p + 4, 4);
    lo ^= crc;
    crc = kTables[7][lo & 0xFFu] ^ kTables[6][(lo >> 8) & 0xFFu] ^ kTables[5][(lo >> 16) & 0xFFu] ^
          kTables[4][lo >> 24] ^ kTables[3][hi & 0xFFu] ^ kTables[2][(hi >> 8) & 0xFFu] ^
          kTables[1][(hi >> 16) & 0xFFu] ^ kTables[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ kTables[0][(crc ^ *p++) & 0xFFu];
  return ~crc;
}

namespace codecs {
namespace {

class Crc32cCodec final : public Codec {
 public:
  std::string_view name() const override { return "crc32c"; }

  Bytes encode(std::span<const std::byte> decoded) const override {
    Bytes out(decoded.begin(), decoded.end());
    const std::uint32_t c = crc32c(decoded);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>((c >> (8 * i)) & 0xFFu));
    return out;
  }

  Bytes decode(std::span<const std::byte> encoded, std::optional<std::size_t> expected_size) const override {
    if (encoded.size() < 4) corrupt("crc32c", "data shorter than its 4-byte checksum");
    const auto body = encoded.first(encoded.size() - 4);
    std::uint32_t stored = 0;
    for (int i = 0; i < 4; ++i) {
      stored |= static_cast<std::uint32_t>(encoded[body.size() + static_cast<std::size_t>(i)]) << (8 * i);
    }
    if (stored != crc32c(body)) corrupt("crc32c", "checksum mismatch (data is corrupt)");
    check_decoded_size("crc32c", body.size(), expected_size);
    return Bytes(body.begin(), body.end());
  }

  std::optional<std::size_t> encoded_size(std::size_t decoded_size) const override { return decoded_size + 4; }

  json to_v3() const override { return {{"name", "crc32c"}}; }
};

std::unique_ptr<Codec> from_v3(const json& cfg, const ChunkSpec&) {
  check_fields(cfg, "crc32c", {});
  return std::make_unique<Crc32cCodec>();
}

}  // namespace

CodecFactory crc32c_factory() { return {"crc32c", &from_v3, nullptr}; }

}  // namespace codecs
}  // namespace batchmd::zarr
