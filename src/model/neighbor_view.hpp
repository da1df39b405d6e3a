// SPDX-License-Identifier: Apache-2.0
// model/neighbor_view (internal): the input many-body and pair kernels read — a FULL neighbor
// list of a batch, CSR by atom in the caller's atom order: for atom i, its neighbors p in
// [offsets[i], offsets[i+1]) with the neighbor's atom index, its model species, the displacement
// r_p = x_j + image . cell - x_i (Å) and the index of the opposite pair j -> i. Each atom's
// neighbors are sorted by (neighbor, image), so sums over them do not depend on how (or when) the
// underlying list was built: results are reproducible across rebuilds and restarts.
//
// half_list_frame serves kernels that want each pair once (EAM's two passes with Newton's third
// law): it turns the half NeighborList of one system into slot-order positions and Cartesian
// shifts, with no per-step copy of the pairs.
//
// Today the view is filled on the CPU from the half NeighborList (build_neighbor_view: both
// directions of every half-list pair); the shared half/full CPU/GPU neighbor engine will replace
// that adapter (neighbor_view.cpp) without changing the kernels.
#pragma once
#include <cstdint>
#include <vector>

#include "batchmd/model/neighbor_list.hpp"

namespace batchmd::model::detail {

template <typename T>
struct NeighborView {
  std::int64_t n_atoms = 0;
  std::vector<std::int64_t> offsets;   ///< [n_atoms + 1]
  std::vector<std::int32_t> neighbor;  ///< [n_pairs] atom index (batch-global)
  std::vector<std::int32_t> species;   ///< [n_pairs] species of the neighbor
  std::vector<T> rij;                  ///< [n_pairs][3] Å
  std::vector<std::int32_t> image;     ///< [n_pairs][3] lattice image of the neighbor
  std::vector<std::int64_t> reverse;   ///< [n_pairs] the pair j -> i with the opposite image
  std::int64_t n_pairs() const { return static_cast<std::int64_t>(neighbor.size()); }
};

/// Which pairs a model wants: species per atom (-1: the model ignores the atom) and a pair
/// cutoff per species pair (Å; <= 0: the pair is excluded).
struct ViewRequest {
  const std::int32_t* species = nullptr;  ///< [n_atoms]
  std::int32_t n_species = 0;
  const double* cutoff = nullptr;  ///< [n_species * n_species], symmetric
};

/// Fills `out` with every ordered pair (i, j, image) with both atoms included, a positive pair
/// cutoff and 0 < |r_p| < cutoff, from a NeighborList update()d with geometry g (its cutoff plus
/// skin must be >= every pair cutoff; the pairs are complete only up to its cutoff, or up to
/// cutoff + skin right after a rebuild). Reuses out's buffers.
template <typename T>
void build_neighbor_view(const NeighborList& nl, const BatchGeometry<T>& g, const ViewRequest& req,
                         NeighborView<T>& out);

/// The HALF list of a NeighborList, for pair kernels that use Newton's third law (EAM): fills,
/// for system s, pos[3k..3k+2] for its slots k (positions in slot order, wrapped by the list's
/// image offsets) and shift[3q..3q+2] for its shift-table entries q in
/// [nl.shift_ptr()[s], nl.shift_ptr()[s+1]) (Cartesian lattice shifts), so that for slot k and its
/// p-th pair (slot j = nl.neighbors()[p]) the separation x_j + image.cell - x_i is
///   r = pos[j] - pos[k]                                    for p <  nl.shifted_begin()[k]
///   r = pos[j] - pos[k] + shift[nl.shift_index()[p] + shift_ptr[s]]   otherwise         (Å)
/// Each unordered pair (atom, atom, image) appears once; pairs are complete up to the list's
/// cutoff (cutoff + skin right after a rebuild). Slot k holds atom nl.atom_order()[k]; a system's
/// slots are [atoms_ptr[s], atoms_ptr[s+1]). pos: [n_atoms][3], shift: [nl.shifts().size()];
/// systems touch disjoint parts, so they may be filled in parallel.
template <typename T>
void half_list_frame(const NeighborList& nl, const BatchGeometry<T>& g, std::int64_t s, T* pos, T* shift);

/// Forces and virials from per-pair gradients g_p = dE/dr_p ([n_pairs][3], eV/Å) of an energy
/// that depends on the displacements of the view: F_i = sum over i's pairs of (g_p - g_reverse(p)),
/// written to forces [n_atoms][3] (overwritten); with virial != nullptr also
/// W_s = -sum over pairs of atoms of system s of r_p (x) g_p  ([n_systems][9], eV, overwritten).
template <typename T>
void gather_pair_gradients(const NeighborView<T>& view, const T* g, std::int64_t n_systems,
                           const std::int64_t* atoms_ptr, T* forces, double* virial);

}  // namespace batchmd::model::detail
