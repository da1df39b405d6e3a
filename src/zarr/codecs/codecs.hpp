// SPDX-License-Identifier: Apache-2.0
// Internal: the factory of each registered codec and helpers to read codec configurations.
#pragma once
#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "batchmd/zarr/codec.hpp"

namespace batchmd::zarr::codecs {

using nlohmann::json;

/// How the registry builds one codec.
struct CodecFactory {
  std::string_view name;
  std::unique_ptr<Codec> (*from_v3)(const json& configuration, const ChunkSpec& spec);
  /// v2 compressor object -> v3 configuration; null for codecs that are no v2 compressor.
  json (*v2_to_v3)(const json& v2, const ChunkSpec& spec) = nullptr;
};

CodecFactory bytes_factory();
CodecFactory zstd_factory();
CodecFactory blosc_factory();
CodecFactory gzip_factory();
CodecFactory crc32c_factory();

/// FormatError "codec '<codec>': <what>".
[[noreturn]] void config_error(std::string_view codec, const std::string& what);
/// Throws unless `cfg` is an object (or null) whose keys are all in `known`.
void check_fields(const json& cfg, std::string_view codec, std::initializer_list<std::string_view> known);
/// An integer field in [lo, hi]; `fallback` when absent (error when absent without one).
int config_int(const json& cfg, std::string_view codec, const char* field, std::optional<int> fallback, int lo, int hi);
/// A string field, one of `allowed`; `fallback` when absent.
std::string config_string(const json& cfg, std::string_view codec, const char* field,
                          std::optional<std::string> fallback, std::initializer_list<std::string_view> allowed);
/// FormatError "<codec>: <what>", for corrupt encoded data.
[[noreturn]] void corrupt(std::string_view codec, const std::string& what);
/// Checks a decoded size against what the pipeline expects.
void check_decoded_size(std::string_view codec, std::size_t got, std::optional<std::size_t> expected);

}  // namespace batchmd::zarr::codecs
