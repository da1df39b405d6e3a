// SPDX-License-Identifier: Apache-2.0
// bench_lj: the classic LAMMPS `in.lj` benchmark run by batchmd — 32,000 LJ atoms, 1,000 NVE
// steps of 0.005τ (see lj_system.hpp). Prints the loop's wall and CPU time, atom-steps/s and peak RSS;
// bench/lj_vs_lammps.sh runs LAMMPS beside it, bench/zarr_overhead.sh compares sinks.
//   --sink none|host|zarr-none|zarr-zstd1  snapshot positions, velocities and forces
//   --snapshot-every N (default 10)         into that sink
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "batchmd/core/parallel.hpp"
#include "batchmd/hooks/snapshot.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "lj_system.hpp"
#include "thread_cpu.hpp"

using namespace batchmd;

int main(int argc, char** argv) {
  std::int64_t cells = 20, steps = 1000, every = 10;
  std::string dtype = "float64", sink_kind = "none", store = "bench_lj_traj.zarr";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value after %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--cells")
      cells = std::stoll(next());
    else if (a == "--steps")
      steps = std::stoll(next());
    else if (a == "--dtype")
      dtype = next();
    else if (a == "--threads")
      set_num_threads(std::stoi(next()));
    else if (a == "--sink")
      sink_kind = next();
    else if (a == "--snapshot-every")
      every = std::stoll(next());
    else if (a == "--store")
      store = next();
    else {
      std::fprintf(stderr,
                   "usage: bench_lj [--cells 20] [--steps 1000] [--dtype float64|float32] [--threads 1]\n"
                   "                [--sink none|host|zarr-none|zarr-zstd1] [--snapshot-every 10] [--store PATH]\n");
      return 2;
    }
  }
  Batch batch = bench::inlj_batch(cells, dtype_from_name(dtype));
  auto model = std::make_shared<model::LennardJones>(bench::inlj_model());
  dynamics::DemoDynamics dyn(model, bench::inlj_dt());
  std::shared_ptr<sinks::DataSink> sink;
  const std::vector<std::string> recorded = {"positions", "velocities", "forces"};
  if (sink_kind == "host") {
    sink = std::make_shared<sinks::HostMemory>(steps / every + 1);
  } else if (sink_kind == "zarr-none" || sink_kind == "zarr-zstd1") {
    std::filesystem::remove_all(store);
    sinks::ZarrWriteConfig cfg;
    cfg.compressor = sink_kind == "zarr-none" ? zarr::CompressorConfig{"none", 0, false, false}
                                              : zarr::CompressorConfig{"zstd", 1, false, false};
    cfg.only_fields = recorded;
    sink = std::make_shared<sinks::ZarrData>(store, steps / every + 1, cfg);
  } else if (sink_kind != "none") {
    std::fprintf(stderr, "unknown --sink '%s'\n", sink_kind.c_str());
    return 2;
  }
  if (sink) dyn.register_hook(std::make_shared<hooks::SnapshotHook>(sink, every));
  auto cpu_now = [] {
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    return double(r.ru_utime.tv_sec + r.ru_stime.tv_sec) + 1e-6 * double(r.ru_utime.tv_usec + r.ru_stime.tv_usec);
  };
  const std::vector<double> tc0 = bench::thread_cpu_seconds();
  const double c0 = cpu_now();
  auto t0 = std::chrono::steady_clock::now();
  dyn.run(batch, steps);  // SnapshotHook flushes the sink when the run ends
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_now() - c0;
  const std::vector<double> tc1 = bench::thread_cpu_seconds();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("batchmd in.lj: %lld atoms, %lld steps, %s, %d thread(s), sink %s\n",
              static_cast<long long>(batch.n_atoms()), static_cast<long long>(steps), dtype.c_str(), num_threads(),
              sink_kind.c_str());
  std::printf("loop_time_s %.4f\n", secs);
  std::printf("cpu_time_s %.4f\n", cpu);  // process CPU time (all threads) over the loop
  // Per-thread CPU time over the loop; the busiest thread is the critical path (thread_cpu.hpp).
  double busiest = 0;
  std::printf("thread_cpu_s");
  for (std::size_t t = 0; t < tc1.size(); ++t) {
    std::printf(" %.4f", tc1[t] - tc0[t]);
    busiest = std::max(busiest, tc1[t] - tc0[t]);
  }
  std::printf("\nbusiest_thread_cpu_s %.4f\n", busiest);
  std::printf("atom_steps_per_s %.4g\n", double(batch.n_atoms()) * double(steps) / secs);
  std::printf("neighbor_builds %lld\n", static_cast<long long>(model->neighbor_builds()));
  std::printf("peak_rss_mb %.1f\n", double(ru.ru_maxrss) / 1024.0);
  if (auto hm = std::dynamic_pointer_cast<sinks::HostMemory>(sink)) {
    std::printf("hostmemory_samples %lld\n", static_cast<long long>(hm->size()));
    std::printf("hostmemory_raw_mb %.2f\n", double(hm->raw_bytes()) / 1e6);
    std::printf("hostmemory_allocated_over_raw %.4f\n", double(hm->allocated_bytes()) / double(hm->raw_bytes()));
  }
  if (sink_kind.starts_with("zarr")) std::filesystem::remove_all(store);
  return 0;
}
