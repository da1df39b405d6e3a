// SPDX-License-Identifier: Apache-2.0
// Metadata documents: what v3 zarr.json and v2 .zarray look like, and parse errors naming the
// document and the field.
#include <gtest/gtest.h>

#include <cmath>

#include "batchmd/core/error.hpp"
#include "batchmd/zarr/metadata.hpp"

namespace batchmd::zarr {
namespace {

using nlohmann::json;

ArrayMeta positions_meta(ZarrFormat format) {
  ArrayMeta m;
  m.format = format;
  m.dtype = DType::Float32;
  m.shape = {10, 3};
  m.chunk_rows = 4;
  m.compressor = {"zstd", 3, true, false};
  m.attributes = {{"units", "angstrom"}};
  m.dimension_names = {"atom", "xyz"};
  return m;
}

std::string parse_error(const json& doc, bool v3 = true) {
  try {
    if (v3) {
      parse_v3_array(doc, "traj.zarr/core/positions/zarr.json");
    } else {
      parse_v2_array(doc, json::object(), "traj.zarr/core/positions/.zarray");
    }
  } catch (const FormatError& e) {
    return e.what();
  }
  return "no error";
}

TEST(MetadataV3, DocumentLayout) {
  const json doc = v3_array_json(make_array_document(positions_meta(ZarrFormat::V3)));
  EXPECT_EQ(doc["zarr_format"], 3);
  EXPECT_EQ(doc["node_type"], "array");
  EXPECT_EQ(doc["shape"], json::array({10, 3}));
  EXPECT_EQ(doc["data_type"], "float32");
  EXPECT_EQ(doc["chunk_grid"], json::parse(R"({"name":"regular","configuration":{"chunk_shape":[4,3]}})"));
  EXPECT_EQ(doc["chunk_key_encoding"], json::parse(R"({"name":"default","configuration":{"separator":"/"}})"));
  EXPECT_EQ(doc["fill_value"], 0.0);
  EXPECT_EQ(doc["codecs"][0], json::parse(R"({"name":"bytes","configuration":{"endian":"little"}})"));
  EXPECT_EQ(doc["codecs"][1]["name"], "zstd");
  EXPECT_EQ(doc["attributes"]["units"], "angstrom");
  EXPECT_EQ(doc["dimension_names"], json::array({"atom", "xyz"}));
  const ArrayDocument back = parse_v3_array(doc, "x");
  EXPECT_EQ(v3_array_json(back), doc);
  EXPECT_EQ(back.meta.compressor, positions_meta(ZarrFormat::V3).compressor);
  EXPECT_EQ(chunk_key(back.layout, 2, 7), "c/7/0");
}

TEST(MetadataV3, ShardedDocument) {
  ArrayMeta m = positions_meta(ZarrFormat::V3);
  m.shard_rows = 12;
  const json doc = v3_array_json(make_array_document(m));
  EXPECT_EQ(doc["chunk_grid"]["configuration"]["chunk_shape"], json::array({12, 3}));
  ASSERT_EQ(doc["codecs"].size(), 1u);
  const json& sharding = doc["codecs"][0];
  EXPECT_EQ(sharding["name"], "sharding_indexed");
  EXPECT_EQ(sharding["configuration"]["chunk_shape"], json::array({4, 3}));
  EXPECT_EQ(sharding["configuration"]["index_location"], "end");
  EXPECT_EQ(sharding["configuration"]["index_codecs"][1]["name"], "crc32c");
  const ArrayDocument back = parse_v3_array(doc, "x");
  EXPECT_EQ(back.meta.shard_rows, 12);
  EXPECT_EQ(back.meta.chunk_rows, 4);
  EXPECT_EQ(v3_array_json(back), doc);
}

TEST(MetadataV2, DocumentLayout) {
  const ArrayDocument d = make_array_document(positions_meta(ZarrFormat::V2));
  const json doc = v2_array_json(d);
  EXPECT_EQ(doc, json::parse(R"({"zarr_format":2,"shape":[10,3],"chunks":[4,3],"dtype":"<f4",
      "compressor":{"id":"zstd","level":3},"fill_value":null,"order":"C","filters":null,
      "dimension_separator":"."})"));
  EXPECT_EQ(v2_attributes_json(d.meta), json::parse(R"({"units":"angstrom","_ARRAY_DIMENSIONS":["atom","xyz"]})"));
  EXPECT_EQ(chunk_key(d.layout, 2, 7), "7.0");
  EXPECT_EQ(chunk_key(d.layout, 1, 7), "7");
  const ArrayDocument back = parse_v2_array(doc, v2_attributes_json(d.meta), "x");
  EXPECT_EQ(back.meta.dimension_names, d.meta.dimension_names);
  EXPECT_EQ(back.meta.attributes, d.meta.attributes);
  EXPECT_EQ(v2_array_json(back), doc);
}

TEST(MetadataV2, DtypeStrings) {
  const std::vector<std::pair<DType, std::string>> names = {{DType::Float32, "<f4"}, {DType::Float64, "<f8"},
                                                            {DType::Int32, "<i4"},   {DType::Int64, "<i8"},
                                                            {DType::Bool, "|b1"},    {DType::UInt8, "|u1"}};
  for (const auto& [dtype, name] : names) {
    ArrayMeta m = positions_meta(ZarrFormat::V2);
    m.dtype = dtype;
    m.compressor = {};
    EXPECT_EQ(v2_array_json(make_array_document(m))["dtype"], name);
  }
  json doc = v2_array_json(make_array_document(positions_meta(ZarrFormat::V2)));
  doc["dtype"] = ">f8";  // big-endian from another writer: read through a big-endian bytes codec
  const ArrayDocument big = parse_v2_array(doc, json::object(), "x");
  EXPECT_EQ(big.meta.dtype, DType::Float64);
  EXPECT_EQ(big.layout.codecs[0]["configuration"]["endian"], "big");
}

TEST(Metadata, FillValues) {
  ArrayMeta m = positions_meta(ZarrFormat::V3);
  m.fill_value = std::nan("");
  json doc = v3_array_json(make_array_document(m));
  EXPECT_EQ(doc["fill_value"], "NaN");
  EXPECT_TRUE(std::isnan(parse_v3_array(doc, "x").meta.fill_value));
  doc["fill_value"] = "0x7fc00000";
  EXPECT_TRUE(std::isnan(parse_v3_array(doc, "x").meta.fill_value));
  doc["fill_value"] = "-Infinity";
  EXPECT_EQ(parse_v3_array(doc, "x").meta.fill_value, -INFINITY);
  doc["data_type"] = "bool";
  doc["codecs"] = json::array({{{"name", "bytes"}}});
  doc["fill_value"] = true;
  EXPECT_EQ(parse_v3_array(doc, "x").meta.fill_value, 1.0);
  doc["fill_value"] = 2;
  EXPECT_NE(parse_error(doc).find("fill_value"), std::string::npos);
  m.dtype = DType::UInt8;
  m.fill_value = 300;
  EXPECT_THROW(make_array_document(m), InvalidArgument);
}

TEST(Metadata, ParseErrorsNameDocumentAndField) {
  const json good = v3_array_json(make_array_document(positions_meta(ZarrFormat::V3)));
  json doc = good;
  doc["data_type"] = "complex64";
  EXPECT_EQ(parse_error(doc).rfind("traj.zarr/core/positions/zarr.json: data_type 'complex64' is not supported", 0), 0u)
      << parse_error(doc);
  const std::vector<std::pair<std::function<void(json&)>, std::string>> cases = {
      {[](json& d) { d["zarr_format"] = 2; }, "zarr_format"},
      {[](json& d) { d["node_type"] = "group"; }, "node_type"},
      {[](json& d) { d.erase("shape"); }, "missing field 'shape'"},
      {[](json& d) {
         d["shape"] = {10, -3};
       },
       "shape"},
      {[](json& d) { d["shape"] = "big"; }, "shape"},
      {[](json& d) { d["chunk_grid"]["name"] = "rectilinear"; }, "chunk_grid"},
      {[](json& d) {
         d["chunk_grid"]["configuration"]["chunk_shape"] = {4, 1};
       },
       "trailing axes whole"},
      {[](json& d) { d["chunk_grid"]["configuration"]["chunk_shape"] = {4}; }, "chunk_shape"},
      {[](json& d) { d["chunk_key_encoding"]["configuration"]["separator"] = "-"; }, "separator"},
      {[](json& d) { d["codecs"] = json::array(); }, "codecs"},
      {[](json& d) { d["codecs"][1]["name"] = "lzma"; }, "codecs: codec 'lzma' is not supported"},
      {[](json& d) { d["codecs"][1]["configuration"]["level"] = "high"; }, "level"},
      {[](json& d) { d["codecs"].erase(0); }, "codecs"},
      {[](json& d) { d["fill_value"] = "lots"; }, "fill_value"},
      {[](json& d) { d["attributes"] = json::array(); }, "attributes"},
      {[](json& d) { d["dimension_names"] = {"a"}; }, "dimension_names"},
      {[](json& d) { d["storage_transformers"] = json::array({json::object()}); }, "storage_transformers"},
      {[](json& d) { d["mystery"] = 1; }, "unknown field 'mystery'"},
      {[](json& d) { d["chunk_key_encoding"]["configuration"] = 5; }, "zarr.json"},
  };
  for (const auto& [mutate, needle] : cases) {
    json bad = good;
    mutate(bad);
    const std::string msg = parse_error(bad);
    EXPECT_EQ(msg.rfind("traj.zarr/core/positions/zarr.json: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << needle << " / " << msg;
  }
  json ext = good;
  ext["extension"] = {{"must_understand", false}};
  EXPECT_NO_THROW(parse_v3_array(ext, "x"));
}

TEST(Metadata, V2ParseErrors) {
  const json good = v2_array_json(make_array_document(positions_meta(ZarrFormat::V2)));
  const std::vector<std::pair<std::function<void(json&)>, std::string>> cases = {
      {[](json& d) { d["dtype"] = "<c8"; }, "dtype"},
      {[](json& d) { d["dtype"] = "|f8"; }, "dtype"},
      {[](json& d) { d["order"] = "F"; }, "order"},
      {[](json& d) {
         d["filters"] = json::array({{{"id", "delta"}}});
       },
       "filters"},
      {[](json& d) {
         d["compressor"] = {{"id", "lzma"}};
       },
       "compressor"},
      {[](json& d) {
         d["chunks"] = {4, 2};
       },
       "chunks"},
      {[](json& d) { d["zarr_format"] = 3; }, "zarr_format"},
      {[](json& d) { d["extra"] = 3; }, "extra"},
      {[](json& d) { d["dimension_separator"] = ":"; }, "dimension_separator"},
  };
  for (const auto& [mutate, needle] : cases) {
    json bad = good;
    mutate(bad);
    const std::string msg = parse_error(bad, false);
    EXPECT_EQ(msg.rfind("traj.zarr/core/positions/.zarray: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << needle << " / " << msg;
  }
}

TEST(Metadata, InvalidMetaIsInvalidArgument) {
  const std::vector<std::function<void(ArrayMeta&)>> cases = {
      [](ArrayMeta& m) { m.shape = {}; },
      [](ArrayMeta& m) { m.shape = {-1}; },
      [](ArrayMeta& m) {
        m.shape = {0, 0};
      },
      [](ArrayMeta& m) { m.chunk_rows = 0; },
      [](ArrayMeta& m) { m.shard_rows = 6; },  // not a multiple of 4
      [](ArrayMeta& m) { m.format = ZarrFormat::V2, m.shard_rows = 8; },
      [](ArrayMeta& m) {
        m.format = ZarrFormat::V2, m.compressor = {"gzip", 5, true, true};
      },
      [](ArrayMeta& m) { m.attributes = json::array(); },
      [](ArrayMeta& m) { m.dimension_names = {"a"}; },
      [](ArrayMeta& m) { m.compressor.name = "snappy"; },
  };
  for (const auto& mutate : cases) {
    ArrayMeta m = positions_meta(ZarrFormat::V3);
    mutate(m);
    EXPECT_THROW(make_array_document(m), InvalidArgument);
  }
}

TEST(Metadata, JsonHelpers) {
  EXPECT_THROW(parse_json(Bytes{std::byte{'{'}}, "s/zarr.json"), FormatError);
  try {
    parse_json(Bytes{std::byte{'x'}}, "s/zarr.json");
  } catch (const FormatError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("s/zarr.json: invalid JSON", 0), 0u);
  }
  const json doc = {{"a", 1}};
  EXPECT_EQ(parse_json(dump_json(doc), "x"), doc);
  EXPECT_EQ(parse_v3_group(v3_group_json({{"n", 2}}), "x"), (json{{"n", 2}}));
  EXPECT_THROW(parse_v3_group(json{{"zarr_format", 3}, {"node_type", "array"}}, "x"), FormatError);
}

}  // namespace
}  // namespace batchmd::zarr
