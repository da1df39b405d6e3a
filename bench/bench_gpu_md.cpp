// SPDX-License-Identifier: Apache-2.0
// bench_gpu_md: Lennard-Jones MD throughput (atom-steps/s) of batchmd on the CPU or a GPU, in
// LAMMPS in.lj units (σ = ε = m = 1, cutoff 2.5σ, skin 0.3σ, reduced density 0.8442, T* = 1.44,
// velocity Verlet, dt = 0.005τ), for the two cases of issue 5:
//   --case liquid  one periodic fcc liquid of 4·cells³ atoms (cells 63: 1,000,188 atoms)
//   --case batch   --systems N periodic fcc boxes of 2–4 cells per side (64–256 atoms each)
// and, with --sink, the cost of a SnapshotHook every --every steps recording positions,
// velocities, forces and energy into GPUBuffer, HostMemory or ZarrData (no compression).
// bench/gpu_md.sh runs the cases side by side with the CPU build and the PyTorch reference.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/dynamics/units.hpp"
#include "batchmd/hooks/snapshot.hpp"
#include "batchmd/model/lennard_jones.hpp"
#include "batchmd/sinks/gpu_buffer.hpp"
#include "batchmd/sinks/zarr_data.hpp"

using namespace batchmd;

namespace {

AtomicData fcc_box(std::int64_t nx, std::int64_t ny, std::int64_t nz, DType dtype) {
  const double a = std::cbrt(4.0 / 0.8442);
  const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
  std::vector<double> pos;
  for (std::int64_t i = 0; i < nx; ++i)
    for (std::int64_t j = 0; j < ny; ++j)
      for (std::int64_t k = 0; k < nz; ++k)
        for (const auto& b : basis) {
          pos.push_back((double(i) + b[0]) * a);
          pos.push_back((double(j) + b[1]) * a);
          pos.push_back((double(k) + b[2]) * a);
        }
  std::vector<std::int64_t> z(pos.size() / 3, 1);
  return AtomicData::make(dtype, pos, z, {a * double(nx), 0, 0, 0, a * double(ny), 0, 0, 0, a * double(nz)},
                          {true, true, true});
}

/// The box shapes of --case batch, cycled: 64, 72, 96, 108, 128, 144, 192, 256 atoms.
constexpr std::int64_t kShapes[8][3] = {{2, 2, 4}, {2, 3, 3}, {2, 3, 4}, {3, 3, 3},
                                        {2, 4, 4}, {3, 3, 4}, {3, 4, 4}, {4, 4, 4}};

Batch make_batch(const std::string& kind, std::int64_t cells, std::int64_t systems, DType dtype) {
  std::vector<AtomicData> sys;
  if (kind == "liquid") {
    sys.push_back(fcc_box(cells, cells, cells, dtype));
  } else {
    for (std::int64_t s = 0; s < systems; ++s) {
      const auto& sh = kShapes[s % 8];
      sys.push_back(fcc_box(sh[0], sh[1], sh[2], dtype));
    }
  }
  Batch batch = Batch::from_systems(sys);
  dispatch_float(batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    auto m = batch.get("masses").span<T>();
    std::fill(m.begin(), m.end(), T(1));
  });
  dynamics::maxwell_boltzmann(batch, 1.44 / units::kBoltzmann, 87287);
  return batch;
}

}  // namespace

