// SPDX-License-Identifier: Apache-2.0
// Tests for zarr: arrays stored at a fixed precision (FixedScaleOffset) — values back within half
// the precision and equal to numcodecs' formula, the v2 filter and the v3 CF attributes on disk,
// the metadata read back as written, and clear errors for bad settings, bad documents and values
// that do not fit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "batchmd/core/error.hpp"
#include "batchmd/zarr/array.hpp"
#include "batchmd/zarr/memory_store.hpp"
#include "batchmd/zarr/metadata.hpp"

namespace batchmd::zarr {
namespace {

using nlohmann::json;

ArrayMeta quantized_meta(ZarrFormat format, DType dtype, double scale, double offset = 0.0) {
  ArrayMeta m;
  m.format = format;
  m.dtype = dtype;
  m.shape = {0, 3};
  m.chunk_rows = 7;
  m.compressor = {"zstd", 1, true, false};
  m.attributes = {{"units", "Angstrom"}};
  m.quantize = FixedScaleOffset{scale, offset, DType::Int32};
  return m;
}

template <typename F>
std::vector<F> positions(std::size_t rows) {
  std::vector<F> v(rows * 3);
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<F>(40.0 * std::sin(0.37 * static_cast<double>(i)) + 3.0);
  return v;
}

json stored_json(MemoryStore& store, const std::string& key) {
  const auto b = store.get(key);
  return json::parse(std::string(reinterpret_cast<const char*>(b->data()), b->size()));
}

template <typename F>
void round_trip(ZarrFormat format, DType dtype) {
  auto store = std::make_shared<MemoryStore>();
  const double scale = 1000.0, offset = 2.5;
  Array a = Array::create(store, "x", quantized_meta(format, dtype, scale, offset));
  const std::size_t rows = 30;  // 4 whole chunks of 7 and a partial one
  const std::vector<F> v = positions<F>(rows);
  a.append(reinterpret_cast<const std::byte*>(v.data()), 11);
  a.append(reinterpret_cast<const std::byte*>(v.data() + 33), static_cast<std::int64_t>(rows) - 11);
  a.commit_rows(static_cast<std::int64_t>(rows));
  const Array b = Array::open(store, "x");
  EXPECT_EQ(b.meta().dtype, dtype);
  ASSERT_TRUE(b.meta().quantize.has_value());
  EXPECT_EQ(*b.meta().quantize, (FixedScaleOffset{scale, offset, DType::Int32}));
  EXPECT_EQ(b.meta().attributes, json({{"units", "Angstrom"}}));  // the format's own keys are not attributes
  std::vector<F> got(v.size());
  b.read_rows(0, static_cast<std::int64_t>(rows), reinterpret_cast<std::byte*>(got.data()));
  for (std::size_t i = 0; i < v.size(); ++i) {
    // numcodecs: round((x - offset) * scale) as int32, back as enc / scale + offset
    const double enc = std::nearbyint((static_cast<double>(v[i]) - offset) * scale);
    EXPECT_EQ(got[i], static_cast<F>(enc / scale + offset)) << i;
    EXPECT_LE(std::abs(static_cast<double>(got[i]) - static_cast<double>(v[i])),
              0.5 / scale + 4 * std::numeric_limits<F>::epsilon() * 50)
        << i;
  }
}

TEST(FixedScaleOffset, ValuesComeBackWithinHalfThePrecisionV3Float64) {
  round_trip<double>(ZarrFormat::V3, DType::Float64);
}
TEST(FixedScaleOffset, ValuesComeBackWithinHalfThePrecisionV3Float32) {
  round_trip<float>(ZarrFormat::V3, DType::Float32);
}
TEST(FixedScaleOffset, ValuesComeBackWithinHalfThePrecisionV2Float64) {
  round_trip<double>(ZarrFormat::V2, DType::Float64);
}
TEST(FixedScaleOffset, ValuesComeBackWithinHalfThePrecisionV2Float32) {
  round_trip<float>(ZarrFormat::V2, DType::Float32);
}

TEST(FixedScaleOffset, V3StoresTheIntegersWithCfAttributes) {
  auto store = std::make_shared<MemoryStore>();
  Array::create(store, "x", quantized_meta(ZarrFormat::V3, DType::Float64, 1000.0));
  const json doc = stored_json(*store, "x/zarr.json");
  EXPECT_EQ(doc["data_type"], "int32");
  EXPECT_EQ(doc["fill_value"], 0);
  EXPECT_DOUBLE_EQ(doc["attributes"]["scale_factor"].get<double>(), 1e-3);
  EXPECT_EQ(doc["attributes"]["add_offset"], 0.0);
  EXPECT_EQ(doc["attributes"][kFixedScaleOffsetAttr], json({{"scale", 1000.0}, {"offset", 0.0}, {"dtype", "float64"}}));
  EXPECT_EQ(doc["attributes"]["units"], "Angstrom");
  EXPECT_EQ(doc["codecs"][0]["name"], "bytes");
  EXPECT_EQ(doc["codecs"][1]["name"], "zstd");
}

TEST(FixedScaleOffset, V2WritesTheNumcodecsFilter) {
  auto store = std::make_shared<MemoryStore>();
  Array::create(store, "x", quantized_meta(ZarrFormat::V2, DType::Float32, 100.0, -1.0));
  const json doc = stored_json(*store, "x/.zarray");
  EXPECT_EQ(doc["dtype"], "<f4");
  EXPECT_EQ(
      doc["filters"],
      json::array(
          {{{"id", "fixedscaleoffset"}, {"scale", 100.0}, {"offset", -1.0}, {"dtype", "<f4"}, {"astype", "<i4"}}}));
  EXPECT_EQ(doc["compressor"]["id"], "zstd");
}

TEST(FixedScaleOffset, BadSettingsAreRefused) {
  const auto make = [](ArrayMeta m) { return make_array_document(m); };
  ArrayMeta m = quantized_meta(ZarrFormat::V3, DType::Float64, 1000.0);
  for (const double scale : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    ArrayMeta bad = m;
    bad.quantize->scale = scale;
    EXPECT_THROW(make(bad), InvalidArgument) << scale;
  }
  ArrayMeta ints = m;
  ints.dtype = DType::Int64;
  try {
    make(ints);
    ADD_FAILURE() << "an int64 array was quantised";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("float32 or float64"), std::string::npos) << e.what();
  }
  ArrayMeta to_float = m;
  to_float.quantize->astype = DType::Float32;
  EXPECT_THROW(make(to_float), InvalidArgument);
  ArrayMeta sharded = m;
  sharded.shard_rows = 14;
  EXPECT_THROW(make(sharded), InvalidArgument);
  ArrayMeta nan_offset = m;
  nan_offset.quantize->offset = std::nan("");
  EXPECT_THROW(make(nan_offset), InvalidArgument);
}

TEST(FixedScaleOffset, AValueThatDoesNotFitFailsTheWriteNamingIt) {
  auto store = std::make_shared<MemoryStore>();
  Array a = Array::create(store, "x", quantized_meta(ZarrFormat::V3, DType::Float64, 1000.0));
  std::vector<double> v(3 * 7, 1.0);
  v[5] = 3e6;  // 3e9 > 2^31 at scale 1000
  try {
    a.append(reinterpret_cast<const std::byte*>(v.data()), 7);
    ADD_FAILURE() << "an out-of-range value was stored";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("does not fit int32"), std::string::npos) << e.what();
  }
  v[5] = std::nan("");
  try {
    a.append(reinterpret_cast<const std::byte*>(v.data()), 7);
    ADD_FAILURE() << "NaN was stored";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
  }
  EXPECT_EQ(a.rows(), 0);
}

