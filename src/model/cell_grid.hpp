// SPDX-License-Identifier: Apache-2.0
// model/cell_grid (internal): the bin grid of one system for the GPU cell lists, as host/device
// code (core/hd.hpp) — how many bins per direction, how wide, how far the stencil reaches, and
// how a bin offset wraps across a periodic face with the lattice shift it crosses (wrap_bin, in
// bin_grid.hpp).
//
// The grid lives in the fractional coordinates of the system's frame (core/frame.hpp): along a
// periodic direction nb bins of width 1/nb (at least rc/kBinsPerCutoff wide perpendicular to the
// face), along an open one bins of rc/kBinsPerCutoff Å over the extent of the atoms. A pair closer
// than rc lies within +-m bins (m = ceil(rc / bin height)); along a periodic direction an offset
// wraps into [0, nb) and carries the lattice shift it crossed, so a cell thinner than 2 rc simply
// yields several images of the same atom (its own included), each (bin, shift) once.
//
// The GPU full list (full_list_device.cu) builds its grids with these functions; how many bins and
// how wide comes from bin_grid.hpp, the rules the CPU list and the LJ GPU list bin by.
#pragma once
#include "batchmd/core/frame.hpp"
#include "batchmd/core/hd.hpp"
#include "batchmd/core/vec3.hpp"
#include "bin_grid.hpp"

namespace batchmd::model::detail {

/// Largest reach in bins along a periodic direction: a cell thinner than rc / kGridMaxReach is
/// refused (the images would exhaust memory).
inline constexpr int kGridMaxReach = 500;

/// The binning grid of one system, as of its last build. Trivial (lives in device arrays).
struct CellGrid {
  double cell[9];   ///< cell rows at the build (Å; zero without a cell)
  double row[9];    ///< frame rows (finite; the cell rows along periodic directions)
  double recip[9];  ///< frame reciprocal rows: s_d = x . recip[d]
  double lo[3];     ///< origin of the bins (fractional; 0 along periodic directions)
  double w[3];      ///< bin width (fractional)
  int nb[3];        ///< bins per direction
  int m[3];         ///< reach (bins)
  int periodic[3];
  int n_bins;
};

/// Fills g from the frame f of a system, its cell (row-major [9], zero without one), the extent
/// [lo, hi] of its atoms along open directions (fractional; lo > hi for no atoms), at most max_bins
/// bins, for pairs closer than rc (Å). Returns false when a periodic cell is too thin (reach over
/// kGridMaxReach; g is then unusable).
BATCHMD_HD inline bool make_cell_grid(CellGrid& g, const Frame& f, const double* cell, const double* lo,
                                      const double* hi, long long max_bins, double rc) {
  // The bins, widths and reach are the CPU list's and the LJ GPU list's (bin_grid.hpp).
  const BinGrid b = bin_grid(f, lo, hi, max_bins < 1 ? 1 : max_bins, rc);
  bool ok = true;
  for (int d = 0; d < 3; ++d) {
    int m = static_cast<int>(b.m[d]);
    if (f.periodic[d] && m > kGridMaxReach) {
      ok = false;
      m = 1;
    }
    g.lo[d] = b.origin[d];
    g.w[d] = b.w[d];
    g.nb[d] = static_cast<int>(b.nb[d]);
    g.m[d] = m;
    g.periodic[d] = f.periodic[d] ? 1 : 0;
  }
  for (int k = 0; k < 9; ++k) g.cell[k] = cell[k];
  for (int d = 0; d < 3; ++d)
    for (int e = 0; e < 3; ++e) {
      g.row[3 * d + e] = f.row[d][e];
      g.recip[3 * d + e] = f.recip[d][e];
    }
  g.n_bins = static_cast<int>(b.nb[0] * b.nb[1] * b.nb[2]);
  return ok;
}

/// The bin (per direction) of fractional coordinates u (wrapped into [0, 1) along periodic
/// directions), clamped into the grid.
BATCHMD_HD inline void cell_grid_bin(const CellGrid& g, const double* u, int* b) {
  for (int d = 0; d < 3; ++d) {
    double q = hd::floor((u[d] - g.lo[d]) / g.w[d]);
    const double top = static_cast<double>(g.nb[d] - 1);
    q = q < 0 ? 0 : (q > top ? top : q);
    b[d] = static_cast<int>(q);
  }
}

}  // namespace batchmd::model::detail
