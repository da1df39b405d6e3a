// SPDX-License-Identifier: Apache-2.0
// model/model_fields (internal): small pieces every Model implementation repeats — the geometry
// view of a CPU batch, the output fields, and stress from virial.
#pragma once
#include <cmath>
#include <string>

#include "batchmd/core/error.hpp"
#include "batchmd/core/frame.hpp"
#include "batchmd/data/batch.hpp"
#include "batchmd/model/neighbor_list.hpp"

namespace batchmd::model::detail {

template <typename T>
BatchGeometry<T> batch_geometry(const Batch& batch, const std::string& who) {
  BatchGeometry<T> g;
  g.n_systems = batch.n_systems();
  g.n_atoms = batch.n_atoms();
  g.positions = batch.get("positions").data<T>();
  g.atoms_ptr = batch.atoms_ptr_data();
  g.cell = batch.has("cell") ? batch.get("cell").data<T>() : nullptr;
  g.pbc = batch.has("pbc") ? batch.get("pbc").data<bool>() : nullptr;
  if (g.pbc != nullptr && g.cell == nullptr) throw InvalidArgument(who + ": the batch has pbc but no cell");
  return g;
}

/// Adds energy, forces and (with stress) virial and stress; checks positions and atomic numbers.
inline void add_output_fields(Batch& batch, bool compute_stress, const std::string& who) {
  if (!batch.has("positions") || !batch.has("atomic_numbers"))
    throw InvalidArgument(who + ".compute: the batch needs positions and atomic_numbers");
  batch.add_standard("energy");
  batch.add_standard("forces");
  if (compute_stress) {
    batch.add_standard("virial");
    batch.add_standard("stress");
  }
}

/// Writes virial [S][9] (from double sums) and stress = -W / V (0 for non-periodic systems).
template <typename T>
void write_virial_and_stress(Batch& batch, const double* w, const BatchGeometry<T>& g) {
  T* virial = batch.get("virial").data<T>();
  T* stress = batch.get("stress").data<T>();
  for (std::int64_t s = 0; s < g.n_systems; ++s) {
    const double vol = periodic_volume(g.cell, g.pbc, s);
    for (int k = 0; k < 9; ++k) {
      virial[9 * s + k] = static_cast<T>(w[9 * s + k]);
      stress[9 * s + k] = vol > 0 ? static_cast<T>(-w[9 * s + k] / vol) : T(0);
    }
  }
}

}  // namespace batchmd::model::detail
