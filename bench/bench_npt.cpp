// SPDX-License-Identifier: Apache-2.0
// bench_npt: the cost of a pressure-controlled step against an NVT step on the same systems —
// the periodic boxes of the default job (8 argon liquids of 108 and 8 of 256 atoms, LJ 8.5 Å),
// run side by side: each integrator in turn for --steps steps, --reps rounds, best round kept.
// Prints ms per step, the ratio to Nosé–Hoover NVT and neighbor-list builds per step.
//   bench_npt [--steps N] [--reps R] [--threads T]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "batchmd/app/config.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/dynamics/integrators.hpp"
#include "batchmd/dynamics/npt.hpp"
#include "batchmd/dynamics/units.hpp"
#include "batchmd/model/lennard_jones.hpp"

using namespace batchmd;

namespace {

Batch default_boxes() {
  const std::string job = R"(
[[liquid]]
count = 8
cells = 3
density_g_cm3 = 1.40
temperature_K = 94.0
[[liquid]]
count = 8
cells = 4
density_g_cm3 = 1.40
temperature_K = 94.0
)";
  return app::build_systems(app::parse_config(job, "bench_npt"));
}

struct Case {
  std::string name;
  std::function<std::shared_ptr<dynamics::Dynamics>(std::shared_ptr<model::Model>)> make;
  double best_ms = 1e300;
  double builds_per_step = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::int64_t steps = 200, reps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--steps")
      steps = std::stoll(argv[i + 1]);
    else if (a == "--reps")
      reps = std::stoll(argv[i + 1]);
    else if (a == "--threads")
      set_num_threads(std::stoi(argv[i + 1]));
  }
  const double dt = 2.0, t = 94.0, p = 200 * units::kBar;
  std::vector<Case> cases;
  cases.push_back(
      {"nvt_nose_hoover", [&](auto m) { return std::make_shared<dynamics::NoseHooverChain>(m, dt, t, 100.0); }});
  cases.push_back({"nvt_langevin", [&](auto m) { return std::make_shared<dynamics::Langevin>(m, dt, t, 0.01, 1); }});
  for (auto mode : {dynamics::CellMode::Isotropic, dynamics::CellMode::Full})
    cases.push_back({"npt_mtk " + dynamics::cell_mode_name(mode), [=](auto m) {
                       dynamics::MTKConfig c;
                       c.temperature_K = t;
                       c.pressure = p;
                       c.mode = mode;
                       return std::make_shared<dynamics::MTKNPT>(m, dt, c);
                     }});
  cases.push_back({"npt_csr", [&](auto m) {
                     dynamics::CSRConfig c;
                     c.temperature_K = t;
                     c.pressure = p;
                     c.compressibility = 2e-4;
                     return std::make_shared<dynamics::StochasticCellRescaling>(m, dt, c);
                   }});
  Batch start = default_boxes();
  std::printf("bench_npt: %lld systems, %lld atoms, %d threads, %lld steps x %lld rounds\n",
              static_cast<long long>(start.n_systems()), static_cast<long long>(start.n_atoms()), num_threads(),
              static_cast<long long>(steps), static_cast<long long>(reps));
  for (std::int64_t r = 0; r < reps; ++r)
    for (Case& c : cases) {
      Batch b = start.clone();
      model::LJConfig lc;
      lc.skin = 1.0;
      auto lj = std::make_shared<model::LennardJones>(lc);
      auto dyn = c.make(lj);
      dyn->run(b, 10);  // warm: lists built, buffers sized
      const auto b0 = lj->neighbor_builds();
      const auto t0 = std::chrono::steady_clock::now();
      dyn->run(b, steps);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      c.best_ms = std::min(c.best_ms, ms / static_cast<double>(steps));
      c.builds_per_step = static_cast<double>(lj->neighbor_builds() - b0) / static_cast<double>(steps);
    }
  const double base = cases[0].best_ms;
  std::printf("%-22s %10s %8s %14s\n", "integrator", "ms/step", "ratio", "builds/step");
  for (const Case& c : cases)
    std::printf("%-22s %10.3f %8.2f %14.2f\n", c.name.c_str(), c.best_ms, c.best_ms / base, c.builds_per_step);
  return 0;
}
