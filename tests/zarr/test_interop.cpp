// SPDX-License-Identifier: Apache-2.0
// Interop with independent implementations: zarr-python 2 reads our v2 arrays and writes v2
// arrays we read; zarrita (node) reads our v3 arrays, plain, compressed and sharded. A missing
// tool is a failure, not a skip: these tests are how we know other tools can open our files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "batchmd/zarr/array.hpp"
#include "batchmd/zarr/file_store.hpp"
#include "batchmd/zarr/group.hpp"
#include "test_util.hpp"

namespace batchmd::zarr {
namespace {

using nlohmann::json;
using testing::make_values;
using testing::TempDir;

const std::string kTestDir = BATCHMD_ZARR_TEST_DIR;
const std::string kPython = "/usr/bin/python3";

// A shell command line from its words, each single-quoted.
std::string shell_command(const std::vector<std::string>& words) {
  std::string line;
  for (const std::string& w : words) {
    if (!line.empty()) line += ' ';
    line += '\'';
    for (const char c : w) {
      if (c == '\'') {
        line.append("'\\''");
      } else {
        line += c;
      }
    }
    line += '\'';
  }
  return line;
}

struct CommandResult {
  int status;
  std::string output;
};

CommandResult run(const std::string& command) {
  CommandResult r{-1, ""};
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  r.status = ::pclose(pipe);
  return r;
}

Bytes read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return testing::as_bytes(ss.str());
}

json read_json(const std::filesystem::path& p) { return json::parse(testing::as_string(read_file(p))); }

std::string file_name(const std::string& array_name) {
  std::string s = array_name;
  for (char& c : s) {
    if (c == '/') c = '_';
  }
  return s + ".bin";
}

// Byte-exact comparison, which for floats also compares NaNs (same bit pattern from both sides).
void expect_same_values(const Bytes& got, const Bytes& expected, const std::string& what) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i] != expected[i]) {
      ADD_FAILURE() << what << ": first difference at byte " << i;
      return;
    }
  }
}

// The arrays each writer test writes: name, dtype, trailing shape, rows, chunk rows, shard rows,
// compressor.
struct Spec {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> trailing;
  std::int64_t rows;
  std::int64_t chunk_rows;
  std::int64_t shard_rows;
  CompressorConfig compressor;
};

// Writes each array in a few appends (so chunks are re-encoded as they fill) and returns the
// values written, by name.
std::map<std::string, Bytes> write_arrays(const std::shared_ptr<Store>& store, ZarrFormat format,
                                          const std::vector<Spec>& specs) {
  Group root = Group::create(store, "", format, {{"num_samples", 7}, {"fields", {{"core", {{"positions", "atom"}}}}}});
  root.create_group("core");
  std::map<std::string, Bytes> written;
  std::uint64_t seed = 1;
  for (const Spec& s : specs) {
    ArrayMeta m;
    m.format = format;
    m.dtype = s.dtype;
    m.shape = {0};
    m.shape.insert(m.shape.end(), s.trailing.begin(), s.trailing.end());
    m.chunk_rows = s.chunk_rows;
    m.shard_rows = s.shard_rows;
    m.compressor = s.compressor;
    m.attributes = {{"spec", s.name}};
    Array a = Array::create(store, s.name, m);
    const std::size_t row_elements = a.row_bytes() / dtype_size(s.dtype);
    const Bytes values = make_values(s.dtype, static_cast<std::size_t>(s.rows) * row_elements, seed++);
    std::int64_t done = 0;
    for (const std::int64_t step : {std::int64_t{1}, s.chunk_rows + 1, s.rows}) {
      const std::int64_t n = std::min(step, s.rows - done);
      a.append(values.data() + done * static_cast<std::int64_t>(a.row_bytes()), n);
      done += n;
      a.commit_rows(done);
    }
    written[s.name] = values;
  }
  return written;
}

std::vector<std::string> with_names(std::vector<std::string> words, const std::vector<Spec>& specs) {
  for (const Spec& s : specs) words.push_back(s.name);
  return words;
}

