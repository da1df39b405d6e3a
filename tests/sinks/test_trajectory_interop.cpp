// SPDX-License-Identifier: Apache-2.0
// Trajectories and independent readers/writers: zarr-python 2 and xarray read our Zarr v2
// trajectories, zarrita (node) reads our v3 ones (plain, compressed, sharded), and our
// TrajectoryReader (and ZarrData append) reads a v2 trajectory written by zarr-python. Every
// array value is compared. A missing tool is a failure, not a skip.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "batchmd/core/error.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "trajectory_fixture.hpp"

using namespace batchmd;
using namespace batchmd::sinks;
using batchmd::test_support::check_encoded;
using batchmd::test_support::encoded_batch;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kDir = BATCHMD_SINKS_INTEROP_DIR;
const std::string kNodeModules = BATCHMD_ZARRITA_NODE_MODULES;
const std::string kPython = "/usr/bin/python3";  // Debian's, with python3-zarr and python3-xarray

std::string temp_path(const std::string& name) {
  auto p = fs::path(::testing::TempDir()) / ("batchmd_interop_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p.string();
}

// A shell command line from its words, each single-quoted.
std::string shell_command(const std::vector<std::string>& words) {
  std::string line;
  for (const std::string& w : words) {
    line += line.empty() ? "'" : " '";
    for (const char c : w) line += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += '\'';
  }
  return line;
}

struct CommandResult {
  int status = -1;
  std::string out, err;
};

// Runs a command; stdout and stderr are kept apart (stdout carries the JSON).
CommandResult run(const std::vector<std::string>& words) {
  CommandResult r;
  const std::string err_file = temp_path("stderr");
  FILE* pipe = ::popen((shell_command(words) + " 2>'" + err_file + "'").c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  r.status = ::pclose(pipe);
  std::ifstream in(err_file);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  fs::remove(err_file);
  return r;
}

// Runs a reader script and parses its JSON; a failure names the command and its stderr.
json run_json(const std::vector<std::string>& words) {
  const CommandResult r = run(words);
  if (r.status != 0)
    throw std::runtime_error(shell_command(words) + " failed (status " + std::to_string(r.status) + "):\n" + r.err);
  try {
    return json::parse(r.out);
  } catch (const json::exception& e) {
    throw std::runtime_error(shell_command(words) + " printed no JSON (" + e.what() + "); stderr:\n" + r.err);
  }
}

void require_python(bool xarray) {
  ASSERT_TRUE(fs::exists(kPython)) << kPython << " is needed (Debian: python3)";
  const auto r = run({kPython, "-c", xarray ? "import zarr, numcodecs, xarray" : "import zarr, numcodecs"});
  ASSERT_EQ(r.status, 0) << kPython << " with zarr 2" << (xarray ? " and xarray" : "")
                         << " is needed (Debian: python3-zarr python3-xarray):\n"
                         << r.err;
}

void require_zarrita() {
  ASSERT_EQ(run({"sh", "-c", "command -v node"}).status, 0) << "node is needed (Debian: nodejs)";
  ASSERT_TRUE(fs::exists(kNodeModules + "/zarrita/package.json") &&
              fs::exists(kNodeModules + "/@zarrita/storage/package.json"))
      << "zarrita is needed in " << kNodeModules << " (scripts/setup.sh: npm ci --prefix tests/zarr/js)";
}

// ---- what TrajectoryReader says the store holds, array by array

struct Expected {
  Shape shape;
  DType dtype;
  std::vector<std::string> dims;
  std::vector<double> values;  // every dtype we write is exact in a double
};

std::vector<double> as_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<std::size_t>(t.numel()));
  for (std::size_t i = 0; i < v.size(); ++i) {
    switch (t.dtype()) {
      case DType::Float32:
        v[i] = static_cast<double>(t.data<float>()[i]);
        break;
      case DType::Float64:
        v[i] = t.data<double>()[i];
        break;
      case DType::Int32:
        v[i] = static_cast<double>(t.data<std::int32_t>()[i]);
        break;
      case DType::Int64:
        v[i] = static_cast<double>(t.data<std::int64_t>()[i]);
        break;
      case DType::Bool:
        v[i] = t.data<bool>()[i] ? 1.0 : 0.0;
        break;
      case DType::UInt8:
        v[i] = static_cast<double>(t.data<std::uint8_t>()[i]);
        break;
    }
  }
  return v;
}

