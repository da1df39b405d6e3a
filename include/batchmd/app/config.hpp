// SPDX-License-Identifier: Apache-2.0
// app/config: the run configuration (TOML job file) and its embedded default: every key, its
// valid range, and the parser that enforces them. The structures a job describes are built by
// app/structures; what a job implies in memory is estimated by app/limits.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "batchmd/app/crystal_config.hpp"
#include "batchmd/app/model_config.hpp"
#include "batchmd/app/structure_files.hpp"
#include "batchmd/app/structures.hpp"
#include "batchmd/data/batch.hpp"
#include "batchmd/model/lennard_jones.hpp"

namespace batchmd::app {

/// One stage of the dynamics ([[stage]] tables). Stages run fused: a system that converges in
/// stage k moves to stage k+1; one model evaluation per step serves all of them.
struct StageSpec {
  /// fire, fire2, fire_cell, velocity_verlet, nvt_langevin, nvt_nose_hoover, npt_mtk, npt_csr
  std::string type = "velocity_verlet";
  double dt_fs = 0;               ///< 0: [run].dt_fs
  double fmax = 0;                ///< eV/Å; > 0: converged when every force is below
  double energy_change = 0;       ///< eV; > 0: converged when |ΔE| per step is below
  std::int64_t max_steps = 0;     ///< > 0: leaves the stage after this many steps
  double temperature_K = 0;       ///< thermostats
  double friction_per_fs = 0.01;  ///< Langevin
  double tau_fs = 100.0;          ///< Nosé–Hoover
  std::int64_t chain_length = 3;  ///< Nosé–Hoover
  double max_step = 0.2;          ///< Å, FIRE
  double pressure_bar = 0;        ///< npt_mtk, npt_csr, fire_cell: target pressure (bar)
  /// npt_mtk, npt_csr, fire_cell: target stress instead of pressure_bar (bar; Voigt xx yy zz yz xz
  /// xy, ASE's sign: positive in tension, so pressure P is [-P, -P, -P, 0, 0, 0]); empty: none
  std::vector<double> stress_bar;
  double tau_p_fs = 1000;                   ///< npt_mtk, npt_csr: barostat time constant (fs)
  std::string cell = "isotropic";           ///< npt_mtk, fire_cell: "isotropic" or "full" cell
  double compressibility_per_bar = 4.5e-5;  ///< npt_csr: isothermal compressibility guess (1/bar)
  double stress_tol_bar = 0;                ///< fire_cell: converged when |σ + P| is below (bar)
};

/// Optional hooks ([hooks]).
struct HooksSpec {
  bool nan_check = true;                     ///< NaNDetectorHook every step
  double max_force = 0;                      ///< eV/Å; > 0: MaxForceClampHook
  double energy_drift = 0;                   ///< > 0: EnergyDriftMonitorHook threshold (relative)
  std::string energy_drift_action = "warn";  ///< warn or stop
  bool wrap = false;                         ///< WrapPeriodicHook
  std::string log_csv;                       ///< LoggingHook path; empty: none
  std::int64_t log_every = 10;
  bool profile = false;             ///< ProfilerHook, report printed at the end
  bool converged_snapshots = true;  ///< relaxed structures to <output>.relaxed.zarr (multi-stage jobs)
};

struct RunConfig {
  std::int64_t steps = 5000;
  double dt_fs = 2.0;
  std::string dtype = "float64";
  std::uint64_t seed = 2026;
  int threads = 0;              ///< 0: all cores
  double max_memory_gb = 0;     ///< refuse jobs estimated to need more (GB); 0: the memory available now
  std::string device = "auto";  ///< auto (the first GPU if one is usable, else cpu), cpu, cuda, cuda:N
  /// Inflight batching: at most this many systems in flight, each on its own clock, a finished
  /// system's slot refilled from the job's remaining systems (docs/jobs.md); 0: all at once.
  std::int64_t inflight_slots = 0;
  model::LJConfig lj;
  /// SNAP, ZBL or a sum ([model] of type snap or zbl, [[model]]); empty: Lennard-Jones (lj).
  ModelSpec model;
  std::vector<StageSpec> stages;  ///< empty: one velocity_verlet (NVE) stage
  HooksSpec hooks;
  std::vector<LiquidSpec> liquids;
  std::vector<ClusterSpec> clusters;
  std::vector<CrystalSpec> crystals;
  std::vector<StructureFileSpec> structures;  ///< [[structures]]: systems read from files
  std::int64_t snapshot_every = 50;
  std::string output;                  ///< trajectory store URL; empty: a new batchmd-<time>.zarr here
  std::string format = "v3";           ///< Zarr format of a new store: "v3" or "v2"
  std::string compressor = "zstd";     ///< none, zstd, blosc-lz4, blosc-zstd, gzip
  int level = 1;                       ///< compression level
  std::int64_t chunk_bytes = 1 << 20;  ///< uncompressed bytes per chunk
  std::int64_t capacity = 1'000'000;   ///< trajectory capacity in samples
  double commit_interval_s = 1.0;      ///< seconds between trajectory commits (the loss window of a kill)
  /// [output] precision = { positions = 1e-3, ... }: float fields stored at that fixed precision
  /// (lossy; ZarrFieldOverride::precision). Such a trajectory cannot restart a run.
  std::map<std::string, double> precision;
  bool final_snapshot = true;  ///< also record the state at the end of the run (for restarts)
  bool progress = true;
  std::string source_toml;  ///< the job text as given (stored in the trajectory for restarts)
};

/// The valid range of one numeric key of the job file: lo <= x <= hi (lo < x when lo_open).
/// Integers are checked against it before they are narrowed to their field's type.
struct KeyRange {
  const char* table;  ///< run, model, model.pair, liquid, cluster, stage, hooks, output
  const char* key;
  bool integer;
  double lo, hi;
  bool lo_open;
  const char* unit;  ///< "fs", "Å", ... ("" for counts and plain numbers)
};
/// Every numeric key of the job file with its range (docs/jobs.md shows the same table).
const std::vector<KeyRange>& key_ranges();
/// "0 < x <= 100", "1 <= x <= 1000"
std::string describe_range(const KeyRange& r);

/// The embedded default job.
extern const char* const kDefaultConfigToml;

/// Parses TOML text; unknown keys and bad values throw InvalidArgument naming the key
/// (and `origin`, e.g. the file name).
RunConfig parse_config(const std::string& toml_text, const std::string& origin);
RunConfig load_config(const std::string& path);

/// Builds the starting batch (positions, velocities, masses, cell, pbc, system_id) of the job's
/// [[liquid]], [[cluster]], [[crystal]] and [[structures]] tables (app/structures).
Batch build_systems(const RunConfig& cfg);

}  // namespace batchmd::app
