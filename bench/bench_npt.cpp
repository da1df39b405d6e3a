// SPDX-License-Identifier: Apache-2.0
// bench_npt: the cost of a pressure-controlled step against an NVT step on the same systems —
// the periodic boxes of the default job (8 argon liquids of 108 and 8 of 256 atoms, LJ 8.5 Å),
// run side by side: each integrator in turn for --steps steps, --reps rounds. Times are the
// process's CPU time (a loaded machine slows the wall clock, not the work), the median round
// reported with the spread (min-max) of its ratio to Nosé–Hoover NVT, and neighbor-list builds
// per step; then the LJ forces alone without and with the stress. "nvt_nose_hoover+stress" is NVT that also has the
// model compute the stress, as every barostat must: NPT against it is the barostat's own cost.
// --device cuda runs the batch on the GPU and times wall-clock ms per step (the GPU's stream
// drained before and after each timed run) instead of CPU time.
// The state point: the boxes start as lattices at the liquid's density, far from equilibrium
// (a lattice start at 1.40 g/cm³ is under ~ -800 bar). Every integrator starts from the same
// liquid, equilibrated first by --equilibrate steps of Nosé–Hoover NVT, and the barostats' target
// is that NVT run's mean pressure over its second half, so NPT and NVT sample the same state and
// the same number of pairs per atom. --equilibrate 0 starts from the lattices with a 200 bar
// target, as this bench did before (the barostats then compress the boxes by 5-10 % towards the
// solid, and their steps carry more pairs than NVT's).
//   bench_npt [--steps N] [--reps R] [--threads T] [--only NAME] [--device cpu|cuda]
//             [--equilibrate N (default 1000)] [--warm N (default 10)]
//   (NAME: one integrator, for a profiler)
#include <time.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "batchmd/app/config.hpp"
#include "batchmd/core/cuda.hpp"
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
  std::vector<double> ms = {};  // per round, CPU ms per step
  double builds_per_step = 0;
  double volume = 0;  // the batch's total volume at the end of the last round, over the start's
};

double total_volume(const Batch& b) {
  const Batch h = b.to(Device::cpu());
  const double* c = h.get("cell").data<double>();
  double v = 0;
  for (std::int64_t s = 0; s < h.n_systems(); ++s, c += 9)
    v += c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) + c[2] * (c[3] * c[7] - c[4] * c[6]);
  return v;
}

// Nosé–Hoover NVT whose model also computes the stress (the cost any barostat adds to the forces).
class NoseHooverWithStress : public dynamics::NoseHooverChain {
 public:
  using NoseHooverChain::NoseHooverChain;
  bool needs_stress() const override { return true; }
};

double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return 1e3 * static_cast<double>(ts.tv_sec) + 1e-6 * static_cast<double>(ts.tv_nsec);
}

