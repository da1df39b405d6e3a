// SPDX-License-Identifier: Apache-2.0
// app/run: `batchmd run` — builds (or restores) the systems, runs the dynamics with a Zarr
// trajectory sink, and prints progress and a summary (throughput, energy drift per system,
// snapshots and where they went). The trajectory stores are taken (writer lock) before anything
// is computed, so a second run to the same path fails at once; SIGINT and SIGTERM stop the run
// cleanly (hooks closed, end state recorded; exit 130 / 143), a second signal stops it at once.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <ctime>
#include <filesystem>

#include "batchmd/app/commands.hpp"
#include "batchmd/app/config.hpp"
#include "batchmd/app/element_check.hpp"
#include "batchmd/app/limits.hpp"
#include "batchmd/app/structure_job.hpp"
#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/core/progress.hpp"
#include "batchmd/dynamics/convergence.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/dynamics/fused.hpp"
#include "batchmd/dynamics/inflight.hpp"
#include "batchmd/dynamics/integrators.hpp"
#include "batchmd/dynamics/units.hpp"
#include "batchmd/hooks/hooks.hpp"
#include "batchmd/hooks/snapshot.hpp"
#include "batchmd/model/lennard_jones.hpp"
#include "batchmd/mpi/session.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "batchmd/zarr/group.hpp"
#include "inflight_job.hpp"
#include "pressure_stage.hpp"

namespace batchmd::app {

namespace {

// The first SIGINT/SIGTERM asks the step loop to stop after the current step; a second one
// restores the default action and re-raises it (the store stays consistent: see ZarrData).
std::atomic<int> g_stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "used from a signal handler");
extern "C" void on_stop_signal(int sig) {
  if (g_stop_signal.load() != 0) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_stop_signal.store(sig);
}

/// Installs the stop handlers for its lifetime.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    old_int_ = std::signal(SIGINT, on_stop_signal);
    old_term_ = std::signal(SIGTERM, on_stop_signal);
  }
  ~StopSignals() {
    std::signal(SIGINT, old_int_);
    std::signal(SIGTERM, old_term_);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  void (*old_int_)(int) = SIG_DFL;
  void (*old_term_)(int) = SIG_DFL;
};

/// A host copy of one field (for summaries of a batch that may live on a GPU).
Tensor host_field(const Batch& b, std::string_view name) { return b.get(name).to(Device::cpu()); }

std::vector<double> total_energy(const Batch& b) {
  auto e = dynamics::kinetic_energy(b);
  const Tensor energy = host_field(b, "energy");
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* pe = energy.data<T>();
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
  w.commit_interval = cfg.commit_interval_s;
  w.append = append;
  for (const auto& [field, p] : cfg.precision) w.fields[field].precision = p;
  return w;
}

std::shared_ptr<dynamics::Dynamics> make_stage(const StageSpec& st, const RunConfig& cfg,
                                               const std::shared_ptr<model::Model>& model, std::size_t index) {
  const double dt = st.dt_fs > 0 ? st.dt_fs : cfg.dt_fs;
  std::shared_ptr<dynamics::Dynamics> d;
  if (st.type == "fire") {
    dynamics::FIREConfig f;
    f.max_step = st.max_step;
    d = std::make_shared<dynamics::FIRE>(model, dt, f);
  } else if (st.type == "fire2") {
    dynamics::FIRE2Config f;
    f.max_step = st.max_step;
    d = std::make_shared<dynamics::FIRE2>(model, dt, f);
  } else if (st.type == "nvt_langevin") {
    d = std::make_shared<dynamics::Langevin>(model, dt, st.temperature_K, st.friction_per_fs,
                                             cfg.seed * 7919ULL + static_cast<std::uint64_t>(index));
  } else if (st.type == "nvt_nose_hoover") {
    d = std::make_shared<dynamics::NoseHooverChain>(model, dt, st.temperature_K, st.tau_fs, st.chain_length);
  } else if (st.type == "npt_mtk" || st.type == "npt_csr" || st.type == "fire_cell") {
    d = make_pressure_stage(st, dt, model, cfg.seed * 7919ULL + static_cast<std::uint64_t>(index));
  } else {
    d = std::make_shared<dynamics::DemoDynamics>(model, dt);
  }
  std::vector<dynamics::Convergence> all;
  if (st.fmax > 0) all.push_back(dynamics::Convergence::fmax(st.fmax));
  if (st.energy_change > 0) all.push_back(dynamics::Convergence::energy_change(st.energy_change));
  std::optional<dynamics::Convergence> crit;
  if (!all.empty()) crit = all.size() == 1 ? all[0] : dynamics::Convergence::all_of(all);
  if (st.stress_tol_bar > 0 && st.type == "fire_cell") {
    const auto stress = dynamics::Convergence::stress(st.stress_tol_bar * units::kBar);
    crit = crit ? (*crit & stress) : stress;
  }
  if (st.max_steps > 0)
    crit = crit ? (*crit | dynamics::Convergence::steps(st.max_steps)) : dynamics::Convergence::steps(st.max_steps);
  if (crit) d->set_convergence(*crit);
  return d;
}

