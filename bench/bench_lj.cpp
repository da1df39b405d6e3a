// bench_lj: the classic LAMMPS `in.lj` benchmark run by batchmd — 32,000 LJ atoms, fcc at
// reduced density 0.8442, cutoff 2.5σ, skin 0.3σ, T* = 1.44, NVE, 1,000 steps of 0.005τ —
// in batchmd's units (σ = 1 Å, ε = 1 eV, m = 1 amu, so τ = 10.18 fs). Prints atom-steps/s
// and peak RSS; bench/lj_vs_lammps.sh runs LAMMPS beside it and prints the ratio.
// Optional: --snapshot-every N adds a SnapshotHook into HostMemory and reports its memory.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "batchmd/core/parallel.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/dynamics/units.hpp"
#include "batchmd/hooks/snapshot.hpp"
#include "batchmd/model/lennard_jones.hpp"

using namespace batchmd;

int main(int argc, char** argv) {
  std::int64_t cells = 20, steps = 1000, snapshot_every = 0;
  std::string dtype = "float64";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value after %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--cells") cells = std::stoll(next());
    else if (a == "--steps") steps = std::stoll(next());
    else if (a == "--dtype") dtype = next();
    else if (a == "--threads") set_num_threads(std::stoi(next()));
    else if (a == "--snapshot-every") snapshot_every = std::stoll(next());
    else {
      std::fprintf(stderr, "usage: bench_lj [--cells 20] [--steps 1000] [--dtype float64|float32] [--threads 1] "
                           "[--snapshot-every N]\n");
      return 2;
    }
  }
  const double a = std::cbrt(4.0 / 0.8442);
  std::vector<double> pos;
  const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
  for (std::int64_t i = 0; i < cells; ++i)
    for (std::int64_t j = 0; j < cells; ++j)
      for (std::int64_t k = 0; k < cells; ++k)
        for (const auto& b : basis) {
          pos.push_back((double(i) + b[0]) * a);
          pos.push_back((double(j) + b[1]) * a);
          pos.push_back((double(k) + b[2]) * a);
        }
  const double L = a * double(cells);
  std::vector<std::int64_t> z(pos.size() / 3, 1);
  std::vector<AtomicData> sys;
  sys.push_back(AtomicData::make(dtype_from_name(dtype), pos, z, {L, 0, 0, 0, L, 0, 0, 0, L}, {true, true, true}));
  Batch batch = Batch::from_systems(sys);
  dispatch_float(batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    auto m = batch.get("masses").span<T>();
    std::fill(m.begin(), m.end(), T(1));
  });
  dynamics::maxwell_boltzmann(batch, 1.44 / units::kBoltzmann, 87287);

  model::LJConfig lj;
  lj.epsilon = 1.0;
  lj.sigma = 1.0;
  lj.cutoff = 2.5;
  lj.skin = 0.3;
  auto model = std::make_shared<model::LennardJones>(lj);
  const double tau = std::sqrt(1.0 / units::kAccel);  // fs
  dynamics::DemoDynamics dyn(model, 0.005 * tau);
  std::shared_ptr<sinks::HostMemory> sink;
  if (snapshot_every > 0) {
    sink = std::make_shared<sinks::HostMemory>(steps / snapshot_every + 1);
    dyn.register_hook(std::make_shared<hooks::SnapshotHook>(sink, snapshot_every));
  }
  auto t0 = std::chrono::steady_clock::now();
  dyn.run(batch, steps);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double atom_steps = double(batch.n_atoms()) * double(steps) / secs;
  std::printf("batchmd in.lj: %lld atoms, %lld steps, %s, %d thread(s)\n", static_cast<long long>(batch.n_atoms()),
              static_cast<long long>(steps), dtype.c_str(), num_threads());
  std::printf("loop_time_s %.4f\n", secs);
  std::printf("atom_steps_per_s %.4g\n", atom_steps);
  std::printf("neighbor_builds %lld\n", static_cast<long long>(model->neighbor_builds()));
  std::printf("peak_rss_mb %.1f\n", double(ru.ru_maxrss) / 1024.0);
  if (sink) {
    std::printf("hostmemory_samples %lld\n", static_cast<long long>(sink->size()));
    std::printf("hostmemory_raw_mb %.2f\n", double(sink->raw_bytes()) / 1e6);
    std::printf("hostmemory_allocated_over_raw %.4f\n", double(sink->allocated_bytes()) / double(sink->raw_bytes()));
  }
  return 0;
}
