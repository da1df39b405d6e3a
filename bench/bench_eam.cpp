// SPDX-License-Identifier: Apache-2.0
// bench_eam: EAM throughput, side by side with LAMMPS.
//   cpu: LAMMPS's bench/in.eam — 32,000 Cu atoms (fcc a = 3.615 Å, 20x20x20 cells, Cu_u3.eam,
//        1600 K, NVE, dt 5 fs, skin 1 Å), --steps steps (default 100), ONE thread — run by
//        batchmd (float64) and, in the same run, by `lmp -in` (pair_style eam, and eam/opt via
//        -sf opt) as child processes with one thread. Prints the CPU seconds per step of each
//        (batchmd: the process CPU time of the timed loop; LAMMPS: its "Loop time" times its "CPU
//        use") and the ratios LAMMPS / batchmd (> 1: batchmd is faster).
//   gpu: Cu_u3 on cuda:0: (a) 4,096 crystals of 108-500 atoms (3x3x3 to 5x5x5 fcc cells), (b) one
//        1,000,000-atom crystal (fcc 63x63x63 = 1,000,188 atoms); atom-steps/s of model
//        evaluations and MD steps, and the all-core CPU MD rate of the same batch beside them.
//   --threads N (N > 1): instead of the LAMMPS table, the in.eam system on 1 and on N threads,
//        alternately --repeat times (default 3): wall and CPU seconds per step, the busiest thread's
//        CPU time, the parallel efficiency by wall time and by critical path (run it with
//        OMP_WAIT_POLICY=passive on a shared machine: bench/thread_cpu.hpp; one large system is
//        split over the threads: docs/eam.md, "Threads").
// Usage: bench_eam [cpu|gpu|all] [--steps N] [--cells N] [--dtype float64|float32] [--no-lammps]
//                  [--threads N [--repeat R]]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/model/eam.hpp"
#include "thread_cpu.hpp"

using namespace batchmd;

namespace {

const std::string kPot = "/usr/share/lammps/potentials/";

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// n x n x n fcc cells of Cu.
AtomicData fcc_cu(std::int64_t n, DType dt) {
  const double a = 3.615;
  const double basis[4][3] = {{0, 0, 0}, {.5, .5, 0}, {.5, 0, .5}, {0, .5, .5}};
  std::vector<double> x;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t k = 0; k < n; ++k)
        for (const auto& b : basis)
          x.insert(x.end(), {(double(i) + b[0]) * a, (double(j) + b[1]) * a, (double(k) + b[2]) * a});
  const auto na = static_cast<std::int64_t>(x.size() / 3);
  const double L = double(n) * a;
  return AtomicData::make(dt, x, std::vector<std::int64_t>(static_cast<std::size_t>(na), 29),
                          {L, 0, 0, 0, L, 0, 0, 0, L}, {true, true, true});
}

struct Rate {
  double wall, cpu;  // atom-steps/s by wall clock and by process CPU time
  double cpu_s;      // process CPU seconds of the timed part
  double busiest_s;  // CPU seconds of the busiest OpenMP thread in the timed part (thread_cpu.hpp)
};

Rate measure(const std::shared_ptr<model::Model>& m, Batch& b, std::int64_t steps, bool md, double dt_fs,
             std::int64_t warm = 2) {
  dynamics::DemoDynamics dyn(m, dt_fs);
  auto sync = [&] { (void)b.get("energy").to(Device::cpu()); };
  if (md)
    dyn.run(b, warm);
  else
    for (std::int64_t k = 0; k < warm; ++k) m->compute(b);
  sync();
  const std::vector<double> tc0 = bench::thread_cpu_seconds();
  const double c0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  if (md)
    dyn.run(b, steps);
  else
    for (std::int64_t k = 0; k < steps; ++k) m->compute(b);
  sync();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_seconds() - c0;
  const std::vector<double> tc1 = bench::thread_cpu_seconds();
  double busiest = 0;
  for (std::size_t t = 0; t < tc0.size() && t < tc1.size(); ++t) busiest = std::max(busiest, tc1[t] - tc0[t]);
  const double work = double(b.n_atoms()) * double(steps);
  return {work / wall, work / cpu, cpu, busiest};
}

