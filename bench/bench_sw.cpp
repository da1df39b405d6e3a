// SPDX-License-Identifier: Apache-2.0
// bench_sw: Stillinger–Weber (LAMMPS's Si.sw) throughput, side by side with LAMMPS.
//   cpu: one diamond Si crystal of --cells^3 conventional cells (default 20: 64,000 atoms,
//        a = 5.431 Å) from 1000 K, NVE velocity Verlet (dt 1 fs, skin 1 Å, rebuild when an atom
//        moved skin/2), one thread. The same run in LAMMPS (`lmp`, pair_style sw, OMP_NUM_THREADS=1,
//        neighbor 1.0 bin, neigh_modify every 1 delay 0 check yes) as a child process: its CPU
//        time for `run N` minus that of `run 0` (setup) against batchmd's CPU time for the N steps.
//        Prints both rates (atom-steps per CPU-second) and the ratio batchmd/LAMMPS.
//   gpu: Si.sw on cuda:0 (--dtype float64|float32): (a) 4,096 crystals of 128–384 atoms,
//        (b) one 1,000,000-atom crystal; model evaluations alone and whole MD steps in
//        atom-steps/s, with the all-core CPU MD rate beside each.
// Usage: bench_sw [cpu|gpu|all] [--steps N] [--cells N] [--dtype float64|float32] [--case a|b]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/model/stillinger_weber.hpp"

using namespace batchmd;

namespace {

const std::string kSiSw = "/usr/share/lammps/potentials/Si.sw";

double cpu_seconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// nx x ny x nz diamond cells of Si (LAMMPS's basis order).
AtomicData diamond(std::int64_t nx, std::int64_t ny, std::int64_t nz, DType dt) {
  const double a = 5.431;
  const double basis[8][3] = {{0, 0, 0},       {0, .5, .5},     {.5, 0, .5},     {.5, .5, 0},
                              {.25, .25, .25}, {.25, .75, .75}, {.75, .25, .75}, {.75, .75, .25}};
  std::vector<double> x;
  for (std::int64_t i = 0; i < nx; ++i)
    for (std::int64_t j = 0; j < ny; ++j)
      for (std::int64_t k = 0; k < nz; ++k)
        for (const auto& b : basis)
          x.insert(x.end(), {(double(i) + b[0]) * a, (double(j) + b[1]) * a, (double(k) + b[2]) * a});
  const auto n = static_cast<std::int64_t>(x.size() / 3);
  AtomicData d =
      AtomicData::make(dt, x, std::vector<std::int64_t>(static_cast<std::size_t>(n), 14),
                       {double(nx) * a, 0, 0, 0, double(ny) * a, 0, 0, 0, double(nz) * a}, {true, true, true});
  Tensor mt(dt, {n});
  dispatch_float(dt, [&](auto zero) {
    for (std::int64_t i = 0; i < n; ++i) mt.data<decltype(zero)>()[i] = static_cast<decltype(zero)>(28.0855);
  });
  d.set("masses", Level::Atom, std::move(mt));
  return d;
}

std::shared_ptr<model::Model> si_model() {
  model::SWConfig c;
  c.params = model::read_sw_file(kSiSw);
  c.skin = 1.0;
  return std::make_shared<model::StillingerWeber>(std::move(c));
}

struct Rate {
  double wall, cpu;  // atom-steps/s by wall clock and by process CPU time
};

// Steps of MD (md = true) or model evaluations on b, after `warm` untimed ones.
Rate measure(const std::shared_ptr<model::Model>& m, Batch& b, std::int64_t steps, bool md, std::int64_t warm = 2) {
  dynamics::DemoDynamics dyn(m, 1.0);
  auto sync = [&] { (void)b.get("energy").to(Device::cpu()); };
  if (md) {
    dyn.run(b, warm);
  } else {
    for (std::int64_t k = 0; k < warm; ++k) m->compute(b);
  }
  sync();
  const double c0 = cpu_seconds(RUSAGE_SELF);
  const auto t0 = std::chrono::steady_clock::now();
  if (md)
    dyn.run(b, steps);
  else
    for (std::int64_t k = 0; k < steps; ++k) m->compute(b);
  sync();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_seconds(RUSAGE_SELF) - c0;
  const double work = double(b.n_atoms()) * double(steps);
  return {work / wall, work / cpu};
}

// CPU seconds of `lmp` running the Si crystal for `steps` NVE steps (a child process).
double lammps_cpu(std::int64_t cells, std::int64_t steps, const std::filesystem::path& dir) {
  std::ofstream(dir / "in.sw") << "units metal\natom_style atomic\nlattice diamond 5.431\n"
                               << "region box block 0 " << cells << " 0 " << cells << " 0 " << cells << "\n"
                               << "create_box 1 box\ncreate_atoms 1 box\nmass 1 28.0855\n"
                               << "pair_style sw\npair_coeff * * " << kSiSw << " Si\n"
                               << "velocity all create 1000.0 4928459 loop geom\n"
                               << "neighbor 1.0 bin\nneigh_modify every 1 delay 0 check yes\n"
                               << "timestep 0.001\nfix 1 all nve\nthermo 50\nrun " << steps << "\n";
  const double c0 = cpu_seconds(RUSAGE_CHILDREN);
  const std::string cmd = "cd '" + dir.string() + "' && OMP_NUM_THREADS=1 lmp -in in.sw -log log." +
                          std::to_string(steps) + " > out." + std::to_string(steps) + " 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "lmp failed: see %s\n", (dir / ("out." + std::to_string(steps))).c_str());
    std::exit(1);
  }
  return cpu_seconds(RUSAGE_CHILDREN) - c0;
}

