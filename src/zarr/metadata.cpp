// SPDX-License-Identifier: Apache-2.0
// Zarr v3 and v2 metadata documents: building them from ArrayMeta, and parsing them back with
// every field checked and every error naming the document and the field.
#include "batchmd/zarr/metadata.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "batchmd/core/error.hpp"
#include "batchmd/zarr/read_limits.hpp"
#include "dtype_codes.hpp"

namespace batchmd::zarr {

using nlohmann::json;

namespace {

// ---- fill values -------------------------------------------------------------------------

bool fill_fits(DType t, double v) {
  switch (t) {
    case DType::Float32:
    case DType::Float64:
      return true;
    case DType::Bool:
      return v == 0.0 || v == 1.0;
    case DType::UInt8:
      return v == std::floor(v) && v >= 0 && v <= 255;
    case DType::Int32:
      return v == std::floor(v) && v >= -2147483648.0 && v <= 2147483647.0;
    case DType::Int64:
      return v == std::floor(v) && v >= -9223372036854775808.0 && v < 9223372036854775808.0;
  }
  return false;
}

json fill_to_json(DType t, double v) {
  if (t == DType::Bool) return v != 0.0;
  if (t == DType::Float32 || t == DType::Float64) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
    return v;
  }
  return static_cast<std::int64_t>(v);
}

// Returns nullopt for a value that does not fit the dtype.
std::optional<double> fill_from_json(DType t, const json& v, bool v3) {
  if (v.is_null()) {
    if (v3) return std::nullopt;  // v3 requires a fill value; v2 allows null ("none")
    return 0.0;
  }
  if (t == DType::Bool) {
    if (v.is_boolean()) return v.get<bool>() ? 1.0 : 0.0;
    if (!v3 && v.is_number_integer() && fill_fits(t, v.get<double>())) return v.get<double>();
    return std::nullopt;
  }
  if (t == DType::Float32 || t == DType::Float64) {
    if (v.is_number()) return v.get<double>();
    if (!v.is_string()) return std::nullopt;
    const std::string s = v.get<std::string>();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
    // v3: the bit pattern in hex, "0x7fc00000" for a float32 NaN.
    const std::size_t digits = 2 * dtype_size(t);
    if (!v3 || s.size() != digits + 2 || s.compare(0, 2, "0x") != 0) return std::nullopt;
    std::uint64_t bits = 0;
    for (std::size_t i = 2; i < s.size(); ++i) {
      const char c = s[i];
      const int d = (c >= '0' && c <= '9')   ? c - '0'
                    : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                    : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                             : -1;
      if (d < 0) return std::nullopt;
      bits = (bits << 4) | static_cast<std::uint64_t>(d);
    }
    if (t == DType::Float32) {
      float f;
      const auto b32 = static_cast<std::uint32_t>(bits);
      std::memcpy(&f, &b32, 4);
      return static_cast<double>(f);
    }
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }
  if (!v.is_number()) return std::nullopt;
  if (v3 && !v.is_number_integer()) return std::nullopt;
  const double d = v.is_number_unsigned()  ? static_cast<double>(v.get<std::uint64_t>())
                   : v.is_number_integer() ? static_cast<double>(v.get<std::int64_t>())
                                           : v.get<double>();
  if (!fill_fits(t, d)) return std::nullopt;
  return d;
}

// ---- field readers ------------------------------------------------------------------------

[[noreturn]] void bad(const std::string& where, const std::string& what) { throw FormatError(where + ": " + what); }

const json& field(const json& doc, const std::string& where, const char* name) {
  if (!doc.contains(name)) bad(where, std::string("missing field '") + name + "'");
  return doc[name];
}

std::vector<std::int64_t> int_list(const json& v, const std::string& where, const char* name, std::int64_t min) {
  if (!v.is_array()) bad(where, std::string(name) + " must be a list of integers, got " + v.dump());
  std::vector<std::int64_t> out;
  for (const json& x : v) {
    if (!x.is_number_integer() || x.get<std::int64_t>() < min) {
      bad(where, std::string(name) + " must hold integers >= " + std::to_string(min) + ", got " + v.dump());
    }
    out.push_back(x.get<std::int64_t>());
  }
  return out;
}

std::vector<std::int64_t> parse_shape(const json& doc, const std::string& where) {
  auto shape = int_list(field(doc, where, "shape"), where, "shape", 0);
  if (shape.empty()) bad(where, "shape: 0-dimensional arrays are not supported");
  for (std::size_t i = 1; i < shape.size(); ++i) {
    if (shape[i] < 1) bad(where, "shape: trailing axes must have length >= 1");
  }
  return shape;
}

// Leading-axis chunking only: a chunk must span every trailing axis whole.
std::int64_t leading_chunk(const std::vector<std::int64_t>& chunks, const std::vector<std::int64_t>& shape,
                           const std::string& where, const char* name) {
  if (chunks.size() != shape.size()) {
    bad(where, std::string(name) + " has " + std::to_string(chunks.size()) + " axes, shape has " +
                   std::to_string(shape.size()));
  }
  for (std::size_t i = 1; i < shape.size(); ++i) {
    if (chunks[i] != shape[i]) {
      bad(where, std::string(name) +
                     " must span the trailing axes whole (chunking runs along the "
                     "leading axis only)");
    }
  }
  if (chunks[0] < 1) bad(where, std::string(name) + ": chunk length must be >= 1");
  return chunks[0];
}

std::vector<std::int64_t> with_leading(std::int64_t lead, const std::vector<std::int64_t>& shape) {
  std::vector<std::int64_t> out = shape;
  out[0] = lead;
  return out;
}

std::size_t row_elements(const std::vector<std::int64_t>& shape) {
  std::size_t n = 1;
  for (std::size_t i = 1; i < shape.size(); ++i) n *= static_cast<std::size_t>(shape[i]);
  return n;
}

// Sizes every reader and writer computes from the metadata, checked so that none of those
// products can overflow and no chunk is larger than batchmd decodes: a row of at most
// kMaxChunkBytes, a chunk (inner chunk when sharded) of at most kMaxChunkBytes, at most
// kMaxChunkBytes / 16 inner chunks per shard (the index), and shape[0] * row bytes < 2^63.
// Returns the reason for the first violation, or "".
std::string size_problem(const ArrayMeta& m) {
  const auto max = static_cast<std::int64_t>(kMaxChunkBytes);
  std::int64_t row = static_cast<std::int64_t>(
      std::max(dtype_size(m.dtype), m.quantize ? dtype_size(m.quantize->astype) : std::size_t{0}));
  for (std::size_t i = 1; i < m.shape.size(); ++i) {
    if (m.shape[i] > max / row) {
      return "a row (the trailing axes " + std::to_string(i) + "..) holds more than " + std::to_string(max) +
             " bytes, more than a chunk may";
    }
    row *= m.shape[i];
  }
  if (m.chunk_rows > max / row) {
    return "a chunk of " + std::to_string(m.chunk_rows) + " rows of " + std::to_string(row) + " bytes is larger than " +
           std::to_string(max) + " bytes (2 GiB), the largest chunk batchmd reads";
  }
  if (m.shard_rows > 0 && m.shard_rows / m.chunk_rows > max / 16) {
    return "a shard of " + std::to_string(m.shard_rows / m.chunk_rows) + " inner chunks has an index over 2 GiB";
  }
  if (m.shape[0] > std::numeric_limits<std::int64_t>::max() / row) {
    return "shape[0] = " + std::to_string(m.shape[0]) + " rows of " + std::to_string(row) +
           " bytes overflow a 64-bit size";
  }
  return "";
}

ChunkSpec chunk_spec(const ArrayMeta& m) {
  return {m.dtype, static_cast<std::size_t>(m.chunk_rows) * row_elements(m.shape)};
}

// What the codecs after a fixedscaleoffset step see: its integers.
ChunkSpec stored_chunk_spec(const ArrayMeta& m) {
  ChunkSpec s = chunk_spec(m);
  if (m.quantize) s.dtype = m.quantize->astype;
  return s;
}

json fixed_scale_offset_v2(const ArrayMeta& m) {
  return {{"id", "fixedscaleoffset"},
          {"scale", m.quantize->scale},
          {"offset", m.quantize->offset},
          {"dtype", v2_dtype_string(m.dtype)},
          {"astype", v2_dtype_string(m.quantize->astype)}};
}

double finite_number(const json& cfg, const std::string& where, const char* name) {
  const json& v = field(cfg, where, name);
  if (!v.is_number() || !std::isfinite(v.get<double>()))
    bad(where, std::string(name) + " must be a finite number, got " + v.dump());
  return v.get<double>();
}

// Checks a codec list by building its pipeline; errors gain the document and field.
void check_pipeline(const json& codecs, const ChunkSpec& spec, const std::string& where, const char* name) {
  try {
    CodecPipeline(codecs, spec);
  } catch (const FormatError& e) {
    bad(where, std::string(name) + ": " + e.what());
  }
}

json bytes_codec(bool big_endian = false) {
  return {{"name", "bytes"}, {"configuration", {{"endian", big_endian ? "big" : "little"}}}};
}

json default_index_codecs() { return json::array({bytes_codec(), json{{"name", "crc32c"}}}); }

void parse_sharding(const json& codec, ArrayDocument& d, const std::string& where) {
  ArrayMeta& m = d.meta;
  const json cfg = codec.value("configuration", json::object());
  if (!cfg.is_object()) bad(where, "codecs: sharding_indexed configuration must be an object");
  for (const auto& item : cfg.items()) {
    if (item.key() != "chunk_shape" && item.key() != "codecs" && item.key() != "index_codecs" &&
        item.key() != "index_location") {
      bad(where, "codecs: sharding_indexed has unknown field '" + item.key() + "'");
    }
  }
  const auto inner = int_list(field(cfg, where, "chunk_shape"), where, "sharding_indexed chunk_shape", 1);
  const std::int64_t shard_rows = m.chunk_rows;
  m.chunk_rows =
      leading_chunk(inner, with_leading(inner.empty() ? 0 : inner[0], m.shape), where, "sharding_indexed chunk_shape");
  if (shard_rows % m.chunk_rows != 0) {
    bad(where, "codecs: sharding_indexed chunk_shape must divide the shard shape");
  }
  m.shard_rows = shard_rows;
  d.layout.codecs = field(cfg, where, "codecs");
  check_pipeline(d.layout.codecs, chunk_spec(m), where, "sharding_indexed codecs");
  d.layout.index_codecs = field(cfg, where, "index_codecs");
  const json& ic = d.layout.index_codecs;
  // The index has a fixed size only with bytes (+ crc32c); that is all readers can count on.
  bool ok = ic.is_array() && !ic.empty() && ic.size() <= 2;
  for (std::size_t i = 0; ok && i < ic.size(); ++i) {
    const std::string name = ic[i].is_object() ? ic[i].value("name", "") : "";
    ok = (i == 0 && name == "bytes") || (i == 1 && name == "crc32c");
  }
  if (!ok) bad(where, "codecs: sharding_indexed index_codecs must be [bytes] or [bytes, crc32c]");
  check_pipeline(ic, {DType::Int64, 2 * static_cast<std::size_t>(shard_rows / m.chunk_rows)}, where,
                 "sharding_indexed index_codecs");
  const json loc = cfg.value("index_location", json("end"));
  if (loc != "end" && loc != "start") {
    bad(where, "codecs: sharding_indexed index_location must be 'end' or 'start', got " + loc.dump());
  }
  d.layout.index_at_end = loc == "end";
}

}  // namespace

