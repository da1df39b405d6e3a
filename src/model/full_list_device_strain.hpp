// SPDX-License-Identifier: Apache-2.0
// model/full_list_device_strain (internal): how both GPU lists — the shared device full list
// (full_list_device_hd.hpp) and the Lennard-Jones model's own (lj_gpu_kernels.cu) — judge a
// system whose cell changed since its build: NeighborList::refresh's rule
// (neighbor_list_refresh.cpp), as host/device code. A fully periodic cell h0 strained into
// h = h0 A keeps its list while δ = skin − (1 − σ) rc > 0 and every atom stays within δ/2 of
// x0 A (x0 its position at the build), displacements taken modulo lattice vectors of h: a pair
// beyond rc at the build is then still beyond the cutoff, since |r0 A| ≥ σ |r0| for σ a lower
// bound of A's smallest singular value (strained_skin, neighbor_list_strain.hpp, shared with the
// CPU list). Any other cell change, and a pbc change, rebuilds.
//
// Every checking thread evaluates its own system's verdict (a 3×3 product, δ and a frame: ~250
// flops, 9 cell values read; small beside the per-atom check itself), so there is no per-system
// kernel, buffer or launch, and a list's state is what it was: the build cell and reciprocal
// rows. The lattice jump k an atom is found to have made is then in units of the CURRENT cell,
// which is the cell the force kernels wrap positions and shift pairs with.
#pragma once
#include <cstdint>

#include "batchmd/core/frame.hpp"
#include "batchmd/core/hd.hpp"
#include "batchmd/core/vec3.hpp"
#include "neighbor_list_strain.hpp"

namespace batchmd::model::detail {

/// A system's cell now against its cell at the build.
struct CellSinceBuild {
  enum Kind : int { kSame, kStrained, kRebuild } kind = kSame;
  double strain[9];  ///< kStrained: A (row-major, A[3e + c]); x0 A carries a build position into h
  double row[9];     ///< kStrained: the current cell rows (Å)
  double recip[9];   ///< kStrained: their reciprocal rows (1/Å)
  double thr2;       ///< kStrained: (δ/2)² (Å²)
};

/// The verdict for system s from this call's cell ([S][9] in T, may be null) and pbc ([S][3], may
/// be null), its build cell0 and frame reciprocal rows recip0 (row-major [9]) and build periodic
/// flags periodic0 [3]; skin and rc = cutoff + skin (Å; the largest pair's, for several).
/// kSame: no periodic direction, or the cell did not change (bit for bit); kStrained: a fully
/// periodic cell strained with δ > 0; kRebuild: a pbc change, a changed cell that is not fully
/// periodic or is degenerate, δ ≤ 0 or NaN.
template <typename T, typename Flag>
BATCHMD_HD inline CellSinceBuild cell_since_build(const T* cell, const bool* pbc, std::int64_t s, const double* cell0,
                                                  const double* recip0, const Flag* periodic0, double skin, double rc) {
  CellSinceBuild c{};
  bool any = false, all = true;
  for (int d = 0; d < 3; ++d) {
    const bool p = pbc != nullptr && pbc[3 * s + d];
    if (p != (periodic0[d] != 0)) {
      c.kind = CellSinceBuild::kRebuild;
      return c;
    }
    any = any || p;
    all = all && p;
  }
  if (!any) return c;  // an open system's cell is never read
  double h[9];
  bool changed = false;
  for (int e = 0; e < 9; ++e) {
    h[e] = cell != nullptr ? static_cast<double>(cell[9 * s + e]) : 0.0;
    changed = changed || h[e] != cell0[e];
  }
  if (!changed) return c;
  c.kind = CellSinceBuild::kRebuild;
  if (!all) return c;
  Frame f;
  const bool periodic[3] = {true, true, true};
  if (!make_frame(h, periodic, f).ok()) return c;  // the rebuild names the problem
  // A[e][c] = sum_d recip0[d][e] h[d][c] (the CPU list's expression, in its order), and δ by the
  // CPU list's function.
  for (int e = 0; e < 3; ++e)
    for (int k = 0; k < 3; ++k) {
      double a = 0;
      for (int d = 0; d < 3; ++d) a += recip0[3 * d + e] * h[3 * d + k];
      c.strain[3 * e + k] = a;
    }
  const double delta = strained_skin(c.strain, skin, rc);
  if (!(delta > 0)) return c;  // also NaN
  for (int d = 0; d < 3; ++d)
    for (int e = 0; e < 3; ++e) {
      c.row[3 * d + e] = f.row[d][e];
      c.recip[3 * d + e] = f.recip[d][e];
    }
  c.thr2 = 0.25 * delta * delta;
  c.kind = CellSinceBuild::kStrained;
  return c;
}

/// Classifies the displacement of an atom at x (Å) since the build, where it was at x0, for a
/// system whose verdict c is kSame or kStrained: x − x0 against the build cell0 / recip0 and thr2
/// (the unstrained (skin/2)²), or x − x0 A against the current cell and (δ/2)². k receives the
/// lattice jump in units of the cell measured against (see classify_displacement).
template <typename Flag>
BATCHMD_HD inline Displacement displacement_since_build(const CellSinceBuild& c, const double* x, const double* x0,
                                                        const double* cell0, const double* recip0,
                                                        const Flag* periodic0, double thr2, int* k) {
  double dl[3];
  if (c.kind == CellSinceBuild::kStrained) {
    const double* A = c.strain;
    for (int e = 0; e < 3; ++e) dl[e] = x[e] - (x0[0] * A[e] + x0[1] * A[3 + e] + x0[2] * A[6 + e]);
    return classify_displacement(dl, c.row, c.recip, periodic0, c.thr2, k);
  }
  for (int e = 0; e < 3; ++e) dl[e] = x[e] - x0[e];
  return classify_displacement(dl, cell0, recip0, periodic0, thr2, k);
}

}  // namespace batchmd::model::detail