TEST(FixedScaleOffset, BadDocumentsAreFormatErrorsNamingTheField) {
  auto store = std::make_shared<MemoryStore>();
  Array::create(store, "x", quantized_meta(ZarrFormat::V2, DType::Float64, 1000.0));
  const json good = stored_json(*store, "x/.zarray");
  const auto expect_bad = [&](json doc, const std::string& needle) {
    try {
      parse_v2_array(doc, json::object(), "s/x/.zarray");
      ADD_FAILURE() << "accepted " << doc.dump();
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  json other = good;
  other["filters"] = json::array({{{"id", "delta"}, {"dtype", "<f8"}}});
  expect_bad(other, "filters");
  json two = good;
  two["filters"].push_back(two["filters"][0]);
  expect_bad(two, "filters");
  json zero = good;
  zero["filters"][0]["scale"] = 0;
  expect_bad(zero, "scale");
  json as_float = good;
  as_float["filters"][0]["astype"] = "<f4";
  expect_bad(as_float, "astype");
  json other_dtype = good;
  other_dtype["filters"][0]["dtype"] = "<f4";
  expect_bad(other_dtype, "dtype");
  json extra = good;
  extra["filters"][0]["bogus"] = 1;
  expect_bad(extra, "bogus");

  Array::create(store, "y", quantized_meta(ZarrFormat::V3, DType::Float64, 1000.0));
  const json v3 = stored_json(*store, "y/zarr.json");
  const auto expect_bad_v3 = [&](json doc, const std::string& needle) {
    try {
      parse_v3_array(doc, "s/y/zarr.json");
      ADD_FAILURE() << "accepted " << doc.dump();
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(kFixedScaleOffsetAttr), std::string::npos) << e.what();
    }
  };
  json neg = v3;
  neg["attributes"][kFixedScaleOffsetAttr]["scale"] = -2;
  expect_bad_v3(neg, "scale");
  json to_int = v3;
  to_int["attributes"][kFixedScaleOffsetAttr]["dtype"] = "int64";
  expect_bad_v3(to_int, "float32 or float64");
  json floats = v3;
  floats["data_type"] = "float32";
  floats["fill_value"] = 0.0;
  expect_bad_v3(floats, "int32 or int64");
  json not_object = v3;
  not_object["attributes"][kFixedScaleOffsetAttr] = 3;
  expect_bad_v3(not_object, "object");
}

}  // namespace
}  // namespace batchmd::zarr