// ---- building --------------------------------------------------------------------------------

ArrayDocument make_array_document(const ArrayMeta& meta) {
  const auto invalid = [](const std::string& what) { throw InvalidArgument("ArrayMeta: " + what); };
  if (meta.format != ZarrFormat::V2 && meta.format != ZarrFormat::V3) invalid("format must be V2 or V3");
  if (meta.shape.empty()) invalid("shape must have at least one axis");
  if (meta.shape[0] < 0) invalid("shape[0] (rows) must be >= 0");
  for (std::size_t i = 1; i < meta.shape.size(); ++i) {
    if (meta.shape[i] < 1) invalid("trailing axes must have length >= 1");
  }
  if (meta.chunk_rows < 1) invalid("chunk_rows must be >= 1");
  if (meta.shard_rows < 0 || (meta.shard_rows > 0 && meta.shard_rows % meta.chunk_rows != 0)) {
    invalid("shard_rows must be 0 or a multiple of chunk_rows");
  }
  if (meta.shard_rows > 0 && meta.format == ZarrFormat::V2) invalid("sharding needs Zarr v3");
  if (!meta.attributes.is_object()) invalid("attributes must be a JSON object");
  if (!meta.dimension_names.empty() && meta.dimension_names.size() != meta.shape.size()) {
    invalid("dimension_names must name every axis or none");
  }
  if (!fill_fits(meta.dtype, meta.fill_value)) {
    invalid("fill_value " + std::to_string(meta.fill_value) + " does not fit " + std::string(dtype_name(meta.dtype)));
  }
  if (meta.quantize) {
    if (const std::string why = fixed_scale_offset_problem(*meta.quantize, meta.dtype); !why.empty()) invalid(why);
    if (meta.shard_rows > 0) invalid("fixedscaleoffset and sharding cannot be combined");
    if (!fill_fits(meta.quantize->astype,
                   std::nearbyint((meta.fill_value - meta.quantize->offset) * meta.quantize->scale)))
      invalid("fill_value does not fit the fixedscaleoffset integers");
  }
  if (const std::string why = size_problem(meta); !why.empty()) invalid(why);
  ArrayDocument d{meta, {}};
  d.layout.codecs = json::array({bytes_codec()});
  for (const json& c : compressor_codecs(meta.compressor, meta.quantize ? meta.quantize->astype : meta.dtype))
    d.layout.codecs.push_back(c);
  // The canonical form, as opening the array reports it (a level means nothing without a compressor).
  d.meta.compressor = compressor_config_of(d.layout.codecs);
  if (meta.format == ZarrFormat::V2) {
    d.layout.separator = '.';
    d.layout.v2_keys = true;
    if (d.layout.codecs.size() > 2 || (d.layout.codecs.size() == 2 && d.layout.codecs[1]["name"] == "crc32c")) {
      invalid("Zarr v2 has no checksum but zstd's own (compressor '" + meta.compressor.name + "')");
    }
  } else if (meta.shard_rows > 0) {
    d.layout.index_codecs = default_index_codecs();
  }
  return d;
}

