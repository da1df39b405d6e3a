// SPDX-License-Identifier: Apache-2.0
// Tests for app: config parsing (defaults, examples, every kind of bad input), structure
// generation, and a short run of the run command.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <tuple>

#include "batchmd/app/commands.hpp"
#include "batchmd/app/config.hpp"
#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/dynamics.hpp"

using namespace batchmd;
using namespace batchmd::app;

namespace {
std::string error_of(const std::string& toml) {
  try {
    parse_config(toml, "test.toml");
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}
const std::string kMinimal = "[[cluster]]\ncount = 1\natoms = 13\n";
}  // namespace

TEST(Config, DefaultAndExampleParse) {
  RunConfig d = parse_config(kDefaultConfigToml, "<default>");
  EXPECT_GT(d.liquids.size(), 0u);
  EXPECT_GT(d.clusters.size(), 0u);
  EXPECT_TRUE(d.lj.shift_energy);
  RunConfig e = load_config(std::string(BATCHMD_SOURCE_DIR) + "/examples/argon.toml");
  EXPECT_EQ(e.steps, 2000);
  EXPECT_EQ(e.liquids.at(0).cells, 3);
}

TEST(Config, BadInputNamesTheProblem) {
  EXPECT_NE(error_of("[run\n").find("test.toml:1"), std::string::npos);
  EXPECT_NE(error_of(kMinimal + "[run]\nstepz = 3\n").find("run.stepz"), std::string::npos);
  EXPECT_NE(error_of(kMinimal + "[run]\nsteps = -3\n").find("run.steps"), std::string::npos);
  EXPECT_NE(error_of(kMinimal + "[run]\nsteps = \"many\"\n").find("must be an integer"), std::string::npos);
  EXPECT_NE(error_of(kMinimal + "[run]\ndt_fs = 0\n").find("run.dt_fs"), std::string::npos);
  EXPECT_NE(error_of(kMinimal + "[run]\ndtype = \"float16\"\n").find("run.dtype"), std::string::npos);
  EXPECT_NE(error_of(kMinimal + "[model]\nsigma = -1.0\n").find("model.sigma"), std::string::npos);
  EXPECT_NE(error_of(kMinimal + "[model]\ntype = \"tersoff\"\n").find("model.type"), std::string::npos);
  EXPECT_NE(error_of(kMinimal + "[[model.pair]]\nelements = [18]\n").find("elements"), std::string::npos);
  EXPECT_NE(error_of("[[liquid]]\ncells = 0\n").find("liquid[0].cells"), std::string::npos);
  EXPECT_NE(error_of("[[cluster]]\natoms = 13\nelement = 300\n").find("atomic number 300"), std::string::npos);
  EXPECT_NE(error_of(kMinimal + "[output]\nsnapshot_every = 0\n").find("output.snapshot_every"), std::string::npos);
  EXPECT_NE(error_of("[run]\nsteps = 3\n").find("no systems"), std::string::npos);
  EXPECT_NE(error_of(kMinimal + "surprise = 1\n").find("surprise"), std::string::npos);
  EXPECT_NE(error_of(kMinimal + "[run]\ndevice = \"gpu\"\n").find("run.device"), std::string::npos);
  EXPECT_EQ(error_of(kMinimal + "[run]\ndevice = \"cuda:1\"\n"), "");  // checked when the run starts
  EXPECT_THROW(load_config("/nonexistent/job.toml"), IOError);
}

TEST(Config, BuildSystemsMakesTheRequestedBatch) {
  RunConfig c = parse_config(
      "[[liquid]]\ncount = 2\ncells = 2\ntemperature_K = 50\n[[cluster]]\ncount = 3\natoms = 13\ntemperature_K = 10\n",
      "t");
  Batch b = build_systems(c);
  EXPECT_EQ(b.n_systems(), 5);
  EXPECT_EQ(b.n_atoms(), 2 * 32 + 3 * 13);
  const auto t = dynamics::temperature(b);
  EXPECT_NEAR(t[0], 50.0, 1e-9);
  EXPECT_NEAR(t[4], 10.0, 1e-9);
  // liquid box at 1.40 g/cm³: 32 atoms of argon in L³
  const double L = b.get("cell").data<double>()[0];
  EXPECT_NEAR(32 * 39.948 / 6.02214076e23 / (L * L * L * 1e-24), 1.40, 1e-9);
  EXPECT_TRUE(b.get("pbc").data<bool>()[0]);
  EXPECT_FALSE(b.get("pbc").data<bool>()[3 * 4]);
  EXPECT_NO_THROW(b.validate());
}

TEST(RunCommand, RejectsBadOverridesAndExistingStores) {
  // (the summary's numbers are checked in test_run_summary.cpp)
  const std::string path = ::testing::TempDir() + "/short.toml";
  const std::string store = ::testing::TempDir() + "/short_" + std::to_string(::getpid()) + ".zarr";
  std::filesystem::remove_all(store);
  std::ofstream(path) << "[run]\nsteps = 5\n[[cluster]]\ncount = 1\natoms = 13\n[output]\nprogress = false\n"
                         "path = \""
                      << store << "\"\n";
  RunOptions o;
  o.config_path = path;
  o.quiet = true;
  std::FILE* out = std::tmpfile();
  EXPECT_EQ(run_command(o, out), 0);
  std::rewind(out);
  std::string text(8192, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), out));
  std::fclose(out);
  EXPECT_NE(text.find(cuda::device_count() > 0 ? "on cuda:0 (" : "on cpu ("), std::string::npos) << text;
  std::filesystem::remove_all(store + "x");
  o.output = store + "x";
  for (auto [steps, dtype, threads] : {std::tuple{-5, "float64", 1}, {5, "float16", 1}, {5, "float64", 0}}) {
    o.steps = steps;
    o.dtype = dtype;
    o.threads = threads;
    EXPECT_THROW(run_command(o, stdout), InvalidArgument) << steps << " " << dtype << " " << threads;
  }
  EXPECT_FALSE(std::filesystem::exists(store + "x")) << "a refused run must not create its store";
  o = RunOptions{};
  o.config_path = path;
  o.steps = 10;
  if (cuda::device_count() == 0) {  // asking for a GPU where none is usable: a clear error
    o.device = "cuda";
    try {
      run_command(o, stdout);
      ADD_FAILURE() << "expected InvalidArgument";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("cuda:0 is not available"), std::string::npos) << e.what();
    }
    o.device.reset();
  }
  // the store exists now: a new run must not overwrite it
  EXPECT_THROW(run_command(o, stdout), InvalidArgument);
  std::filesystem::remove_all(store);
}
