// SPDX-License-Identifier: Apache-2.0
// lj_kernel_timing: LAMMPS' bench/in.lj on the model kernels alone — 32,000 atoms, fcc at
// reduced density 0.8442, cutoff 2.5 sigma, skin 0.3 sigma, T* = 1.44, NVE velocity Verlet with
// dt = 0.005 tau, 1,000 steps — in reduced units (sigma = epsilon = mass = 1). Prints the time
// spent in NeighborList::update ("Neigh") and lj_compute ("Pair"), to set beside the same rows
// of LAMMPS' timing breakdown (OMP_NUM_THREADS=1 lmp -in in.lj).
//   lj_kernel_timing [--steps 1000] [--cells 20] [--dtype float64|float32] [--threads 1]
//                    [--every 20 | --every 0]   (0: rebuild only by the skin/2 criterion)
#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "batchmd/core/parallel.hpp"
#include "batchmd/model/lennard_jones_kernels.hpp"
#include "batchmd/model/neighbor_list.hpp"

using namespace batchmd;
using namespace batchmd::model;
using Clock = std::chrono::steady_clock;

namespace {

template <typename T>
int run(std::int64_t cells, std::int64_t steps, std::int64_t every) {
  const double a = std::cbrt(4.0 / 0.8442);
  const double L = a * static_cast<double>(cells);
  const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
  std::vector<T> x;
  for (std::int64_t i = 0; i < cells; ++i)
    for (std::int64_t j = 0; j < cells; ++j)
      for (std::int64_t k = 0; k < cells; ++k)
        for (const auto& b : basis) {
          x.push_back(static_cast<T>((static_cast<double>(i) + b[0]) * a));
          x.push_back(static_cast<T>((static_cast<double>(j) + b[1]) * a));
          x.push_back(static_cast<T>((static_cast<double>(k) + b[2]) * a));
        }
  const std::int64_t n = static_cast<std::int64_t>(x.size() / 3);
  // Maxwell-Boltzmann velocities at T* = 1.44, zero total momentum, rescaled exactly.
  std::vector<double> v(3 * n);
  std::mt19937_64 rng(87287);
  std::normal_distribution<double> gauss;
  for (double& c : v) c = gauss(rng);
  for (int e = 0; e < 3; ++e) {
    double m = 0;
    for (std::int64_t i = 0; i < n; ++i) m += v[3 * i + e];
    for (std::int64_t i = 0; i < n; ++i) v[3 * i + e] -= m / static_cast<double>(n);
  }
  double ke = 0;
  for (double c : v) ke += 0.5 * c * c;
  const double scale = std::sqrt(1.44 * 1.5 * static_cast<double>(n - 1) / ke);
  for (double& c : v) c *= scale;

  const T cell[9] = {T(L), 0, 0, 0, T(L), 0, 0, 0, T(L)};
  const bool pbc[3] = {true, true, true};
  const std::int64_t ptr[2] = {0, n};
  const std::vector<std::int64_t> z(n, 1);
  BatchGeometry<T> g;
  g.n_systems = 1;
  g.n_atoms = n;
  g.positions = x.data();
  g.atoms_ptr = ptr;
  g.cell = cell;
  g.pbc = pbc;
  const LJTable table(LJPair{1.0, 1.0, 2.5, false});
  NeighborList nl(2.5, 0.3);
  std::vector<T> f(3 * n);
  T energy = 0;
  const double dt = 0.005;

  // Wall and CPU time of this process per phase (CPU time is robust to a loaded machine).
  double t_neigh = 0, t_pair = 0, t_other = 0, c_neigh = 0, c_pair = 0, c_other = 0;
  auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  };
  auto timed = [&](double& acc, auto&& fn) {
    double& cpu_acc = &acc == &t_neigh ? c_neigh : (&acc == &t_pair ? c_pair : c_other);
    const auto t0 = Clock::now();
    const double c0 = cpu_now();
    fn();
    acc += std::chrono::duration<double>(Clock::now() - t0).count();
    cpu_acc += cpu_now() - c0;
  };
  auto total_energy = [&] {
    double k = 0;
    for (double c : v) k += 0.5 * c * c;
    return (k + static_cast<double>(energy)) / static_cast<double>(n);
  };
  timed(t_neigh, [&] { nl.update(g); });
  timed(t_pair, [&] { lj_compute(g, z.data(), nl, table, &energy, f.data(), static_cast<T*>(nullptr)); });
  const double e0 = total_energy();
  const double pe0 = static_cast<double>(energy) / static_cast<double>(n);
  const auto wall0 = Clock::now();
  for (std::int64_t step = 1; step <= steps; ++step) {
    // The integration on all threads, as batchmd's integrators run it: a serial loop here would
    // pull every thread's forces to one core and make "Other" grow with the thread count.
    timed(t_other, [&] {
      parallel_for(3 * n, [&](std::int64_t i) {
        v[i] += 0.5 * dt * static_cast<double>(f[i]);
        x[i] = static_cast<T>(static_cast<double>(x[i]) + dt * v[i]);
      });
    });
    if (every > 0 && step % every == 0) nl.request_rebuild();
    timed(t_neigh, [&] { nl.update(g); });
    timed(t_pair, [&] { lj_compute(g, z.data(), nl, table, &energy, f.data(), static_cast<T*>(nullptr)); });
    timed(t_other, [&] { parallel_for(3 * n, [&](std::int64_t i) { v[i] += 0.5 * dt * static_cast<double>(f[i]); }); });
  }
  const double wall = std::chrono::duration<double>(Clock::now() - wall0).count();
  std::printf("lj_kernel_timing: %lld atoms, %lld steps, %s, %d thread(s), rebuild %s\n", static_cast<long long>(n),
              static_cast<long long>(steps), sizeof(T) == 4 ? "float32" : "float64", num_threads(),
              every > 0 ? ("every " + std::to_string(every) + " steps").c_str() : "by skin/2");
  std::printf("         wall       cpu\n");
  std::printf("Pair   %8.3f s %8.3f s\n", t_pair, c_pair);
  std::printf("Neigh  %8.3f s %8.3f s  (%lld builds, %.2f ms cpu per build, %lld pairs)\n", t_neigh, c_neigh,
              static_cast<long long>(nl.n_builds()), 1e3 * c_neigh / static_cast<double>(nl.n_builds()),
              static_cast<long long>(nl.n_pairs()));
  std::printf("Other  %8.3f s %8.3f s  (integration)\n", t_other, c_other);
  std::printf("Pair+Neigh %.3f s, loop %.3f s, %.4g atom-steps/s\n", t_pair + t_neigh, wall,
              static_cast<double>(n) * static_cast<double>(steps) / wall);
  std::printf("E_pair/N start %.6f end %.6f, E_total/N start %.6f end %.6f\n", pe0,
              static_cast<double>(energy) / static_cast<double>(n), e0, total_energy());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t cells = 20, steps = 1000, every = 20;
  std::string dtype = "float64";
  set_num_threads(1);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "missing value after %s\n", arg.c_str());
      return 2;
    }
    const std::string val = argv[++i];
    if (arg == "--steps")
      steps = std::stoll(val);
    else if (arg == "--cells")
      cells = std::stoll(val);
    else if (arg == "--every")
      every = std::stoll(val);
    else if (arg == "--dtype")
      dtype = val;
    else if (arg == "--threads")
      set_num_threads(std::stoi(val));
    else {
      std::fprintf(stderr,
                   "usage: lj_kernel_timing [--steps N] [--cells N] [--every N] [--dtype float64|float32] "
                   "[--threads N]\n");
      return 2;
    }
  }
  if (dtype == "float32") return run<float>(cells, steps, every);
  if (dtype == "float64") return run<double>(cells, steps, every);
  std::fprintf(stderr, "unknown dtype %s\n", dtype.c_str());
  return 2;
}