json v3_array_json(const ArrayDocument& d) {
  const ArrayMeta& m = d.meta;
  const bool sharded = m.shard_rows > 0;
  json codecs = d.layout.codecs;
  if (sharded) {
    codecs = json::array({{{"name", "sharding_indexed"},
                           {"configuration",
                            {{"chunk_shape", with_leading(m.chunk_rows, m.shape)},
                             {"codecs", d.layout.codecs},
                             {"index_codecs", d.layout.index_codecs},
                             {"index_location", d.layout.index_at_end ? "end" : "start"}}}}});
  }
  json doc = {
      {"zarr_format", 3},
      {"node_type", "array"},
      {"shape", m.shape},
      {"data_type", dtype_name(m.quantize ? m.quantize->astype : m.dtype)},
      {"chunk_grid",
       {{"name", "regular"},
        {"configuration", {{"chunk_shape", with_leading(sharded ? m.shard_rows : m.chunk_rows, m.shape)}}}}},
      {"chunk_key_encoding",
       {{"name", d.layout.v2_keys ? "v2" : "default"},
        {"configuration", {{"separator", std::string(1, d.layout.separator)}}}}},
      {"fill_value", fill_to_json(m.dtype, m.fill_value)},
      {"codecs", codecs},
      {"attributes", m.attributes},
  };
  if (m.quantize) {  // the integers, with the CF attributes and batchmd's own
    const FixedScaleOffset& q = *m.quantize;
    doc["fill_value"] = fill_to_json(q.astype, std::nearbyint((m.fill_value - q.offset) * q.scale));
    doc["attributes"]["scale_factor"] = 1.0 / q.scale;
    doc["attributes"]["add_offset"] = q.offset;
    doc["attributes"][kFixedScaleOffsetAttr] = {
        {"scale", q.scale}, {"offset", q.offset}, {"dtype", std::string(dtype_name(m.dtype))}};
  }
  if (!m.dimension_names.empty()) doc["dimension_names"] = m.dimension_names;
  return doc;
}

