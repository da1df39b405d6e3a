// SPDX-License-Identifier: Apache-2.0
// bench_python_ref: the C++ half of bench/bench_python.py — the default job's systems (32 argon
// liquids and clusters, 3,908 atoms) through the default job's pipeline (FIRE until fmax < 0.005
// eV/Å or 1,000 steps, then Langevin NVT at 40 K, fused; dt 2 fs), with a SnapshotHook writing
// every system to a HostMemory sink every `--every` steps. Builds the batch, then times run() alone,
// `--repeat` times on fresh copies of the batch, and prints one line of JSON:
//   {"seconds": [...], "cpu_seconds": [...], "steps": N, "snapshots": S}
// (cpu_seconds: the process's CPU time over run(), steadier than wall time on a shared machine).
// bench_python.py runs the identical pipeline through the Python package and compares.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "batchmd/app/config.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/dynamics/fused.hpp"
#include "batchmd/dynamics/integrators.hpp"
#include "batchmd/hooks/snapshot.hpp"

using namespace batchmd;

int main(int argc, char** argv) {
  std::int64_t steps = 500, every = 10, repeat = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const std::int64_t v = std::stoll(argv[i + 1]);
    if (a == "--steps")
      steps = v;
    else if (a == "--every")
      every = v;
    else if (a == "--repeat")
      repeat = v;
    else if (a == "--threads")
      set_num_threads(static_cast<int>(v));
    else {
      std::fprintf(stderr, "usage: bench_python_ref [--steps 500] [--every 10] [--repeat 3] [--threads N]\n");
      return 2;
    }
  }
  const app::RunConfig cfg = app::parse_config(app::kDefaultConfigToml, "<default job>");
  const Batch start = app::build_systems(cfg);
  std::vector<double> seconds, cpu_seconds;
  const auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  };
  std::int64_t snapshots = 0;
  for (std::int64_t r = 0; r < repeat; ++r) {
    Batch batch = start.clone();
    auto model = std::make_shared<model::LennardJones>(cfg.lj);
    auto fire = std::make_shared<dynamics::FIRE>(model, cfg.dt_fs);
    fire->set_convergence(dynamics::Convergence::fmax(0.005) | dynamics::Convergence::steps(1000));
    auto nvt = std::make_shared<dynamics::Langevin>(model, cfg.dt_fs, 40.0, 0.01, cfg.seed);
    dynamics::FusedStage fused({fire, nvt});
    auto sink = std::make_shared<sinks::HostMemory>((steps / every + 1) * start.n_systems());
    auto hook = std::make_shared<hooks::SnapshotHook>(sink, every);
    fused.register_hook(hook);
    const double c0 = cpu_now();
    const auto t0 = std::chrono::steady_clock::now();
    fused.run(batch, steps);
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    cpu_seconds.push_back(cpu_now() - c0);
    snapshots = hook->snapshots();
  }
  std::printf("{\"seconds\": [");
  for (std::size_t i = 0; i < seconds.size(); ++i) std::printf("%s%.6f", i ? ", " : "", seconds[i]);
  std::printf("], \"cpu_seconds\": [");
  for (std::size_t i = 0; i < cpu_seconds.size(); ++i) std::printf("%s%.6f", i ? ", " : "", cpu_seconds[i]);
  std::printf("], \"steps\": %lld, \"snapshots\": %lld}\n", static_cast<long long>(steps),
              static_cast<long long>(snapshots));
  return 0;
}
