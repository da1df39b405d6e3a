// SPDX-License-Identifier: Apache-2.0
// model/neighbor_view_cache: NeighborViewCache — rebuild on a list rebuild, else recompute the
// displacements (r = x_j - x_i + image . cell, in the same operation order as build_neighbor_view,
// so the values are identical to a fresh build); update_inside selects the pairs inside the
// cutoff in that same pass.
#include "neighbor_view_cache.hpp"

#include <algorithm>
#include <atomic>

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
bool NeighborViewCache<T>::prepare(NeighborList& nl, const BatchGeometry<T>& g, const ViewRequest& req) {
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
  if (!rebuilt) return false;
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
  return true;
}

template <typename T>
template <bool kInside>
void NeighborViewCache<T>::refresh(NeighborList& nl, const BatchGeometry<T>& g, const std::int32_t* atom_species,
                                   std::int32_t n_species) {
  // Same pairs: this call's images (atoms wrapped since the build) and displacements.
  images_by_atom(nl, atom_now_);
  const bool jumped = atom_now_ != atom0_;  // a hook moved atoms by lattice vectors since the build
  const std::int64_t* ptr = g.atoms_ptr;
  const std::int64_t ns = g.n_systems;
  const std::int64_t na = g.n_atoms;
  const std::int64_t* off = view_.offsets.data();
  const std::int32_t* nbr = view_.neighbor.data();
  const std::int32_t* nsp = view_.species.data();
  const std::int32_t* image0 = image0_.data();
  const std::int32_t* now = atom_now_.data();
  const std::int32_t* at0 = atom0_.data();
  std::int32_t* image = view_.image.data();
  // r_p = x_j - x_i + image . cell of this call, and (when atoms jumped) the pair's image now.
  auto displacement = [&](std::int64_t i, std::int64_t p, const T* cell, T* r) {
    const std::int64_t j = nbr[p];
    std::int32_t im[3] = {image0[3 * p], image0[3 * p + 1], image0[3 * p + 2]};
    if (jumped)
      for (int d = 0; d < 3; ++d) im[d] += (now[3 * i + d] - at0[3 * i + d]) - (now[3 * j + d] - at0[3 * j + d]);
    const T* xi = g.positions + 3 * i;
    const T* xj = g.positions + 3 * j;
    r[0] = xj[0] - xi[0];
    r[1] = xj[1] - xi[1];
    r[2] = xj[2] - xi[2];
    if (cell != nullptr && (im[0] | im[1] | im[2]) != 0)
      for (int d = 0; d < 3; ++d)
        if (im[d] != 0)
          for (int e = 0; e < 3; ++e) r[e] += static_cast<T>(im[d]) * cell[3 * d + e];
    if (jumped)
      for (int d = 0; d < 3; ++d) image[3 * p + d] = im[d];
  };
  auto cell_of = [&](std::int64_t i) -> const T* {
    const std::int64_t s = std::upper_bound(ptr, ptr + ns + 1, i) - ptr - 1;
    return g.cell != nullptr ? g.cell + 9 * s : nullptr;
  };
  if constexpr (!kInside) {
    T* rij = view_.rij.data();
    parallel_for(na, [&](std::int64_t i) {
      const T* cell = cell_of(i);
      for (std::int64_t p = off[i]; p < off[i + 1]; ++p) displacement(i, p, cell, rij + 3 * p);
    });
  } else {
    // 1. Which pairs are inside: each one's place k among its atom's inside pairs (-1: outside),
    // and the atom's k-th inside pair at sel[off[i] + k] (as an offset in its range). Branch-free:
    // which pairs are inside is data, not a pattern a branch predictor could learn.
    const double* cutsq = inside_cutsq_.data();
    std::int32_t* loc = loc_.data();
    std::int32_t* sel = sel_.data();
    std::int64_t* dense = inside_.offsets.data();
    parallel_for(na, [&](std::int64_t i) {
      const T* cell = cell_of(i);
      const std::int32_t si = atom_species[i];
      // An excluded atom reads the extra row of -1 (nothing is inside).
      const double* row = cutsq + static_cast<std::ptrdiff_t>(si >= 0 ? si : n_species) * n_species;
      std::int32_t c = 0;
      const std::int64_t p0 = off[i];
      for (std::int64_t p = p0; p < off[i + 1]; ++p) {
        T r[3];
        displacement(i, p, cell, r);
        const std::int32_t sj = nsp[p];
        // The kernels' expression of the squared distance (the margin of inside_cutsq_ covers any
        // difference in rounding).
        const T rsq = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
        const bool keep = (sj >= 0) & (static_cast<double>(rsq) < row[sj >= 0 ? sj : 0]);
        loc[p] = keep ? c : -1;
        sel[p0 + c] = static_cast<std::int32_t>(p - p0);
        c += keep ? 1 : 0;
      }
      dense[i + 1] = c;
    });
    dense[0] = 0;
    for (std::int64_t i = 0; i < na; ++i) dense[i + 1] += dense[i];
    // 2. The inside pairs, dense; the reverse of an inside pair is inside (its displacement is the
    // exact negative, so its squared distance is the same number).
    const std::int64_t n = dense[na];
    inside_.neighbor.resize(static_cast<std::size_t>(n));
    inside_.species.resize(static_cast<std::size_t>(n));
    inside_.rij.resize(static_cast<std::size_t>(3 * n));
    inside_.reverse.resize(static_cast<std::size_t>(n));
    const std::int64_t* rev = view_.reverse.data();
    std::int32_t* o_nbr = inside_.neighbor.data();
    std::int32_t* o_sp = inside_.species.data();
    T* o_rij = inside_.rij.data();
    std::int64_t* o_rev = inside_.reverse.data();
    std::atomic<bool> asymmetric{false};
    parallel_for(na, [&](std::int64_t i) {
      const T* cell = cell_of(i);
      for (std::int64_t k = 0; k < dense[i + 1] - dense[i]; ++k) {
        const std::int64_t p = off[i] + sel[off[i] + k], q = dense[i] + k;
        const std::int32_t j = nbr[p];
        displacement(i, p, cell, o_rij + 3 * q);
        o_nbr[q] = j;
        o_sp[q] = nsp[p];
        const std::int32_t lr = loc[rev[p]];
        if (lr < 0) asymmetric.store(true, std::memory_order_relaxed);
        o_rev[q] = dense[j] + (lr < 0 ? 0 : lr);
      }
    });
    if (asymmetric.load())
      throw Error(
          "NeighborViewCache (internal): a pair is inside its cutoff and its reverse is not (the two "
          "directions' displacements are not exact negatives)");
  }
}