json v2_array_json(const ArrayDocument& d) {
  const ArrayMeta& m = d.meta;
  json compressor = nullptr;
  if (d.layout.codecs.size() > 1) {
    compressor = *make_codec(d.layout.codecs[1], stored_chunk_spec(m))->to_v2();
  }
  const bool big = d.layout.codecs[0].value("configuration", json::object()).value("endian", "little") == "big";
  std::string dtype = v2_dtype_string(m.dtype);
  if (big && dtype_size(m.dtype) > 1) dtype[0] = '>';
  return {{"zarr_format", 2},
          {"shape", m.shape},
          {"chunks", with_leading(m.chunk_rows, m.shape)},
          {"dtype", dtype},
          {"compressor", compressor},
          // A zero fill is written as null (v2's "no fill value", which reads back as 0 here):
          // xarray would otherwise mask every stored 0 as missing.
          {"fill_value",
           m.fill_value == 0.0 && !std::signbit(m.fill_value) ? json(nullptr) : fill_to_json(m.dtype, m.fill_value)},
          {"order", "C"},
          {"filters", m.quantize ? json::array({fixed_scale_offset_v2(m)}) : json(nullptr)},
          {"dimension_separator", std::string(1, d.layout.separator)}};
}

json v2_attributes_json(const ArrayMeta& meta) {
  json attrs = meta.attributes;
  if (!meta.dimension_names.empty()) attrs["_ARRAY_DIMENSIONS"] = meta.dimension_names;
  return attrs;
}

