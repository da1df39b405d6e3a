// SPDX-License-Identifier: Apache-2.0
// GPU tests of TorchScript models: a batch on cuda:0 runs the module on the GPU (the plugin's
// libtorch must have CUDA: on the GPU machine, a plugin built against its PyTorch and named by
// $BATCHMD_TORCH_PLUGIN, docs/torchscript.md) and must give the CPU's results — Lennard-Jones in
// torch, the many-body model (autograd and model-supplied forces), the MACE-like module in the
// mace-lammps convention, float32 — and a short MD run on the GPU must follow the CPU's.
// The GPU batch's edges are built on the device (torch_edges_gpu.hpp): they must be the CPU's
// edges (torch_edges.hpp) — the same (i, j, image) set and shifts, in the same order — on fresh
// geometries, after moves inside the skin (no rebuild), after atoms wrapped by lattice vectors
// and after a rebuild. A module's non-finite output on the GPU is the same clear error as on the
// CPU.
// The models are written by tests/model/torch_models.py with that machine's python3 + torch.
//
// Tolerances, GPU against CPU (the same module, libtorch's CUDA kernels summing in another
// order, index_add with atomics): float64 1e-10 of the value scale, float32 1e-4.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/model/torch_model.hpp"
#include "lj_model_support.hpp"
#include "model_fields.hpp"
#include "torch/torch_edges.hpp"
#include "torch/torch_edges_gpu.hpp"

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

// One edge: (i, j, image n) and its shift (Å).
using Edge = std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, double, double, double>;

template <typename T>
std::vector<Edge> edge_list(std::int64_t ne, const std::int64_t* ei, const T* shifts, const T* unit) {
  std::vector<Edge> out;
  for (std::int64_t q = 0; q < ne; ++q)
    out.emplace_back(ei[q], ei[ne + q], std::llround(unit[3 * q]), std::llround(unit[3 * q + 1]),
                     std::llround(unit[3 * q + 2]), shifts[3 * q], shifts[3 * q + 1], shifts[3 * q + 2]);
  return out;
}

// The CPU model's edges of a host batch (torch_edges.hpp: a fresh list, the model's code path).
std::vector<Edge> cpu_edges(const Batch& host, double cutoff, double skin) {
  NeighborList nl(cutoff, skin);
  detail::HostEdges<double> he;
  const auto g = detail::batch_geometry<double>(host, "test");
  const std::vector<std::int32_t> species(static_cast<std::size_t>(host.n_atoms()), 0);
  const double cut = cutoff;
  const std::int64_t ne = detail::host_edges(nl, g, host.system_index().data<std::int64_t>(),
                                             detail::ViewRequest{species.data(), 1, &cut}, cutoff, he);
  return edge_list(ne, he.edge_index.data(), he.shifts.data(), he.unit_shifts.data());
}

// The device-built edges of a GPU batch, downloaded.
std::vector<Edge> gpu_edges(detail::TorchEdgesGpu& list, const Batch& gpu) {
  const std::vector<std::int32_t> species(static_cast<std::size_t>(gpu.n_atoms()), 0);
  const detail::DeviceEdges<double> e = list.update<double>(gpu, species, 1);
  const std::int64_t ne = e.n_edges;
  std::vector<std::int64_t> ei(static_cast<std::size_t>(2 * ne));
  std::vector<double> sh(static_cast<std::size_t>(3 * ne)), un(static_cast<std::size_t>(3 * ne));
  const cuda::Stream s = cuda::compute_stream(gpu.device().index);
  if (ne > 0) {
    cuda::copy(ei.data(), e.edge_index, ei.size() * sizeof(std::int64_t), s);
    cuda::copy(sh.data(), e.shifts, sh.size() * sizeof(double), s);
    cuda::copy(un.data(), e.unit_shifts, un.size() * sizeof(double), s);
  }
  return edge_list(ne, ei.data(), sh.data(), un.data());
}

