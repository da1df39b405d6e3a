// SPDX-License-Identifier: Apache-2.0
// The TorchScript tests' shared pieces (test_torch_model.cpp, test_torch_edges.cpp): the fixture
// that writes tests/model/torch_models.py's modules once per version of that script, and small
// comparison helpers.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../support/error_of.hpp"
#include "batchmd/data/batch.hpp"
#include "batchmd/model/torch_model.hpp"
#include "lj_model_support.hpp"

namespace batchmd::model::torch_tests {

namespace fs = std::filesystem;

inline constexpr const char* kPython = "/usr/bin/python3";

// Runs a command; returns its exit code and (merged) output.
inline int run(const std::string& cmd, std::string* output = nullptr) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int rc = pclose(p);
  if (output) *output = out;
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// The models are written once per version of torch_models.py into the build tree and shared by
// the test processes (CTest runs each test as its own process, possibly in parallel): a process
// that finds no complete folder writes one beside it and renames it into place.
class Torch : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const fs::path script = BATCHMD_MODEL_TEST_DIR "/torch_models.py";
    const auto version = std::to_string(fs::file_size(script)) + "_" +
                         std::to_string(fs::last_write_time(script).time_since_epoch().count());
    dir_ = std::string(BATCHMD_TORCH_MODEL_CACHE) + "/models_" + version;
    scratch_ = (fs::temp_directory_path() / ("batchmd_torch_" + std::to_string(getpid()))).string();
    fs::create_directories(scratch_);
    if (fs::exists(dir_ + "/complete")) return;
    const std::string tmp = dir_ + ".tmp" + std::to_string(getpid());
    fs::create_directories(tmp);
    std::string out;
    const int rc = run(std::string(kPython) + " " + script.string() + " write " + tmp, &out);
    ASSERT_EQ(rc, 0) << "torch_models.py write failed (Debian's python3-torch is needed):\n" << out;
    std::ofstream(tmp + "/complete") << "ok\n";
    std::error_code ec;
    fs::rename(tmp, dir_, ec);  // fails when another process was first: use its folder
    if (ec) fs::remove_all(tmp, ec);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(scratch_, ec);
  }
  static std::string path(const std::string& name) { return dir_ + "/" + name + ".pt"; }
  static TorchScriptConfig config(const std::string& name) {
    TorchScriptConfig c;
    c.path = path(name);
    return c;
  }
  static inline std::string dir_, scratch_;
};

using batchmd::test_support::error_of;

inline std::vector<double> values(const Batch& b, const char* f) { return lj_cases::to_doubles(b.get(f)); }

inline double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

// |a - b| <= tol * max(1, max|b|) elementwise.
inline void expect_close(const std::vector<double>& a, const std::vector<double>& b, double tol,
                         const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  const double scale = std::max(1.0, max_abs(b));
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tol * scale) << what << " [" << i << "]";
}

}  // namespace batchmd::model::torch_tests