std::string leading_dim(Level level) {
  return level == Level::Atom ? "atom" : level == Level::Edge ? "edge" : "sample";
}

std::vector<std::string> dims_of(const std::string& name, Level level, std::size_t rank) {
  std::vector<std::string> d{leading_dim(level)};
  for (std::size_t a = 1; a < rank; ++a) d.push_back(name + "_dim" + std::to_string(a));
  return d;
}

/// The stored arrays ("meta/atoms_ptr", "core/positions", ...) as TrajectoryReader returns them,
/// edge_index turned back into per-sample local atom indices (as it is stored).
std::map<std::string, Expected> stored_arrays(const TrajectoryReader& r) {
  const std::int64_t n = r.num_samples();
  const Batch all = r.read_range(0, n);
  const std::int64_t* ap = all.atoms_ptr_data();
  const std::int64_t* ep = all.edges_ptr().data<std::int64_t>();
  std::map<std::string, Expected> out;
  std::vector<double> aptr, eptr;
  for (std::int64_t i = 0; i <= n; ++i) {
    aptr.push_back(static_cast<double>(ap[i]));
    eptr.push_back(static_cast<double>(ep[i]));
  }
  out["meta/atoms_ptr"] = {{n + 1}, DType::Int64, {"sample"}, aptr};
  out["meta/edges_ptr"] = {{n + 1}, DType::Int64, {"sample"}, eptr};
  out["meta/samples_mask"] = {{n}, DType::Bool, {"sample"}, std::vector<double>(static_cast<std::size_t>(n), 1.0)};
  out["meta/atoms_mask"] = {{ap[n]}, DType::Bool, {"atom"}, std::vector<double>(static_cast<std::size_t>(ap[n]), 1.0)};
  out["meta/edges_mask"] = {{ep[n]}, DType::Bool, {"edge"}, std::vector<double>(static_cast<std::size_t>(ep[n]), 1.0)};
  for (const auto& f : r.fields()) {
    const Tensor& t = all.get(f.name);
    Expected e{t.shape(), t.dtype(), dims_of(f.name, f.level, t.shape().size()), as_doubles(t)};
    if (f.name == kEdgeIndex) {
      const auto w = static_cast<std::size_t>(t.row_numel());
      for (std::int64_t s = 0; s < n; ++s)
        for (std::int64_t k = ep[s]; k < ep[s + 1]; ++k)
          for (std::size_t c = 0; c < w; ++c)
            e.values[static_cast<std::size_t>(k) * w + c] -= static_cast<double>(ap[s]);
    }
    out[f.group + "/" + f.name] = std::move(e);
  }
  return out;
}

std::string numpy_dtype(DType t) {
  switch (t) {
    case DType::Float32:
      return "<f4";
    case DType::Float64:
      return "<f8";
    case DType::Int32:
      return "<i4";
    case DType::Int64:
      return "<i8";
    case DType::Bool:
      return "|b1";
    case DType::UInt8:
      return "|u1";
  }
  return "?";
}

std::string zarrita_dtype(DType t) {
  switch (t) {
    case DType::Float32:
      return "float32";
    case DType::Float64:
      return "float64";
    case DType::Int32:
      return "int32";
    case DType::Int64:
      return "int64";
    case DType::Bool:
      return "bool";
    case DType::UInt8:
      return "uint8";
  }
  return "?";
}

/// Compares one array an external reader returned with what TrajectoryReader returned.
void expect_same_array(const std::string& who, const std::string& name, const Expected& want, const json& got,
                       const std::string& dtype) {
  SCOPED_TRACE(who + " reading " + name);
  ASSERT_TRUE(got.is_object()) << "the reader returned nothing for " << name;
  EXPECT_EQ(got["shape"].get<std::vector<std::int64_t>>(), want.shape);
  EXPECT_EQ(got["dtype"].get<std::string>(), dtype);
  if (!got["dims"].is_null()) {
    EXPECT_EQ(got["dims"].get<std::vector<std::string>>(), want.dims);
  }
  const json& v = got["values"];
  ASSERT_EQ(v.size(), want.values.size());
  std::size_t differ = 0;
  std::string examples;
  for (std::size_t i = 0; i < want.values.size(); ++i) {
    const json& x = v[i];
    const double g = x.is_boolean() ? (x.get<bool>() ? 1.0 : 0.0) : x.is_number() ? x.get<double>() : std::nan("");
    if (g == want.values[i]) continue;
    if (differ++ < 3) {
      std::ostringstream os;
      os << " [" << i << "] " << x.dump() << " (TrajectoryReader: " << want.values[i] << ")";
      examples += os.str();
    }
  }
  EXPECT_EQ(differ, 0u) << differ << " of " << want.values.size() << " elements differ, e.g." << examples;
}

