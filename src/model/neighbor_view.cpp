// SPDX-License-Identifier: Apache-2.0
// model/neighbor_view: fills the full NeighborView from today's half NeighborList (both
// directions of each half-list pair), and turns per-pair gradients into forces and virials.
//
// The fill runs over slots in parallel: per-atom counters and cursors are atomic, so pairs land in
// an arbitrary order within each atom's range, and a final per-atom sort by (neighbor, image)
// makes the view canonical (independent of threads, bins and build history).
#include "neighbor_view.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <string>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"

namespace batchmd::model::detail {

namespace {

template <typename T>
struct Record {
  std::int32_t j, species;
  std::array<std::int32_t, 3> image;
  std::array<T, 3> r;
  bool operator<(const Record& o) const { return j != o.j ? j < o.j : image < o.image; }
};

// Calls f(i, j, image, r) for every half-list pair (caller atom indices, r = x_j + image.cell - x_i)
// of slot k in system s.
template <typename T, typename F>
void for_pairs_of_slot(const NeighborList& nl, const BatchGeometry<T>& g, std::int64_t s, std::int64_t k, F&& f) {
  const std::int64_t* order = nl.atom_order().data();
  const std::int32_t* img = nl.image_offsets().data();
  const std::int64_t* off = nl.neighbor_offsets().data();
  const std::int64_t* sb = nl.shifted_begin().data();
  const std::int32_t* nbr = nl.neighbors().data();
  const std::int32_t* sidx = nl.shift_index().data();
  const std::int32_t* shifts = nl.shifts().data();
  const std::int64_t sbase = nl.shift_ptr()[static_cast<std::size_t>(s)];
  const T* cell = g.cell != nullptr ? g.cell + 9 * s : nullptr;
  const std::int64_t i = order[k];
  const T* xi = g.positions + 3 * i;
  for (std::int64_t p = off[k]; p < off[k + 1]; ++p) {
    const std::int32_t js = nbr[p];
    const std::int64_t j = order[js];
    std::array<std::int32_t, 3> im{};
    for (int d = 0; d < 3; ++d) {
      const std::int32_t S = p < sb[k] ? 0 : shifts[3 * (sbase + sidx[p]) + d];
      im[static_cast<std::size_t>(d)] = S + img[3 * k + d] - img[3 * js + d];
    }
    const T* xj = g.positions + 3 * j;
    std::array<T, 3> r{xj[0] - xi[0], xj[1] - xi[1], xj[2] - xi[2]};
    if (cell != nullptr && (im[0] | im[1] | im[2]) != 0)
      for (int d = 0; d < 3; ++d)
        if (im[static_cast<std::size_t>(d)] != 0)
          for (int e = 0; e < 3; ++e)
            r[static_cast<std::size_t>(e)] += static_cast<T>(im[static_cast<std::size_t>(d)]) * cell[3 * d + e];
    f(i, j, im, r);
  }
}

}  // namespace

template <typename T>
void build_neighbor_view(const NeighborList& nl, const BatchGeometry<T>& g, const ViewRequest& req,
                         NeighborView<T>& out) {
  const std::int64_t na = g.n_atoms, ns = g.n_systems;
  if (nl.n_builds() == 0 || nl.n_atoms() != na || nl.n_systems() != ns)
    throw InvalidArgument("build_neighbor_view: the neighbor list was not built for this batch");
  if (na > 2147483647) throw InvalidArgument("build_neighbor_view: more than 2^31 atoms in one batch");
  // Pairs up to the list's cutoff plus its skin are in the list (a GPU view keeps them all).
  const double list_cut = nl.cutoff() + nl.skin();
  for (std::int32_t a = 0; a < req.n_species * req.n_species; ++a)
    if (req.cutoff[a] > list_cut)
      throw InvalidArgument("build_neighbor_view: a pair cutoff exceeds the neighbor list's cutoff + skin");
  const std::int64_t* ptr = g.atoms_ptr;
  auto system_of = [&](std::int64_t k) { return std::upper_bound(ptr, ptr + ns + 1, k) - ptr - 1; };
  // Squared cutoff of the pair (i, j), or 0 when the pair is excluded.
  auto cut2 = [&](std::int64_t i, std::int64_t j) -> double {
    const std::int32_t a = req.species[i], b = req.species[j];
    if (a < 0 || b < 0) return 0.0;
    const double rc = req.cutoff[a * req.n_species + b];
    return rc > 0 ? rc * rc : 0.0;
  };
  auto inside = [](const std::array<T, 3>& r, double c2) {
    const double r2 = double(r[0]) * r[0] + double(r[1]) * r[1] + double(r[2]) * r[2];
    return r2 < c2 && r2 > 1e-20;  // coincident atoms are left out (as LAMMPS does)
  };

  // 1. Count both directions of every half pair inside its cutoff.
  out.n_atoms = na;
  out.offsets.assign(static_cast<std::size_t>(na + 1), 0);
  std::int64_t* cnt = out.offsets.data() + 1;
  parallel_for(na, [&](std::int64_t k) {
    const std::int64_t s = system_of(k);
    for_pairs_of_slot(nl, g, s, k, [&](std::int64_t i, std::int64_t j, const auto&, const auto& r) {
      if (!inside(r, cut2(i, j))) return;
      std::atomic_ref<std::int64_t>(cnt[i]).fetch_add(1, std::memory_order_relaxed);
      std::atomic_ref<std::int64_t>(cnt[j]).fetch_add(1, std::memory_order_relaxed);
    });
  });
  for (std::int64_t i = 0; i < na; ++i) out.offsets[i + 1] += out.offsets[i];
  const std::int64_t np = out.offsets[na];
  if (np > 2147483647) throw InvalidArgument("build_neighbor_view: more than 2^31 pairs");

  // 2. Fill (any order within an atom's range), then sort each range.
  static thread_local std::vector<Record<T>> recs;
  static thread_local std::vector<std::int64_t> cursor;
  recs.resize(static_cast<std::size_t>(np));
  cursor.assign(out.offsets.begin(), out.offsets.end() - 1);
  Record<T>* rec = recs.data();
  std::int64_t* cur = cursor.data();
  parallel_for(na, [&](std::int64_t k) {
    const std::int64_t s = system_of(k);
    for_pairs_of_slot(nl, g, s, k, [&](std::int64_t i, std::int64_t j, const auto& im, const auto& r) {
      if (!inside(r, cut2(i, j))) return;
      const std::int64_t pi = std::atomic_ref<std::int64_t>(cur[i]).fetch_add(1, std::memory_order_relaxed);
      const std::int64_t pj = std::atomic_ref<std::int64_t>(cur[j]).fetch_add(1, std::memory_order_relaxed);
      rec[pi] = {static_cast<std::int32_t>(j), req.species[j], im, r};
      rec[pj] = {static_cast<std::int32_t>(i), req.species[i], {-im[0], -im[1], -im[2]}, {-r[0], -r[1], -r[2]}};
    });
  });
  out.neighbor.resize(static_cast<std::size_t>(np));
  out.species.resize(static_cast<std::size_t>(np));
  out.image.resize(static_cast<std::size_t>(3 * np));
  out.rij.resize(static_cast<std::size_t>(3 * np));
  out.reverse.resize(static_cast<std::size_t>(np));
  const std::int64_t* off = out.offsets.data();
  parallel_for(na, [&](std::int64_t i) {
    std::sort(rec + off[i], rec + off[i + 1]);
    for (std::int64_t p = off[i]; p < off[i + 1]; ++p) {
      out.neighbor[p] = rec[p].j;
      out.species[p] = rec[p].species;
      for (int d = 0; d < 3; ++d) {
        out.image[3 * p + d] = rec[p].image[static_cast<std::size_t>(d)];
        out.rij[3 * p + d] = rec[p].r[static_cast<std::size_t>(d)];
      }
    }
  });
  // 3. The opposite pair of p = (i -> j, image) is (j -> i, -image) in j's sorted range.
  parallel_for(na, [&](std::int64_t i) {
    for (std::int64_t p = off[i]; p < off[i + 1]; ++p) {
      const std::int32_t j = out.neighbor[p];
      Record<T> key{
          static_cast<std::int32_t>(i), 0, {-out.image[3 * p], -out.image[3 * p + 1], -out.image[3 * p + 2]}, {}};
      const Record<T>* q = std::lower_bound(rec + off[j], rec + off[j + 1], key);
      out.reverse[p] = q - rec;
    }
  });
}

template <typename T>
void gather_pair_gradients(const NeighborView<T>& view, const T* g, std::int64_t n_systems,
                           const std::int64_t* atoms_ptr, T* forces, double* virial) {
  const std::int64_t* off = view.offsets.data();
  const std::int64_t* rev = view.reverse.data();
  parallel_for(view.n_atoms, [&](std::int64_t i) {
    T f[3] = {0, 0, 0};
    for (std::int64_t p = off[i]; p < off[i + 1]; ++p)
      for (int d = 0; d < 3; ++d) f[d] += g[3 * p + d] - g[3 * rev[p] + d];
    for (int d = 0; d < 3; ++d) forces[3 * i + d] = f[d];
  });
  if (virial == nullptr) return;
  const T* r = view.rij.data();
  parallel_for_dynamic(n_systems, [&](std::int64_t s) {
    double w[9] = {};
    for (std::int64_t p = off[atoms_ptr[s]]; p < off[atoms_ptr[s + 1]]; ++p)
      for (int a = 0; a < 3; ++a)
        for (int b = 0; b < 3; ++b) w[3 * a + b] -= double(r[3 * p + a]) * double(g[3 * p + b]);
    std::copy(w, w + 9, virial + 9 * s);
  });
}

template <typename T>
void half_list_frame(const NeighborList& nl, const BatchGeometry<T>& g, std::int64_t s, T* pos, T* shift) {
  const std::int64_t* order = nl.atom_order().data();
  const std::int32_t* image = nl.image_offsets().data();
  const T* cell = g.cell != nullptr ? g.cell + 9 * s : nullptr;
  for (std::int64_t k = g.atoms_ptr[s]; k < g.atoms_ptr[s + 1]; ++k) {
    const T* x = g.positions + 3 * order[k];
    const std::int32_t* n = image + 3 * k;
    T p[3] = {x[0], x[1], x[2]};
    if (cell != nullptr && (n[0] | n[1] | n[2]) != 0)
      for (int d = 0; d < 3; ++d)
        for (int e = 0; e < 3; ++e) p[e] -= static_cast<T>(n[d]) * cell[3 * d + e];
    for (int e = 0; e < 3; ++e) pos[3 * k + e] = p[e];
  }
  const auto shift_ptr = nl.shift_ptr();
  const auto shifts = nl.shifts();
  for (std::int64_t q = shift_ptr[static_cast<std::size_t>(s)]; q < shift_ptr[static_cast<std::size_t>(s) + 1]; ++q)
    for (int e = 0; e < 3; ++e) {
      T v = 0;
      if (cell != nullptr)
        for (int d = 0; d < 3; ++d)
          if (shifts[3 * q + d] != 0) v += static_cast<T>(shifts[3 * q + d]) * cell[3 * d + e];
      shift[3 * q + e] = v;
    }
}

template void half_list_frame<float>(const NeighborList&, const BatchGeometry<float>&, std::int64_t, float*, float*);
template void half_list_frame<double>(const NeighborList&, const BatchGeometry<double>&, std::int64_t, double*,
                                      double*);
template void build_neighbor_view<float>(const NeighborList&, const BatchGeometry<float>&, const ViewRequest&,
                                         NeighborView<float>&);
template void build_neighbor_view<double>(const NeighborList&, const BatchGeometry<double>&, const ViewRequest&,
                                          NeighborView<double>&);
template void gather_pair_gradients<float>(const NeighborView<float>&, const float*, std::int64_t, const std::int64_t*,
                                           float*, double*);
template void gather_pair_gradients<double>(const NeighborView<double>&, const double*, std::int64_t,
                                            const std::int64_t*, double*, double*);

}  // namespace batchmd::model::detail