void cpu_table(std::int64_t cells, std::int64_t steps) {
  const std::int64_t n = 8 * cells * cells * cells;
  std::printf("CPU, one thread: Si.sw NVE steps on one %lld-atom diamond crystal from 1000 K, float64, %lld steps\n",
              static_cast<long long>(n), static_cast<long long>(steps));
  const auto dir = std::filesystem::temp_directory_path() / ("bench_sw_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  // LAMMPS: the steps' cost is run N minus run 0 (reading the potential, creating atoms, setup).
  const double l0 = lammps_cpu(cells, 0, dir);
  const double ln = lammps_cpu(cells, steps, dir);
  const double lammps_rate = double(n) * double(steps) / (ln - l0);
  std::filesystem::remove_all(dir);
  set_num_threads(1);
  std::vector<AtomicData> one;
  one.push_back(diamond(cells, cells, cells, DType::Float64));
  Batch b = Batch::from_systems(one);
  dynamics::maxwell_boltzmann(b, 1000.0, 4928459);
  const Rate r = measure(si_model(), b, steps, true);
  std::printf("  %-10s %26s\n", "", "atom-steps per CPU-second");
  std::printf("  %-10s %26.4g\n", "LAMMPS", lammps_rate);
  std::printf("  %-10s %26.4g   (wall clock: %.4g atom-steps/s)\n", "batchmd", r.cpu, r.wall);
  std::printf("  ratio batchmd/LAMMPS: %.3fx (target >= 1.0x)\n", r.cpu / lammps_rate);
}

void gpu_table(std::int64_t steps, DType dt, const std::string& which) {
  if (cuda::device_count() == 0) {
    std::printf("GPU: none usable here (%s)\n", cuda::unavailable_reason().c_str());
    return;
  }
  const Device gpu{Device::Kind::CUDA, 0};
  std::printf("GPU: %s, Si.sw, %s, %lld steps\n", cuda::device_name(0).c_str(), std::string(dtype_name(dt)).c_str(),
              static_cast<long long>(steps));
  std::printf("  %-36s %10s %18s %18s %18s\n", "case", "atoms", "GPU model atom-st/s", "GPU MD atom-st/s",
              "CPU MD atom-st/s");
  struct Case {
    const char* key;
    const char* name;
  };
  const Case cases[] = {{"a", "(a) 4,096 crystals of 128-384 atoms"}, {"b", "(b) one 1,000,000-atom crystal"}};
  for (const Case& c : cases) {
    if (which != "all" && which != c.key) continue;
    std::vector<AtomicData> systems;
    if (std::string(c.key) == "a") {
      const std::int64_t shapes[5][3] = {{4, 2, 2}, {3, 3, 2}, {3, 3, 3}, {4, 3, 3}, {4, 4, 3}};
      for (int k = 0; k < 4096; ++k)
        systems.push_back(diamond(shapes[k % 5][0], shapes[k % 5][1], shapes[k % 5][2], dt));
    } else {
      systems.push_back(diamond(50, 50, 50, dt));
    }
    Batch host = Batch::from_systems(systems);
    dynamics::maxwell_boltzmann(host, 1000.0, 2026);
    Batch b = host.to(gpu);
    const Rate eval = measure(si_model(), b, steps, false);
    Batch b2 = host.to(gpu);
    const Rate md = measure(si_model(), b2, steps, true);
    Batch hb = host.clone();
    const double cpu = measure(si_model(), hb, std::max<std::int64_t>(steps / 20, 2), true, 1).wall;
    std::printf("  %-36s %10lld %18.4g %18.4g %18.4g\n", c.name, static_cast<long long>(host.n_atoms()), eval.wall,
                md.wall, cpu);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = "cpu", dtype = "float64", which = "all";
  std::int64_t steps = 0, cells = 20;
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
      std::fprintf(stderr,
                   "usage: bench_sw [cpu|gpu|all] [--steps N] [--cells 20] [--dtype float64|float32] [--case a|b]\n");
      return 2;
    }
  }
  if (mode != "gpu") cpu_table(cells, steps > 0 ? steps : 50);
  if (mode != "cpu") gpu_table(steps > 0 ? steps : 50, dtype_from_name(dtype), which);
  return 0;
}