// Checks what another reader wrote to `out` (manifest.json and one .bin per array) against what
// write_arrays wrote; returns the manifest.
json expect_read_back(const std::filesystem::path& out, const std::vector<Spec>& specs,
                      const std::map<std::string, Bytes>& written) {
  const json manifest = read_json(out / "manifest.json");
  EXPECT_EQ(manifest["/"]["attrs"]["num_samples"], 7);
  for (const Spec& s : specs) {
    std::vector<std::int64_t> shape = {s.rows};
    shape.insert(shape.end(), s.trailing.begin(), s.trailing.end());
    EXPECT_EQ(manifest[s.name]["shape"], json(shape)) << s.name;
    EXPECT_EQ(manifest[s.name]["attrs"]["spec"], s.name);
    expect_same_values(read_file(out / file_name(s.name)), written.at(s.name), s.name);
  }
  return manifest;
}

TEST(Interop, ZarrPythonReadsOurV2Arrays) {
  ASSERT_EQ(run(shell_command({kPython, "-c", "import zarr, numpy"})).status, 0)
      << kPython << " with zarr and numpy is needed (Debian: python3-zarr python3-numpy)";
  TempDir dir;
  auto store = std::make_shared<FileStore>(dir.path() / "ours.zarr");
  const std::vector<Spec> specs = {
      {"core/positions", DType::Float32, {3}, 50, 8, 0, {"blosc-lz4", 5, true, false}},
      {"core/energy", DType::Float64, {}, 23, 4, 0, {"zstd", 3, true, false}},
      {"core/cell", DType::Float64, {3, 3}, 9, 2, 0, {"gzip", 6, true, false}},
      {"core/atomic_numbers", DType::Int32, {}, 77, 16, 0, {"blosc-zstd", 3, false, false}},
      {"meta/atoms_ptr", DType::Int64, {}, 41, 10, 0, {"none", 0, true, false}},
      {"meta/samples_mask", DType::Bool, {}, 40, 7, 0, {"blosc-lz4", 5, true, false}},
      {"custom/labels", DType::UInt8, {2}, 13, 5, 0, {"gzip", 1, true, false}},
  };
  const auto written = write_arrays(store, ZarrFormat::V2, specs);
  const auto out = dir.path() / "out";
  const CommandResult r =
      run(shell_command(with_names({kPython, kTestDir + "/zarr_python_read.py", store->url(), out.string()}, specs)));
  ASSERT_EQ(r.status, 0) << r.output;
  const json manifest = expect_read_back(out, specs, written);
  EXPECT_EQ(manifest["/"]["groups"], json::array({"core"}));
}

TEST(Interop, WeReadZarrPythonV2Arrays) {
  TempDir dir;
  const auto store_dir = dir.path() / "theirs.zarr";
  const auto expected = dir.path() / "expected";
  const CommandResult r =
      run(shell_command({kPython, kTestDir + "/zarr_python_write.py", store_dir.string(), expected.string()}));
  ASSERT_EQ(r.status, 0) << r.output;
  auto store = std::make_shared<FileStore>(store_dir);
  const json manifest = read_json(expected / "manifest.json");
  std::vector<std::string> names;
  for (const auto& item : manifest.items()) names.push_back(item.key());
  names.push_back("sparse_f8");
  names.push_back("nan_fill_f4");
  ASSERT_GE(names.size(), 13u);
  for (const std::string& name : names) {
    const Array a = Array::open(store, name);
    EXPECT_EQ(a.meta().format, ZarrFormat::V2);
    if (manifest.contains(name)) {
      EXPECT_EQ(json(a.meta().shape), manifest[name]["shape"]) << name;
      EXPECT_EQ(a.meta().attributes["units"], "test") << name;
    }
    Bytes got(static_cast<std::size_t>(a.rows()) * a.row_bytes());
    a.read_rows(0, a.rows(), got.data());
    expect_same_values(got, read_file(expected / file_name(name)), name);
  }
  EXPECT_EQ(Group::open(store, "").attributes()["num_samples"], 3);
  EXPECT_EQ(Group::open(store, "").children().size(), 13u);
  EXPECT_EQ(Array::open(store, "sparse_f8").meta().fill_value, -2.5);
}

