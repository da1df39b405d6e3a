// SPDX-License-Identifier: Apache-2.0
// fused_timing: FusedStage relax + MD against one batch per stage, on many small argon clusters.
//   fused_timing [systems=1000] [nvt_steps=100] [fmax=2e-4] [repeats=3] [threads=0]
// Both variants run the same work per system: FIRE until fmax (eV/Å), then nvt_steps Langevin
// steps at 30 K. "Sequential" runs a FIRE batch of all systems until every one has converged,
// then a Langevin batch of all of them. A third variant feeds the systems through a FusedStage
// with inflight batching (a quarter of them in flight). Throughput = system-steps actually
// taken / wall time (best of the repeats; this machine is shared and noisy).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "batchmd/app/config.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/dynamics/fused.hpp"
#include "batchmd/dynamics/inflight.hpp"
#include "batchmd/dynamics/integrators.hpp"
#include "batchmd/model/lennard_jones.hpp"

using namespace batchmd;
using namespace batchmd::dynamics;

namespace {

Batch make_systems(std::int64_t n) {
  const int sizes[] = {13, 19, 26, 38, 55};
  std::string toml = "[run]\nseed = 11\n";
  for (int k = 0; k < 5; ++k) {
    const std::int64_t count = n / 5 + (k < n % 5 ? 1 : 0);
    if (count > 0)
      toml += "[[cluster]]\ncount = " + std::to_string(count) + "\natoms = " + std::to_string(sizes[k]) +
              "\ntemperature_K = 20\n";
  }
  return app::build_systems(app::parse_config(toml, "fused_timing"));
}

std::int64_t system_steps(const Batch& b) {
  std::int64_t s = 0;
  for (std::int64_t i = 0; i < b.n_systems(); ++i) s += b.get("step").data<std::int64_t>()[i];
  return s;
}

std::shared_ptr<model::LennardJones> lj() {
  model::LJConfig c;
  c.shift_energy = true;
  return std::make_shared<model::LennardJones>(c);
}

std::shared_ptr<FIRE> fire(std::shared_ptr<model::Model> m, double fmax) {
  FIREConfig fc;
  fc.dt_max = 20;
  auto f = std::make_shared<FIRE>(std::move(m), 2.0, fc);
  f->set_convergence(Convergence::fmax(fmax) | Convergence::steps(5000));
  return f;
}
std::shared_ptr<Langevin> nvt(std::shared_ptr<model::Model> m, std::int64_t steps) {
  auto l = std::make_shared<Langevin>(std::move(m), 2.0, 30.0, 0.01, 2026);
  l->set_convergence(Convergence::steps(steps));
  return l;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

struct Timing {
  double seconds = 1e300;
  std::int64_t loop_steps = 0, work = 0;
};

int main(int argc, char** argv) {
  const std::int64_t n = argc > 1 ? std::atoll(argv[1]) : 1000;
  const std::int64_t nvt_steps = argc > 2 ? std::atoll(argv[2]) : 100;
  const double fmax = argc > 3 ? std::atof(argv[3]) : 2e-4;
  const int repeats = argc > 4 ? std::max(1, std::atoi(argv[4])) : 3;
  if (argc > 5 && std::atoi(argv[5]) > 0) set_num_threads(std::atoi(argv[5]));

  const Batch systems = make_systems(n);
  std::printf(
      "%lld argon clusters (13-55 atoms, %lld atoms in all); FIRE to fmax %.3g eV/A, then %lld Langevin "
      "steps; %d threads; best of %d interleaved repeats\n",
      static_cast<long long>(systems.n_systems()), static_cast<long long>(systems.n_atoms()), fmax,
      static_cast<long long>(nvt_steps), num_threads(), repeats);
  Timing seq, fus, inf;
  for (int r = 0; r < repeats; ++r) {
    {  // one batch per stage
      Batch b = systems.clone();
      auto m = lj();
      const auto t0 = std::chrono::steady_clock::now();
      auto f = fire(m, fmax);
      const auto a = f->run(b, 100000);
      auto l = nvt(m, nvt_steps);
      l->prepare(b);
      l->start_systems(b, std::vector<bool>(static_cast<std::size_t>(b.n_systems()), true));
      l->assume_forces_current();
      const auto c = l->run(b, 100000);
      seq.seconds = std::min(seq.seconds, seconds_since(t0));
      seq.loop_steps = a + c;
      seq.work = system_steps(b);
    }
    {  // fused
      Batch b = systems.clone();
      auto m = lj();
      const auto t0 = std::chrono::steady_clock::now();
      FusedStage fused({fire(m, fmax), nvt(m, nvt_steps)});
      fus.loop_steps = fused.run(b, 100000);
      fus.seconds = std::min(fus.seconds, seconds_since(t0));
      fus.work = system_steps(b);
    }
    {  // fused + inflight batching, a quarter of the systems in flight at a time
      auto m = lj();
      auto sink = std::make_shared<sinks::HostMemory>(n);
      const auto t0 = std::chrono::steady_clock::now();
      auto fused =
          std::make_shared<FusedStage>(std::vector<std::shared_ptr<Dynamics>>{fire(m, fmax), nvt(m, nvt_steps)});
      InflightBatcher ib(fused, std::make_shared<VectorSource>(systems.split()), sink, std::max<std::int64_t>(1, n / 4),
                         systems.n_atoms());
      const auto res = ib.run(1000000);
      inf.seconds = std::min(inf.seconds, seconds_since(t0));
      inf.loop_steps = res.steps;
      inf.work = system_steps(sink->read());
    }
  }
  auto show = [](const char* what, const Timing& t) {
    std::printf("%-28s %6lld loop steps, %8lld system-steps in %7.3f s: %9.0f system-steps/s\n", what,
                static_cast<long long>(t.loop_steps), static_cast<long long>(t.work), t.seconds,
                static_cast<double>(t.work) / t.seconds);
  };
  show("one batch per stage:", seq);
  show("FusedStage:", fus);
  show("FusedStage + inflight (n/4):", inf);
  const double base = static_cast<double>(seq.work) / seq.seconds;
  std::printf("fused / one-batch-per-stage throughput: %.2fx\n", static_cast<double>(fus.work) / fus.seconds / base);
  std::printf("fused+inflight / one-batch-per-stage:  %.2fx\n", static_cast<double>(inf.work) / inf.seconds / base);
  return seq.work == fus.work && fus.work == inf.work ? 0 : 1;
}
