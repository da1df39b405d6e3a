// app/run: `batchmd run` — builds (or restores) the systems, runs the dynamics with a Zarr
// trajectory sink, and prints progress and a summary (throughput, energy drift per system,
// snapshots and where they went).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <ctime>
#include <filesystem>

#include "batchmd/app/commands.hpp"
#include "batchmd/app/config.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/core/progress.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/hooks/snapshot.hpp"
#include "batchmd/model/lennard_jones.hpp"
#include "batchmd/sinks/zarr_data.hpp"

namespace batchmd::app {

namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted.store(true); }

std::vector<double> total_energy(const Batch& b) {
  auto e = dynamics::kinetic_energy(b);
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* pe = b.get("energy").data<T>();
    for (std::size_t s = 0; s < e.size(); ++s) e[s] += double(pe[s]);
  });
  return e;
}

std::string default_output() {
  const std::time_t t = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&t));
  std::string base = std::string("batchmd-") + stamp;
  std::string path = base + ".zarr";
  for (int i = 1; std::filesystem::exists(path); ++i) path = base + "-" + std::to_string(i) + ".zarr";
  return path;
}

sinks::ZarrWriteConfig write_config(const RunConfig& cfg, bool append) {
  sinks::ZarrWriteConfig w;
  w.format = cfg.format == "v2" ? zarr::ZarrFormat::V2 : zarr::ZarrFormat::V3;
  w.compressor = zarr::CompressorConfig{cfg.compressor, cfg.level, true, false};
  w.chunk_bytes = cfg.chunk_bytes;
  w.append = append;
  return w;
}

}  // namespace

