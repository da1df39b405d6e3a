// SPDX-License-Identifier: Apache-2.0
// model/cell_grid (internal): the bin grid of one system for the GPU cell lists, as host/device
// code (core/hd.hpp) — how many bins per direction, how wide, how far the stencil reaches, and
// how a bin offset wraps across a periodic face with the lattice shift it crosses.
//
// The grid lives in the fractional coordinates of the system's frame (core/frame.hpp): along a
// periodic direction nb bins of width 1/nb (at least rc/kBinsPerCutoff wide perpendicular to the
// face), along an open one bins of rc/kBinsPerCutoff Å over the extent of the atoms. A pair closer
// than rc lies within +-m bins (m = ceil(rc / bin height)); along a periodic direction an offset
// wraps into [0, nb) and carries the lattice shift it crossed, so a cell thinner than 2 rc simply
// yields several images of the same atom (its own included), each (bin, shift) once.
//
// The GPU full list (full_list_device.cu) builds its grids with these functions; the LJ GPU list
// (lj_gpu_kernels.cu) holds the same rules in its own copy, to be folded onto this header.
#pragma once
#include "batchmd/core/frame.hpp"
#include "batchmd/core/hd.hpp"
#include "batchmd/core/vec3.hpp"

namespace batchmd::model::detail {

/// Bins per rc along a direction (a 5^3 stencil, as NeighborList and LAMMPS' default).
inline constexpr double kGridBinsPerCutoff = 2.0;
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
  long long nb[3];
  double width[3], origin[3], ext[3];
  for (int d = 0; d < 3; ++d) {
    width[d] = rc / (kGridBinsPerCutoff * f.h[d]);
    if (f.periodic[d]) {
      const double want = hd::floor(kGridBinsPerCutoff * f.h[d] / rc);
      nb[d] = want < 1 ? 1 : static_cast<long long>(want < 1e9 ? want : 1e9);
      origin[d] = 0;
      ext[d] = 1;
    } else {
      double l = lo[d], u = hi[d];
      if (!(u >= l)) l = u = 0;
      ext[d] = u - l;
      const double want = hd::floor(ext[d] / width[d]);
      nb[d] = static_cast<long long>(want < 1e9 ? want : 1e9) + 1;
      origin[d] = l;
    }
  }
  if (max_bins < 1) max_bins = 1;
  while (static_cast<double>(nb[0]) * static_cast<double>(nb[1]) * static_cast<double>(nb[2]) >
         static_cast<double>(max_bins)) {
    int d = 0;
    for (int e = 1; e < 3; ++e)
      if (nb[e] > nb[d]) d = e;
    nb[d] = (nb[d] + 1) / 2;
  }
  bool ok = true;
  for (int d = 0; d < 3; ++d) {
    double w;
    if (f.periodic[d]) {
      w = 1.0 / static_cast<double>(nb[d]);
    } else {
      const double spread = ext[d] / static_cast<double>(nb[d]) * (1 + 1e-9);
      w = width[d] > spread ? width[d] : spread;
    }
    const double reach = -hd::floor(-(rc / (w * f.h[d]) * (1 - 1e-12)));  // ceil
    int m = reach < 1 ? 1 : static_cast<int>(reach < 1e6 ? reach : 1e6);
    if (f.periodic[d] && m > kGridMaxReach) {
      ok = false;
      m = 1;
    }
    g.lo[d] = origin[d];
    g.w[d] = w;
    g.nb[d] = static_cast<int>(nb[d]);
    g.m[d] = m;
    g.periodic[d] = f.periodic[d] ? 1 : 0;
  }
  for (int k = 0; k < 9; ++k) g.cell[k] = cell[k];
  for (int d = 0; d < 3; ++d)
    for (int e = 0; e < 3; ++e) {
      g.row[3 * d + e] = f.row[d][e];
      g.recip[3 * d + e] = f.recip[d][e];
    }
  g.n_bins = static_cast<int>(nb[0] * nb[1] * nb[2]);
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

/// a / b rounded down (b > 0).
BATCHMD_HD inline int floor_div(int a, int b) {
  const int q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/// Wraps a bin coordinate t: along a periodic direction into [0, nb) with the lattice shift it
/// crossed; along an open one, false when t is outside the grid.
BATCHMD_HD inline bool wrap_bin(int& t, int& shift, int nb, int periodic) {
  if (periodic) {
    shift = floor_div(t, nb);
    t -= shift * nb;
    return true;
  }
  shift = 0;
  return t >= 0 && t < nb;
}

}  // namespace batchmd::model::detail