TEST(Interop, ZarritaReadsOurV3Arrays) {
  ASSERT_EQ(run("command -v node").status, 0) << "node is needed (Debian: nodejs)";
  ASSERT_TRUE(std::filesystem::exists(kTestDir + "/js/node_modules/zarrita/package.json") &&
              std::filesystem::exists(kTestDir + "/js/node_modules/@zarrita/storage/package.json"))
      << "zarrita is not installed: run `npm ci --prefix tests/zarr/js` (scripts/setup.sh does)";
  TempDir dir;
  auto store = std::make_shared<FileStore>(dir.path() / "ours.zarr");
  const std::vector<Spec> specs = {
      {"core/positions", DType::Float32, {3}, 50, 8, 0, {"none", 0, true, false}},
      {"core/energy", DType::Float64, {}, 23, 4, 0, {"zstd", 3, true, false}},
      {"core/forces", DType::Float64, {3}, 31, 6, 0, {"zstd", 5, true, true}},  // zstd checksum
      {"core/cell", DType::Float64, {3, 3}, 9, 2, 0, {"gzip", 6, true, false}},
      {"core/velocities", DType::Float32, {3}, 20, 3, 0, {"gzip", 1, true, true}},  // + crc32c
      {"core/atomic_numbers", DType::Int32, {}, 77, 16, 0, {"blosc-lz4", 5, true, false}},
      {"core/charges", DType::Float32, {}, 45, 9, 0, {"blosc-zstd", 3, false, false}},
      {"meta/atoms_ptr", DType::Int64, {}, 41, 10, 0, {"none", 0, true, true}},  // crc32c alone
      {"meta/samples_mask", DType::Bool, {}, 40, 7, 0, {"none", 0, true, false}},
      {"custom/labels", DType::UInt8, {2}, 13, 5, 0, {"gzip", 1, true, false}},
      // Sharded: several inner chunks per shard, a partial last shard, compressed inner chunks.
      {"sharded/positions", DType::Float32, {3}, 70, 4, 16, {"none", 0, true, false}},
      {"sharded/energy", DType::Float64, {}, 53, 5, 20, {"zstd", 3, true, false}},
      {"sharded/ptr", DType::Int64, {}, 33, 8, 8, {"blosc-lz4", 5, true, false}},
      {"sharded/mask", DType::Bool, {}, 29, 3, 9, {"gzip", 5, true, false}},
  };
  const auto written = write_arrays(store, ZarrFormat::V3, specs);
  const auto out = dir.path() / "out";
  const CommandResult r =
      run(shell_command(with_names({"node", kTestDir + "/js/read_v3.mjs", store->url(), out.string()}, specs)));
  ASSERT_EQ(r.status, 0) << r.output;
  expect_read_back(out, specs, written);
}

// Fixed precision (FixedScaleOffset): arrays of 29 rows x 3 in chunks of 8 rows.
std::vector<double> fso_values() {
  std::vector<double> v(29 * 3);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = 40.0 * std::sin(0.37 * static_cast<double>(i)) + 3.0;
  return v;
}

Bytes fso_write(const std::shared_ptr<Store>& store, ZarrFormat format, const std::string& name, DType dtype,
                FixedScaleOffset q, CompressorConfig compressor) {
  ArrayMeta m;
  m.format = format;
  m.dtype = dtype;
  m.shape = {0, 3};
  m.chunk_rows = 8;
  m.compressor = compressor;
  m.attributes = {{"spec", name}};
  m.quantize = q;
  Array a = Array::create(store, name, m);
  const std::vector<double> v = fso_values();
  Bytes raw(v.size() * dtype_size(dtype));
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (dtype == DType::Float64) {
      std::memcpy(raw.data() + 8 * i, &v[i], 8);
    } else {
      const auto f = static_cast<float>(v[i]);
      std::memcpy(raw.data() + 4 * i, &f, 4);
    }
  }
  a.append(raw.data(), 10);
  a.append(raw.data() + 10 * a.row_bytes(), 19);
  a.commit_rows(29);
  Bytes back(29 * a.row_bytes());
  Array::open(store, name).read_rows(0, 29, back.data());
  return back;  // what batchmd reads: what the other reader must read too
}