// The same edges: as sets of (i, j, n) with their shifts (to 1e-12 Å relative), and in the same
// order (both lists are in the canonical order).
void expect_same_edges(std::vector<Edge> gpu, std::vector<Edge> cpu, const std::string& what) {
  ASSERT_FALSE(cpu.empty()) << what;
  EXPECT_EQ(gpu.size(), cpu.size()) << what << ": edge counts";
  bool same_order = gpu.size() == cpu.size();
  for (std::size_t k = 0; same_order && k < gpu.size(); ++k)
    same_order = std::get<0>(gpu[k]) == std::get<0>(cpu[k]) && std::get<1>(gpu[k]) == std::get<1>(cpu[k]) &&
                 std::get<2>(gpu[k]) == std::get<2>(cpu[k]) && std::get<3>(gpu[k]) == std::get<3>(cpu[k]) &&
                 std::get<4>(gpu[k]) == std::get<4>(cpu[k]);
  EXPECT_TRUE(same_order) << what << ": the device edges are not in the CPU's order";
  std::sort(gpu.begin(), gpu.end());
  std::sort(cpu.begin(), cpu.end());
  const std::size_t n = std::min(gpu.size(), cpu.size());
  for (std::size_t k = 0; k < n; ++k) {
    const auto key = [](const Edge& e) {
      return std::make_tuple(std::get<0>(e), std::get<1>(e), std::get<2>(e), std::get<3>(e), std::get<4>(e));
    };
    ASSERT_EQ(key(gpu[k]), key(cpu[k])) << what << ": sorted edge " << k << " differs (i, j, n)";
    const double sg[3] = {std::get<5>(gpu[k]), std::get<6>(gpu[k]), std::get<7>(gpu[k])};
    const double sc[3] = {std::get<5>(cpu[k]), std::get<6>(cpu[k]), std::get<7>(cpu[k])};
    for (int e = 0; e < 3; ++e)
      ASSERT_NEAR(sg[e], sc[e], 1e-12 * std::max(1.0, std::abs(sc[e]))) << what << ": shift of edge " << k;
  }
}

// The outputs of the GPU model on `gpu` against a fresh CPU model on `host` (same geometry).
void expect_outputs(TorchScriptModel& on_gpu, Batch& gpu, const Batch& host, const TorchScriptConfig& c,
                    const std::string& what) {
  TorchScriptModel on_cpu(c);
  Batch cpu = host.clone();
  on_cpu.compute(cpu, true);
  on_gpu.compute(gpu, true);
  for (const char* f : {"energy", "forces", "virial", "stress"})
    expect_close(gpu.get(f), cpu.get(f), 1e-10, what + ": " + f);
}

// A liquid, a sheared triclinic box, a slab, a wire, a tiny box (own images) and a cluster.
Batch edge_systems(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const DType d = DType::Float64;
  return Batch::from_systems(lj_cases::systems(lj_cases::liquid(d, rng), lj_cases::triclinic(d, rng),
                                               lj_cases::slab(d, rng), lj_cases::wire(d, rng),
                                               lj_cases::tiny_box(d, rng), lj_cases::cluster(d, rng, 40)));
}

TEST_F(TorchGpu, DeviceEdgesAreTheCpuEdges) {
  const TorchScriptConfig c = config("lj");
  TorchScriptModel probe(c);
  const double cutoff = probe.cutoff(), skin = c.skin;
  detail::TorchEdgesGpu list(cutoff, skin);
  TorchScriptModel on_gpu(c);
  Batch host = edge_systems(3);
  Batch gpu = host.to(kGpu);
  expect_same_edges(gpu_edges(list, gpu), cpu_edges(host, cutoff, skin), "first call");
  expect_outputs(on_gpu, gpu, host, c, "first call");
  EXPECT_EQ(list.builds(), 1);

  // Every atom moves by up to 0.43 Å (< skin/2: no rebuild), pairs cross the cutoff.
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> u(-0.25, 0.25);
  double* x = host.get("positions").data<double>();
  for (std::int64_t k = 0; k < 3 * host.n_atoms(); ++k) x[k] += u(rng);
  gpu.get("positions").copy_from(host.get("positions"));
  expect_same_edges(gpu_edges(list, gpu), cpu_edges(host, cutoff, skin), "moved within the skin");
  expect_outputs(on_gpu, gpu, host, c, "moved within the skin");
  EXPECT_EQ(list.builds(), 1) << "the move should not rebuild the list (else the next step tests nothing)";

  // Atoms wrapped by whole lattice vectors (as a wrap hook does): same pairs, new images.
  const double* cell = host.get("cell").data<double>();
  const std::int64_t tri = host.atoms_ptr_data()[1];  // the triclinic box's first atom
  for (int e = 0; e < 3; ++e) {
    x[3 * 0 + e] += cell[3 * 0 + e];              // liquid atom 0 by +a
    x[3 * 7 + e] -= cell[3 * 2 + e];              // liquid atom 7 by -c
    x[3 * (tri + 4) + e] += cell[9 + 3 + e];      // triclinic atom 4 by +b
    x[3 * (tri + 9) + e] -= 2 * cell[9 + 0 + e];  // triclinic atom 9 by -2a
  }
  gpu.get("positions").copy_from(host.get("positions"));
  expect_same_edges(gpu_edges(list, gpu), cpu_edges(host, cutoff, skin), "wrapped atoms");
  expect_outputs(on_gpu, gpu, host, c, "wrapped atoms");
  EXPECT_EQ(list.builds(), 1);

  // A new geometry, same sizes: a rebuild.
  host = edge_systems(4);
  gpu.get("positions").copy_from(host.get("positions"));
  expect_same_edges(gpu_edges(list, gpu), cpu_edges(host, cutoff, skin), "new geometry");
  expect_outputs(on_gpu, gpu, host, c, "new geometry");
  EXPECT_EQ(list.builds(), 2);

  // The GPU model builds its edges on the device too (its list, not the host's).
  EXPECT_GE(on_gpu.neighbor_builds(), 2);
}

