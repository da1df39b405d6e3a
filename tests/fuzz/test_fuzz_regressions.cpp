// SPDX-License-Identifier: Apache-2.0
// The fuzz harnesses in the normal test suite: every input that ever crashed a target
// (tests/fuzz/regressions/<target>/) and every seed (tests/fuzz/corpus/<target>/) goes through
// the same harness as under libFuzzer. Built with the release and asan presets, so a regression
// fails CI even where clang's libFuzzer is not used.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "harness.hpp"

namespace {

namespace fs = std::filesystem;

struct Target {
  const char* name;
  int (*run)(const std::uint8_t*, std::size_t);
};

const Target kTargets[] = {{"zarr_v3_metadata", batchmd::fuzz::zarr_v3_metadata},
                           {"zarr_v2_metadata", batchmd::fuzz::zarr_v2_metadata},
                           {"codec_decode", batchmd::fuzz::codec_decode},
                           {"trajectory_reader", batchmd::fuzz::trajectory_reader},
                           {"job_config", batchmd::fuzz::job_config},
                           {"io_extxyz", batchmd::fuzz::io_extxyz},
                           {"io_lammps_data", batchmd::fuzz::io_lammps_data},
                           {"io_poscar", batchmd::fuzz::io_poscar},
                           {"io_cif", batchmd::fuzz::io_cif}};

void PrintTo(const Target& t, std::ostream* os) { *os << t.name; }

// Runs every file under tests/fuzz/<kind>/<target>/; returns how many.
int run_all(const std::string& kind, const Target& t) {
  const fs::path dir = fs::path(BATCHMD_FUZZ_DIR) / kind / t.name;
  if (!fs::exists(dir)) return 0;
  int n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().filename().string().starts_with(".")) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SCOPED_TRACE(entry.path().string());
    EXPECT_EQ(t.run(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), 0);
    ++n;
  }
  return n;
}

}  // namespace

class FuzzInputs : public ::testing::TestWithParam<Target> {
 protected:
  void SetUp() override { batchmd::fuzz::init(); }
};

TEST_P(FuzzInputs, SeedsRunCleanly) {
  EXPECT_GT(run_all("corpus", GetParam()), 0) << "no seeds for " << GetParam().name;
}

TEST_P(FuzzInputs, EveryCrashFoundSoFarIsFixed) { run_all("regressions", GetParam()); }

INSTANTIATE_TEST_SUITE_P(Targets, FuzzInputs, ::testing::ValuesIn(kTargets),
                         [](const ::testing::TestParamInfo<Target>& i) { return std::string(i.param.name); });
