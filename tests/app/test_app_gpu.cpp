// SPDX-License-Identifier: Apache-2.0
// GPU tests of app: `batchmd run` on a GPU gives the same trajectory as on the CPU (the default
// job's FIRE → Langevin NVT with argon liquids and clusters, float64 and float32, 1,000 steps),
// records it through ZarrData fed from the GPU, and names the GPU it used.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "batchmd/app/commands.hpp"
#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/sinks/zarr_data.hpp"

using namespace batchmd;
using namespace batchmd::app;

namespace {

std::string run_job(const std::string& job, const std::string& device, const std::string& dtype, std::string* printed) {
  const std::string dir = ::testing::TempDir() + "/app_gpu_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string store = dir + "/" + device + "_" + dtype + ".zarr";
  std::filesystem::remove_all(store);
  std::filesystem::remove_all(dir + "/" + device + "_" + dtype + ".relaxed.zarr");
  std::ofstream(dir + "/job.toml") << job;
  RunOptions o;
  o.config_path = dir + "/job.toml";
  o.device = device;
  o.dtype = dtype;
  o.output = store;
  o.quiet = true;
  std::FILE* out = std::tmpfile();
  EXPECT_EQ(run_command(o, out), 0);
  std::rewind(out);
  std::string text(1 << 16, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), out));
  std::fclose(out);
  if (printed) *printed = text;
  return store;
}

const char* kJob = R"toml(
[run]
steps = 1000
dt_fs = 2.0
seed = 7
[model]
epsilon = 0.0104
sigma = 3.40
cutoff = 8.5
skin = 1.0
shift_energy = true
[[stage]]
type = "fire"
fmax = 0.02
max_steps = 300
[[stage]]
type = "nvt_langevin"
temperature_K = 40.0
friction_per_fs = 0.01
[[liquid]]
count = 3
cells = 2
temperature_K = 40.0
[[liquid]]
count = 1
cells = 3
temperature_K = 40.0
[[cluster]]
count = 4
atoms = 19
temperature_K = 10.0
[output]
snapshot_every = 100
progress = false
)toml";

template <typename T>
double max_abs_diff(const Tensor& a, const Tensor& b) {
  double m = 0;
  const T* x = a.data<T>();
  const T* y = b.data<T>();
  for (std::int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(double(x[i]) - double(y[i])));
  return m;
}

}  // namespace

class AppGpu : public ::testing::TestWithParam<std::string> {};

TEST_P(AppGpu, RunOnGpuMatchesCpu) {
  const std::string dtype = GetParam();
  std::string gpu_text;
  const std::string cpu = run_job(kJob, "cpu", dtype, nullptr);
  const std::string gpu = run_job(kJob, "cuda", dtype, &gpu_text);
  EXPECT_NE(gpu_text.find("on cuda:0 ("), std::string::npos) << gpu_text;
  sinks::TrajectoryReader rc(cpu), rg(gpu);
  ASSERT_EQ(rc.num_samples(), rg.num_samples());
  ASSERT_GT(rc.num_samples(), 0);
  // Every sample: same system, step and status; positions within the documented tolerance.
  // float64: summation order differs between devices, so trajectories separate slowly
  // (chaotic dynamics); float32 carries ~1e-7 relative error per operation.
  const double tol = dtype == "float64" ? 1e-6 : 2e-2;  // Å
  const Batch a = rc.read_range(0, rc.num_samples()), b = rg.read_range(0, rg.num_samples());
  for (const char* f : {"system_id", "step"}) {
    const Tensor& x = a.get(f);
    const Tensor& y = b.get(f);
    ASSERT_EQ(x.numel(), y.numel());
    for (std::int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(x.data<std::int64_t>()[i], y.data<std::int64_t>()[i]) << f;
  }
  double dx = 0;
  dispatch_float(a.float_dtype(),
                 [&](auto zero) { dx = max_abs_diff<decltype(zero)>(a.get("positions"), b.get("positions")); });
  EXPECT_LT(dx, tol) << "largest position difference between the CPU and GPU trajectories";
  std::printf("[ info ] %s: largest CPU/GPU position difference over %lld samples: %.3e A\n", dtype.c_str(),
              static_cast<long long>(rc.num_samples()), dx);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, AppGpu, ::testing::Values("float64", "float32"));

TEST(AppGpuDevice, AutoPicksTheGpu) {
  std::string text;
  std::string job = kJob;
  job.replace(job.find("steps = 1000"), 12, "steps = 20");
  const std::string dir = ::testing::TempDir() + "/app_gpu_auto_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/job.toml") << job;
  RunOptions o;
  o.config_path = dir + "/job.toml";
  o.output = dir + "/t.zarr";
  o.quiet = true;
  std::FILE* out = std::tmpfile();
  EXPECT_EQ(run_command(o, out), 0);
  std::rewind(out);
  text.resize(1 << 16);
  text.resize(std::fread(text.data(), 1, text.size(), out));
  std::fclose(out);
  EXPECT_NE(text.find("on cuda:0 ("), std::string::npos) << text;
  o.device = "cuda:" + std::to_string(cuda::device_count());  // one past the last GPU
  o.output = dir + "/u.zarr";
  EXPECT_THROW(run_command(o, stdout), InvalidArgument);
  std::filesystem::remove_all(dir);
}
