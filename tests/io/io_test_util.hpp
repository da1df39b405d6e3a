// SPDX-License-Identifier: Apache-2.0
// Helpers for the io tests: scratch directories, files, the error a call throws, and the ASE
// interop script (tests/io/ase_interop.py, run by Debian's /usr/bin/python3 as a real process).
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "../support/error_of.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/data/batch.hpp"

namespace io_test {

namespace fs = std::filesystem;
using nlohmann::json;

/// A fresh directory for one test (removed first if a previous run left it).
inline fs::path test_dir(const std::string& name) {
  fs::path d = fs::path(::testing::TempDir()) / ("batchmd_io_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

using batchmd::test_support::error_of;

/// Runs a command and returns its standard output; a failing status is a test failure (with the
/// command's standard error in the message).
inline std::string run(const std::string& cmd, int* status_out = nullptr) {
  const fs::path err = fs::path(::testing::TempDir()) / ("batchmd_io_stderr_" + std::to_string(::getpid()));
  std::FILE* p = ::popen((cmd + " 2>'" + err.string() + "'").c_str(), "r");
  std::string out;
  if (!p) {
    ADD_FAILURE() << "cannot run: " << cmd;
    return out;
  }
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  if (status_out) {
    *status_out = status;
  } else if (status != 0) {
    ADD_FAILURE() << "command failed (status " << status << "): " << cmd << "\n" << slurp(err);
  }
  fs::remove(err);
  return out;
}

/// ASE's view of a file (`ase_interop.py read FORMAT FILE ARGS`) or of the structures it writes
/// (`ase_interop.py write FORMAT FILE CASE`). Missing python3/ASE is a failure, not a skip.
inline json ase(const std::string& args) {
  const std::string python = "/usr/bin/python3";
  EXPECT_TRUE(fs::exists(python)) << python << " is missing: install Debian's python3 and python3-ase";
  const std::string out = run(python + " " BATCHMD_IO_TEST_DIR "/ase_interop.py " + args);
  try {
    return json::parse(out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "ase_interop.py " << args << " printed no JSON: " << e.what() << "\n" << out.substr(0, 2000);
    return json();
  }
}

/// Element k of a row of a field as double.
inline double at(const batchmd::AtomicData& d, const std::string& field, std::int64_t row, std::int64_t k = 0) {
  const batchmd::Tensor& t = d.get(field);
  const std::int64_t i = row * t.row_numel() + k;
  switch (t.dtype()) {
    case batchmd::DType::Float64:
      return t.data<double>()[i];
    case batchmd::DType::Float32:
      return static_cast<double>(t.data<float>()[i]);
    case batchmd::DType::Int64:
      return static_cast<double>(t.data<std::int64_t>()[i]);
    case batchmd::DType::Int32:
      return static_cast<double>(t.data<std::int32_t>()[i]);
    case batchmd::DType::UInt8:
      return static_cast<double>(t.data<std::uint8_t>()[i]);
    case batchmd::DType::Bool:
      return t.data<bool>()[i] ? 1.0 : 0.0;
  }
  return NAN;
}

/// |a - b| <= tol * max(1, |a|).
inline bool close(double a, double b, double tol) { return std::abs(a - b) <= tol * std::max(1.0, std::abs(a)); }

/// Two systems hold the same fields with the same levels, dtypes, shapes and bytes.
inline void expect_same_system(const batchmd::AtomicData& a, const batchmd::AtomicData& b) {
  ASSERT_EQ(a.fields().size(), b.fields().size()) << [&] {
    std::string s = "fields a:";
    for (const auto& [k, f] : a.fields()) s += " " + k;
    s += " | b:";
    for (const auto& [k, f] : b.fields()) s += " " + k;
    return s;
  }();
  for (const auto& [name, f] : a.fields()) {
    SCOPED_TRACE("field " + name);
    ASSERT_TRUE(b.has(name));
    const batchmd::Tensor& x = f.tensor;
    const batchmd::Tensor& y = b.get(name);
    EXPECT_EQ(f.level, b.level(name));
    ASSERT_EQ(x.dtype(), y.dtype());
    ASSERT_EQ(x.shape(), y.shape());
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const double u = at(a, name, 0, i), v = at(b, name, 0, i);
      EXPECT_TRUE(u == v || (std::isnan(u) && std::isnan(v))) << "element " << i << ": " << u << " vs " << v;
    }
  }
}

}  // namespace io_test
