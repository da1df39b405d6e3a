// SPDX-License-Identifier: Apache-2.0
// The codec registry (codecs by Zarr name), the chunk codec pipeline, and the mapping of
// CompressorConfig onto codecs.
#include "batchmd/zarr/codec.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include "batchmd/core/dtype.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/zarr/read_limits.hpp"
#include "codecs/codecs.hpp"

namespace batchmd::zarr {

using nlohmann::json;

namespace codecs {

void config_error(std::string_view codec, const std::string& what) {
  throw FormatError("codec '" + std::string(codec) + "': " + what);
}

void check_fields(const json& cfg, std::string_view codec, std::initializer_list<std::string_view> known) {
  if (cfg.is_null()) return;
  if (!cfg.is_object()) config_error(codec, "configuration must be a JSON object");
  for (const auto& item : cfg.items()) {
    if (std::find(known.begin(), known.end(), item.key()) == known.end()) {
      config_error(codec, "unknown configuration field '" + item.key() + "'");
    }
  }
}

int config_int(const json& cfg, std::string_view codec, const char* field, std::optional<int> fallback, int lo,
               int hi) {
  if (!cfg.is_object() || !cfg.contains(field)) {
    if (!fallback) config_error(codec, std::string("missing configuration field '") + field + "'");
    return *fallback;
  }
  const json& v = cfg[field];
  if (!v.is_number_integer() || v.get<std::int64_t>() < lo || v.get<std::int64_t>() > hi) {
    config_error(codec, std::string("field '") + field + "' must be an integer in [" + std::to_string(lo) + ", " +
                            std::to_string(hi) + "], got " + v.dump());
  }
  return v.get<int>();
}

std::string config_string(const json& cfg, std::string_view codec, const char* field,
                          std::optional<std::string> fallback, std::initializer_list<std::string_view> allowed) {
  if (!cfg.is_object() || !cfg.contains(field)) {
    if (!fallback) config_error(codec, std::string("missing configuration field '") + field + "'");
    return *fallback;
  }
  const json& v = cfg[field];
  if (!v.is_string() || std::find(allowed.begin(), allowed.end(), v.get<std::string>()) == allowed.end()) {
    std::string names;
    for (std::string_view a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
    config_error(codec, std::string("field '") + field + "' must be one of " + names + ", got " + v.dump());
  }
  return v.get<std::string>();
}

void corrupt(std::string_view codec, const std::string& what) { throw FormatError(std::string(codec) + ": " + what); }

void check_decoded_size(std::string_view codec, std::size_t got, std::optional<std::size_t> expected) {
  if (expected && got != *expected) {
    corrupt(codec, "decoded to " + std::to_string(got) + " bytes, expected " + std::to_string(*expected));
  }
}

}  // namespace codecs

namespace {

const std::map<std::string, codecs::CodecFactory, std::less<>>& registry() {
  static const std::map<std::string, codecs::CodecFactory, std::less<>> table = [] {
    std::map<std::string, codecs::CodecFactory, std::less<>> t;
    for (const codecs::CodecFactory& f : {codecs::bytes_factory(), codecs::zstd_factory(), codecs::blosc_factory(),
                                          codecs::gzip_factory(), codecs::crc32c_factory()}) {
      t.emplace(std::string(f.name), f);
    }
    return t;
  }();
  return table;
}

const codecs::CodecFactory& factory_named(const json& name_field, const char* what) {
  if (!name_field.is_string()) throw FormatError(std::string(what) + " must be a string naming a codec");
  const std::string name = name_field.get<std::string>();
  const auto it = registry().find(name);
  if (it == registry().end()) throw FormatError("codec '" + name + "' is not supported");
  return it->second;
}

}  // namespace

std::unique_ptr<Codec> make_codec(const json& v3_codec, const ChunkSpec& spec) {
  if (v3_codec.is_string()) return make_codec(json{{"name", v3_codec}}, spec);  // short form
  if (!v3_codec.is_object() || !v3_codec.contains("name")) {
    throw FormatError("codec entry must be an object with a 'name', got " + v3_codec.dump());
  }
  for (const auto& item : v3_codec.items()) {
    if (item.key() != "name" && item.key() != "configuration") {
      throw FormatError("codec entry has unknown field '" + item.key() + "'");
    }
  }
  const codecs::CodecFactory& f = factory_named(v3_codec["name"], "codec 'name'");
  return f.from_v3(v3_codec.value("configuration", json::object()), spec);
}

json v2_compressor_to_v3(const json& v2, const ChunkSpec& spec) {
  if (!v2.is_object() || !v2.contains("id")) {
    throw FormatError("compressor must be null or an object with an 'id', got " + v2.dump());
  }
  const codecs::CodecFactory& f = factory_named(v2["id"], "compressor 'id'");
  if (f.v2_to_v3 == nullptr) throw FormatError("codec '" + std::string(f.name) + "' is no v2 compressor");
  json v3 = f.v2_to_v3(v2, spec);
  make_codec(v3, spec);  // validates the translated configuration
  return v3;
}

std::vector<std::string> codec_names() {
  std::vector<std::string> names;
  for (const auto& [name, f] : registry()) names.push_back(name);
  return names;
}

namespace {
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}
}  // namespace

std::string fixed_scale_offset_problem(const FixedScaleOffset& q, DType dtype) {
  if (dtype != DType::Float32 && dtype != DType::Float64)
    return "fixedscaleoffset stores float32 or float64 values, not " + std::string(dtype_name(dtype));
  if (q.astype != DType::Int32 && q.astype != DType::Int64)
    return "fixedscaleoffset astype must be int32 or int64, not " + std::string(dtype_name(q.astype));
  if (!std::isfinite(q.scale) || q.scale <= 0)
    return "fixedscaleoffset scale must be finite and > 0, got " + number(q.scale);
  if (!std::isfinite(q.offset)) return "fixedscaleoffset offset must be finite";
  return "";
}

namespace {

template <typename F, typename I>
void quantize_into(const F* in, I* out, std::size_t n, const FixedScaleOffset& q) {
  // Every integer of I is within [lo, hi] as a double (int64's top end rounds up to 2^63: the
  // upper test is strict).
  constexpr double lo = static_cast<double>(std::numeric_limits<I>::min());
  constexpr double hi = -static_cast<double>(std::numeric_limits<I>::min());
  for (std::size_t i = 0; i < n; ++i) {
    // Round half to even: adding and subtracting 1.5 * 2^52 rounds |t| < 2^51 in the default
    // rounding mode without a libm call (the baseline ISA has no vector round); nearbyint beyond.
    const double t = (static_cast<double>(in[i]) - q.offset) * q.scale;
    constexpr double kMagic = 6755399441055744.0;
    const double v = std::abs(t) < 2251799813685248.0 ? (t + kMagic) - kMagic : std::nearbyint(t);
    if (!(v >= lo && v < hi)) {
      throw InvalidArgument("fixedscaleoffset: value " + number(static_cast<double>(in[i])) + " (element " +
                            std::to_string(i) + " of a chunk) does not fit " +
                            std::string(dtype_name(sizeof(I) == 4 ? DType::Int32 : DType::Int64)) + " at scale " +
                            number(q.scale) + " (precision " + number(1.0 / q.scale) + ") and offset " +
                            number(q.offset) + (std::isnan(v) ? ": NaN cannot be stored at a fixed precision" : ""));
    }
    out[i] = static_cast<I>(v);
  }
}

template <typename I, typename F>
void dequantize_into(const I* in, F* out, std::size_t n, const FixedScaleOffset& q) {
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<F>(static_cast<double>(in[i]) / q.scale + q.offset);
}

template <typename F>
Bytes quantize_as(std::span<const std::byte> chunk, std::size_t n, const FixedScaleOffset& q) {
  const auto* in = reinterpret_cast<const F*>(chunk.data());
  Bytes out(n * dtype_size(q.astype));
  if (q.astype == DType::Int32)
    quantize_into(in, reinterpret_cast<std::int32_t*>(out.data()), n, q);
  else
    quantize_into(in, reinterpret_cast<std::int64_t*>(out.data()), n, q);
  return out;
}

template <typename F>
Bytes dequantize_as(std::span<const std::byte> stored, std::size_t n, const FixedScaleOffset& q) {
  Bytes out(n * sizeof(F));
  auto* o = reinterpret_cast<F*>(out.data());
  if (q.astype == DType::Int32)
    dequantize_into(reinterpret_cast<const std::int32_t*>(stored.data()), o, n, q);
  else
    dequantize_into(reinterpret_cast<const std::int64_t*>(stored.data()), o, n, q);
  return out;
}

}  // namespace

CodecPipeline::CodecPipeline(const json& v3_codecs, const ChunkSpec& spec, std::optional<FixedScaleOffset> quantize)
    : spec_(spec), stored_spec_(spec), quantize_(quantize) {
  if (quantize_) {
    if (const std::string why = fixed_scale_offset_problem(*quantize_, spec.dtype); !why.empty())
      throw FormatError(why);
    stored_spec_.dtype = quantize_->astype;
  }
  if (!v3_codecs.is_array() || v3_codecs.empty()) throw FormatError("codecs must be a non-empty list");
  for (const json& entry : v3_codecs) codecs_.push_back(make_codec(entry, stored_spec_));
  if (!codecs_.front()->is_array_to_bytes()) {
    throw FormatError("codecs must start with an array -> bytes codec such as 'bytes', not '" +
                      std::string(codecs_.front()->name()) + "'");
  }
  for (std::size_t i = 1; i < codecs_.size(); ++i) {
    if (codecs_[i]->is_array_to_bytes()) {
      throw FormatError("codec '" + std::string(codecs_[i]->name()) + "' may only come first");
    }
  }
}

Bytes CodecPipeline::encode(std::span<const std::byte> chunk) const {
  Bytes data;
  if (quantize_) {
    if (chunk.size() != spec_.element_count * dtype_size(spec_.dtype))
      throw InvalidArgument("fixedscaleoffset: a chunk of " + std::to_string(chunk.size()) + " bytes, expected " +
                            std::to_string(spec_.element_count * dtype_size(spec_.dtype)));
    const Bytes ints = spec_.dtype == DType::Float64 ? quantize_as<double>(chunk, spec_.element_count, *quantize_)
                                                     : quantize_as<float>(chunk, spec_.element_count, *quantize_);
    data = codecs_.front()->encode(ints);
  } else {
    data = codecs_.front()->encode(chunk);
  }
  for (std::size_t i = 1; i < codecs_.size(); ++i) data = codecs_[i]->encode(data);
  return data;
}

Bytes CodecPipeline::decode(std::span<const std::byte> encoded) const {
  // Decoded size after each step, where fixed: known forward from the chunk's size until the
  // first codec of variable size (a compressor).
  std::vector<std::optional<std::size_t>> sizes(codecs_.size());
  check_read_size(static_cast<double>(spec_.element_count * dtype_size(spec_.dtype)), "decoded chunk");
  std::optional<std::size_t> size = stored_spec_.element_count * dtype_size(stored_spec_.dtype);
  check_read_size(static_cast<double>(*size), "decoded chunk");
  for (std::size_t i = 0; i < codecs_.size(); ++i) {
    sizes[i] = size;
    size = size ? codecs_[i]->encoded_size(*size) : std::nullopt;
  }
  Bytes data(encoded.begin(), encoded.end());
  for (std::size_t i = codecs_.size(); i-- > 0;) data = codecs_[i]->decode(data, sizes[i]);
  if (!quantize_) return data;
  return spec_.dtype == DType::Float64 ? dequantize_as<double>(data, spec_.element_count, *quantize_)
                                       : dequantize_as<float>(data, spec_.element_count, *quantize_);
}

std::optional<std::size_t> CodecPipeline::encoded_size() const {
  std::optional<std::size_t> size = stored_spec_.element_count * dtype_size(stored_spec_.dtype);
  for (const auto& c : codecs_) size = size ? c->encoded_size(*size) : std::nullopt;
  return size;
}

json CodecPipeline::to_v3() const {
  json list = json::array();
  for (const auto& c : codecs_) list.push_back(c->to_v3());
  return list;
}

json compressor_codecs(const CompressorConfig& config, DType dtype) {
  const auto bad = [&](const std::string& what) { throw InvalidArgument("compressor '" + config.name + "': " + what); };
  const auto check_level = [&](int lo, int hi) {
    if (config.level < lo || config.level > hi) {
      bad("level " + std::to_string(config.level) + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) +
          "]");
    }
  };
  json list = json::array();
  if (config.name == "zstd") {
    check_level(-7, 22);
    list.push_back({{"name", "zstd"}, {"configuration", {{"level", config.level}, {"checksum", config.checksum}}}});
    return list;
  }
  if (config.name == "blosc-lz4" || config.name == "blosc-zstd") {
    check_level(0, 9);
    list.push_back({{"name", "blosc"},
                    {"configuration",
                     {{"cname", config.name.substr(6)},
                      {"clevel", config.level},
                      {"shuffle", config.shuffle ? "shuffle" : "noshuffle"},
                      {"typesize", dtype_size(dtype)},
                      {"blocksize", 0}}}});
  } else if (config.name == "gzip") {
    check_level(0, 9);
    list.push_back({{"name", "gzip"}, {"configuration", {{"level", config.level}}}});
  } else if (config.name != "none") {
    bad("unknown compressor (expected none, zstd, blosc-lz4, blosc-zstd or gzip)");
  }
  if (config.checksum) list.push_back({{"name", "crc32c"}});
  return list;
}

CompressorConfig compressor_config_of(const json& v3_codecs) {
  CompressorConfig config;
  for (const json& c : v3_codecs) {
    const std::string name = c.is_string() ? c.get<std::string>() : c.value("name", "");
    const json cfg = c.is_object() ? c.value("configuration", json::object()) : json::object();
    if (name == "zstd") {
      config.name = "zstd";
      config.level = cfg.value("level", 0);
      config.checksum = cfg.value("checksum", false);
    } else if (name == "blosc") {
      config.name = "blosc-" + cfg.value("cname", std::string("lz4"));
      config.level = cfg.value("clevel", 5);
      config.shuffle = cfg.value("shuffle", std::string("noshuffle")) != "noshuffle";
    } else if (name == "gzip") {
      config.name = "gzip";
      config.level = cfg.value("level", 5);
    } else if (name == "crc32c") {
      config.checksum = true;
    }
  }
  return config;
}

}  // namespace batchmd::zarr