template <typename T>
const NeighborView<T>& NeighborViewCache<T>::update(NeighborList& nl, const BatchGeometry<T>& g,
                                                    const ViewRequest& req) {
  if (!prepare(nl, g, req)) refresh<false>(nl, g, nullptr, 0);
  return view_;
}

template <typename T>
const NeighborView<T>& NeighborViewCache<T>::update_inside(NeighborList& nl, const BatchGeometry<T>& g,
                                                           const ViewRequest& req, const double* inside_cut) {
  prepare(nl, g, req);
  const auto n_sp = static_cast<std::size_t>(req.n_species) * static_cast<std::size_t>(req.n_species);
  // One row per species and an extra row of -1 for excluded atoms.
  inside_cutsq_.assign(n_sp + static_cast<std::size_t>(req.n_species), -1.0);
  for (std::size_t a = 0; a < n_sp; ++a)
    if (inside_cut[a] > 0) inside_cutsq_[a] = inside_cut[a] * inside_cut[a] * (1 + 1e-6);
  loc_.resize(static_cast<std::size_t>(view_.n_pairs()));
  sel_.resize(static_cast<std::size_t>(view_.n_pairs()));
  inside_.n_atoms = g.n_atoms;
  inside_.offsets.resize(static_cast<std::size_t>(g.n_atoms + 1));
  inside_.image.clear();
  // Right after a rebuild too: the refresh computes the same displacements as the build.
  refresh<true>(nl, g, req.species, req.n_species);
  return inside_;
}

template class NeighborViewCache<float>;
template class NeighborViewCache<double>;

}  // namespace batchmd::model::detail