std::string chunk_key(const ChunkLayout& layout, std::size_t ndim, std::int64_t index) {
  const char sep = layout.separator;
  std::string key = layout.v2_keys ? "" : std::string("c") + sep;
  key += std::to_string(index);
  for (std::size_t i = 1; i < ndim; ++i) {
    key += sep;
    key += '0';
  }
  return key;
}

// ---- parsing ------------------------------------------------------------------------------------

namespace {

ArrayDocument parse_v3_array_fields(const json& doc, const std::string& where) {
  if (!doc.is_object()) bad(where, "metadata must be a JSON object");
  if (field(doc, where, "zarr_format") != 3) bad(where, "zarr_format must be 3");
  if (field(doc, where, "node_type") != "array") bad(where, "node_type must be 'array'");
  ArrayDocument d;
  ArrayMeta& m = d.meta;
  m.format = ZarrFormat::V3;
  m.shape = parse_shape(doc, where);

  const json& dt = field(doc, where, "data_type");
  std::optional<DType> dtype;
  if (dt.is_string()) {
    try {
      dtype = dtype_from_name(dt.get<std::string>());
    } catch (const InvalidArgument&) {
      // reported below, with the document and field
    }
  }
  if (!dtype) {
    bad(where, "data_type " + (dt.is_string() ? "'" + dt.get<std::string>() + "'" : dt.dump()) +
                   " is not supported (bool, int32, int64, uint8, float32, float64)");
  }
  m.dtype = *dtype;

  const json& grid = field(doc, where, "chunk_grid");
  if (!grid.is_object() || grid.value("name", json()) != "regular") {
    bad(where, "chunk_grid must be {\"name\": \"regular\", ...}, got " + grid.dump());
  }
  const json grid_cfg = grid.value("configuration", json::object());
  m.chunk_rows = leading_chunk(int_list(field(grid_cfg, where, "chunk_shape"), where, "chunk_grid chunk_shape", 1),
                               m.shape, where, "chunk_grid chunk_shape");

  const json& cke = field(doc, where, "chunk_key_encoding");
  const json cke_name = cke.is_object() ? cke.value("name", json()) : json();
  if (cke_name != "default" && cke_name != "v2") {
    bad(where, "chunk_key_encoding must be 'default' or 'v2', got " + cke.dump());
  }
  d.layout.v2_keys = cke_name == "v2";
  const json sep = cke.value("configuration", json::object()).value("separator", json(d.layout.v2_keys ? "." : "/"));
  if (sep != "/" && sep != ".") bad(where, "chunk_key_encoding separator must be '/' or '.', got " + sep.dump());
  d.layout.separator = sep.get<std::string>()[0];

  const auto fill = fill_from_json(m.dtype, field(doc, where, "fill_value"), true);
  if (!fill)
    bad(where, "fill_value " + doc["fill_value"].dump() + " is not a valid " + std::string(dt.get<std::string>()));
  m.fill_value = *fill;

  const json& codecs = field(doc, where, "codecs");
  if (!codecs.is_array() || codecs.empty()) bad(where, "codecs must be a non-empty list");
  if (codecs[0].is_object() && codecs[0].value("name", json()) == "sharding_indexed") {
    if (codecs.size() != 1) bad(where, "codecs: sharding_indexed must be the only codec");
    parse_sharding(codecs[0], d, where);
  }
  if (const std::string why = size_problem(m); !why.empty()) bad(where, "chunk_grid / shape: " + why);
  if (m.shard_rows == 0) {
    d.layout.codecs = codecs;
    check_pipeline(codecs, chunk_spec(m), where, "codecs");
  }
  m.compressor = compressor_config_of(d.layout.codecs);

  if (doc.contains("attributes")) {
    if (!doc["attributes"].is_object()) bad(where, "attributes must be a JSON object");
    m.attributes = doc["attributes"];
  }
  if (m.attributes.contains(kFixedScaleOffsetAttr)) {  // integers standing for floats (ArrayMeta::quantize)
    const std::string w = where + ": attributes: " + kFixedScaleOffsetAttr;
    const json& f = m.attributes[kFixedScaleOffsetAttr];
    if (!f.is_object()) bad(w, "must be an object");
    for (const auto& item : f.items())
      if (item.key() != "scale" && item.key() != "offset" && item.key() != "dtype")
        bad(w, "unknown field '" + item.key() + "'");
    FixedScaleOffset q;
    q.scale = finite_number(f, w, "scale");
    q.offset = finite_number(f, w, "offset");
    q.astype = m.dtype;
    const json& fd = field(f, w, "dtype");
    std::optional<DType> decoded;
    if (fd.is_string()) {
      try {
        decoded = dtype_from_name(fd.get<std::string>());
      } catch (const InvalidArgument&) {
      }
    }
    if (!decoded) bad(w, "dtype " + fd.dump() + " is not supported (float32, float64)");
    if (const std::string why = fixed_scale_offset_problem(q, *decoded); !why.empty()) bad(w, why);
    if (m.shard_rows > 0) bad(w, "fixedscaleoffset and sharding cannot be combined");
    const double stored_fill = m.fill_value;
    m.fill_value = stored_fill / q.scale + q.offset;
    if (!std::isfinite(m.fill_value) || !fill_fits(q.astype, std::nearbyint((m.fill_value - q.offset) * q.scale)))
      bad(w,
          "fill_value " + std::to_string(stored_fill) + " does not stand for a finite float at this scale and offset");
    m.dtype = *decoded;
    m.quantize = q;
    if (const std::string why = size_problem(m); !why.empty()) bad(where, "chunk_grid / shape: " + why);
    m.attributes.erase(kFixedScaleOffsetAttr);
    m.attributes.erase("scale_factor");
    m.attributes.erase("add_offset");
  }
  if (doc.contains("dimension_names") && !doc["dimension_names"].is_null()) {
    const json& names = doc["dimension_names"];
    if (!names.is_array() || names.size() != m.shape.size()) {
      bad(where, "dimension_names must list one name (or null) per axis");
    }
    for (const json& n : names) {
      if (!n.is_string() && !n.is_null()) bad(where, "dimension_names must hold strings or null");
      m.dimension_names.push_back(n.is_string() ? n.get<std::string>() : "");
    }
  }
  for (const auto& item : doc.items()) {
    static const char* const known[] = {"zarr_format",         "node_type",  "shape",  "data_type",  "chunk_grid",
                                        "chunk_key_encoding",  "fill_value", "codecs", "attributes", "dimension_names",
                                        "storage_transformers"};
    if (std::find_if(std::begin(known), std::end(known), [&](const char* k) { return item.key() == k; }) !=
        std::end(known)) {
      continue;
    }
    // Extensions a reader may ignore say so with must_understand: false.
    if (!(item.value().is_object() && item.value().value("must_understand", true) == false)) {
      bad(where, "unknown field '" + item.key() + "'");
    }
  }
  if (doc.contains("storage_transformers") &&
      !(doc["storage_transformers"].is_array() && doc["storage_transformers"].empty())) {
    bad(where, "storage_transformers are not supported");
  }
  return d;
}

ArrayDocument parse_v2_array_fields(const json& zarray, const json& zattrs, const std::string& where) {
  if (!zarray.is_object()) bad(where, "metadata must be a JSON object");
  for (const auto& item : zarray.items()) {
    static const char* const known[] = {"zarr_format", "shape",      "chunks",
                                        "dtype",       "compressor", "fill_value",
                                        "order",       "filters",    "dimension_separator"};
    if (std::find_if(std::begin(known), std::end(known), [&](const char* k) { return item.key() == k; }) ==
        std::end(known)) {
      bad(where, "unknown field '" + item.key() + "'");
    }
  }
  if (field(zarray, where, "zarr_format") != 2) bad(where, "zarr_format must be 2");
  ArrayDocument d;
  ArrayMeta& m = d.meta;
  m.format = ZarrFormat::V2;
  m.shape = parse_shape(zarray, where);
  m.chunk_rows = leading_chunk(int_list(field(zarray, where, "chunks"), where, "chunks", 1), m.shape, where, "chunks");

  const json& dt = field(zarray, where, "dtype");
  bool big_endian = false;
  const auto dtype = dt.is_string() ? dtype_from_v2_string(dt.get<std::string>(), big_endian) : std::nullopt;
  if (!dtype) {
    bad(where, "dtype " + dt.dump() + " is not supported (|b1, |u1, <i4, <i8, <f4, <f8)");
  }
  m.dtype = *dtype;
  if (const std::string why = size_problem(m); !why.empty()) bad(where, "chunks / shape: " + why);

  const json order = field(zarray, where, "order");
  // Fortran order differs from C order only with two or more axes.
  if (order != "C" && !(order == "F" && m.shape.size() == 1)) {
    bad(where, "order must be 'C', got " + order.dump());
  }
  const json filters = zarray.value("filters", json());
  if (!filters.is_null() && !(filters.is_array() && filters.empty())) {
    // numcodecs' fixedscaleoffset (what batchmd writes for a fixed precision); no other filter.
    if (!filters.is_array() || filters.size() != 1 || !filters[0].is_object() ||
        filters[0].value("id", json()) != "fixedscaleoffset") {
      bad(where, "filters other than one fixedscaleoffset are not supported, got " + filters.dump());
    }
    const json& f = filters[0];
    for (const auto& item : f.items())
      if (item.key() != "id" && item.key() != "scale" && item.key() != "offset" && item.key() != "dtype" &&
          item.key() != "astype")
        bad(where, "filters: fixedscaleoffset has unknown field '" + item.key() + "'");
    FixedScaleOffset q;
    q.scale = finite_number(f, where + ": filters: fixedscaleoffset", "scale");
    q.offset = finite_number(f, where + ": filters: fixedscaleoffset", "offset");
    bool f_big = false, a_big = false;
    const json& fd = field(f, where, "dtype");
    const json& fa = field(f, where, "astype");
    const auto fdt = fd.is_string() ? dtype_from_v2_string(fd.get<std::string>(), f_big) : std::nullopt;
    const auto adt = fa.is_string() ? dtype_from_v2_string(fa.get<std::string>(), a_big) : std::nullopt;
    if (!fdt || *fdt != m.dtype || f_big != big_endian)
      bad(where, "filters: fixedscaleoffset dtype " + fd.dump() + " differs from the array's " + dt.dump());
    if (!adt || a_big) bad(where, "filters: fixedscaleoffset astype " + fa.dump() + " is not supported (<i4, <i8)");
    if (big_endian) bad(where, "filters: fixedscaleoffset of big-endian values is not supported");
    q.astype = *adt;
    if (const std::string why = fixed_scale_offset_problem(q, m.dtype); !why.empty()) bad(where, "filters: " + why);
    m.quantize = q;
    if (const std::string why = size_problem(m); !why.empty()) bad(where, "chunks / shape: " + why);
  }
  const json sep = zarray.value("dimension_separator", json("."));
  if (sep != "/" && sep != ".") bad(where, "dimension_separator must be '.' or '/', got " + sep.dump());
  d.layout.separator = sep.get<std::string>()[0];
  d.layout.v2_keys = true;

  const auto fill = fill_from_json(m.dtype, field(zarray, where, "fill_value"), false);
  if (!fill) bad(where, "fill_value " + zarray["fill_value"].dump() + " is not a valid " + dt.get<std::string>());
  m.fill_value = *fill;

  d.layout.codecs = json::array({bytes_codec(big_endian)});
  const json& compressor = field(zarray, where, "compressor");
  if (!compressor.is_null()) {
    try {
      d.layout.codecs.push_back(v2_compressor_to_v3(compressor, stored_chunk_spec(m)));
    } catch (const FormatError& e) {
      bad(where, std::string("compressor: ") + e.what());
    }
  }
  m.compressor = compressor_config_of(d.layout.codecs);

  if (!zattrs.is_object()) bad(where, ".zattrs must be a JSON object");
  m.attributes = zattrs;
  if (m.attributes.contains("_ARRAY_DIMENSIONS")) {
    const json names = m.attributes["_ARRAY_DIMENSIONS"];
    if (names.is_array() && names.size() == m.shape.size() &&
        std::all_of(names.begin(), names.end(), [](const json& n) { return n.is_string(); })) {
      m.dimension_names = names.get<std::vector<std::string>>();
      m.attributes.erase("_ARRAY_DIMENSIONS");
    }
  }
  return d;
}

// A field of the wrong JSON type deep inside a document surfaces from nlohmann as a type_error;
// it is still a format error of that document.
template <typename F>
ArrayDocument guarded(const std::string& where, F&& parse) {
  try {
    return parse();
  } catch (const json::exception& e) {
    bad(where, e.what());
  }
}

}  // namespace

