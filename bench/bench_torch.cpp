// SPDX-License-Identifier: Apache-2.0
// bench_torch: the overhead of batchmd's TorchScript adapter (model::TorchScriptModel through the
// libtorch plugin) over calling the same module directly with the same inputs, on the CPU or on
// a GPU.
//
//   bench_torch MODEL.pt OUT_DIR [REPEATS [CASE [DEVICE]]]   (CASE one_100k, many_100x32 or all;
//   DEVICE cpu or cuda; bench/torch_overhead.sh runs it with the Python side)
//
// Cases: one periodic system of 100,000 atoms, and 100 periodic systems of 32 atoms. Per case:
//  - adapter: TorchScriptModel::compute (species, neighbor-list check, the kept edge view's
//    displacements and the edges inside the cutoff, the plugin call: forward + autograd forces,
//    output checks and copies), between neighbor-list rebuilds;
//  - adapter, rebuilding: the same on positions that alternate by 0.6 Å (> skin/2), so that every
//    call also rebuilds the list and the view (an upper bound; a run rebuilds every few steps);
//  - direct:  the same module's forward + autograd forces from C++ libtorch, on the same edge list
//    prepared once outside the timing (what a caller that already holds the graph pays);
// then saves the direct inputs (OUT_DIR/<case>.inputs.pt) for bench/bench_torch.py, which times
// the module called from Python on them. Medians of REPEATS calls (default 10) after 2 warm-ups,
// adapter and direct calls alternating (side by side under the same load); on the CPU in process
// CPU time, on cuda in wall time, each call followed by a device synchronisation (both the
// adapter's stream and libtorch's). On cuda the batch lives on the GPU (the adapter builds the
// edges there, the plugin wraps batchmd's device arrays), the direct call's inputs are CUDA
// tensors prepared once and its outputs are copied into preallocated CUDA tensors (as the adapter
// writes the batch's fields).
#include <torch/csrc/autograd/autograd.h>
#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/serialize.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "batchmd/core/cuda.hpp"
#include "batchmd/data/batch.hpp"
#include "batchmd/model/neighbor_list.hpp"
#include "batchmd/model/torch_model.hpp"
#include "neighbor_view.hpp"

using namespace batchmd;

namespace {

// n^3 fcc cells of argon/copper (every third atom Cu) per system, jittered, periodic.
Batch make_batch(int systems, int cells, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-0.1, 0.1);
  const double a = 5.26;
  const double basis[4][3] = {{0, 0, 0}, {.5, .5, 0}, {.5, 0, .5}, {0, .5, .5}};
  std::vector<AtomicData> v;
  for (int s = 0; s < systems; ++s) {
    std::vector<double> x;
    std::vector<std::int64_t> z;
    for (int i = 0; i < cells; ++i)
      for (int j = 0; j < cells; ++j)
        for (int k = 0; k < cells; ++k)
          for (const auto& b : basis) {
            x.insert(x.end(), {(i + b[0]) * a + u(rng), (j + b[1]) * a + u(rng), (k + b[2]) * a + u(rng)});
            z.push_back(z.size() % 3 == 0 ? 29 : 18);
          }
    const double l = cells * a;
    v.push_back(AtomicData::make(DType::Float64, x, z, {l, 0, 0, 0, l, 0, 0, 0, l}, {true, true, true}));
  }
  return Batch::from_systems(v);
}

// Process CPU time (all threads), ms: on a shared machine wall time measures the neighbours'
// load; run with one thread (torch_overhead.sh) so CPU time is the work done.
double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return 1e3 * static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_nsec);
}

bool g_cuda = false;  // DEVICE cuda: wall time after synchronising the GPU

