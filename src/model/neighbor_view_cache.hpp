// SPDX-License-Identifier: Apache-2.0
// model/neighbor_view_cache (internal): a full NeighborView kept across compute() calls. The view
// is built (build_neighbor_view) only when the NeighborList rebuilds, or when what the view
// depends on (species, cutoffs) changes, and then holds every pair within cutoff + skin; on the
// other calls only the displacements are recomputed from this call's positions, and the lattice
// images adjusted for atoms that hooks moved by whole lattice vectors (wrapping). Between
// rebuilds every pair that can come within its cutoff is in the view (the Verlet criterion), so a
// kernel that tests its own cutoff gets the same pairs, in the same canonical order and with the
// same displacements (bit for bit) as a view built fresh each call — at a fraction of the cost.
// update_inside() returns only the pairs inside the cutoff, selected in the refresh.
// The CPU counterpart of DeviceFullList (full_list_gpu).
#pragma once
#include <cstdint>
#include <vector>

#include "batchmd/model/neighbor_list.hpp"
#include "neighbor_view.hpp"

namespace batchmd::model::detail {

template <typename T>
class NeighborViewCache {
 public:
  /// Updates nl for g (rebuilding it when the view must be rebuilt) and returns the view: every
  /// ordered pair with both atoms included and |r_p| < cutoff(species pair) + nl.skin() at the
  /// last rebuild, with r_p of this call's positions. A kernel must test its own cutoff.
  /// req.cutoff must be <= nl.cutoff() for every species pair. Valid until the next update().
  const NeighborView<T>& update(NeighborList& nl, const BatchGeometry<T>& g, const ViewRequest& req);

  /// As update(), but returns only the view's pairs inside their species pair's distance
  /// inside_cut[si * n + sj] (Å, symmetric in the two species, n = req.n_species; <= 0 drops the
  /// pair), as a dense view of its own: the same pairs in the same order within each atom, with
  /// their neighbors, species, displacements and reverse indices (its image is left empty). For a
  /// kernel that interacts only inside a cutoff shorter than the list's cutoff + skin (crystalline
  /// Si with Si.sw: 4 of the 28 pairs per atom): it evaluates and gathers over these pairs alone.
  /// Nothing is reordered, so its sums equal the full view's sums without the pairs outside; pairs
  /// within a relative 1e-6 of the cutoff^2 are kept, so the kernel's own test, not this one,
  /// decides those at the edge. The selection runs in the displacement refresh (one pass over the
  /// full view), then a second pass writes the inside pairs alone. Valid until the next update;
  /// the full view is not returned by this call.
  /// It pays where few pairs are inside: Si.sw MD 1.33x faster per step; Morse Cu (cutoff 6 Å,
  /// skin 1 Å, ~60 % inside) 1.2x slower, so Morse keeps update().
  const NeighborView<T>& update_inside(NeighborList& nl, const BatchGeometry<T>& g, const ViewRequest& req,
                                       const double* inside_cut);

 private:
  void images_by_atom(const NeighborList& nl, std::vector<std::int32_t>& out) const;
  // Updates nl and rebuilds the view when needed; returns true when it did (its displacements are
  // then this call's).
  bool prepare(NeighborList& nl, const BatchGeometry<T>& g, const ViewRequest& req);
  // Recomputes the displacements from this call's positions: into the view (kInside false), or
  // only those of the pairs inside inside_cutsq_, into inside_ (kInside true).
  template <bool kInside>
  void refresh(NeighborList& nl, const BatchGeometry<T>& g, const std::int32_t* atom_species, std::int32_t n_species);

  NeighborView<T> view_;
  bool built_ = false;
  std::int64_t nl_builds_ = 0;  // nl.n_builds() right after the view was built
  std::vector<std::int32_t> species_;
  std::vector<double> cutoff_;          // as requested (without the skin)
  std::vector<std::int32_t> image0_;    // [n_pairs][3] pair images at the build
  std::vector<std::int32_t> atom0_;     // [n_atoms][3] image offsets of each atom at the build
  std::vector<std::int32_t> atom_now_;  // [n_atoms][3] this call's

  // update_inside: squared distances with the margin ([n + 1][n]: a row per species, then a row
  // for excluded atoms; < 0: dropped), each full-view pair's place among its atom's inside pairs
  // (-1: outside), each atom's inside pairs (sel_[offsets[i] + k]: the k-th one's offset in its
  // range), and the dense view.
  std::vector<double> inside_cutsq_;
  std::vector<std::int32_t> loc_, sel_;
  NeighborView<T> inside_;
};

}  // namespace batchmd::model::detail