int run_command(const RunOptions& opts, std::FILE* out) {
  // ---- the job: from the config file, the restart store, or the embedded default
  std::optional<sinks::TrajectoryReader> restart;
  if (opts.restart) restart.emplace(*opts.restart);
  RunConfig cfg;
  std::string job_name;
  if (!opts.config_path.empty()) {
    cfg = load_config(opts.config_path);
    job_name = opts.config_path;
  } else if (restart) {
    const auto attrs = restart->batchmd_attributes();
    if (!attrs.contains("config_toml") || !attrs["config_toml"].is_string())
      throw InvalidArgument(*opts.restart + ": the store records no job (it was not written by batchmd run); "
                            "pass the job file as well: batchmd run JOB.toml --restart " + *opts.restart);
    cfg = parse_config(attrs["config_toml"].get<std::string>(), *opts.restart + " (recorded job)");
    job_name = "job recorded in " + *opts.restart;
  } else {
    cfg = parse_config(kDefaultConfigToml, "<default config>");
    job_name = "embedded default job";
  }
  if (opts.steps) {
    if (*opts.steps < 0) throw InvalidArgument("--steps must be >= 0");
    cfg.steps = *opts.steps;
  }
  if (opts.dtype) {
    if (*opts.dtype != "float32" && *opts.dtype != "float64") throw InvalidArgument("--dtype must be float32 or float64");
    cfg.dtype = *opts.dtype;
  }
  if (opts.threads) {
    if (*opts.threads < 1) throw InvalidArgument("--threads must be >= 1");
    cfg.threads = *opts.threads;
  }
  if (cfg.threads > 0) set_num_threads(cfg.threads);

  // ---- systems
  Batch batch;
  std::int64_t start_step = 0;
  if (restart) {
    batch = sinks::last_snapshot_per_system(*restart);
    if (!batch.has("step")) throw InvalidArgument(*opts.restart + ": samples have no step field; cannot restart");
    const auto* st = batch.get("step").data<std::int64_t>();
    start_step = *std::max_element(st, st + batch.n_systems());
    for (std::int64_t s = 0; s < batch.n_systems(); ++s)
      if (st[s] != start_step)
        throw InvalidArgument(*opts.restart + ": systems were last recorded at different steps (" + std::to_string(st[s]) +
                              " and " + std::to_string(start_step) + "); cannot restart them together");
    if (std::string(dtype_name(batch.float_dtype())) != cfg.dtype)
      throw InvalidArgument(*opts.restart + ": the trajectory is " + std::string(dtype_name(batch.float_dtype())) +
                            " but the job asks for " + cfg.dtype);
  } else {
    batch = build_systems(cfg);
  }

  // ---- model, dynamics, trajectory
  auto model = std::make_shared<model::LennardJones>(cfg.lj);
  dynamics::DemoDynamics dyn(model, cfg.dt_fs);
  dyn.set_step_count(start_step);
  std::string url = opts.output ? *opts.output : !cfg.output.empty() ? cfg.output : "";
  const bool append = restart && (url.empty() || url == *opts.restart);
  if (append) url = *opts.restart;
  if (url.empty()) url = default_output();
  auto sink = std::make_shared<sinks::ZarrData>(url, cfg.capacity, write_config(cfg, append));
  sink->set_run_attributes({{"config_toml", cfg.source_toml}, {"dt_fs", cfg.dt_fs}, {"model", model->name()}});
  auto snap = std::make_shared<hooks::SnapshotHook>(sink, cfg.snapshot_every, cfg.final_snapshot);
  dyn.register_hook(snap);

  const std::int64_t n_sys = batch.n_systems();
  const auto* pbc = batch.get("pbc").data<bool>();
  std::int64_t periodic = 0;
  for (std::int64_t s = 0; s < n_sys; ++s) periodic += (pbc[3 * s] || pbc[3 * s + 1] || pbc[3 * s + 2]) ? 1 : 0;
  std::fprintf(out, "batchmd run: %s%s\n", job_name.c_str(),
               restart ? (", restarting at step " + std::to_string(start_step)).c_str() : "");
  std::fprintf(out, "  %lld systems (%lld periodic, %lld open), %lld atoms, %s, %s on cpu (%d threads)\n",
               static_cast<long long>(n_sys), static_cast<long long>(periodic), static_cast<long long>(n_sys - periodic),
               static_cast<long long>(batch.n_atoms()), dtype_name(batch.float_dtype()).data(), model->name().c_str(),
               num_threads());
  std::fprintf(out, "  %s NVE, %lld steps of %g fs, snapshot every %lld steps -> %s\n", dyn.name().c_str(),
               static_cast<long long>(cfg.steps), cfg.dt_fs, static_cast<long long>(cfg.snapshot_every), url.c_str());
  std::fflush(out);

  if (restart) {
    dyn.assume_forces_current();  // stored forces belong to the stored positions
    if (auto st = restart->model_state(start_step); st && st->size() == static_cast<std::size_t>(3 * batch.n_atoms()))
      model->restore_state(batch, *st);  // the neighbor list the interrupted run had: bitwise continuation
  }
  dyn.prepare(batch);
  dyn.assume_forces_current();  // run() prepares again: no need to recompute
  const auto e0 = total_energy(batch);

  Progress progress(cfg.steps, "steps", stderr, cfg.progress && !opts.quiet);
  dyn.set_step_callback([&](std::int64_t done) {
    progress.update(done);
    return !g_interrupted.load();
  });
  g_interrupted = false;
  auto old_handler = std::signal(SIGINT, on_sigint);
  std::int64_t taken = 0;
  try {
    taken = dyn.run(batch, cfg.steps);
  } catch (...) {
    std::signal(SIGINT, old_handler);
    throw;
  }
  std::signal(SIGINT, old_handler);
  const bool interrupted = g_interrupted.load() && taken < cfg.steps;
  if (interrupted)
    std::fprintf(stderr, "\ninterrupted after %lld steps; the trajectory holds everything up to here\n",
                 static_cast<long long>(taken));
  else
    progress.finish();
  const double secs = progress.elapsed_s();

  const auto e1 = total_energy(batch);
  const auto* ap = batch.atoms_ptr_data();
  const auto* ids = batch.get("system_id").data<std::int64_t>();
  std::vector<double> drift;
  for (std::int64_t s = 0; s < n_sys; ++s) {
    const auto i = static_cast<std::size_t>(s);
    drift.push_back(std::abs(e1[i] - e0[i]) / std::max(std::abs(e0[i]), 1e-30));
  }
  std::vector<double> sorted = drift;
  std::sort(sorted.begin(), sorted.end());
  const auto worst = static_cast<std::int64_t>(std::max_element(drift.begin(), drift.end()) - drift.begin());

  std::fprintf(out, "\nSummary\n");
  std::fprintf(out, "  steps: %lld in %.2f s = %.1f steps/s, %.3g atom-steps/s, %.3g system-steps/s\n",
               static_cast<long long>(taken), secs, static_cast<double>(taken) / secs,
               static_cast<double>(taken * batch.n_atoms()) / secs, static_cast<double>(taken * n_sys) / secs);
  std::fprintf(out, "  neighbor-list builds: %lld\n", static_cast<long long>(model->neighbor_builds()));
  std::fprintf(out, "  relative total-energy drift |E(end)-E(0)|/|E(0)|: median %.2e, max %.2e (system %lld)\n",
               sorted[sorted.size() / 2], drift[static_cast<std::size_t>(worst)], static_cast<long long>(ids[worst]));
  std::fprintf(out, "  %6s %8s %6s %14s %14s %10s\n", "system", "kind", "atoms", "E(0) eV", "E(end) eV", "drift");
  for (std::int64_t s = 0; s < n_sys; ++s) {
    const auto i = static_cast<std::size_t>(s);
    const bool per = pbc[3 * s] || pbc[3 * s + 1] || pbc[3 * s + 2];
    std::fprintf(out, "  %6lld %8s %6lld %14.6f %14.6f %10.2e\n", static_cast<long long>(ids[s]),
                 per ? "periodic" : "cluster", static_cast<long long>(ap[s + 1] - ap[s]), e0[i], e1[i], drift[i]);
  }
  if (cfg.final_snapshot && dyn.step_count() > 0) sink->write_model_state(dyn.step_count(), model->state());
  sink->flush();
  std::fprintf(out, "  snapshots: %lld taken, %lld samples in %s\n", static_cast<long long>(snap->snapshots()),
               static_cast<long long>(sink->size()), url.c_str());
  std::fprintf(out, "  continue with: batchmd run --restart %s --steps N\n", url.c_str());
  return interrupted ? 130 : 0;
}

}  // namespace batchmd::app
