// SPDX-License-Identifier: Apache-2.0
// app/structures: the generators of the starting structures a job describes — periodic boxes
// started from jittered fcc at a given density ("liquids") and open fcc clusters — and the batch
// they make, with Maxwell–Boltzmann velocities and system ids.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

#include "batchmd/app/crystal_config.hpp"
#include "batchmd/app/structure_files.hpp"
#include "batchmd/data/batch.hpp"

namespace batchmd::app {

/// A family of periodic boxes: `count` fcc boxes of `cells`³ unit cells (4 atoms each) at the
/// given density, jittered and given Maxwell–Boltzmann velocities.
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

/// One periodic box of `s` (one of its `count`): 4·cells³ atoms on fcc sites at the spec's
/// density (lattice constant a from the mass density), each coordinate jittered uniformly by up to
/// ±0.02·a from `rng`; cell = L·I with L = cells·a (Å), periodic in all three directions.
AtomicData make_liquid(const LiquidSpec& s, DType dt, std::mt19937_64& rng);
/// One open cluster of `s`: the s.atoms fcc sites nearest the origin (ties in a fixed order), at
/// nearest-neighbor distance s.spacing (Å); no cell, not periodic. Deterministic.
AtomicData make_cluster(const ClusterSpec& s, DType dt);

/// The starting batch: every liquid (in order, `count` each), then every cluster, then every
/// crystal, then the systems of every structure file (app/structure_files), positions from one
/// generator seeded with `seed`; velocities drawn per system at its spec's temperature (one
/// stream per system, seeded from `seed` and the system's index) — or, for a structure file
/// without temperature_K, the file's velocities (else zero); system_id = index.
Batch build_systems(const std::vector<LiquidSpec>& liquids, const std::vector<ClusterSpec>& clusters, DType dt,
                    std::uint64_t seed, const std::vector<CrystalSpec>& crystals = {},
                    const std::vector<StructureFileSpec>& structures = {});

}  // namespace batchmd::app
