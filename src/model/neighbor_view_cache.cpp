// SPDX-License-Identifier: Apache-2.0
// model/neighbor_view_cache: NeighborViewCache — rebuild on a list rebuild, else recompute the
// displacements (r = x_j - x_i + image . cell, in the same operation order as build_neighbor_view,
// so the values are identical to a fresh build).
#include "neighbor_view_cache.hpp"

#include <algorithm>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"

namespace batchmd::model::detail {

template <typename T>
void NeighborViewCache<T>::images_by_atom(const NeighborList& nl, std::vector<std::int32_t>& out) const {
  const auto order = nl.atom_order();
  const auto img = nl.image_offsets();
  out.resize(img.size());
  for (std::size_t k = 0; k < order.size(); ++k)
    for (int d = 0; d < 3; ++d) out[3 * static_cast<std::size_t>(order[k]) + d] = img[3 * k + d];
}

template <typename T>
const NeighborView<T>& NeighborViewCache<T>::update(NeighborList& nl, const BatchGeometry<T>& g,
                                                    const ViewRequest& req) {
  const auto n_sp = static_cast<std::size_t>(req.n_species) * static_cast<std::size_t>(req.n_species);
  // A build of nl by another user (e.g. the model's cache of the other float type) resets its
  // image offsets: the view must then be rebuilt too.
  const std::int64_t builds_before = nl.n_builds();
  bool rebuilt = nl.update(g);
  const bool same_request = built_ && builds_before == nl_builds_ && view_.n_atoms == g.n_atoms &&
                            species_.size() == static_cast<std::size_t>(g.n_atoms) && cutoff_.size() == n_sp &&
                            std::equal(species_.begin(), species_.end(), req.species) &&
                            std::equal(cutoff_.begin(), cutoff_.end(), req.cutoff);
  if (!same_request && !rebuilt) {
    nl.request_rebuild();
    rebuilt = nl.update(g);
  }
  if (rebuilt) {
    // Right after a rebuild the list holds every pair within cutoff + skin.
    std::vector<double> cut_skin(req.cutoff, req.cutoff + n_sp);
    for (double& c : cut_skin)
      if (c > 0) c = std::min(c + nl.skin(), nl.cutoff() + nl.skin());
    build_neighbor_view(nl, g, ViewRequest{req.species, req.n_species, cut_skin.data()}, view_);
    species_.assign(req.species, req.species + g.n_atoms);
    cutoff_.assign(req.cutoff, req.cutoff + n_sp);
    image0_ = view_.image;
    images_by_atom(nl, atom0_);
    built_ = true;
    nl_builds_ = nl.n_builds();
    return view_;
  }
  // Same pairs: this call's images (atoms wrapped since the build) and displacements.
  images_by_atom(nl, atom_now_);
  const bool jumped = atom_now_ != atom0_;  // a hook moved atoms by lattice vectors since the build
  const std::int64_t* ptr = g.atoms_ptr;
  const std::int64_t ns = g.n_systems;
  const std::int64_t* off = view_.offsets.data();
  const std::int32_t* nbr = view_.neighbor.data();
  std::int32_t* image = view_.image.data();
  T* rij = view_.rij.data();
  parallel_for(g.n_atoms, [&](std::int64_t i) {
    const std::int64_t s = std::upper_bound(ptr, ptr + ns + 1, i) - ptr - 1;
    const T* cell = g.cell != nullptr ? g.cell + 9 * s : nullptr;
    const T* xi = g.positions + 3 * i;
    for (std::int64_t p = off[i]; p < off[i + 1]; ++p) {
      const std::int64_t j = nbr[p];
      std::int32_t im[3] = {image0_[3 * p], image0_[3 * p + 1], image0_[3 * p + 2]};
      if (jumped)
        for (int d = 0; d < 3; ++d)
          im[d] += (atom_now_[3 * i + d] - atom0_[3 * i + d]) - (atom_now_[3 * j + d] - atom0_[3 * j + d]);
      const T* xj = g.positions + 3 * j;
      T r[3] = {xj[0] - xi[0], xj[1] - xi[1], xj[2] - xi[2]};
      if (cell != nullptr && (im[0] | im[1] | im[2]) != 0)
        for (int d = 0; d < 3; ++d)
          if (im[d] != 0)
            for (int e = 0; e < 3; ++e) r[e] += static_cast<T>(im[d]) * cell[3 * d + e];
      for (int d = 0; d < 3; ++d) {
        if (jumped) image[3 * p + d] = im[d];
        rij[3 * p + d] = r[d];
      }
    }
  });
  return view_;
}

template class NeighborViewCache<float>;
template class NeighborViewCache<double>;

}  // namespace batchmd::model::detail