int main(int argc, char** argv) {
  std::string kind = "batch", device_name = "cuda", dtype = "float32", sink_kind = "none", store = "bench_gpu_md.zarr";
  std::int64_t cells = 63, systems = 4096, steps = 1000, warmup = 50, every = 10;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value after %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--case")
      kind = next();
    else if (a == "--device")
      device_name = next();
    else if (a == "--dtype")
      dtype = next();
    else if (a == "--cells")
      cells = std::stoll(next());
    else if (a == "--systems")
      systems = std::stoll(next());
    else if (a == "--steps")
      steps = std::stoll(next());
    else if (a == "--warmup")
      warmup = std::stoll(next());
    else if (a == "--threads")
      set_num_threads(std::stoi(next()));
    else if (a == "--sink")
      sink_kind = next();
    else if (a == "--every")
      every = std::stoll(next());
    else if (a == "--store")
      store = next();
    else {
      std::fprintf(stderr,
                   "usage: bench_gpu_md [--case batch|liquid] [--device cuda|cpu] [--dtype float32|float64]\n"
                   "                    [--cells 63] [--systems 4096] [--steps 1000] [--warmup 50] [--threads N]\n"
                   "                    [--sink none|gpubuffer|host|host-pinned|zarr] [--every 10] [--store PATH]\n");
      return 2;
    }
  }
  if (kind != "batch" && kind != "liquid") {
    std::fprintf(stderr, "--case must be batch or liquid\n");
    return 2;
  }
  const Device device = Device::parse(device_name);
  cuda::require(device);
  Batch batch = make_batch(kind, cells, systems, dtype_from_name(dtype));
  if (!device.is_cpu()) batch = batch.to(device);
  model::LJConfig lj;
  lj.epsilon = 1.0;
  lj.sigma = 1.0;
  lj.cutoff = 2.5;
  lj.skin = 0.3;
  auto model = std::make_shared<model::LennardJones>(lj);
  dynamics::DemoDynamics dyn(model, 0.005 * std::sqrt(1.0 / units::kAccel));
  model->compute(batch);  // the starting potential energy: torch_lj.py prints the same number
  const double epot0 = [&] {
    const Tensor e = batch.get("energy").to(Device::cpu());
    double s = 0;
    dispatch_float(e.dtype(), [&](auto zero) {
      for (auto v : e.span<decltype(zero)>()) s += double(v);
    });
    return s / double(batch.n_atoms());
  }();

  std::shared_ptr<sinks::DataSink> sink;
  const std::int64_t snaps = steps / every + 2;
  if (sink_kind == "gpubuffer") {
    std::int64_t largest = 0;  // GPUBuffer's max_atoms is per sample
    for (std::int64_t s = 0; s < batch.n_systems(); ++s)
      largest = std::max(largest, batch.atoms_ptr_data()[s + 1] - batch.atoms_ptr_data()[s]);
    sink = std::make_shared<sinks::GPUBuffer>(snaps * batch.n_systems(), largest, 0, device);
  } else if (sink_kind == "host" || sink_kind == "host-pinned") {
    auto host = std::make_shared<sinks::HostMemory>(snaps * batch.n_systems());
    if (sink_kind == "host-pinned" && !device.is_cpu()) {
      // Every snapshot's bytes (all fields; 256-byte aligned per field), pinned before the run.
      std::size_t per_snap = 0;
      for (const auto& [k, f] : batch.fields()) per_snap += (f.tensor.nbytes() + 255) / 256 * 256 + 256;
      const auto r0 = std::chrono::steady_clock::now();
      host->reserve_pinned(static_cast<std::size_t>(snaps) * per_snap, device);
      std::printf("reserve_pinned_bytes %zu seconds %.3f\n", static_cast<std::size_t>(snaps) * per_snap,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count());
    }
    sink = host;
  } else if (sink_kind == "zarr") {
    std::filesystem::remove_all(store);
    sinks::ZarrWriteConfig cfg;
    cfg.compressor = zarr::CompressorConfig{"none", 0, false, false};
    cfg.only_fields = {"positions", "velocities", "forces", "energy"};
    sink = std::make_shared<sinks::ZarrData>(store, snaps * batch.n_systems(), cfg);
  } else if (sink_kind != "none") {
    std::fprintf(stderr, "unknown --sink '%s'\n", sink_kind.c_str());
    return 2;
  }
  dyn.run(batch, warmup);  // neighbor list, allocator and staging buffers warm
  if (sink) dyn.register_hook(std::make_shared<hooks::SnapshotHook>(sink, every));
  if (!device.is_cpu()) cuda::synchronize(cuda::compute_stream(device.index));
  const auto mallocs0 = cuda::allocator_stats().cuda_mallocs;
  const auto t0 = std::chrono::steady_clock::now();
  dyn.run(batch, steps);  // SnapshotHook flushes the sink when the run ends
  if (!device.is_cpu()) cuda::synchronize(cuda::compute_stream(device.index));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto mallocs_in_loop = cuda::allocator_stats().cuda_mallocs - mallocs0;
  const double ke = [&] {
    double s = 0;
    for (double v : dynamics::kinetic_energy(batch)) s += v;
    return s;
  }();
  std::printf("bench_gpu_md case=%s device=%s dtype=%s systems=%lld atoms=%lld steps=%lld sink=%s every=%lld\n",
              kind.c_str(), device.str().c_str(), dtype.c_str(), static_cast<long long>(batch.n_systems()),
              static_cast<long long>(batch.n_atoms()), static_cast<long long>(steps), sink_kind.c_str(),
              static_cast<long long>(every));
  if (!device.is_cpu())
    std::printf("gpu %s\n", cuda::device_name(device.index).c_str());
  else
    std::printf("cpu_threads %d\n", num_threads());
  std::printf("potential_energy_per_atom_start %.8f\n", epot0);
  std::printf("loop_time_s %.4f\n", secs);
  std::printf("atom_steps_per_s %.4g\n", double(batch.n_atoms()) * double(steps) / secs);
  std::printf("neighbor_builds %lld\n", static_cast<long long>(model->neighbor_builds()));
  std::printf("kinetic_energy_end %.6g\n", ke);
  if (!device.is_cpu()) std::printf("cuda_mallocs_in_loop %lld\n", static_cast<long long>(mallocs_in_loop));
  if (sink) std::printf("samples_stored %lld\n", static_cast<long long>(sink->size()));
  if (sink_kind == "zarr") std::filesystem::remove_all(store);
  return 0;
}
