// SPDX-License-Identifier: Apache-2.0
// model/full_list_device_hd (internal): what one thread of the device-built full list does, as
// host/device functions (core/hd.hpp) — the per-atom check, binning, pair search, count, fill
// and sort, the per-pair reverse search, and the per-system grid pieces. full_list_device.cu
// launches them (one thread per item); compiled for the host they run the same list serially,
// which is how the CPU suite tests this logic (tests/model/test_full_list_device_cpu.cpp) on
// machines without a GPU.
//
// The pair test is the host view's (neighbor_view.cpp), operation for operation: r = x_j - x_i
// in T, then + n_d row_d in T for each non-zero image count n_d, and 0 < r·r < (cutoff + skin)²
// in double. The grid only proposes candidates.
#pragma once
#include <cstdint>

#include "batchmd/core/frame.hpp"
#include "batchmd/core/hd.hpp"
#include "batchmd/core/vec3.hpp"
#include "cell_grid.hpp"
#include "full_list_device_kernels.hpp"
#include "full_list_device_strain.hpp"

namespace batchmd::model::detail::devlist {

BATCHMD_HD inline void record_atom_error(Status* st, int bits, std::int64_t i) {
  hd::atomic_or(&st->error, bits);
  hd::atomic_min(&st->bad_atom, static_cast<int>(i));
}
BATCHMD_HD inline void record_system_error(Status* st, int bits, std::int64_t s) {
  hd::atomic_or(&st->error, bits);
  hd::atomic_min(&st->bad_system, static_cast<int>(s));
}

/// (j1, n1) < (j2, n2) lexicographically: the host view's order (neighbor, then image).
BATCHMD_HD inline bool pair_less(std::int32_t j1, const std::int32_t* n1, std::int32_t j2, const std::int32_t* n2) {
  if (j1 != j2) return j1 < j2;
  for (int d = 0; d < 3; ++d)
    if (n1[d] != n2[d]) return n1[d] < n2[d];
  return false;
}

/// The cutoff + skin of a species pair (the upper triangle: symmetric by construction).
template <typename T>
BATCHMD_HD inline double pair_cut(const ListArgs<T>& a, std::int32_t si, std::int32_t sj) {
  const std::int32_t lo = si < sj ? si : sj, hi = si < sj ? sj : si;
  return a.cut[lo * a.n_species + hi];
}

// ---- per system: the grid (the device runs the extent loop over a block's threads)

/// The frame of system s from the batch's cell and pbc (an open system's cell read as zero);
/// false, with the error recorded and the system marked failed, for a degenerate cell.
template <typename T>
BATCHMD_HD inline bool system_frame(const ListArgs<T>& a, std::int64_t s, Frame& f, double* cell) {
  bool per[3];
  for (int d = 0; d < 3; ++d) per[d] = a.pbc != nullptr && a.pbc[3 * s + d];
  const bool any = per[0] || per[1] || per[2];
  for (int e = 0; e < 9; ++e) cell[e] = (any && a.cell != nullptr) ? static_cast<double>(a.cell[9 * s + e]) : 0.0;
  if (make_frame(cell, per, f).ok()) return true;
  record_system_error(a.st, kErrBadCell, s);
  a.flag[s] = 2;
  return false;
}

/// Widens [lo, hi] (fractional, open directions only) by atom i.
template <typename T>
BATCHMD_HD inline void extend_extent(const ListArgs<T>& a, const Frame& f, std::int64_t i, double* lo, double* hi) {
  double x[3];
  for (int e = 0; e < 3; ++e) x[e] = static_cast<double>(a.pos[3 * i + e]);
  for (int d = 0; d < 3; ++d) {
    if (f.periodic[d]) continue;
    const double u = dot3(x, f.recip[d].v);
    lo[d] = u < lo[d] ? u : lo[d];
    hi[d] = u > hi[d] ? u : hi[d];
  }
}

/// The grid of system s from its frame and extent; false, with the error recorded and the system
/// marked failed, for a cell too thin for the reach.
template <typename T>
BATCHMD_HD inline bool system_grid(const ListArgs<T>& a, std::int64_t s, const Frame& f, const double* cell,
                                   const double* lo, const double* hi) {
  if (make_cell_grid(a.grid[s], f, cell, lo, hi, a.bin_base[s + 1] - a.bin_base[s], a.rc)) return true;
  record_system_error(a.st, kErrCellTooThin, s);
  a.flag[s] = 2;
  return false;
}

// ---- per atom

/// Every call: non-finite position; the system's cell and pbc against its build's (a fully
/// periodic cell strained within the skin keeps the list: full_list_device_strain.hpp); the
/// displacement since the build (from x0 A under a strain A) modulo lattice vectors — a jump by
/// whole cells of the current cell only sets jump[i]. Marks the system for a rebuild.
template <typename T>
BATCHMD_HD inline void check_atom(const ListArgs<T>& a, std::int64_t i) {
  const std::int64_t s = a.sys[i];
  const CellGrid& g = a.grid[s];
  double x[3], x0[3];
  for (int e = 0; e < 3; ++e) x[e] = static_cast<double>(a.pos[3 * i + e]);
  if (!hd::isfinite(x[0]) || !hd::isfinite(x[1]) || !hd::isfinite(x[2])) {
    record_atom_error(a.st, kErrNonFinite, i);
    return;
  }
  const CellSinceBuild c = cell_since_build(a.cell, a.pbc, s, g.cell, g.recip, g.periodic, a.skin, a.rc);
  if (c.kind == CellSinceBuild::kRebuild) {  // the system rebuilds: jumps too
    a.flag[s] = 1;
    a.st->rebuild = 1;
    return;
  }
  for (int e = 0; e < 3; ++e) x0[e] = static_cast<double>(a.ref[3 * i + e]);
  int k[3];
  if (displacement_since_build(c, x, x0, g.cell, g.recip, g.periodic, a.thr2, k) == Displacement::kRebuild) {
    a.flag[s] = 1;
    a.st->rebuild = 1;
  }
  for (int d = 0; d < 3; ++d) a.jump[3 * i + d] = k[d];
}

/// Rebuild, after the grid: wrap counts, bin and arrival rank of atom i; its position becomes the
/// reference, its jump 0.
template <typename T>
BATCHMD_HD inline void bin_atom(const ListArgs<T>& a, std::int64_t i) {
  const std::int64_t s = a.sys[i];
  if (a.flag[s] != 1) return;
  const CellGrid& g = a.grid[s];
  double x[3], u[3];
  for (int e = 0; e < 3; ++e) x[e] = static_cast<double>(a.pos[3 * i + e]);
  int n[3] = {0, 0, 0};
  for (int d = 0; d < 3; ++d) {
    u[d] = dot3(x, g.recip + 3 * d);
    if (g.periodic[d]) {
      if (!(hd::fabs(u[d]) < kMaxImageCells)) {
        record_atom_error(a.st, kErrFar, i);
        a.flag[s] = 2;
        return;
      }
      n[d] = static_cast<int>(wrap_unit(u[d]));
    }
  }
  int b[3];
  cell_grid_bin(g, u, b);
  for (int e = 0; e < 3; ++e) a.ref[3 * i + e] = a.pos[3 * i + e];
  for (int d = 0; d < 3; ++d) {
    a.wimg[3 * i + d] = n[d];
    a.jump[3 * i + d] = 0;
  }
  const auto lin =
      static_cast<std::int32_t>(a.bin_base[s] + (static_cast<long long>(b[0]) * g.nb[1] + b[1]) * g.nb[2] + b[2]);
  a.bin[i] = lin;
  a.rank[i] = hd::atomic_add(&a.bin_count[lin], 1);
}

/// Rebuild, after the bin starts: atom i into its bin.
template <typename T>
BATCHMD_HD inline void place_atom(const ListArgs<T>& a, std::int64_t i) {
  if (a.flag[a.sys[i]] != 1) return;
  a.bin_atoms[a.bin_start[a.bin[i]] + a.rank[i]] = static_cast<std::int32_t>(i);
}

/// Calls emit(j, n) for every (atom j, image n) of atom i (of a binned system) inside the pair's
/// cutoff + skin, in stencil order.
template <typename T, typename Emit>
BATCHMD_HD inline void for_each_pair(const ListArgs<T>& a, std::int64_t i, Emit&& emit) {
  const std::int32_t si = a.species[i];
  if (si < 0) return;
  const std::int64_t s = a.sys[i];
  const CellGrid& g = a.grid[s];
  const long long local = a.bin[i] - a.bin_base[s];
  const int bc[3] = {static_cast<int>(local / (static_cast<long long>(g.nb[1]) * g.nb[2])),
                     static_cast<int>((local / g.nb[2]) % g.nb[1]), static_cast<int>(local % g.nb[2])};
  const T* xi = a.pos + 3 * i;
  const T* c = a.cell != nullptr ? a.cell + 9 * s : nullptr;
  const std::int32_t wi[3] = {a.wimg[3 * i], a.wimg[3 * i + 1], a.wimg[3 * i + 2]};
  for (int d0 = -g.m[0]; d0 <= g.m[0]; ++d0) {
    int t0 = bc[0] + d0, s0 = 0;
    if (!wrap_bin(t0, s0, g.nb[0], g.periodic[0])) continue;
    for (int d1 = -g.m[1]; d1 <= g.m[1]; ++d1) {
      int t1 = bc[1] + d1, s1 = 0;
      if (!wrap_bin(t1, s1, g.nb[1], g.periodic[1])) continue;
      for (int d2 = -g.m[2]; d2 <= g.m[2]; ++d2) {
        int t2 = bc[2] + d2, s2 = 0;
        if (!wrap_bin(t2, s2, g.nb[2], g.periodic[2])) continue;
        const long long tb = a.bin_base[s] + (static_cast<long long>(t0) * g.nb[1] + t1) * g.nb[2] + t2;
        const std::int32_t k0 = a.bin_start[tb], k1 = k0 + a.bin_count[tb];
        const int S[3] = {s0, s1, s2};
        for (std::int32_t k = k0; k < k1; ++k) {
          const std::int32_t j = a.bin_atoms[k];
          const std::int32_t sj = a.species[j];
          if (sj < 0) continue;
          const double rc = pair_cut(a, si, sj);
          if (!(rc > 0)) continue;
          std::int32_t n[3];
          for (int d = 0; d < 3; ++d) n[d] = S[d] + wi[d] - a.wimg[3 * j + d];
          // The host view's displacement and test (neighbor_view.cpp), operation for operation.
          const T* xj = a.pos + 3 * j;
          T r[3] = {xj[0] - xi[0], xj[1] - xi[1], xj[2] - xi[2]};
          if (c != nullptr && (n[0] | n[1] | n[2]) != 0)
            for (int d = 0; d < 3; ++d)
              if (n[d] != 0)
                for (int e = 0; e < 3; ++e) r[e] += static_cast<T>(n[d]) * c[3 * d + e];
          const double r2 = double(r[0]) * r[0] + double(r[1]) * r[1] + double(r[2]) * r[2];
          if (r2 < rc * rc && r2 > 1e-20) emit(j, n);
        }
      }
    }
  }
}

/// Count pass: counts[i + 1] = the pairs of atom i (searched in a rebuilt system, the old list's
/// in a kept one, none in a failed one); counts[0] = 0.
template <typename T>
BATCHMD_HD inline void count_atom(const ListArgs<T>& a, const PairArrays& old, std::int64_t* counts, std::int64_t i) {
  if (i == 0) counts[0] = 0;
  const std::uint8_t f = a.flag[a.sys[i]];
  std::int64_t cnt = 0;
  if (f == 1)
    for_each_pair(a, i, [&](std::int32_t, const std::int32_t*) { ++cnt; });
  else if (f == 0)
    cnt = old.offsets[i + 1] - old.offsets[i];
  counts[i + 1] = cnt;
}

/// Fill pass: atom i's pairs into out at out.offsets[i] — searched and sorted by (neighbor,
/// image) in a rebuilt system, copied from old (sorted already) in a kept one.
template <typename T>
BATCHMD_HD inline void fill_atom(const ListArgs<T>& a, const PairArrays& old, const PairArrays& out, std::int64_t i) {
  const std::uint8_t f = a.flag[a.sys[i]];
  const std::int64_t b = out.offsets[i], e = out.offsets[i + 1];
  if (f == 0) {
    const std::int64_t ob = old.offsets[i];
    for (std::int64_t p = b; p < e; ++p) {
      out.neighbor[p] = old.neighbor[ob + (p - b)];
      for (int d = 0; d < 3; ++d) out.image[3 * p + d] = old.image[3 * (ob + (p - b)) + d];
    }
  } else if (f == 1) {
    std::int64_t p = b;
    for_each_pair(a, i, [&](std::int32_t j, const std::int32_t* n) {
      if (p < e) {
        out.neighbor[p] = j;
        for (int d = 0; d < 3; ++d) out.image[3 * p + d] = n[d];
      }
      ++p;
    });
    if (p != e) {  // cannot happen (the count pass ran the same search); keep the arrays valid
      hd::atomic_or(&a.st->error, kErrFillMismatch);
      for (std::int64_t q = b; q < e; ++q) {
        out.neighbor[q] = static_cast<std::int32_t>(i);
        for (int d = 0; d < 3; ++d) out.image[3 * q + d] = 0;
      }
    }
    // Insertion sort by (neighbor, image): ranges are short (tens of pairs).
    for (std::int64_t q = b + 1; q < e; ++q) {
      const std::int32_t j = out.neighbor[q];
      const std::int32_t n[3] = {out.image[3 * q], out.image[3 * q + 1], out.image[3 * q + 2]};
      std::int64_t k = q;
      while (k > b && pair_less(j, n, out.neighbor[k - 1], out.image + 3 * (k - 1))) {
        out.neighbor[k] = out.neighbor[k - 1];
        for (int d = 0; d < 3; ++d) out.image[3 * k + d] = out.image[3 * (k - 1) + d];
        --k;
      }
      out.neighbor[k] = j;
      for (int d = 0; d < 3; ++d) out.image[3 * k + d] = n[d];
    }
  }
  for (std::int64_t p = b; p < e; ++p) {
    out.pair_atom[p] = static_cast<std::int32_t>(i);
    out.species[p] = a.species[out.neighbor[p]];
  }
}

// ---- per pair

/// reverse[p] = the pair j -> i with the opposite image, by binary search in j's sorted range.
BATCHMD_HD inline void reverse_pair(const PairArrays& out, Status* st, std::int64_t p) {
  const std::int32_t i = out.pair_atom[p], j = out.neighbor[p];
  const std::int32_t key[3] = {-out.image[3 * p], -out.image[3 * p + 1], -out.image[3 * p + 2]};
  std::int64_t lo = out.offsets[j], hi = out.offsets[j + 1];  // lower bound of (i, -image)
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (pair_less(out.neighbor[mid], out.image + 3 * mid, i, key))
      lo = mid + 1;
    else
      hi = mid;
  }
  const bool found = lo < out.offsets[j + 1] && out.neighbor[lo] == i && out.image[3 * lo] == key[0] &&
                     out.image[3 * lo + 1] == key[1] && out.image[3 * lo + 2] == key[2];
  if (found) {
    out.reverse[p] = lo;
  } else {
    hd::atomic_or(&st->error, kErrNoReverse);
    out.reverse[p] = p;  // in bounds; the host throws at the next call
  }
}

}  // namespace batchmd::model::detail::devlist
