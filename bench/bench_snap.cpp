// SPDX-License-Identifier: Apache-2.0
// bench_snap: SNAP throughput in atom-steps/s (NVE velocity-Verlet steps, dt 0.5 fs, bcc crystals
// at 300 K; the SNAP + ZBL models as LAMMPS's .snap files define them).
//   cpu: Ta06A (2J=6) and W_2940 (2J=8), one thread and all threads, on one crystal of
//        --cells^3 bcc cells (default 8: 1,024 atoms). Prints the wall-clock rate and the rate
//        per CPU-second of the process: on a machine shared with other jobs the latter is the
//        per-thread figure of the hardware for one thread (with several threads it also counts
//        OpenMP's spinning at barriers, so it understates).
//   gpu: W_2940 on cuda:0, float64 (or --dtype float32): (a) one 2,000-atom crystal, (b) 1,024
//        systems of 128 atoms, (c) one 256,000-atom crystal; model evaluations alone and whole
//        MD steps; the all-core CPU rate of (a) and (b) beside them.
// Usage: bench_snap [cpu|gpu|all] [--steps N] [--cells N] [--dtype float64|float32] [--case a|b|c]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/model/snap_potential.hpp"

using namespace batchmd;

namespace {

const std::string kPot = "/usr/share/lammps/potentials/";

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// nx x ny x nz bcc cells of element z (mass m), 300 K.
AtomicData bcc(std::int64_t nx, std::int64_t ny, std::int64_t nz, double a, std::int64_t z, double m, DType dt) {
  std::vector<double> x;
  for (std::int64_t i = 0; i < nx; ++i)
    for (std::int64_t j = 0; j < ny; ++j)
      for (std::int64_t k = 0; k < nz; ++k)
        for (int b = 0; b < 2; ++b)
          x.insert(x.end(), {(double(i) + 0.5 * b) * a, (double(j) + 0.5 * b) * a, (double(k) + 0.5 * b) * a});
  const auto n = static_cast<std::int64_t>(x.size() / 3);
  AtomicData d =
      AtomicData::make(dt, x, std::vector<std::int64_t>(static_cast<std::size_t>(n), 1),
                       {double(nx) * a, 0, 0, 0, double(ny) * a, 0, 0, 0, double(nz) * a}, {true, true, true});
  d.set("atomic_numbers", Level::Atom, Tensor::from(std::vector<std::int64_t>(static_cast<std::size_t>(n), z), {n}));
  Tensor mt(dt, {n});
  dispatch_float(dt, [&](auto zero) {
    for (std::int64_t i = 0; i < n; ++i) mt.data<decltype(zero)>()[i] = static_cast<decltype(zero)>(m);
  });
  d.set("masses", Level::Atom, std::move(mt));
  return d;
}

Batch crystals(std::int64_t count, std::int64_t nx, std::int64_t ny, std::int64_t nz, double a, std::int64_t z,
               double m, DType dt) {
  std::vector<AtomicData> s;
  for (std::int64_t c = 0; c < count; ++c) s.push_back(bcc(nx, ny, nz, a, z, m, dt));
  Batch b = Batch::from_systems(s);
  dynamics::maxwell_boltzmann(b, 300.0, 2026);
  return b;
}

struct Rate {
  double wall, cpu;  // atom-steps/s by wall clock and by process CPU time
};

// Steps of MD (md = true) or model evaluations on b, after `warm` untimed ones.
Rate measure(const std::shared_ptr<model::Model>& m, Batch& b, std::int64_t steps, bool md, std::int64_t warm = 2) {
  dynamics::DemoDynamics dyn(m, 0.5);
  auto sync = [&] { (void)b.get("energy").to(Device::cpu()); };
  if (md) {
    dyn.run(b, warm);
  } else {
    for (std::int64_t k = 0; k < warm; ++k) m->compute(b);
  }
  sync();
  const double c0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  if (md)
    dyn.run(b, steps);
  else
    for (std::int64_t k = 0; k < steps; ++k) m->compute(b);
  sync();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_seconds() - c0;
  const double work = double(b.n_atoms()) * double(steps);
  return {work / wall, work / cpu};
}

void cpu_table(std::int64_t cells, std::int64_t steps) {
  const int all = num_threads();
  std::printf("CPU: SNAP + ZBL MD steps, one %lld-atom bcc crystal, float64 (%lld steps)\n",
              static_cast<long long>(2 * cells * cells * cells), static_cast<long long>(steps));
  std::printf("  %-22s %8s %18s %28s\n", "model", "threads", "atom-steps/s (wall)", "atom-steps/s per CPU-second");
  struct M {
    const char* name;
    const char* file;
    double a;
    std::int64_t z;
    double mass;
  };
  const M models[] = {{"Ta06A (2J=6)", "Ta06A.snap", 3.316, 73, 180.88},
                      {"W_2940_2017_2 (2J=8)", "W_2940_2017_2.snap", 3.1803, 74, 183.84}};
  for (const M& mm : models) {
    for (int t : {1, all}) {
      set_num_threads(t);
      auto model = model::load_snap_potential(kPot + mm.file);
      Batch b = crystals(1, cells, cells, cells, mm.a, mm.z, mm.mass, DType::Float64);
      const Rate r = measure(model, b, steps, true);
      std::printf("  %-22s %8d %18.4g %28.4g\n", mm.name, t, r.wall, r.cpu);
      if (all == 1) break;
    }
  }
  set_num_threads(all);
}

void gpu_table(std::int64_t steps, DType dt, const std::string& which) {
  if (cuda::device_count() == 0) {
    std::printf("GPU: none usable here (%s)\n", cuda::unavailable_reason().c_str());
    return;
  }
  const Device gpu{Device::Kind::CUDA, 0};
  std::printf("GPU: %s, W_2940_2017_2 (2J=8) + ZBL, %s, %lld steps\n", cuda::device_name(0).c_str(),
              std::string(dtype_name(dt)).c_str(), static_cast<long long>(steps));
  std::printf("  %-34s %10s %18s %18s %18s\n", "case", "atoms", "GPU model atom-st/s", "GPU MD atom-st/s",
              "CPU MD atom-st/s");
  struct Case {
    const char* key;
    const char* name;
    std::int64_t count, nx, ny, nz;
    bool cpu;
  };
  const Case cases[] = {{"a", "(a) one 2,000-atom crystal", 1, 10, 10, 10, true},
                        {"b", "(b) 1,024 systems of 128 atoms", 1024, 4, 4, 4, true},
                        {"c", "(c) one 256,000-atom crystal", 1, 40, 40, 80, false}};
  for (const Case& c : cases) {
    if (which != "all" && which != c.key) continue;
    auto model = model::load_snap_potential(kPot + "W_2940_2017_2.snap");
    Batch host = crystals(c.count, c.nx, c.ny, c.nz, 3.1803, 74, 183.84, dt);
    Batch b = host.to(gpu);
    const Rate eval = measure(model, b, steps, false);
    Batch b2 = host.to(gpu);
    const Rate md = measure(model::load_snap_potential(kPot + "W_2940_2017_2.snap"), b2, steps, true);
    double cpu = 0;
    if (c.cpu) {
      Batch hb = host.clone();
      cpu = measure(model::load_snap_potential(kPot + "W_2940_2017_2.snap"), hb, std::max<std::int64_t>(steps / 20, 2),
                    true, 1)
                .wall;
    }
    std::printf("  %-34s %10lld %18.4g %18.4g %18s\n", c.name, static_cast<long long>(host.n_atoms()), eval.wall,
                md.wall, c.cpu ? std::to_string(cpu).c_str() : "-");
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = "all", dtype = "float64", which = "all";
  std::int64_t steps = 0, cells = 8;
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
    else if (a == "--case")
      which = next();
    else {
      std::fprintf(
          stderr, "usage: bench_snap [cpu|gpu|all] [--steps N] [--cells 8] [--dtype float64|float32] [--case a|b|c]\n");
      return 2;
    }
  }
  if (mode != "gpu") cpu_table(cells, steps > 0 ? steps : 20);
  if (mode != "cpu") gpu_table(steps > 0 ? steps : 50, dtype_from_name(dtype), which);
  return 0;
}
