// SPDX-License-Identifier: Apache-2.0
// model/bin_grid: the bin grid of one system's cell list — how many bins per direction, where
// they start, how wide they are and how many bins away a neighbor can sit — as host/device
// arithmetic shared by the CPU list (neighbor_cells.cpp) and the GPU one (lj_gpu_kernels.cu), so
// the two cannot bin differently. Everything is in the frame's fractional coordinates (frame.hpp):
// along a periodic direction [0, 1) is the cell, along an open one a Cartesian length across the
// periodic rows.
//
// A bin is at least rc / kBinsPerCutoff wide perpendicular to each face (rc: cutoff + skin), so a
// neighbor lies within m = kBinsPerCutoff bins in the usual case (a 5^3 stencil, as LAMMPS'
// default); fewer bins than that where the total would pass max_bins (the widest direction is
// halved until it fits), more reach where a periodic cell is thinner than a bin.
#pragma once
#include <cstdint>

#include "batchmd/core/frame.hpp"
#include "batchmd/core/hd.hpp"

namespace batchmd::model {

/// Bins per rc along a direction.
inline constexpr double kBinsPerCutoff = 2.0;

/// The grid of one system (per direction d).
struct BinGrid {
  std::int64_t nb[3];  ///< bins
  double origin[3];    ///< fractional coordinate where bin 0 starts (0 along periodic directions)
  double w[3];         ///< fractional width of a bin
  std::int64_t m[3];   ///< a neighbor within rc lies at most m bins away (at least 1, at most 1e6)
};

/// The grid of a system of frame f whose atoms span the fractional range [lo[d], hi[d]] along
/// each open direction d (ignored along periodic ones; lo > hi, no atoms, gives one bin at 0), for
/// neighbors within rc (Å), with at most max_bins bins in all.
BATCHMD_HD inline BinGrid bin_grid(const Frame& f, const double* lo, const double* hi, std::int64_t max_bins,
                                   double rc) {
  BinGrid g;
  double width[3], ext[3];
  for (int d = 0; d < 3; ++d) {
    width[d] = rc / (kBinsPerCutoff * f.h[d]);
    if (f.periodic[d]) {
      const double want = hd::floor(kBinsPerCutoff * f.h[d] / rc);
      g.nb[d] = want < 1 ? 1 : static_cast<std::int64_t>(want < 1e9 ? want : 1e9);
      g.origin[d] = 0;
      ext[d] = 1;
    } else {
      double l = lo[d], u = hi[d];
      if (!(u >= l)) l = u = 0;
      ext[d] = u - l;
      const double want = hd::floor(ext[d] / width[d]);
      g.nb[d] = static_cast<std::int64_t>(want < 1e9 ? want : 1e9) + 1;
      g.origin[d] = l;
    }
  }
  while (static_cast<double>(g.nb[0]) * static_cast<double>(g.nb[1]) * static_cast<double>(g.nb[2]) >
         static_cast<double>(max_bins)) {
    int d = 0;
    for (int e = 1; e < 3; ++e)
      if (g.nb[e] > g.nb[d]) d = e;
    g.nb[d] = (g.nb[d] + 1) / 2;
  }
  for (int d = 0; d < 3; ++d) {
    if (f.periodic[d]) {
      g.w[d] = 1.0 / static_cast<double>(g.nb[d]);
    } else {
      const double spread = ext[d] / static_cast<double>(g.nb[d]) * (1 + 1e-9);
      g.w[d] = width[d] > spread ? width[d] : spread;
    }
    const double reach = hd::ceil(rc / (g.w[d] * f.h[d]) * (1 - 1e-12));
    g.m[d] = reach < 1 ? 1 : static_cast<std::int64_t>(reach < 1e6 ? reach : 1e6);
  }
  return g;
}

/// a / b rounded down (b > 0).
BATCHMD_HD inline int floor_div(int a, int b) {
  const int q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/// Wraps a bin coordinate t: along a periodic direction into [0, nb) with the lattice shift it
/// crossed; along an open one, false when t is outside the grid (the GPU lists scan their bins so).
BATCHMD_HD inline bool wrap_bin(int& t, int& shift, int nb, int periodic) {
  if (periodic) {
    shift = floor_div(t, nb);
    t -= shift * nb;
    return true;
  }
  shift = 0;
  return t >= 0 && t < nb;
}

}  // namespace batchmd::model
