// SPDX-License-Identifier: Apache-2.0
// bench_batch: many small systems at once — the default job's mix (argon liquids of 108 and 256
// atoms, clusters of 13, 55 and 147 atoms) scaled up, by default 128× to 4,096 systems
// (500,224 atoms). Runs the default job's MD stage (Langevin NVT at 40 K, dt 2 fs) or NVE for
// --steps steps after one warm-up step, and prints wall and process CPU time and atom-steps/s.
// Threads pay off on such a batch when the 2-thread run takes about half the 1-thread time:
// bench/batch_threads.sh alternates the two and prints the parallel efficiency.
// --profile adds a ProfilerHook and prints where the step's wall time goes (integrator halves,
// model evaluation with its neighbor-list refresh, the loop's own work).
//   bench_batch [--scale 128] [--steps 100] [--threads 1] [--dtype float64|float32] [--nve] [--profile]
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "batchmd/app/config.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/dynamics/integrators.hpp"
#include "batchmd/hooks/profiler.hpp"
#include "thread_cpu.hpp"

using namespace batchmd;

namespace {
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
}  // namespace

int main(int argc, char** argv) {
  std::int64_t scale = 128, steps = 100;
  std::string dtype = "float64";
  bool nve = false, profile = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value after %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--scale")
      scale = std::stoll(next());
    else if (a == "--steps")
      steps = std::stoll(next());
    else if (a == "--threads")
      set_num_threads(std::stoi(next()));
    else if (a == "--dtype")
      dtype = next();
    else if (a == "--nve")
      nve = true;
    else if (a == "--profile")
      profile = true;
    else {
      std::fprintf(stderr,
                   "usage: bench_batch [--scale 128] [--steps 100] [--threads 1] [--dtype float64|float32] [--nve] "
                   "[--profile]\n");
      return 2;
    }
  }
  app::RunConfig cfg = app::parse_config(app::kDefaultConfigToml, "<default job>");
  cfg.dtype = dtype;
  for (auto& l : cfg.liquids) l.count *= scale;
  for (auto& c : cfg.clusters) c.count *= scale;
  Batch batch = app::build_systems(cfg);
  auto model = std::make_shared<model::LennardJones>(cfg.lj);
  std::shared_ptr<dynamics::Dynamics> dyn;
  if (nve)
    dyn = std::make_shared<dynamics::VelocityVerlet>(model, cfg.dt_fs);
  else
    dyn = std::make_shared<dynamics::Langevin>(model, cfg.dt_fs, 40.0, 0.01, cfg.seed);
  dyn->run(batch, 1);  // warm-up: first list build, buffers
  hooks::ProfilerHook profiler;
  if (profile) profiler.attach(*dyn);
  const std::vector<double> tc0 = bench::thread_cpu_seconds();
  const double c0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  dyn->run(batch, steps);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_seconds() - c0;
  const std::vector<double> tc1 = bench::thread_cpu_seconds();
  std::printf("batchmd batch: %lld systems, %lld atoms, %lld steps, %s, %s, %d thread(s)\n",
              static_cast<long long>(batch.n_systems()), static_cast<long long>(batch.n_atoms()),
              static_cast<long long>(steps), dtype.c_str(), nve ? "NVE" : "Langevin NVT", num_threads());
  std::printf("loop_time_s %.4f\n", wall);
  std::printf("cpu_time_s %.4f\n", cpu);
  // Per-thread CPU time over the loop; the busiest thread is the critical path (thread_cpu.hpp).
  double busiest = 0;
  std::printf("thread_cpu_s");
  for (std::size_t t = 0; t < tc1.size(); ++t) {
    std::printf(" %.4f", tc1[t] - tc0[t]);
    busiest = std::max(busiest, tc1[t] - tc0[t]);
  }
  std::printf("\nbusiest_thread_cpu_s %.4f\n", busiest);
  std::printf("atom_steps_per_s %.4g\n", double(batch.n_atoms()) * double(steps) / wall);
  std::printf("neighbor_builds %lld\n", static_cast<long long>(model->neighbor_builds()));
  if (profile) std::printf("%s", profiler.report().c_str());
  return 0;
}