bool g_gpu = false;
/// CPU ms of the process, or on a GPU wall ms after draining the compute stream.
double now_ms() {
  if (!g_gpu) return cpu_ms();
  batchmd::cuda::synchronize(batchmd::cuda::compute_stream(0));
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The whole number `text` given to option `opt`, at least `min`; anything else is a clear error.
std::optional<std::int64_t> count_arg(const std::string& opt, const char* text, std::int64_t min) {
  std::int64_t v = 0;
  const char* end = text + std::strlen(text);
  const auto [p, ec] = std::from_chars(text, end, v);
  if (ec != std::errc{} || p != end || v < min) {
    std::fprintf(stderr, "bench_npt: %s must be a whole number >= %lld, got \"%s\"\n", opt.c_str(),
                 static_cast<long long>(min), text);
    return std::nullopt;
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t steps = 200, reps = 3, warm = 10, equilibrate = 1000;
  std::string only;
  for (int i = 1; i < argc; i += 2) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "bench_npt: %s needs a value\n", a.c_str());
      return 2;
    }
    const char* val = argv[i + 1];
    std::optional<std::int64_t> n = 0;
    if (a == "--steps")
      n = count_arg(a, val, 1), steps = n.value_or(0);
    else if (a == "--reps")
      n = count_arg(a, val, 1), reps = n.value_or(0);
    else if (a == "--threads") {
      n = count_arg(a, val, 1);
      if (n) set_num_threads(static_cast<int>(std::min<std::int64_t>(*n, 1024)));
    } else if (a == "--warm")
      n = count_arg(a, val, 0), warm = n.value_or(0);
    else if (a == "--equilibrate")
      n = count_arg(a, val, 0), equilibrate = n.value_or(0);
    else if (a == "--only")
      only = val;
    else if (a == "--device" && (std::string(val) == "cpu" || std::string(val) == "cuda"))
      g_gpu = std::string(val) == "cuda";
    else if (a == "--device") {
      std::fprintf(stderr, "bench_npt: --device must be cpu or cuda, got \"%s\"\n", val);
      return 2;
    } else {
      std::fprintf(stderr,
                   "bench_npt: unknown option \"%s\" (options: --steps --reps --threads --warm "
                   "--equilibrate --only --device)\n",
                   a.c_str());
      return 2;
    }
    if (!n) return 2;
  }
  const double dt = 2.0, t = 94.0;
  Batch start = default_boxes();
  double p = 200 * units::kBar;
  if (equilibrate > 0) {  // the liquid, and its pressure (eV/Å³) as the barostats' target
    model::LJConfig lc;
    lc.skin = 1.0;
    NoseHooverWithStress nvt(std::make_shared<model::LennardJones>(lc), dt, t, 100.0);
    nvt.run(start, equilibrate / 2);
    double sum = 0;
    std::int64_t n = 0;
    for (std::int64_t k = equilibrate / 2; k < equilibrate; k += 10) {
      nvt.run(start, 10);
      for (const double pv : dynamics::pressure(start)) sum += pv, ++n;
    }
    p = sum / static_cast<double>(n);
  }
  std::vector<Case> cases;
  cases.push_back(
      {"nvt_nose_hoover", [&](auto m) { return std::make_shared<dynamics::NoseHooverChain>(m, dt, t, 100.0); }});
  cases.push_back(
      {"nvt_nose_hoover+stress", [&](auto m) { return std::make_shared<NoseHooverWithStress>(m, dt, t, 100.0); }});
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
  if (!only.empty()) {
    const std::string nvt = cases[0].name;  // the reference stays
    std::erase_if(cases, [&](const Case& c) { return c.name != only && c.name != nvt; });
    if (cases.size() == 1 && only != cases[0].name) {
      std::fprintf(stderr, "bench_npt: no integrator named \"%s\"\n", only.c_str());
      return 2;
    }
  }
  if (g_gpu) start = start.to(Device{Device::Kind::CUDA, 0});
  std::printf("bench_npt (%s): %lld systems, %lld atoms, %d threads, %lld steps x %lld rounds\n",
              g_gpu ? "GPU, wall ms" : "CPU, CPU ms", static_cast<long long>(start.n_systems()),
              static_cast<long long>(start.n_atoms()), num_threads(), static_cast<long long>(steps),
              static_cast<long long>(reps));
  std::printf("start: %s; barostat target %.1f bar\n",
              equilibrate > 0 ? ("liquid after " + std::to_string(equilibrate) + " NVT steps").c_str() : "lattices",
              p / units::kBar);
  const double v_start = total_volume(start);
  for (std::int64_t r = 0; r < reps; ++r)
    for (Case& c : cases) {
      Batch b = start.clone();
      model::LJConfig lc;
      lc.skin = 1.0;
      auto lj = std::make_shared<model::LennardJones>(lc);
      auto dyn = c.make(lj);
      dyn->run(b, warm);  // warm: lists built, buffers sized
      const auto b0 = lj->neighbor_builds();
      const double t0 = now_ms();
      dyn->run(b, steps);
      c.ms.push_back((now_ms() - t0) / static_cast<double>(steps));
      c.builds_per_step = static_cast<double>(lj->neighbor_builds() - b0) / static_cast<double>(steps);
      c.volume = total_volume(b) / v_start;
    }
  // Ratios round by round (the cases of one round ran back to back, under the same load).
  std::printf("%-24s %12s %8s %15s %12s %8s\n", "integrator", "ms/step", "ratio", "ratio min-max", "builds/step",
              "V/Vstart");
  for (const Case& c : cases) {
    std::vector<double> r;
    for (std::size_t k = 0; k < c.ms.size(); ++k) r.push_back(c.ms[k] / cases[0].ms[k]);
    std::printf("%-24s %12.3f %8.2f %7.2f-%-7.2f %12.2f %8.3f\n", c.name.c_str(), median(c.ms), median(r),
                *std::min_element(r.begin(), r.end()), *std::max_element(r.begin(), r.end()), c.builds_per_step,
                c.volume);
  }
  // The model's forces alone, without and with the stress, alternating in blocks of 10 calls on
  // the same configuration (list built once): the cost of the virial in the LJ kernel.
  {
    Batch b = start.clone();
    model::LJConfig lc;
    lc.skin = 1.0;
    model::LennardJones lj(lc);
    lj.compute(b, true);
    std::vector<double> plain, with_stress, ratio;
    for (std::int64_t r = 0; r < reps; ++r) {
      double tp = 0, ts = 0;
      for (std::int64_t k = 0; k < steps; k += 10) {
        double t0 = now_ms();
        for (int q = 0; q < 10; ++q) lj.compute(b, false);
        tp += now_ms() - t0;
        t0 = now_ms();
        for (int q = 0; q < 10; ++q) lj.compute(b, true);
        ts += now_ms() - t0;
      }
      const double calls = static_cast<double>((steps + 9) / 10 * 10);
      plain.push_back(tp / calls);
      with_stress.push_back(ts / calls);
      ratio.push_back(ts / tp);
    }
    std::printf("LJ compute: %.3f ms without stress, %.3f with; ratio %.3f (min-max %.3f-%.3f)\n", median(plain),
                median(with_stress), median(ratio), *std::min_element(ratio.begin(), ratio.end()),
                *std::max_element(ratio.begin(), ratio.end()));
  }
  return 0;
}
