// SPDX-License-Identifier: Apache-2.0
// zarr/codec: chunk codecs registered by their Zarr name (bytes, zstd, blosc, gzip, crc32c), the
// codec pipeline one chunk goes through, and CompressorConfig, the user's simple choice of codecs.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "batchmd/core/dtype.hpp"
#include "batchmd/zarr/store.hpp"

namespace batchmd::zarr {

/// What a chunk holds before encoding: `element_count` elements of `dtype`, in C order.
struct ChunkSpec {
  DType dtype = DType::UInt8;
  std::size_t element_count = 0;
};

/// One step of a chunk's codec pipeline. Codecs are immutable and thread-safe.
class Codec {
 public:
  virtual ~Codec() = default;
  /// The Zarr v3 name ("zstd"); error messages start with it.
  virtual std::string_view name() const = 0;
  /// True for the array -> bytes codec (`bytes`), false for bytes -> bytes codecs.
  virtual bool is_array_to_bytes() const { return false; }
  virtual Bytes encode(std::span<const std::byte> decoded) const = 0;
  /// Throws FormatError naming the codec when `encoded` is corrupt, or when it does not decode
  /// to `expected_size` bytes (where the pipeline knows that size).
  virtual Bytes decode(std::span<const std::byte> encoded, std::optional<std::size_t> expected_size) const = 0;
  /// The encoded size of `decoded_size` bytes where that is fixed (bytes, crc32c), else nullopt.
  virtual std::optional<std::size_t> encoded_size(std::size_t /*decoded_size*/) const { return std::nullopt; }
  /// Zarr v3 metadata: {"name": ..., "configuration": {...}}.
  virtual nlohmann::json to_v3() const = 0;
  /// The Zarr v2 `compressor` object ({"id": ...}); nullopt for codecs that have none.
  virtual std::optional<nlohmann::json> to_v2() const { return std::nullopt; }
};

/// Builds a codec from its v3 metadata ({"name", "configuration"}); throws FormatError naming the
/// codec and the bad field, or the unknown name.
std::unique_ptr<Codec> make_codec(const nlohmann::json& v3_codec, const ChunkSpec& spec);
/// Translates a v2 `compressor` object ({"id": "zstd", ...}) to v3 codec metadata.
nlohmann::json v2_compressor_to_v3(const nlohmann::json& v2_compressor, const ChunkSpec& spec);
/// The registered codec names, sorted.
std::vector<std::string> codec_names();

/// CRC-32C (Castagnoli), as the crc32c codec appends it. Pass a previous result to continue.
std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t crc = 0);

/// Lossy fixed-precision storage of a float array, numcodecs' FixedScaleOffset filter: an element
/// x is stored as the integer round((x - offset) * scale) (half to even, as numpy rounds) of type
/// `astype`, and read back as stored / scale + offset. scale = 1 / precision: 1000 keeps positions
/// to 1e-3 Å (every value within half of that). Zarr v2 writes it as a `filters` entry that
/// zarr-python decodes; Zarr v3 has no such codec in its core, so a v3 array is stored as the
/// integers with CF attributes (`scale_factor`, `add_offset`, which xarray decodes) and batchmd's
/// own `batchmd_fixedscaleoffset` attribute (metadata.hpp).
struct FixedScaleOffset {
  double scale = 1.0;
  double offset = 0.0;
  DType astype = DType::Int32;
  bool operator==(const FixedScaleOffset&) const = default;
};
/// Why `q` cannot store elements of `dtype` ("" if it can): dtype must be float32 or float64,
/// astype int32 or int64, scale finite and > 0, offset finite.
std::string fixed_scale_offset_problem(const FixedScaleOffset& q, DType dtype);

/// The codecs one chunk goes through: an optional FixedScaleOffset step, exactly one array ->
/// bytes codec, then any bytes -> bytes codecs. Immutable and thread-safe.
class CodecPipeline {
 public:
  /// `v3_codecs` is a v3 codec list; throws FormatError for a bad list. With `quantize`, chunks
  /// of `spec` (floats) are quantised first and the codecs see its integers (same element
  /// count); encoding throws InvalidArgument naming a value that does not fit (or is NaN).
  CodecPipeline(const nlohmann::json& v3_codecs, const ChunkSpec& spec,
                std::optional<FixedScaleOffset> quantize = std::nullopt);

  Bytes encode(std::span<const std::byte> chunk) const;
  /// Decodes to exactly the chunk's size; FormatError naming the codec otherwise.
  Bytes decode(std::span<const std::byte> encoded) const;
  /// Encoded size when every codec has a fixed one (bytes + crc32c), else nullopt.
  std::optional<std::size_t> encoded_size() const;
  nlohmann::json to_v3() const;
  const std::vector<std::unique_ptr<Codec>>& codecs() const { return codecs_; }
  const ChunkSpec& spec() const { return spec_; }

 private:
  ChunkSpec spec_;         // what a chunk holds before encoding
  ChunkSpec stored_spec_;  // what the codecs see: spec_, or its integers when quantised
  std::optional<FixedScaleOffset> quantize_;
  std::vector<std::unique_ptr<Codec>> codecs_;
};

/// A user's choice of compression, mapped to the v2 `compressor` object and to the v3 pipeline.
struct CompressorConfig {
  /// "none", "zstd", "blosc-lz4", "blosc-zstd" or "gzip" (reading may report other blosc
  /// compressors as "blosc-<cname>").
  std::string name = "none";
  /// zstd: -7..22 (0 = zstd's default); blosc: 0..9; gzip: 0..9.
  int level = 5;
  /// blosc: byte shuffle before compressing (usually smaller for floats and ints).
  bool shuffle = true;
  /// zstd: the frame's own checksum. v3, other compressors: a crc32c codec after the compressor.
  /// v2 has no checksum but zstd's.
  bool checksum = false;

  bool operator==(const CompressorConfig&) const = default;
};

/// The v3 codecs that follow `bytes` for this config (may be empty); InvalidArgument for a bad one.
nlohmann::json compressor_codecs(const CompressorConfig& config, DType dtype);
/// The config that `codecs` (a v3 list, `bytes` first) amounts to.
CompressorConfig compressor_config_of(const nlohmann::json& v3_codecs);

}  // namespace batchmd::zarr