/// Writes a trajectory with ZarrData: 40 samples in uneven writes, small chunks (many chunk
/// boundaries, a partial last chunk). Checks it with TrajectoryReader first.
std::string write_trajectory(const std::string& name, zarr::ZarrFormat format, zarr::CompressorConfig comp,
                             std::int64_t chunks_per_shard = 0) {
  const std::string url = temp_path(name) + ".zarr";
  {
    ZarrWriteConfig cfg;
    cfg.format = format;
    cfg.compressor = comp;
    cfg.chunk_samples = 3;
    cfg.chunks_per_shard = chunks_per_shard;
    ZarrData sink(url, 1000, cfg);
    std::int64_t id = 0;
    for (std::int64_t k : {5, 1, 7, 2, 9, 3, 6, 4, 3}) {
      sink.write(encoded_batch(id, k));
      id += k;
    }
  }
  TrajectoryReader r(url);
  EXPECT_EQ(r.num_samples(), 40);
  const Batch all = r.read_range(0, r.num_samples());
  for (std::int64_t s = 0; s < r.num_samples(); ++s) EXPECT_EQ(check_encoded(all, s, s), "");
  return url;
}

struct Codec {
  std::string label;
  zarr::CompressorConfig comp;
  std::int64_t chunks_per_shard = 0;
};

std::vector<std::string> array_names(const std::map<std::string, Expected>& arrays) {
  std::vector<std::string> names;
  for (const auto& [k, e] : arrays) names.push_back(k);
  return names;
}

class ZarrPythonReadsV2 : public ::testing::TestWithParam<Codec> {};
class XarrayReadsV2 : public ::testing::TestWithParam<Codec> {};
class ZarritaReadsV3 : public ::testing::TestWithParam<Codec> {};

const auto kV2Codecs =
    ::testing::Values(Codec{"zstd", {"zstd", 1, false, false}}, Codec{"blosc_lz4", {"blosc-lz4", 5, true, false}},
                      Codec{"none", {"none", 0, false, false}});

}  // namespace

// (a) zarr-python 2 reads every array of a v2 trajectory.
TEST_P(ZarrPythonReadsV2, EveryArrayValue) {
  require_python(false);
  if (HasFatalFailure()) return;
  const std::string url = write_trajectory("zp_" + GetParam().label, zarr::ZarrFormat::V2, GetParam().comp);
  const TrajectoryReader r(url);
  const auto want = stored_arrays(r);
  std::vector<std::string> cmd = {kPython, kDir + "/zarr_python_read.py", url, "zarr"};
  for (const auto& n : array_names(want)) cmd.push_back(n);
  const json got = run_json(cmd);
  for (const auto& [name, e] : want)
    expect_same_array("zarr-python", name, e, got["arrays"][name], numpy_dtype(e.dtype));
  const std::string comp = GetParam().comp.name == "none" ? "" : GetParam().comp.name.substr(0, 5);
  for (const auto& [name, a] : got["arrays"].items())
    EXPECT_EQ(a["compressor"].is_null() ? "" : a["compressor"].get<std::string>(), comp) << name;
  fs::remove_all(url);
}

INSTANTIATE_TEST_SUITE_P(Codecs, ZarrPythonReadsV2, kV2Codecs, [](const auto& p) { return p.param.label; });

