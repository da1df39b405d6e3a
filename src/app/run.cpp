// app/run: `batchmd run` — builds the systems, runs the dynamics with a snapshot sink and
// prints progress and a summary (throughput, energy drift per system, snapshots taken).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>

#include "batchmd/app/commands.hpp"
#include "batchmd/app/config.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/core/progress.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/hooks/snapshot.hpp"
#include "batchmd/model/lennard_jones.hpp"

namespace batchmd::app {

namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted.store(true); }

class Interrupted : public Error {
 public:
  Interrupted() : Error("interrupted by signal") {}
};

std::vector<double> total_energy(const Batch& b) {
  auto e = dynamics::kinetic_energy(b);
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* pe = b.get("energy").data<T>();
    for (std::size_t s = 0; s < e.size(); ++s) e[s] += double(pe[s]);
  });
  return e;
}

}  // namespace

int run_command(const RunOptions& opts, std::FILE* out) {
  RunConfig cfg = opts.config_path.empty() ? parse_config(kDefaultConfigToml, "<default config>")
                                           : load_config(opts.config_path);
  if (opts.steps) {
    if (*opts.steps < 0) throw InvalidArgument("--steps must be >= 0");
    cfg.steps = *opts.steps;
  }
  if (opts.dtype) {
    if (*opts.dtype != "float32" && *opts.dtype != "float64") throw InvalidArgument("--dtype must be float32 or float64");
    cfg.dtype = *opts.dtype;
  }
  if (opts.threads) cfg.threads = *opts.threads;
  if (cfg.threads > 0) set_num_threads(cfg.threads);

  Batch batch = build_systems(cfg);
  auto model = std::make_shared<model::LennardJones>(cfg.lj);
  dynamics::DemoDynamics dyn(model, cfg.dt_fs);
  const std::int64_t n_sys = batch.n_systems();
  const std::int64_t n_snap = cfg.steps == 0 ? 0 : (cfg.steps - 1) / cfg.snapshot_every + 1;
  const std::int64_t capacity = cfg.capacity > 0 ? cfg.capacity : std::max<std::int64_t>(1, n_snap * n_sys);
  auto sink = std::make_shared<sinks::HostMemory>(capacity);
  auto snap = std::make_shared<hooks::SnapshotHook>(sink, cfg.snapshot_every);
  dyn.register_hook(snap);

  std::int64_t periodic = 0;
  for (const auto& l : cfg.liquids) periodic += l.count;
  std::fprintf(out, "batchmd run: %s\n", opts.config_path.empty() ? "embedded default job" : opts.config_path.c_str());
  std::fprintf(out, "  %lld systems (%lld periodic, %lld open), %lld atoms, %s, %s on cpu (%d threads)\n",
               static_cast<long long>(n_sys), static_cast<long long>(periodic), static_cast<long long>(n_sys - periodic),
               static_cast<long long>(batch.n_atoms()), cfg.dtype.c_str(), model->name().c_str(), num_threads());
  std::fprintf(out, "  %s NVE, %lld steps of %g fs, snapshot every %lld steps\n", dyn.name().c_str(),
               static_cast<long long>(cfg.steps), cfg.dt_fs, static_cast<long long>(cfg.snapshot_every));
  std::fflush(out);

  dyn.prepare(batch);
  const auto e0 = total_energy(batch);

  Progress progress(cfg.steps, "steps", stderr, cfg.progress && !opts.quiet);
  dyn.set_step_callback([&](std::int64_t done) {
    progress.update(done);
    if (g_interrupted.load()) throw Interrupted();
  });
  g_interrupted = false;
  auto old_handler = std::signal(SIGINT, on_sigint);
  std::int64_t taken = 0;
  bool interrupted = false;
  try {
    taken = dyn.run(batch, cfg.steps);
    progress.finish();
  } catch (const Interrupted&) {
    interrupted = true;
    taken = dyn.step_count();
    std::fprintf(stderr, "\ninterrupted after %lld steps; snapshots written so far are kept\n",
                 static_cast<long long>(taken));
  } catch (...) {
    std::signal(SIGINT, old_handler);
    throw;
  }
  std::signal(SIGINT, old_handler);
  const double secs = progress.elapsed_s();

  const auto e1 = total_energy(batch);
  const auto* ap = batch.atoms_ptr_data();
  std::vector<std::pair<double, std::int64_t>> drift;
  for (std::int64_t s = 0; s < n_sys; ++s) {
    const auto i = static_cast<std::size_t>(s);
    drift.emplace_back(std::abs(e1[i] - e0[i]) / std::max(std::abs(e0[i]), 1e-30), s);
  }
  std::vector<double> sorted;
  for (auto& d : drift) sorted.push_back(d.first);
  std::sort(sorted.begin(), sorted.end());
  const auto worst = *std::max_element(drift.begin(), drift.end());

  std::fprintf(out, "\nSummary\n");
  std::fprintf(out, "  steps: %lld in %.2f s = %.1f steps/s, %.3g atom-steps/s, %.3g system-steps/s\n",
               static_cast<long long>(taken), secs, static_cast<double>(taken) / secs,
               static_cast<double>(taken * batch.n_atoms()) / secs, static_cast<double>(taken * n_sys) / secs);
  std::fprintf(out, "  neighbor-list builds: %lld\n", static_cast<long long>(model->neighbor_builds()));
  std::fprintf(out, "  relative total-energy drift |E(end)-E(0)|/|E(0)|: median %.2e, max %.2e (system %lld)\n",
               sorted[sorted.size() / 2], worst.first, static_cast<long long>(worst.second));
  std::fprintf(out, "  %6s %8s %6s %14s %14s %10s\n", "system", "kind", "atoms", "E(0) eV", "E(end) eV", "drift");
  for (std::int64_t s = 0; s < n_sys; ++s) {
    const auto i = static_cast<std::size_t>(s);
    const bool per = s < periodic;
    std::fprintf(out, "  %6lld %8s %6lld %14.6f %14.6f %10.2e\n", static_cast<long long>(s), per ? "periodic" : "cluster",
                 static_cast<long long>(ap[s + 1] - ap[s]), e0[i], e1[i], drift[i].first);
  }
  std::fprintf(out, "  snapshots: %lld taken, %lld samples in %s (%.1f MB)\n", static_cast<long long>(snap->snapshots()),
               static_cast<long long>(sink->size()), sink->name().c_str(), static_cast<double>(sink->raw_bytes()) / 1e6);
  return interrupted ? 130 : 0;
}

}  // namespace batchmd::app