ArrayDocument parse_v3_array(const json& doc, const std::string& where) {
  return guarded(where, [&] { return parse_v3_array_fields(doc, where); });
}

ArrayDocument parse_v2_array(const json& zarray, const json& zattrs, const std::string& where) {
  return guarded(where, [&] { return parse_v2_array_fields(zarray, zattrs, where); });
}

json v3_group_json(const json& attributes) {
  return {{"zarr_format", 3}, {"node_type", "group"}, {"attributes", attributes}};
}

json parse_v3_group(const json& doc, const std::string& where) {
  if (!doc.is_object()) bad(where, "metadata must be a JSON object");
  if (field(doc, where, "zarr_format") != 3) bad(where, "zarr_format must be 3");
  if (field(doc, where, "node_type") != "group") bad(where, "node_type must be 'group'");
  const json attrs = doc.value("attributes", json::object());
  if (!attrs.is_object()) bad(where, "attributes must be a JSON object");
  return attrs;
}

json parse_json(std::span<const std::byte> bytes, const std::string& where) {
  const auto* p = reinterpret_cast<const char*>(bytes.data());
  // Metadata never nests deeply; a document that does (crafted: a megabyte of '[') would make
  // every recursive walk of it (dump() in an error message, comparisons) overflow the stack.
  constexpr int kMaxDepth = 64;
  bool too_deep = false;
  const json::parser_callback_t depth_guard = [&](int depth, json::parse_event_t, json&) {
    if (depth > kMaxDepth) too_deep = true;
    return !too_deep;  // drop everything once too deep (the parser then builds nothing more)
  };
  json doc;
  try {
    doc = json::parse(p, p + bytes.size(), depth_guard);
  } catch (const json::exception& e) {
    bad(where, std::string("invalid JSON: ") + e.what());
  }
  if (too_deep) bad(where, "invalid JSON: nested deeper than " + std::to_string(kMaxDepth) + " levels");
  return doc;
}

Bytes dump_json(const json& doc) {
  // Non-ASCII escaped (\u00c5 for Å): zarr-python 2 decodes metadata as ASCII.
  const std::string text = doc.dump(2, ' ', true) + "\n";
  const auto* p = reinterpret_cast<const std::byte*>(text.data());
  return Bytes(p, p + text.size());
}

}  // namespace batchmd::zarr