// (a) zarr-python 2 reads the root attributes (num_samples, fields, batchmd). Fails today: the
// root .zattrs holds raw UTF-8 ("length": "Å" in batchmd.units) and zarr-python 2 decodes v2
// metadata as ASCII (UnicodeDecodeError). Fix: zarr::dump_json should escape non-ASCII
// (nlohmann dump(2, ' ', true)), as zarr-python's own json.dumps(ensure_ascii=True) does.
TEST(ZarrPythonReadsV2Root, Attributes) {
  require_python(false);
  if (HasFatalFailure()) return;
  const std::string url = write_trajectory("zp_attrs", zarr::ZarrFormat::V2, {"zstd", 1, false, false});
  const TrajectoryReader r(url);
  const json got = run_json({kPython, kDir + "/zarr_python_read.py", url, "zarr"});
  const json& attrs = got["attrs"];
  EXPECT_EQ(attrs["num_samples"], r.num_samples());
  for (const auto& f : r.fields())
    EXPECT_EQ(attrs["fields"][f.group][f.name], std::string(level_name(f.level))) << f.name;
  EXPECT_EQ(attrs["batchmd"], r.batchmd_attributes());
  for (const auto& [name, e] : stored_arrays(r))
    expect_same_array("zarr-python", name, e, got["arrays"][name], numpy_dtype(e.dtype));
  fs::remove_all(url);
}

// (a) xarray opens the core group with open_zarr's defaults and gets every value. Fails today:
// the sink writes "fill_value": 0 in every .zarray, which xarray turns into _FillValue, so every
// stored 0 / false reads as NaN and integer/bool arrays come back as float64/object. Fix: write
// "fill_value": null for v2 arrays (what xarray itself writes; committed chunks are never missing).
TEST(XarrayReadsV2Core, WithOpenZarrDefaults) {
  require_python(true);
  if (HasFatalFailure()) return;
  const std::string url = write_trajectory("xr_defaults", zarr::ZarrFormat::V2, {"zstd", 1, false, false});
  const TrajectoryReader r(url);
  const json got = run_json({kPython, kDir + "/zarr_python_read.py", url, "xarray"});
  EXPECT_EQ(got["arrays"].size(), r.fields().size());
  for (const auto& [name, e] : stored_arrays(r))
    if (name.starts_with("core/")) {
      expect_same_array("xarray", name, e, got["arrays"][name], numpy_dtype(e.dtype));
    }
  fs::remove_all(url);
}

// (a) xarray without CF decoding (mask_and_scale=False): dims, dtypes and every raw value.
TEST_P(XarrayReadsV2, CoreGroupRaw) {
  require_python(true);
  if (HasFatalFailure()) return;
  const std::string url = write_trajectory("xrraw_" + GetParam().label, zarr::ZarrFormat::V2, GetParam().comp);
  const TrajectoryReader r(url);
  const json got = run_json({kPython, kDir + "/zarr_python_read.py", url, "xarray-raw"});
  EXPECT_EQ(got["arrays"].size(), r.fields().size());
  for (const auto& [name, e] : stored_arrays(r))
    if (name.starts_with("core/")) {
      expect_same_array("xarray", name, e, got["arrays"][name], numpy_dtype(e.dtype));
    }
  fs::remove_all(url);
}

INSTANTIATE_TEST_SUITE_P(Codecs, XarrayReadsV2, kV2Codecs, [](const auto& p) { return p.param.label; });

// (b) zarrita reads every array of a v3 trajectory, and the root attributes.
TEST_P(ZarritaReadsV3, EveryArrayValue) {
  require_zarrita();
  if (HasFatalFailure()) return;
  const Codec& c = GetParam();
  const std::string url = write_trajectory("zr_" + c.label, zarr::ZarrFormat::V3, c.comp, c.chunks_per_shard);
  const TrajectoryReader r(url);
  const json got = run_json({"node", kDir + "/zarrita_read.mjs", url, kNodeModules});
  EXPECT_EQ(got["attrs"]["num_samples"], r.num_samples());
  EXPECT_EQ(got["attrs"]["batchmd"], r.batchmd_attributes());
  for (const auto& f : r.fields())
    EXPECT_EQ(got["attrs"]["fields"][f.group][f.name], std::string(level_name(f.level))) << f.name;
  const auto want = stored_arrays(r);
  EXPECT_EQ(got["arrays"].size(), want.size());
  for (const auto& [name, e] : want) {
    expect_same_array("zarrita", name, e, got["arrays"][name], zarrita_dtype(e.dtype));
    const auto codecs = got["arrays"][name]["codecs"];
    if (c.chunks_per_shard > 0) {
      EXPECT_EQ(codecs, json::array({"sharding_indexed"})) << name;
    } else if (c.comp.name != "none") {
      EXPECT_EQ(codecs.back(), c.comp.name.substr(0, c.comp.name.find('-'))) << name;
    }
  }
  fs::remove_all(url);
}

