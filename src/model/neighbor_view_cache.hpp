// SPDX-License-Identifier: Apache-2.0
// model/neighbor_view_cache (internal): a full NeighborView kept across compute() calls. The view
// is built (build_neighbor_view) only when the NeighborList rebuilds, or when what the view
// depends on (species, cutoffs) changes, and then holds every pair within cutoff + skin; on the
// other calls only the displacements are recomputed from this call's positions, and the lattice
// images adjusted for atoms that hooks moved by whole lattice vectors (wrapping). Between
// rebuilds every pair that can come within its cutoff is in the view (the Verlet criterion), so a
// kernel that tests its own cutoff gets the same pairs, in the same canonical order and with the
// same displacements (bit for bit) as a view built fresh each call — at a fraction of the cost.
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

 private:
  void images_by_atom(const NeighborList& nl, std::vector<std::int32_t>& out) const;

  NeighborView<T> view_;
  bool built_ = false;
  std::int64_t nl_builds_ = 0;  // nl.n_builds() right after the view was built
  std::vector<std::int32_t> species_;
  std::vector<double> cutoff_;          // as requested (without the skin)
  std::vector<std::int32_t> image0_;    // [n_pairs][3] pair images at the build
  std::vector<std::int32_t> atom0_;     // [n_atoms][3] image offsets of each atom at the build
  std::vector<std::int32_t> atom_now_;  // [n_atoms][3] this call's
};

}  // namespace batchmd::model::detail
