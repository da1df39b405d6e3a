// SPDX-License-Identifier: Apache-2.0
// model/torch/torch_edges (internal): the TorchScript model's edges of a CPU batch — the shared
// neighbor list's full view kept between rebuilds (NeighborViewCache) and, per call, the pairs
// inside the cutoff selected in the view's order (edge_index, shifts, unit_shifts). Its GPU
// counterpart is torch_edges_gpu.hpp (the same edges, built on the device). In a header so that
// the GPU tests can compare the two.
#pragma once
#include <cstdint>
#include <vector>

#include "../neighbor_view.hpp"
#include "../neighbor_view_cache.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/model/neighbor_list.hpp"

namespace batchmd::model::detail {

// Edges and their scratch, reused across calls. The view (every pair within cutoff + skin, in
// canonical order) is kept between neighbor-list rebuilds by the cache; each call only refreshes
// its displacements and keeps the pairs inside the cutoff (edges).
template <typename T>
struct HostEdges {
  NeighborViewCache<T> cache;
  std::vector<std::uint8_t> keep;        // [view pairs] inside the cutoff this call
  std::vector<std::int64_t> edge_begin;  // [n_atoms + 1] first edge of each atom
  std::vector<std::int64_t> edge_index;  // [2][E]
  std::vector<T> shifts, unit_shifts;    // [E][3]
};

// The edges of this call: the view's pairs with 0 < |r| < cutoff (the test build_neighbor_view
// makes, on the same displacements, so the edges equal those of a view built fresh with the
// cutoff), in the view's order. Two passes over atoms (count, then fill), so threads need no
// atomics and the order does not depend on them.
template <typename T>
std::int64_t select_edges(const NeighborView<T>& v, const BatchGeometry<T>& g, const std::int64_t* sys, double cutoff,
                          HostEdges<T>& b) {
  const std::int64_t na = v.n_atoms;
  const double c2 = cutoff * cutoff;
  b.keep.resize(static_cast<std::size_t>(v.n_pairs()));
  b.edge_begin.resize(static_cast<std::size_t>(na + 1));
  const std::int64_t* off = v.offsets.data();
  const T* rij = v.rij.data();
  std::uint8_t* keep = b.keep.data();
  std::int64_t* cnt = b.edge_begin.data() + 1;
  parallel_for(na, [&](std::int64_t i) {
    std::int64_t n = 0;
    for (std::int64_t p = off[i]; p < off[i + 1]; ++p) {
      const T* r = rij + 3 * p;
      const double r2 = double(r[0]) * r[0] + double(r[1]) * r[1] + double(r[2]) * r[2];
      const bool in = r2 < c2 && r2 > 1e-20;  // as build_neighbor_view: coincident atoms left out
      keep[p] = in ? 1 : 0;
      n += in ? 1 : 0;
    }
    cnt[i] = n;
  });
  b.edge_begin[0] = 0;
  for (std::int64_t i = 0; i < na; ++i) b.edge_begin[i + 1] += b.edge_begin[i];
  const std::int64_t ne = b.edge_begin[na];
  b.edge_index.resize(static_cast<std::size_t>(2 * ne));
  b.shifts.resize(static_cast<std::size_t>(3 * ne));
  b.unit_shifts.resize(static_cast<std::size_t>(3 * ne));
  const std::int64_t* first = b.edge_begin.data();
  const std::int32_t* nbr = v.neighbor.data();
  const std::int32_t* image = v.image.data();
  std::int64_t* ei = b.edge_index.data();
  T* shifts = b.shifts.data();
  T* unit = b.unit_shifts.data();
  parallel_for(na, [&](std::int64_t i) {
    const T* cell = g.cell != nullptr ? g.cell + 9 * sys[i] : nullptr;
    std::int64_t q = first[i];
    for (std::int64_t p = off[i]; p < off[i + 1]; ++p) {
      if (keep[p] == 0) continue;
      ei[q] = i;
      ei[ne + q] = nbr[p];
      const std::int32_t* im = image + 3 * p;
      for (int e = 0; e < 3; ++e) {
        T s = 0;
        if (cell != nullptr)
          for (int d = 0; d < 3; ++d) s += static_cast<T>(im[d]) * cell[3 * d + e];
        shifts[3 * q + e] = s;
        unit[3 * q + e] = static_cast<T>(im[e]);
      }
      ++q;
    }
  });
  return ne;
}

/// The edges of g for a model of cutoff `cutoff` (Å) with list nl (cutoff + nl.skin() kept
/// between rebuilds) and the species of req (all pair cutoffs `cutoff`): b.edge_index [2][E],
/// b.shifts and b.unit_shifts [E][3]; returns E. sys: [n_atoms] system of each atom.
template <typename T>
std::int64_t host_edges(NeighborList& nl, const BatchGeometry<T>& g, const std::int64_t* sys, const ViewRequest& req,
                        double cutoff, HostEdges<T>& b) {
  const NeighborView<T>& view = b.cache.update(nl, g, req);
  return select_edges(view, g, sys, cutoff, b);
}

}  // namespace batchmd::model::detail