// LAMMPS on in.eam with `suffix` ("" or "opt"), one thread: CPU seconds of the run loop, or -1.
double lammps_loop_cpu(std::int64_t cells, std::int64_t steps, const std::string& suffix) {
  const auto dir = std::filesystem::temp_directory_path() / ("bench_eam_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "in.eam") << "units metal\natom_style atomic\nlattice fcc 3.615\nregion box block 0 " << cells
                                << " 0 " << cells << " 0 " << cells
                                << "\ncreate_box 1 box\ncreate_atoms 1 box\npair_style eam\npair_coeff 1 1 " << kPot
                                << "Cu_u3.eam\nvelocity all create 1600.0 376847 loop geom\nneighbor 1.0 bin\n"
                                   "neigh_modify every 1 delay 5 check yes\nfix 1 all nve\ntimestep 0.005\n"
                                   "thermo 50\nrun "
                                << steps << "\n";
  const std::string cmd = "cd '" + dir.string() + "' && OMP_NUM_THREADS=1 lmp -in in.eam -log log.lammps " +
                          (suffix.empty() ? "" : "-sf " + suffix + " ") + "> lmp.out 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "lmp failed (%s): see %s\n", cmd.c_str(), (dir / "lmp.out").c_str());
    return -1;
  }
  std::ifstream log(dir / "log.lammps");
  double loop = -1, use = 100;
  for (std::string line; std::getline(log, line);) {
    if (line.rfind("Loop time of ", 0) == 0) loop = std::stod(line.substr(13));
    if (const auto p = line.find("% CPU use"); p != std::string::npos) {
      std::istringstream ss(line.substr(0, p));
      ss >> use;
    }
  }
  std::filesystem::remove_all(dir);
  return loop * use / 100.0;
}

// The in.eam case on `threads` threads: a fresh model and batch (same velocities), `steps` MD steps.
Rate in_eam(std::int64_t cells, std::int64_t steps, int threads, std::int64_t* builds = nullptr) {
  set_num_threads(threads);
  auto model = model::load_eam({kPot + "Cu_u3.eam"});
  std::vector<AtomicData> one;
  one.push_back(fcc_cu(cells, DType::Float64));  // masses: Cu's, from the atomic numbers
  Batch b = Batch::from_systems(one);
  dynamics::maxwell_boltzmann(b, 1600.0, 376847);
  const Rate r = measure(model, b, steps, true, 5.0);
  if (builds != nullptr) *builds = model->neighbor_builds();
  return r;
}

void cpu_table(std::int64_t cells, std::int64_t steps, bool lammps) {
  const int all = num_threads();
  const std::int64_t n = 4 * cells * cells * cells;
  std::printf(
      "CPU, one thread: Cu_u3.eam, %lld atoms (fcc %lldx%lldx%lld), 1600 K, NVE dt 5 fs, skin 1 A, %lld steps\n",
      static_cast<long long>(n), static_cast<long long>(cells), static_cast<long long>(cells),
      static_cast<long long>(cells), static_cast<long long>(steps));
  std::int64_t builds = 0;
  const Rate r = in_eam(cells, steps, 1, &builds);
  const double ours = r.cpu_s / double(steps);
  std::printf("  %-28s %14s %18s\n", "code", "CPU s/step", "LAMMPS/batchmd");
  std::printf("  %-28s %14.5f %18s\n", "batchmd eam (float64)", ours, "-");
  if (lammps) {
    for (const std::string sfx : {"", "opt"}) {
      const double l = lammps_loop_cpu(cells, steps, sfx);
      if (l < 0) continue;
      std::printf("  %-28s %14.5f %18.3f\n", sfx.empty() ? "LAMMPS pair_style eam" : "LAMMPS pair_style eam/opt",
                  l / double(steps), l / r.cpu_s);
    }
  }
  std::printf("  batchmd neighbor-list builds: %lld\n", static_cast<long long>(builds));
  set_num_threads(all);
}

