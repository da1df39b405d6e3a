// SPDX-License-Identifier: Apache-2.0
// GPU tests of TorchScript models: a batch on cuda:0 runs the module on the GPU (the plugin's
// libtorch must have CUDA: on the GPU machine, a plugin built against its PyTorch and named by
// $BATCHMD_TORCH_PLUGIN, docs/torchscript.md) and must give the CPU's results — Lennard-Jones in
// torch, the many-body model (autograd and model-supplied forces), the MACE-like module in the
// mace-lammps convention, float32 — and a short MD run on the GPU must follow the CPU's.
// The models are written by tests/model/torch_models.py with that machine's python3 + torch.
//
// Tolerances, GPU against CPU (the same module, libtorch's CUDA kernels summing in another
// order, index_add with atomics): float64 1e-10 of the value scale, float32 1e-4.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/model/torch_model.hpp"
#include "lj_model_support.hpp"

namespace batchmd::model {
namespace {

namespace fs = std::filesystem;
const Device kGpu{Device::Kind::CUDA, 0};

// The model script: tests/model/torch_models.py of the working directory (check.sh runs from the
// repository root), else of the source tree this binary was built from.
std::string models_script() {
  if (fs::exists("tests/model/torch_models.py")) return "tests/model/torch_models.py";
  return BATCHMD_MODEL_TEST_DIR "/torch_models.py";
}

class TorchGpu : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (fs::temp_directory_path() / ("batchmd_torch_gpu_" + std::to_string(getpid()))).string();
    fs::create_directories(dir_);
    const std::string cmd = "python3 " + models_script() + " write " + dir_ + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static TorchScriptConfig config(const std::string& name) {
    TorchScriptConfig c;
    c.path = dir_ + "/" + name + ".pt";
    return c;
  }
  static std::string dir_;
};
std::string TorchGpu::dir_;

void expect_close(const Tensor& gpu, const Tensor& cpu, double tol, const std::string& what) {
  const auto g = lj_cases::to_doubles(gpu), c = lj_cases::to_doubles(cpu);
  ASSERT_EQ(g.size(), c.size()) << what;
  double scale = 1;
  for (double v : c) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], c[i], tol * scale) << what << " [" << i << "]";
}

void expect_gpu_equals_cpu(const TorchScriptConfig& c, const Batch& host, double tol) {
  TorchScriptModel on_cpu(c), on_gpu(c);
  Batch cpu = host.clone(), gpu = host.to(kGpu);
  for (int call = 0; call < 2; ++call) {
    on_cpu.compute(cpu, true);
    on_gpu.compute(gpu, true);
    for (const char* f : {"energy", "forces", "virial", "stress"})
      expect_close(gpu.get(f), cpu.get(f), tol, c.path + " " + f);
  }
}

std::vector<AtomicData> ar_cu(DType d) {
  std::mt19937_64 rng(9);
  std::vector<AtomicData> v;
  v.push_back(lj_cases::triclinic(d, rng));
  v.push_back(lj_cases::slab(d, rng));
  v.push_back(lj_cases::cluster(d, rng, 30));
  for (auto& s : v) {
    auto* z = s.get("atomic_numbers").data<std::int64_t>();
    for (std::int64_t i = 0; i < s.n_atoms(); i += 3) z[i] = 29;
  }
  return v;
}

TEST_F(TorchGpu, LennardJones) {
  std::mt19937_64 rng(5);
  const DType d = DType::Float64;
  Batch b = Batch::from_systems(lj_cases::systems(lj_cases::liquid(d, rng), lj_cases::tiny_box(d, rng),
                                                  lj_cases::wire(d, rng), lj_cases::cluster(d, rng, 40)));
  expect_gpu_equals_cpu(config("lj"), b, 1e-10);
}

TEST_F(TorchGpu, ManyBodyAutogradAndModelForces) {
  const Batch b = Batch::from_systems(ar_cu(DType::Float64));
  expect_gpu_equals_cpu(config("manybody"), b, 1e-10);
  expect_gpu_equals_cpu(config("manybody_forces"), b, 1e-10);
}

TEST_F(TorchGpu, Float32) {
  expect_gpu_equals_cpu(config("manybody_f32"), Batch::from_systems(ar_cu(DType::Float32)), 1e-4);
}

TEST_F(TorchGpu, MaceLammpsConvention) {
  std::mt19937_64 rng(21);
  const lj_cases::Vec cell = {7.5, 0, 0, 0.9, 7.2, 0, -0.6, 0.5, 7.0};
  lj_cases::Vec x = lj_cases::grid_in_cell(3, cell, 0.2, rng);
  std::vector<std::int64_t> z(x.size() / 3, 1);
  for (std::size_t i = 0; i < z.size(); i += 3) z[i] = 8;
  z[1] = 29;
  std::vector<AtomicData> v;
  v.push_back(AtomicData::make(DType::Float64, x, z, cell, {true, true, true}));
  v.push_back(AtomicData::make(DType::Float64, x, z, {}, {false, false, false}));
  expect_gpu_equals_cpu(config("mace"), Batch::from_systems(v), 1e-10);
}

TEST_F(TorchGpu, ShortMdFollowsTheCpu) {
  auto systems = ar_cu(DType::Float64);
  Batch cpu = Batch::from_systems(systems);
  dynamics::maxwell_boltzmann(cpu, 200.0, 4);
  Batch gpu = cpu.to(kGpu);
  dynamics::VelocityVerlet md_cpu(std::make_shared<TorchScriptModel>(config("manybody")), 1.0);
  dynamics::VelocityVerlet md_gpu(std::make_shared<TorchScriptModel>(config("manybody")), 1.0);
  md_cpu.run(cpu, 50);
  md_gpu.run(gpu, 50);
  expect_close(gpu.get("positions"), cpu.get("positions"), 1e-8, "positions after 50 steps");
}

}  // namespace
}  // namespace batchmd::model
