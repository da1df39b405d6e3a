// app/config: the run configuration (TOML), its embedded default, and the generators of the
// starting structures it describes (periodic fcc-derived liquids, open clusters).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "batchmd/model/lennard_jones.hpp"

namespace batchmd::app {

/// A family of periodic boxes: `count` fcc boxes of `cells`³ unit cells at the given density,
/// jittered and given Maxwell–Boltzmann velocities.
struct LiquidSpec {
  std::int64_t count = 1;
  std::int64_t cells = 3;
  std::int64_t element = 18;
  double density_g_cm3 = 1.40;
  double temperature_K = 94.0;
};

/// A family of open clusters: the `atoms` fcc sites nearest a lattice site, at nearest-neighbor
/// distance `spacing` Å.
struct ClusterSpec {
  std::int64_t count = 1;
  std::int64_t atoms = 13;
  std::int64_t element = 18;
  double spacing = 3.82;
  double temperature_K = 20.0;
};

struct RunConfig {
  std::int64_t steps = 5000;
  double dt_fs = 2.0;
  std::string dtype = "float64";
  std::uint64_t seed = 2026;
  int threads = 0;  ///< 0: all cores
  model::LJConfig lj;
  std::vector<LiquidSpec> liquids;
  std::vector<ClusterSpec> clusters;
  std::int64_t snapshot_every = 50;
  std::string output;         ///< trajectory store URL; empty: a new batchmd-<time>.zarr here
  std::string format = "v3";  ///< Zarr format of a new store: "v3" or "v2"
  std::string compressor = "zstd";  ///< none, zstd, blosc-lz4, blosc-zstd, gzip
  int level = 1;                    ///< compression level
  std::int64_t chunk_bytes = 1 << 20;  ///< uncompressed bytes per chunk
  std::int64_t capacity = 1'000'000;   ///< trajectory capacity in samples
  bool final_snapshot = true;  ///< also record the state at the end of the run (for restarts)
  bool progress = true;
  std::string source_toml;     ///< the job text as given (stored in the trajectory for restarts)
};

/// The embedded default job.
extern const char* const kDefaultConfigToml;

/// Parses TOML text; unknown keys and bad values throw InvalidArgument naming the key
/// (and `origin`, e.g. the file name).
RunConfig parse_config(const std::string& toml_text, const std::string& origin);
RunConfig load_config(const std::string& path);

/// Builds the starting batch (positions, velocities, masses, cell, pbc, system_id).
Batch build_systems(const RunConfig& cfg);

}  // namespace batchmd::app