// One system on 1 and on `threads` threads, measured alternately `repeat` times (the best of each
// kept, as load from other processes only ever slows a run down): wall and CPU seconds per step,
// the busiest thread's CPU seconds per step, and the parallel efficiency by wall time
// (wall(1) / (threads * wall(threads))) and by the critical path (CPU(1) / (threads * busiest
// thread(threads))): with OMP_WAIT_POLICY=passive the latter is what otherwise idle cores would
// give, less the barriers' wake-up latency (bench/thread_cpu.hpp).
void threads_table(std::int64_t cells, std::int64_t steps, int threads, int repeat) {
  const int all = num_threads();
  const std::int64_t n = 4 * cells * cells * cells;
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  std::printf(
      "CPU, one system on 1 and %d threads: Cu_u3.eam, %lld atoms, %lld steps, best of %d alternating runs, "
      "OMP_WAIT_POLICY=%s\n",
      threads, static_cast<long long>(n), static_cast<long long>(steps), repeat,
      policy != nullptr ? policy : "(unset)");
  double wall[2] = {1e300, 1e300}, cpu[2] = {1e300, 1e300}, busy[2] = {1e300, 1e300};
  const double work = double(n) * double(steps);
  for (int k = 0; k < repeat; ++k)
    for (int i = 0; i < 2; ++i) {
      const Rate r = in_eam(cells, steps, i == 0 ? 1 : threads);
      wall[i] = std::min(wall[i], work / r.wall / double(steps));
      cpu[i] = std::min(cpu[i], r.cpu_s / double(steps));
      busy[i] = std::min(busy[i], r.busiest_s / double(steps));
    }
  std::printf("  %-8s %12s %12s %22s\n", "threads", "wall s/step", "CPU s/step", "busiest thread s/step");
  std::printf("  %-8d %12.5f %12.5f %22.5f\n", 1, wall[0], cpu[0], busy[0]);
  std::printf("  %-8d %12.5f %12.5f %22.5f\n", threads, wall[1], cpu[1], busy[1]);
  std::printf("  parallel efficiency: wall %.2f (speed-up %.2f), critical path %.2f; CPU time %d threads / 1: %.3f\n",
              wall[0] / (double(threads) * wall[1]), wall[0] / wall[1], cpu[0] / (double(threads) * busy[1]), threads,
              cpu[1] / cpu[0]);
  set_num_threads(all);
}

void gpu_table(std::int64_t steps, DType dt) {
  if (cuda::device_count() == 0) {
    std::printf("GPU: none usable here (%s)\n", cuda::unavailable_reason().c_str());
    return;
  }
  const Device gpu{Device::Kind::CUDA, 0};
  std::printf("GPU: %s, Cu_u3.eam, %s, %lld steps (dt 2 fs, 600 K)\n", cuda::device_name(0).c_str(),
              std::string(dtype_name(dt)).c_str(), static_cast<long long>(steps));
  std::printf("  %-40s %10s %20s %18s %22s\n", "case", "atoms", "GPU model atom-st/s", "GPU MD atom-st/s",
              "CPU MD atom-st/s (all)");
  struct Case {
    const char* name;
    bool many;
  };
  for (const Case c :
       {Case{"(a) 4,096 crystals of 108-500 atoms", true}, Case{"(b) one 1,000,188-atom crystal", false}}) {
    std::vector<AtomicData> systems;
    if (c.many)
      for (int k = 0; k < 4096; ++k) systems.push_back(fcc_cu(3 + k % 3, dt));
    else
      systems.push_back(fcc_cu(63, dt));
    Batch host = Batch::from_systems(systems);
    dynamics::maxwell_boltzmann(host, 600.0, 7);
    Batch b = host.to(gpu);
    const Rate eval = measure(model::load_eam({kPot + "Cu_u3.eam"}), b, steps, false, 2.0);
    Batch b2 = host.to(gpu);
    const Rate md = measure(model::load_eam({kPot + "Cu_u3.eam"}), b2, steps, true, 2.0);
    Batch hb = host.clone();
    const Rate cpu =
        measure(model::load_eam({kPot + "Cu_u3.eam"}), hb, std::max<std::int64_t>(steps / 20, 2), true, 2.0, 1);
    std::printf("  %-40s %10lld %20.4g %18.4g %22.4g\n", c.name, static_cast<long long>(host.n_atoms()), eval.wall,
                md.wall, cpu.wall);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = "cpu", dtype = "float64";
  std::int64_t steps = 0, cells = 20;
  bool lammps = true;
  int threads = 0, repeat = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value after %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "cpu" || a == "gpu" || a == "all")
      mode = a;
    else if (a == "--steps")
      steps = std::stoll(next());
    else if (a == "--cells")
      cells = std::stoll(next());
    else if (a == "--dtype")
      dtype = next();
    else if (a == "--no-lammps")
      lammps = false;
    else if (a == "--threads")
      threads = std::stoi(next());
    else if (a == "--repeat")
      repeat = std::stoi(next());
    else {
      std::fprintf(stderr,
                   "usage: bench_eam [cpu|gpu|all] [--steps N] [--cells 20] [--dtype float64|float32] [--no-lammps]\n"
                   "                 [--threads N [--repeat 3]]\n");
      return 2;
    }
  }
  if (threads < 0 || threads > 1024 || repeat < 1) {
    std::fprintf(stderr, "bench_eam: --threads must be 1..1024 and --repeat >= 1\n");
    return 2;
  }
  if (mode != "gpu" && threads > 1)
    threads_table(cells, steps > 0 ? steps : 100, threads, repeat);
  else if (mode != "gpu")
    cpu_table(cells, steps > 0 ? steps : 100, lammps);
  if (mode != "cpu") gpu_table(steps > 0 ? steps : 50, dtype_from_name(dtype));
  return 0;
}