TEST_F(TorchGpu, NonFiniteOutputIsAClearError) {
  TorchScriptModel m(config("bad_nan"));
  Batch b = Batch::from_systems(ar_cu(DType::Float64)).to(kGpu);
  for (int call = 0; call < 2; ++call) {
    // The second call: the model's output fields exist; they hold sentinels that a failed call
    // must leave as they were (the outputs are copied on the device only if all are finite).
    Batch sentinel;
    if (call == 1) {
      Batch h = b.to(Device::cpu());
      for (const char* name : {"energy", "forces"}) {
        double* p = h.get(name).data<double>();
        for (std::int64_t k = 0; k < h.get(name).numel(); ++k) p[k] = 0.25 * static_cast<double>(k + 1);
        b.get(name).copy_from(h.get(name));
      }
      sentinel = std::move(h);
    }
    try {
      m.compute(b);
      FAIL() << "a NaN energy on the GPU should throw NumericalError";
    } catch (const NumericalError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("non-finite values in 'energy'"), std::string::npos) << msg;
      EXPECT_NE(msg.find("bad_nan.pt"), std::string::npos) << msg;
    }
    if (call == 1) {
      const Batch after = b.to(Device::cpu());
      for (const char* name : {"energy", "forces"}) {
        const double* got = after.get(name).data<double>();
        const double* want = sentinel.get(name).data<double>();
        for (std::int64_t k = 0; k < after.get(name).numel(); ++k)
          ASSERT_EQ(got[k], want[k]) << name << "[" << k << "] changed by a failed call";
      }
    }
  }
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

// H, O and one Cu in a sheared periodic cell and the same atoms as an open cluster (the elements
// of the "mace" test model).
Batch h_o_cu_batch(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const lj_cases::Vec cell = {7.5, 0, 0, 0.9, 7.2, 0, -0.6, 0.5, 7.0};
  lj_cases::Vec x = lj_cases::grid_in_cell(3, cell, 0.2, rng);
  std::vector<std::int64_t> z(x.size() / 3, 1);
  for (std::size_t i = 0; i < z.size(); i += 3) z[i] = 8;
  z[1] = 29;
  std::vector<AtomicData> v;
  v.push_back(AtomicData::make(DType::Float64, x, z, cell, {true, true, true}));
  v.push_back(AtomicData::make(DType::Float64, x, z, {}, {false, false, false}));
  return Batch::from_systems(v);
}

TEST_F(TorchGpu, MaceLammpsConvention) { expect_gpu_equals_cpu(config("mace"), h_o_cu_batch(21), 1e-10); }

// The species follow the atomic numbers from call to call (the model maps them again only when
// the device says they changed): changed between two calls of one model (same atom count), the
// MACE export's one-hot node attributes and so the outputs are a fresh CPU model's; an element
// the model does not cover is an error naming it, and with the atoms restored the same model
// computes again (the failed mapping left nothing stale behind).
TEST_F(TorchGpu, AtomicNumbersChangedBetweenCallsAreSeen) {
  const TorchScriptConfig c = config("mace");
  Batch host = h_o_cu_batch(23);
  Batch gpu = host.to(kGpu);
  TorchScriptModel on_gpu(c);
  expect_outputs(on_gpu, gpu, host, c, "first call");
  expect_outputs(on_gpu, gpu, host, c, "second call, same atoms");

  std::int64_t* zh = host.get("atomic_numbers").data<std::int64_t>();
  for (std::int64_t i = 0; i < host.n_atoms(); ++i) zh[i] = zh[i] == 1 ? 8 : (zh[i] == 8 ? 1 : zh[i]);
  gpu.get("atomic_numbers").copy_from(host.get("atomic_numbers"));
  expect_outputs(on_gpu, gpu, host, c, "H and O swapped");

  const std::int64_t keep = zh[5];
  zh[5] = 26;  // Fe: not in the model
  gpu.get("atomic_numbers").copy_from(host.get("atomic_numbers"));
  try {
    on_gpu.compute(gpu, true);
    FAIL() << "an element the model does not cover should be an error";
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("Z = 26"), std::string::npos) << msg;
    EXPECT_NE(msg.find("mace.pt"), std::string::npos) << msg;
  }
  zh[5] = keep;
  gpu.get("atomic_numbers").copy_from(host.get("atomic_numbers"));
  expect_outputs(on_gpu, gpu, host, c, "restored");
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