/// Whether a Zarr store exists at url (without creating anything for a local path).
bool store_exists(const std::string& url) {
  if (url.find("://") == std::string::npos || url.starts_with("file://")) {
    const std::string path = url.starts_with("file://") ? url.substr(7) : url;
    return std::filesystem::exists(path);
  }
  return zarr::find_node(*zarr::open_store(url), "").has_value();
}

std::string relaxed_url(const std::string& url) {
  if (url.size() > 5 && url.ends_with(".zarr")) return url.substr(0, url.size() - 5) + ".relaxed.zarr";
  return url + ".relaxed";
}

}  // namespace

int run_command(const RunOptions& opts, std::FILE* out) {
  if (opts.output && opts.output->empty())
    throw InvalidArgument("-o/--output: empty store path; give a path or a file://, memory://, s3:// or gs:// URL");
  if (opts.restart && opts.restart->empty()) throw InvalidArgument("--restart: empty store path");
  check_structure_options(opts);  // --structures / --model with --restart: refused before any store opens
  const StopSignals stop_signals;
  // One rank unless mpirun started several: then this process runs its share of the systems and
  // rank 0 writes the store and prints (docs/mpi.md).
  mpi::Session session = mpi::Session::start();
  session.set_stop_check([] { return g_stop_signal.load() != 0; });
  out = session.output(out);
  // ---- the job: from the config file, the restart store, or the embedded default
  std::optional<sinks::TrajectoryReader> restart;
  if (opts.restart) restart.emplace(*opts.restart);
  RunConfig cfg;
  std::string job_name;
  if (!opts.structures.empty() || opts.model) {
    cfg = structure_job(opts, job_name);  // --structures / --model: app/structure_job
  } else if (!opts.config_path.empty()) {
    cfg = load_config(opts.config_path);
    job_name = opts.config_path;
  } else if (restart) {
    const auto attrs = restart->batchmd_attributes();
    if (!attrs.contains("config_toml") || !attrs["config_toml"].is_string())
      throw InvalidArgument(*opts.restart +
                            ": the store records no job (it was not written by batchmd run); "
                            "pass the job file as well: batchmd run JOB.toml --restart " +
                            *opts.restart);
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
    if (*opts.dtype != "float32" && *opts.dtype != "float64")
      throw InvalidArgument("--dtype must be float32 or float64");
    cfg.dtype = *opts.dtype;
  }
  if (opts.threads) {
    if (*opts.threads < 1) throw InvalidArgument("--threads must be >= 1");
    cfg.threads = *opts.threads;
  }
  check_job_limits(cfg);  // threads, atoms, neighbours, memory: refused before anything is allocated
  if (cfg.threads > 0)
    set_num_threads(cfg.threads);
  else if (session.distributed())
    set_num_threads(session.default_threads());  // the host's CPUs shared
  if (opts.device) cfg.device = *opts.device;
  // auto: the first GPU when one is usable; an explicit cuda device that is not usable is an error.
  const Device device = cfg.device == "auto" ? session.default_device() : Device::parse(cfg.device);
  cuda::require(device);

  // ---- trajectory stores: taken before anything is computed, so that a second writer to the
  // same path is refused at once (zarr/lock.hpp)
  if (cfg.stages.empty()) cfg.stages.push_back(StageSpec{});  // plain NVE
  if (opts.mpi_pipeline) session.enable_pipeline(static_cast<int>(cfg.stages.size()));
  // Inflight batching ([run] inflight_slots): systems on their own clocks, slots refilled as they end.
  const bool inflight = cfg.inflight_slots > 0;
  if (inflight && opts.mpi_pipeline)
    throw InvalidArgument(
        "[run] inflight_slots and --mpi-pipeline do not go together: the pipeline moves systems between "
        "stage groups itself; set inflight_slots = 0 or run without --mpi-pipeline");
  std::string url = opts.output ? *opts.output : !cfg.output.empty() ? cfg.output : "";
  const bool append = restart && (url.empty() || url == *opts.restart);
  if (append) url = *opts.restart;
  if (url.empty()) url = default_output();
  // One writer per store: rank 0 (the other ranks' samples reach it through the snapshot hook).
  auto sink =
      session.is_root() ? std::make_shared<sinks::ZarrData>(url, cfg.capacity, write_config(cfg, append)) : nullptr;
  std::shared_ptr<sinks::ZarrData> relaxed;
  std::string relaxed_path;
  const bool converged_store = cfg.hooks.converged_snapshots && cfg.stages.size() > 1;
  if (converged_store && session.is_root()) {
    relaxed_path = relaxed_url(url);
    auto rc = write_config(cfg, append && store_exists(relaxed_path));
    relaxed = std::make_shared<sinks::ZarrData>(relaxed_path, cfg.capacity, rc);
  }
  if (restart) restart->refresh();  // a writer may have committed more before we took the store
  if (restart)
    for (const auto& f : restart->fields())
      if (f.codecs.starts_with("fixedscaleoffset"))
        throw InvalidArgument(*opts.restart + ": field '" + f.name +
                              "' is stored at a fixed precision ([output] precision); a restart needs exact values");

  // ---- systems
  Batch batch;
  std::int64_t start_step = 0;
  std::optional<Batch> restart_rows;  // inflight: each system's last recorded row
  if (restart && inflight) {
    // Systems were recorded at different steps (each on its own clock): every system's last row
    // (none: a run killed before its first commit; every system starts afresh).
    restart_rows = restart->num_samples() > 0 ? sinks::last_snapshot_per_system(*restart) : Batch();
    if (restart_rows->n_systems() > 0 && std::string(dtype_name(restart_rows->float_dtype())) != cfg.dtype)
      throw InvalidArgument(*opts.restart + ": the trajectory is " +
                            std::string(dtype_name(restart_rows->float_dtype())) + " but the job asks for " +
                            cfg.dtype);
    batch = build_systems(cfg);  // the job's systems: those without a row start from here
  } else if (restart) {
    batch = sinks::last_snapshot_per_system(*restart);
    if (!batch.has("step")) throw InvalidArgument(*opts.restart + ": samples have no step field; cannot restart");
    const auto* st = batch.get("step").data<std::int64_t>();
    start_step = *std::max_element(st, st + batch.n_systems());
    for (std::int64_t s = 0; s < batch.n_systems(); ++s)
      if (st[s] != start_step)
        throw InvalidArgument(*opts.restart + ": systems were last recorded at different steps (" +
                              std::to_string(st[s]) + " and " + std::to_string(start_step) +
                              "); cannot restart them together");
    if (std::string(dtype_name(batch.float_dtype())) != cfg.dtype)
      throw InvalidArgument(*opts.restart + ": the trajectory is " + std::string(dtype_name(batch.float_dtype())) +
                            " but the job asks for " + cfg.dtype);
  } else {
    batch = build_systems(cfg);
  }
  const Tensor pbc_host = host_field(batch, "pbc");
  const std::int64_t n_atoms_all = batch.n_atoms();
  std::shared_ptr<model::Model> model = build_model(cfg.model, cfg.lj);
  // An element the potential lacks is refused here, before anything runs (app/element_check).
  check_model_elements(batch, *model, cfg, !restart || inflight);
  // This rank's systems (all of them for one). Inflight: every rank holds the whole job, since rank 0
  // may hand any system to any rank.
  if (!inflight) batch = session.local_share(std::move(batch), model->cutoff());
  if (!device.is_cpu() && !inflight) batch = batch.to(device);  // inflight: loaded into slots from the host

  // ---- model, dynamics, trajectory
  if (cfg.stages.empty()) cfg.stages.push_back(StageSpec{});  // plain NVE
  std::vector<std::shared_ptr<dynamics::Dynamics>> stages;
  for (std::size_t k = 0; k < cfg.stages.size(); ++k) stages.push_back(make_stage(cfg.stages[k], cfg, model, k));
  std::shared_ptr<dynamics::Dynamics> dyn_ptr =
      stages.size() == 1 ? stages[0] : std::make_shared<dynamics::FusedStage>(stages);
  dynamics::Dynamics& dyn = *dyn_ptr;
  dyn.set_step_count(start_step);
  std::optional<InflightJob> job;
  std::shared_ptr<dynamics::WorkQueue> queue;
  if (inflight) {
    job = plan_inflight(std::move(batch), restart_rows ? &*restart_rows : nullptr, cfg.steps, dyn.tracks_status(),
                        dyn.final_status(), opts.restart.value_or(""));
    batch = Batch();
    queue = session.inflight_queue(job->order, cfg.inflight_slots, sink);  // distributed: rank 0 hands them out
  }
  const bool pure_nve = cfg.stages.size() == 1 && cfg.stages[0].type == "velocity_verlet";
  if (sink)
    sink->set_run_attributes({{"config_toml", cfg.source_toml}, {"dt_fs", cfg.dt_fs}, {"model", model->name()}});
  const auto& hk = cfg.hooks;
  std::shared_ptr<hooks::ProfilerHook> profiler;
  if (hk.profile) {
    profiler = std::make_shared<hooks::ProfilerHook>(/*synchronize_gpu=*/!device.is_cpu());  // GPU times
    profiler->attach(dyn);
  }
  if (hk.wrap) dyn.register_hook(std::make_shared<hooks::WrapPeriodicHook>());
  if (hk.max_force > 0) dyn.register_hook(std::make_shared<hooks::MaxForceClampHook>(hk.max_force));
  if (hk.nan_check) dyn.register_hook(std::make_shared<hooks::NaNDetectorHook>());
  if (hk.energy_drift > 0)
    dyn.register_hook(std::make_shared<hooks::EnergyDriftMonitorHook>(
        hk.energy_drift, hk.energy_drift_action == "stop" ? hooks::DriftAction::Stop : hooks::DriftAction::Warn));
  if (!hk.log_csv.empty())
    dyn.register_hook(std::make_shared<hooks::LoggingHook>(session.per_rank_path(hk.log_csv), hk.log_every));
  // Inflight runs record rows at each system's own steps (dynamics::InflightSlots) instead.
  if (!inflight) dyn.register_hook(session.snapshot_hook(sink, {cfg.snapshot_every, cfg.final_snapshot}));
  if (converged_store) {  // other ranks send their converged systems to rank 0's store
    dyn.register_hook(std::make_shared<hooks::ConvergedSnapshotHook>(session.converged_sink(relaxed)));
  }

  const std::int64_t n_sys = pbc_host.rows();  // the whole job's (a rank holds its share)
  const bool* pbc = pbc_host.data<bool>();
  std::int64_t periodic = 0;
  for (std::int64_t s = 0; s < n_sys; ++s) periodic += (pbc[3 * s] || pbc[3 * s + 1] || pbc[3 * s + 2]) ? 1 : 0;
  std::fprintf(out, "batchmd run: %s%s\n", job_name.c_str(),
               restart ? (", restarting at step " + std::to_string(start_step)).c_str() : "");
  const std::string where =
      device.is_cpu() ? "cpu (" + std::to_string(num_threads()) + " threads" +
                            (cfg.device == "auto" ? "; no GPU: " + cuda::unavailable_reason() : std::string()) + ")"
                      : device.str() + " (" + cuda::device_name(device.index) + ")";
  const std::string ranks = session.distributed() ? " x " + std::to_string(session.size()) + " MPI ranks" : "";
  std::fprintf(out, "  %lld systems (%lld periodic, %lld open), %lld atoms, %s, %s on %s\n",
               static_cast<long long>(n_sys), static_cast<long long>(periodic),
               static_cast<long long>(n_sys - periodic), static_cast<long long>(n_atoms_all),
               dtype_name(batch.float_dtype()).data(), model->name().c_str(), (where + ranks).c_str());
  std::fprintf(out, "  %s, %lld steps of %g fs, snapshot every %lld steps -> %s\n", dyn.name().c_str(),
               static_cast<long long>(cfg.steps), cfg.dt_fs, static_cast<long long>(cfg.snapshot_every), url.c_str());
  if (relaxed) std::fprintf(out, "  relaxed structures -> %s\n", relaxed_path.c_str());
  if (inflight) {
    std::fprintf(out, "  inflight batching: %lld slots, each system up to step %lld; %lld systems to run",
                 static_cast<long long>(cfg.inflight_slots), static_cast<long long>(cfg.steps),
                 static_cast<long long>(job->order.size()));
    if (restart)
      std::fprintf(out, " (%lld continue from their last row, %lld had ended)", static_cast<long long>(job->resumed),
                   static_cast<long long>(job->ended_before));
    if (session.distributed()) std::fprintf(out, "; rank 0 hands them out as slots free up");
    std::fprintf(out, "\n");
  }
  std::fflush(out);

  if (inflight) {
    // nothing to prepare: InflightSlots loads, starts and prepares the systems as slots free up
  } else if (restart) {
    dyn.assume_forces_current();  // stored forces belong to the stored positions
    // The neighbor list the interrupted run had: bitwise continuation. Per atom its reference
    // position (3 values), or after a strain of the cell also its build cell (12; NeighborList::state).
    if (auto st = restart->model_state(start_step); st && n_atoms_all > 0 &&
                                                    (st->size() == static_cast<std::size_t>(3 * n_atoms_all) ||
                                                     st->size() == static_cast<std::size_t>(12 * n_atoms_all)))
      model->restore_state(batch, session.local_slice(*st, static_cast<std::int64_t>(st->size()) / n_atoms_all));
  }
  std::vector<double> e0;
  if (!inflight) {
    dyn.prepare(batch);
    dyn.assume_forces_current();  // run() prepares again: no need to recompute
    e0 = total_energy(batch);
  }

  const std::int64_t to_run = inflight ? static_cast<std::int64_t>(job->order.size()) : cfg.steps;
  // Inflight under mpirun: no bar (rank 0 sees only the systems it ran itself).
  Progress progress(to_run, inflight ? "systems" : "steps", stderr,
                    cfg.progress && !opts.quiet && session.show_progress() && !(inflight && session.distributed()));
  std::optional<dynamics::InflightSlots> slots;
  if (inflight)
    slots.emplace(dyn, *queue, job->load, session.inflight_rows(sink),
                  dynamics::SlotPlan{cfg.inflight_slots, cfg.steps, cfg.snapshot_every, cfg.final_snapshot}, device);
  dyn.set_step_callback([&](std::int64_t done) {
    progress.update(slots ? slots->ended() : done);
    return g_stop_signal.load() == 0;
  });
  std::int64_t taken = inflight ? slots->run() : session.run(dyn, batch, cfg.steps);
  if (inflight) session.inflight_finish(g_stop_signal.load() != 0);  // rank 0 serves the others until done
  const int stop_signal = g_stop_signal.load();
  const bool interrupted = stop_signal != 0 && (inflight ? slots->stopped() : taken < cfg.steps);
  if (interrupted)
    std::fprintf(stderr, "\n%s after %lld steps; the trajectory holds everything up to here\n",
                 stop_signal == SIGTERM ? "terminated (SIGTERM)" : "interrupted", static_cast<long long>(taken));
  else
    progress.finish();
  const double secs = progress.elapsed_s();
  // Several ranks: the whole job's systems, energies and model state on rank 0, which prints the
  // summary and writes the model state; the other ranks are done (collectives: every rank).
  taken = session.max(taken);
  std::vector<double> work;  // inflight: system-steps and atom-steps of every rank
  if (inflight) {
    batch = session.gather_inflight(slots->results(&e0), e0);  // every system that ran, by system id
    work =
        session.gather_values({static_cast<double>(slots->system_steps()), static_cast<double>(slots->atom_steps())});
  } else {
    e0 = session.gather_values(e0);
    batch = session.gather_batch(std::move(batch));
  }
  const std::int64_t end_step = session.end_step(dyn.step_count());
  // Inflight: systems end at different steps; a restart rebuilds the lists (bitwise for skin = 0).
  const bool keep_state = cfg.final_snapshot && session.keeps_model_state() && !inflight;
  const std::vector<double> model_state = keep_state ? session.gather_values(model->state()) : std::vector<double>();
  const int exit_code = session.agree_exit_code(interrupted ? 128 + stop_signal : 0);  // 130 SIGINT, 143 SIGTERM
  if (!session.is_root()) return exit_code;

  if (batch.n_systems() == 0) {  // inflight: nothing left to run (a restart of an ended job)
    std::fprintf(out, "\nSummary\n  no system had steps left (every system of the job has ended)\n");
    sink->flush();
    return exit_code;
  }
  const auto e1 = total_energy(batch);
  const auto* ap = batch.atoms_ptr_data();
  const Tensor ids_host = host_field(batch, "system_id");
  const auto* ids = ids_host.data<std::int64_t>();
  // The systems summarised: the whole job, or (inflight) those that ran in this process.
  const Tensor pbc_end = host_field(batch, "pbc");
  const std::int64_t n_end = batch.n_systems();
  pbc = pbc_end.data<bool>();
  std::fprintf(out, "\nSummary\n");
  double atom_steps = double(taken * batch.n_atoms()), system_steps = double(taken * n_sys);
  if (inflight) {
    atom_steps = system_steps = 0;
    for (std::size_t k = 0; k + 1 < work.size(); k += 2) {
      system_steps += work[k];
      atom_steps += work[k + 1];
    }
  }
  std::fprintf(out, "  steps: %lld in %.2f s = %.1f steps/s, %.3g atom-steps/s, %.3g system-steps/s\n",
               static_cast<long long>(taken), secs, static_cast<double>(taken) / secs, atom_steps / secs,
               system_steps / secs);
  std::fprintf(out, "  neighbor-list builds: %lld\n", static_cast<long long>(neighbor_builds(*model)));
  if (pure_nve) {
    std::vector<double> drift;
    for (std::int64_t s = 0; s < n_end; ++s) {
      const auto i = static_cast<std::size_t>(s);
      drift.push_back(std::abs(e1[i] - e0[i]) / std::max(std::abs(e0[i]), 1e-30));
    }
    std::vector<double> sorted = drift;
    std::sort(sorted.begin(), sorted.end());
    const auto worst = static_cast<std::int64_t>(std::max_element(drift.begin(), drift.end()) - drift.begin());
    std::fprintf(out, "  relative total-energy drift |E(end)-E(0)|/|E(0)|: median %.2e, max %.2e (system %lld)\n",
                 sorted[sorted.size() / 2], drift[static_cast<std::size_t>(worst)], static_cast<long long>(ids[worst]));
    std::fprintf(out, "  %6s %8s %6s %14s %14s %10s\n", "system", "kind", "atoms", "E(0) eV", "E(end) eV", "drift");
    for (std::int64_t s = 0; s < n_end; ++s) {
      const auto i = static_cast<std::size_t>(s);
      const bool per = pbc[3 * s] || pbc[3 * s + 1] || pbc[3 * s + 2];
      std::fprintf(out, "  %6lld %8s %6lld %14.6f %14.6f %10.2e\n", static_cast<long long>(ids[s]),
                   per ? "periodic" : "cluster", static_cast<long long>(ap[s + 1] - ap[s]), e0[i], e1[i], drift[i]);
    }
  } else {
    const auto temp = dynamics::temperature(batch);
    const auto ke = dynamics::kinetic_energy(batch);
    const auto fmax = dynamics::max_force(batch);
    const Tensor status_host = batch.has("status") ? host_field(batch, "status") : Tensor();
    const auto* status = batch.has("status") ? status_host.data<std::int32_t>() : nullptr;
    std::vector<std::int64_t> per_stage(cfg.stages.size() + 1, 0);
    for (std::int64_t s = 0; s < n_end; ++s)
      ++per_stage[std::min<std::size_t>(status ? static_cast<std::size_t>(status[s]) : 0, cfg.stages.size())];
    std::fprintf(out, "  systems per stage:");
    for (std::size_t k = 0; k < cfg.stages.size(); ++k)
      std::fprintf(out, " %s %lld,", cfg.stages[k].type.c_str(), static_cast<long long>(per_stage[k]));
    std::fprintf(out, " finished %lld\n", static_cast<long long>(per_stage.back()));
    std::fprintf(out, "  %6s %8s %6s %16s %14s %10s %12s\n", "system", "kind", "atoms", "stage", "E_pot eV", "T K",
                 "fmax eV/A");
    for (std::int64_t s = 0; s < n_end; ++s) {
      const auto i = static_cast<std::size_t>(s);
      const bool per = pbc[3 * s] || pbc[3 * s + 1] || pbc[3 * s + 2];
      const std::size_t st = std::min<std::size_t>(status ? static_cast<std::size_t>(status[s]) : 0, cfg.stages.size());
      const double epot = e1[i] - ke[i];
      std::fprintf(out, "  %6lld %8s %6lld %16s %14.6f %10.1f %12.2e\n", static_cast<long long>(ids[s]),
                   per ? "periodic" : "cluster", static_cast<long long>(ap[s + 1] - ap[s]),
                   st < cfg.stages.size() ? cfg.stages[st].type.c_str() : "finished", epot, temp[i], fmax[i]);
    }
  }
  if (profiler) std::fprintf(out, "%s", profiler->report().c_str());
  if (keep_state && end_step > 0) sink->write_model_state(end_step, model_state);
  sink->flush();
  if (const auto handed = session.inflight_handed_out(); !handed.empty()) {
    std::fprintf(out, "  systems handed out per rank:");
    for (const std::int64_t h : handed) std::fprintf(out, " %lld", static_cast<long long>(h));
    std::fprintf(out, "\n");
  }
  if (inflight)
    std::fprintf(out, "  inflight: %lld systems ran, their rows once each: %lld samples in %s\n",
                 static_cast<long long>(batch.n_systems()), static_cast<long long>(sink->size()), url.c_str());
  else
    std::fprintf(out, "  snapshots: %lld taken, %lld samples in %s\n",
                 static_cast<long long>(session.snapshots_written()), static_cast<long long>(sink->size()),
                 url.c_str());
  if (relaxed) {
    relaxed->flush();
    std::fprintf(out, "  relaxed structures: %lld in %s\n", static_cast<long long>(relaxed->size()),
                 relaxed_path.c_str());
  }
  std::fprintf(out, "  continue with: batchmd run --restart %s --steps N\n", url.c_str());
  return exit_code;
}

}  // namespace batchmd::app
