// SPDX-License-Identifier: Apache-2.0
// zarr/metadata: array and group metadata of Zarr v3 (zarr.json) and v2 (.zarray, .zgroup,
// .zattrs): building the documents, and parsing them with every field validated.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "batchmd/core/dtype.hpp"
#include "batchmd/zarr/codec.hpp"
#include "batchmd/zarr/store.hpp"

namespace batchmd::zarr {

enum class ZarrFormat : int { V2 = 2, V3 = 3 };

/// What a user chooses for an array. Chunking runs along the leading axis only: a chunk holds
/// `chunk_rows` rows with every trailing axis whole.
struct ArrayMeta {
  ZarrFormat format = ZarrFormat::V3;
  DType dtype = DType::Float64;
  /// shape[0] is the number of rows committed; trailing axes are >= 1.
  std::vector<std::int64_t> shape = {0};
  /// Rows per chunk (per inner chunk when sharded).
  std::int64_t chunk_rows = 1024;
  /// Rows per shard (v3 sharding_indexed), a multiple of chunk_rows; 0 = no sharding.
  std::int64_t shard_rows = 0;
  CompressorConfig compressor;
  /// User attributes (a JSON object): v3 `attributes`, v2 `.zattrs`.
  nlohmann::json attributes = nlohmann::json::object();
  /// One name per axis, or empty for none (v3 `dimension_names`; v2 `_ARRAY_DIMENSIONS`, the
  /// xarray convention).
  std::vector<std::string> dimension_names;
  /// Value of elements never written (missing chunks, padding of the last chunk).
  double fill_value = 0.0;
  /// Stored at a fixed precision (codec.hpp): dtype (float32/float64) is what the array holds and
  /// reads as; the chunks hold quantize->astype. Not with sharding. v2: a `filters` entry
  /// {"id": "fixedscaleoffset", "scale", "offset", "dtype", "astype"} (numcodecs); v3: data_type is
  /// astype and the attributes gain `scale_factor` = 1 / scale and `add_offset` = offset (the CF
  /// convention xarray decodes) and `batchmd_fixedscaleoffset` = {"scale", "offset", "dtype"},
  /// which batchmd reads back (the three are not in `attributes` once parsed).
  std::optional<FixedScaleOffset> quantize;
};

/// The v3 attribute that marks an array stored at a fixed precision (see ArrayMeta::quantize).
inline constexpr const char* kFixedScaleOffsetAttr = "batchmd_fixedscaleoffset";

/// How chunks are keyed and encoded, exactly as the metadata document says. ArrayMeta is the
/// simple view; this keeps what other writers may choose that ArrayMeta cannot say (big-endian
/// bytes, other blosc compressors, '.'-separated keys).
struct ChunkLayout {
  /// v3 codec list of one chunk (inner chunk when sharded), array -> bytes codec first.
  nlohmann::json codecs = nlohmann::json::array();
  char separator = '/';
  /// Keys "0.0" (v2, or v3 chunk_key_encoding "v2") instead of "c/0/0".
  bool v2_keys = false;
  /// Sharded arrays: codecs of the shard index (bytes, optionally crc32c) and where it sits.
  nlohmann::json index_codecs = nlohmann::json::array();
  bool index_at_end = true;
};

struct ArrayDocument {
  ArrayMeta meta;
  ChunkLayout layout;
};

/// Validates `meta` (InvalidArgument naming the bad field) and derives its layout.
ArrayDocument make_array_document(const ArrayMeta& meta);
/// Parses a v3 zarr.json of node_type array. `where` ("store/path/zarr.json") starts every
/// FormatError message, followed by the bad field.
ArrayDocument parse_v3_array(const nlohmann::json& doc, const std::string& where);
/// Parses a v2 .zarray and its .zattrs (an empty object when absent).
ArrayDocument parse_v2_array(const nlohmann::json& zarray, const nlohmann::json& zattrs, const std::string& where);
/// The v3 zarr.json document.
nlohmann::json v3_array_json(const ArrayDocument& doc);
/// The v2 .zarray document (attributes go to .zattrs: see v2_attributes_json).
nlohmann::json v2_array_json(const ArrayDocument& doc);
/// The v2 .zattrs document: attributes plus _ARRAY_DIMENSIONS when there are dimension names.
nlohmann::json v2_attributes_json(const ArrayMeta& meta);
/// Key of chunk (or shard) number `index` along the leading axis, relative to the array.
std::string chunk_key(const ChunkLayout& layout, std::size_t ndim, std::int64_t index);

/// A v3 zarr.json of node_type group.
nlohmann::json v3_group_json(const nlohmann::json& attributes);
/// The attributes of a v3 group document; FormatError naming `where` for a bad one.
nlohmann::json parse_v3_group(const nlohmann::json& doc, const std::string& where);

/// Parses JSON bytes; FormatError "<where>: invalid JSON: ..." otherwise.
nlohmann::json parse_json(std::span<const std::byte> bytes, const std::string& where);
/// JSON text as bytes, indented, for metadata documents.
Bytes dump_json(const nlohmann::json& doc);

/// The names of metadata documents.
inline constexpr const char* kV3Meta = "zarr.json";
inline constexpr const char* kV2Array = ".zarray";
inline constexpr const char* kV2Group = ".zgroup";
inline constexpr const char* kV2Attrs = ".zattrs";

}  // namespace batchmd::zarr