// The clock of a measurement: CPU time on the CPU; on cuda wall time, after the device's work
// (batchmd's compute stream and libtorch's) has finished.
double now_ms() {
  if (!g_cuda) return cpu_ms();
  batchmd::cuda::synchronize(batchmd::cuda::compute_stream(0));
  torch::cuda::synchronize(0);
  return 1e-6 * static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

double median(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Medians of a() and b() timed alternately (a, b, a, b, ...; REPEATS each after 2 warm-ups of
// each), so that both see the same load on a shared machine.
template <typename A, typename B>
std::pair<double, double> side_by_side_ms(int repeats, A&& a, B&& b) {
  std::vector<double> ta, tb;
  for (int r = -2; r < repeats; ++r) {
    double t0 = now_ms();
    a();
    const double da = now_ms() - t0;
    t0 = now_ms();
    b();
    const double db = now_ms() - t0;
    if (r >= 0) ta.push_back(da), tb.push_back(db);
  }
  return {median(ta), median(tb)};
}

void run_case(const std::string& name, Batch batch, const std::string& model_path, const std::string& out_dir,
              int repeats) {
  model::TorchScriptConfig cfg;
  cfg.path = model_path;
  model::TorchScriptModel adapter(cfg);
  const Device dev = g_cuda ? Device{Device::Kind::CUDA, 0} : Device::cpu();
  Batch on_dev = batch.to(dev);    // what the adapter computes on
  adapter.compute(on_dev, false);  // its cutoff and skin for the direct inputs below

  // The same graph, built once: the adapter's list (same cutoff and skin) and view.
  model::NeighborList nl(adapter.cutoff(), cfg.skin);
  model::BatchGeometry<double> g;
  g.n_systems = batch.n_systems();
  g.n_atoms = batch.n_atoms();
  g.positions = batch.get("positions").data<double>();
  g.atoms_ptr = batch.atoms_ptr_data();
  g.cell = batch.get("cell").data<double>();
  g.pbc = batch.get("pbc").data<bool>();
  nl.update(g);
  const std::int64_t* z = batch.get("atomic_numbers").data<std::int64_t>();
  std::vector<std::int32_t> species(static_cast<std::size_t>(g.n_atoms));
  for (std::int64_t i = 0; i < g.n_atoms; ++i) species[i] = z[i] == 18 ? 0 : 1;
  const std::vector<double> cut(4, adapter.cutoff());
  model::detail::NeighborView<double> view;
  model::detail::build_neighbor_view(nl, g, {species.data(), 2, cut.data()}, view);
  const std::int64_t ne = view.n_pairs();
  std::vector<std::int64_t> ei(static_cast<std::size_t>(2 * ne));
  std::vector<double> shifts(static_cast<std::size_t>(3 * ne));
  const std::int64_t* sys = batch.system_index().data<std::int64_t>();
  for (std::int64_t i = 0; i < g.n_atoms; ++i)
    for (std::int64_t p = view.offsets[i]; p < view.offsets[i + 1]; ++p) {
      ei[p] = i;
      ei[ne + p] = view.neighbor[p];
      for (int e = 0; e < 3; ++e) {
        double s = 0;
        for (int d = 0; d < 3; ++d) s += view.image[3 * p + d] * g.cell[9 * sys[i] + 3 * d + e];
        shifts[3 * p + e] = s;
      }
    }
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  const std::int64_t n = g.n_atoms, ns = g.n_systems;
  c10::Dict<std::string, at::Tensor> d;
  const at::Tensor pos = torch::from_blob(batch.get("positions").data<double>(), {n, 3}, f64).clone();
  d.insert("positions", pos);
  d.insert("atomic_numbers", torch::from_blob(const_cast<std::int64_t*>(z), {n}, i64).clone());
  d.insert("cell", torch::from_blob(batch.get("cell").data<double>(), {ns, 3, 3}, f64).clone());
  d.insert("pbc", torch::ones({ns, 3}, torch::kBool));
  d.insert("edge_index", torch::from_blob(ei.data(), {2, ne}, i64).clone());
  d.insert("shifts", torch::from_blob(shifts.data(), {ne, 3}, f64).clone());
  d.insert("batch", torch::from_blob(const_cast<std::int64_t*>(sys), {n}, i64).clone());
  d.insert("ptr", torch::from_blob(const_cast<std::int64_t*>(batch.atoms_ptr_data()), {ns + 1}, i64).clone());
  torch::jit::script::Module module = torch::jit::load(model_path);
  module.eval();
  std::vector<double> energy(static_cast<std::size_t>(ns)), forces(static_cast<std::size_t>(3 * n));
  // On cuda: the inputs on the GPU once, outputs into preallocated GPU tensors.
  const torch::Device tdev = g_cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  c10::Dict<std::string, at::Tensor> d_dev;
  for (const auto& kv : d) d_dev.insert(kv.key(), kv.value().to(tdev));
  const at::Tensor pos_dev = d_dev.at("positions");
  if (g_cuda) module.to(tdev);
  const at::Tensor energy_dev = torch::zeros({ns}, f64.device(tdev)),
                   forces_dev = torch::zeros({n, 3}, f64.device(tdev));
  auto direct = [&] {
    const at::Tensor x = pos_dev.detach().requires_grad_(true);
    c10::Dict<std::string, at::Tensor> in = d_dev.copy();
    in.insert_or_assign("positions", x);
    const auto out = module.forward({c10::IValue(in)}).toGenericDict();
    const at::Tensor e = out.at("energy").toTensor();
    const at::Tensor f = -torch::autograd::grad({e.sum()}, {x})[0];
    if (g_cuda) {
      energy_dev.copy_(e.detach());
      forces_dev.copy_(f);
    } else {
      std::copy_n(e.detach().data_ptr<double>(), ns, energy.data());
      std::copy_n(f.data_ptr<double>(), 3 * n, forces.data());
    }
  };
  // The adapter between neighbour-list rebuilds (most steps of a run: the list is kept until an
  // atom moved skin/2), and on calls that rebuild it: every atom moved by 0.6 Å > skin/2 = 0.5 Å,
  // back and forth. Each against the direct call, alternating.
  const auto [adapter_ms, direct_ms] = side_by_side_ms(
      repeats, [&] { adapter.compute(on_dev, false); }, direct);
  Batch moved = batch.clone();
  double* xm = moved.get("positions").data<double>();
  for (std::int64_t k = 0; k < moved.n_atoms(); ++k) xm[3 * k] += 0.6;
  Batch moved_dev = moved.to(dev);
  int flip = 0;
  const std::int64_t builds0 = adapter.neighbor_builds();
  const auto [rebuild_ms, direct2_ms] = side_by_side_ms(
      repeats, [&] { adapter.compute(++flip % 2 != 0 ? moved_dev : on_dev, false); }, direct);
  const double builds_per_call = double(adapter.neighbor_builds() - builds0) / (repeats + 2);
  adapter.compute(on_dev, false);  // the forces compared below
  if (g_cuda) {
    direct();
    const at::Tensor fh = forces_dev.to(torch::kCPU).contiguous();
    std::copy_n(fh.data_ptr<double>(), 3 * n, forces.data());
  }
  // Same numbers, so the two timings are of the same work (on cuda up to summation order).
  const Batch result = on_dev.to(Device::cpu());
  const double* fa = result.get("forces").data<double>();
  double diff = 0;
  for (std::int64_t k = 0; k < 3 * n; ++k) diff = std::max(diff, std::abs(fa[k] - forces[k]));
  const auto bytes = torch::pickle_save(c10::IValue(d));
  std::ofstream(out_dir + "/" + name + ".inputs.pt", std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::printf(
      "%s device=%s atoms=%lld systems=%lld edges=%lld adapter_ms=%.3f direct_cpp_ms=%.3f overhead=%.1f%% "
      "adapter_rebuild_ms=%.3f rebuild_overhead=%.1f%% builds_per_call=%.2f max_force_diff=%.1e\n",
      name.c_str(), g_cuda ? "cuda" : "cpu", static_cast<long long>(n), static_cast<long long>(ns),
      static_cast<long long>(ne), adapter_ms, direct_ms, 100.0 * (adapter_ms / direct_ms - 1.0), rebuild_ms,
      100.0 * (rebuild_ms / direct2_ms - 1.0), builds_per_call, diff);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_torch MODEL.pt OUT_DIR [REPEATS [one_100k|many_100x32|all [cpu|cuda]]]\n");
    return 2;
  }
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 10;
  std::string only = argc > 4 ? argv[4] : "";  // run one case (e.g. under a profiler)
  if (only == "all") only.clear();
  const std::string device = argc > 5 ? argv[5] : "cpu";
  if (device != "cpu" && device != "cuda") {
    std::fprintf(stderr, "bench_torch: DEVICE must be cpu or cuda, got %s\n", device.c_str());
    return 2;
  }
  g_cuda = device == "cuda";
  if (g_cuda && (batchmd::cuda::device_count() == 0 || !torch::cuda::is_available())) {
    std::fprintf(stderr, "bench_torch: DEVICE cuda needs a GPU for batchmd (%s) and a libtorch with CUDA\n",
                 batchmd::cuda::unavailable_reason().c_str());
    return 2;
  }
  if (only.empty() || only == "one_100k")
    run_case("one_100k", make_batch(1, 29, 1), argv[1], argv[2], repeats);  // 4 * 29^3 = 97,556 atoms
  if (only.empty() || only == "many_100x32")
    run_case("many_100x32", make_batch(100, 2, 2), argv[1], argv[2], repeats);  // 100 x 32 atoms
  return 0;
}