TEST(Interop, ZarrPythonReadsOurFixedPrecisionV2Arrays) {
  TempDir dir;
  auto store = std::make_shared<FileStore>(dir.path() / "ours.zarr");
  Group::create(store, "", ZarrFormat::V2, {{"num_samples", 7}});
  const Bytes f8 =
      fso_write(store, ZarrFormat::V2, "fso_f8", DType::Float64, {1000.0, 2.5, DType::Int32}, {"zstd", 1, true, false});
  const Bytes f4 =
      fso_write(store, ZarrFormat::V2, "fso_f4", DType::Float32, {100.0, 0.0, DType::Int64}, {"none", 0, true, false});
  const auto out = dir.path() / "out";
  const CommandResult r =
      run(shell_command({kPython, kTestDir + "/zarr_python_read.py", store->url(), out.string(), "fso_f8", "fso_f4"}));
  ASSERT_EQ(r.status, 0) << r.output;
  const json manifest = read_json(out / "manifest.json");
  EXPECT_EQ(manifest["fso_f8"]["dtype"], "<f8");
  EXPECT_EQ(manifest["fso_f4"]["dtype"], "<f4");
  // zarr-python decodes through numcodecs' FixedScaleOffset: the same floats, bit for bit.
  expect_same_values(read_file(out / "fso_f8.bin"), f8, "fso_f8");
  expect_same_values(read_file(out / "fso_f4.bin"), f4, "fso_f4");
  const std::vector<double> v = fso_values();
  for (std::size_t i = 0; i < v.size(); ++i) {
    double got;
    std::memcpy(&got, f8.data() + 8 * i, 8);
    EXPECT_LE(std::abs(got - v[i]), 0.5e-3 + 1e-12) << i;
  }
}

TEST(Interop, WeReadZarrPythonFixedPrecisionV2Arrays) {
  TempDir dir;
  const auto store_dir = dir.path() / "theirs.zarr";
  const auto expected = dir.path() / "expected";
  const CommandResult r =
      run(shell_command({kPython, kTestDir + "/zarr_python_fso.py", store_dir.string(), expected.string()}));
  ASSERT_EQ(r.status, 0) << r.output;
  auto store = std::make_shared<FileStore>(store_dir);
  for (const std::string name : {"fso_f8", "fso_f4"}) {
    const Array a = Array::open(store, name);
    ASSERT_TRUE(a.meta().quantize.has_value()) << name;
    Bytes got(static_cast<std::size_t>(a.rows()) * a.row_bytes());
    a.read_rows(0, a.rows(), got.data());
    expect_same_values(got, read_file(expected / file_name(name)), name);
  }
  EXPECT_EQ(Array::open(store, "fso_f8").meta().quantize->astype, DType::Int32);
  EXPECT_EQ(Array::open(store, "fso_f4").meta().quantize->astype, DType::Int64);
}

TEST(Interop, ZarritaReadsOurFixedPrecisionV3ArraysAsCfIntegers) {
  TempDir dir;
  auto store = std::make_shared<FileStore>(dir.path() / "ours.zarr");
  Group::create(store, "", ZarrFormat::V3, {{"num_samples", 7}});
  const Bytes f8 =
      fso_write(store, ZarrFormat::V3, "fso_f8", DType::Float64, {1000.0, 2.5, DType::Int32}, {"zstd", 1, true, false});
  const auto out = dir.path() / "out";
  const CommandResult r =
      run(shell_command({"node", kTestDir + "/js/read_v3.mjs", store->url(), out.string(), "fso_f8"}));
  ASSERT_EQ(r.status, 0) << r.output;
  const json manifest = read_json(out / "manifest.json");
  EXPECT_EQ(manifest["fso_f8"]["dtype"], "int32");
  const double scale_factor = manifest["fso_f8"]["attrs"]["scale_factor"].get<double>();
  const double add_offset = manifest["fso_f8"]["attrs"]["add_offset"].get<double>();
  const Bytes ints = read_file(out / "fso_f8.bin");
  ASSERT_EQ(ints.size(), 29u * 3 * 4);
  const std::vector<double> v = fso_values();
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::int32_t k;
    std::memcpy(&k, ints.data() + 4 * i, 4);
    EXPECT_EQ(k, static_cast<std::int32_t>(std::nearbyint((v[i] - 2.5) * 1000.0))) << i;
    // The CF decoding a reader such as xarray applies: within half the precision.
    EXPECT_LE(std::abs(k * scale_factor + add_offset - v[i]), 0.5e-3 + 1e-9) << i;
    double ours;
    std::memcpy(&ours, f8.data() + 8 * i, 8);
    EXPECT_NEAR(k * scale_factor + add_offset, ours, 1e-9) << i;
  }
}

}  // namespace
}  // namespace batchmd::zarr