INSTANTIATE_TEST_SUITE_P(Codecs, ZarritaReadsV3,
                         ::testing::Values(Codec{"none", {"none", 0, false, false}},
                                           Codec{"zstd", {"zstd", 3, false, false}},
                                           Codec{"gzip", {"gzip", 6, false, false}},
                                           Codec{"blosc_lz4", {"blosc-lz4", 5, true, false}},
                                           Codec{"sharded_zstd", {"zstd", 1, false, false}, 4},
                                           Codec{"sharded_none", {"none", 0, false, false}, 3}),
                         [](const auto& p) { return p.param.label; });

// (c) zarr-python writes a v2 trajectory in the same layout; TrajectoryReader reads every sample,
// and ZarrData(append = true) continues it.
class ZarrPythonWritesV2 : public ::testing::TestWithParam<std::string> {};

TEST_P(ZarrPythonWritesV2, TrajectoryReaderReadsAndZarrDataAppends) {
  require_python(false);
  if (HasFatalFailure()) return;
  // The arrays to store, from the encoded samples (written once by ZarrData to memory, so that
  // the description below comes from the same Batch layout).
  const std::int64_t n = 23;
  ZarrData mem("memory://interop_source_" + GetParam(), 1000);
  mem.write(encoded_batch(0, n));
  mem.flush();
  const TrajectoryReader src(mem.url());
  ASSERT_EQ(src.num_samples(), n);
  const auto arrays = stored_arrays(src);
  json spec;
  spec["attrs"]["num_samples"] = n;
  spec["attrs"]["fields"] = {{"core", json::object()}, {"custom", json::object()}};
  for (const auto& f : src.fields()) spec["attrs"]["fields"]["core"][f.name] = std::string(level_name(f.level));
  for (const auto& [name, e] : arrays) {
    json values = json::array();
    for (double x : e.values) {
      if (e.dtype == DType::Bool) {
        values.push_back(x != 0.0);
      } else if (e.dtype == DType::Float32 || e.dtype == DType::Float64) {
        values.push_back(x);
      } else {
        values.push_back(static_cast<std::int64_t>(x));
      }
    }
    spec["arrays"][name] = {{"dtype", numpy_dtype(e.dtype)}, {"shape", e.shape}, {"values", values}};
  }
  const std::string input = temp_path("zpw_" + GetParam()) + ".json";
  std::ofstream(input) << spec.dump();
  const std::string url = temp_path("zpw_" + GetParam()) + ".zarr";
  const json ok = run_json({kPython, kDir + "/zarr_python_write.py", input, url, GetParam(), "7"});
  ASSERT_EQ(ok["ok"], true);

  {
    TrajectoryReader r(url);
    EXPECT_EQ(r.zarr_format(), 2);
    ASSERT_EQ(r.num_samples(), n);
    const Batch all = r.read_range(0, n);
    for (std::int64_t s = 0; s < n; ++s) ASSERT_EQ(check_encoded(all, s, s), "") << "sample " << s;
    ASSERT_EQ(check_encoded(r.read_system(17), 0, 17), "");
    const auto got = stored_arrays(r);
    for (const auto& [name, e] : arrays) {
      ASSERT_TRUE(got.count(name)) << name;
      EXPECT_EQ(got.at(name).values, e.values) << name;
      EXPECT_EQ(got.at(name).dtype, e.dtype) << name;
    }
  }
  {
    ZarrWriteConfig cfg;
    cfg.format = zarr::ZarrFormat::V2;
    cfg.append = true;
    ZarrData sink(url, 1000, cfg);
    EXPECT_EQ(sink.size(), n);
    sink.write(encoded_batch(n, 4));
    sink.write(encoded_batch(n + 4, 9));
  }
  TrajectoryReader r(url);
  ASSERT_EQ(r.num_samples(), n + 13);
  const Batch all = r.read_range(0, n + 13);
  for (std::int64_t s = 0; s < n + 13; ++s) ASSERT_EQ(check_encoded(all, s, s), "") << "sample " << s;
  fs::remove_all(url);
  fs::remove(input);
}

INSTANTIATE_TEST_SUITE_P(Codecs, ZarrPythonWritesV2, ::testing::Values("zstd", "blosc", "none"),
                         [](const auto& p) { return p.param; });
