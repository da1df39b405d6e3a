// SPDX-License-Identifier: Apache-2.0
// model/snap_cpu (internal): the tables one SNAP model needs at run time (SnapTables, shared with
// the GPU path, which uploads them) and the CPU computation over a NeighborView.
#pragma once
#include <cstdint>
#include <vector>

#include "batchmd/model/snap.hpp"
#include "neighbor_view.hpp"
#include "snap_basis.hpp"
#include "snap_kernels.hpp"

namespace batchmd::model::detail {

/// Everything derived from SNAPParams that the kernels read.
struct SnapTables {
  SnapBasis basis;
  SnapScalars<double> scalars;
  std::vector<double> coeff;           ///< [n_elem][n_all]: beta_0, beta (n_coeff) [, alpha upper triangle]
  int n_all = 0;                       ///< coefficients per element
  std::vector<double> radius;          ///< [n_elem]
  std::vector<double> weight;          ///< [n_elem]
  std::vector<double> sinner, dinner;  ///< [n_elem] (zeros without switchinnerflag)
  std::vector<double> cutoff;          ///< [n_elem^2] rcut (Å), 0 for pairs excluded by an ElementPairs
  explicit SnapTables(const SNAPParams& p, const ElementPairs& pairs = {}, bool lammps_chem_adjoint = false);
};

/// What one CPU pass computes. Any output may be null (not wanted).
template <typename T>
struct SnapCpuOut {
  T* atom_energy = nullptr;       ///< [n_atoms] eV (0 for ignored atoms)
  T* pair_gradient = nullptr;     ///< [n_pairs][3] dE_i/dr_p (eV/Å)
  double* descriptors = nullptr;  ///< [n_atoms][n_coeff], bzero applied
};

/// SNAP over a view (species per atom: the model's element index, -1 for atoms it ignores).
/// Threads over atoms (parallel_for); deterministic.
template <typename T>
void snap_compute_cpu(const SnapTables& tables, const NeighborView<T>& view, const std::int32_t* species,
                      const SnapCpuOut<T>& out);

}  // namespace batchmd::model::detail
