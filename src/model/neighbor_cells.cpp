// SPDX-License-Identifier: Apache-2.0
// model/neighbor_cells: the cell-list construction of one system's half Verlet list with exact
// periodic images (for NeighborList, neighbor_list.cpp).
//
// Each system is binned in the fractional coordinates of its *frame* (core/frame.hpp, shared with
// the GPU list): the cell rows along periodic directions, an orthonormal completion along open
// ones (the identity for a cluster).
// A bin is at least rc/kBinsPerCutoff wide perpendicular to each face, so every neighbor lies
// within +-m bins; bins are visited through a half stencil of offsets whose exact minimum
// distance is below rc. Periodic offsets wrap and carry an integer shift, so a box smaller than
// 2 rc simply yields several images of the same atom (its own included).
#include "neighbor_cells.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/core/simd_clones.hpp"
#include "bin_grid.hpp"

namespace batchmd::model::detail {

// The frame of system s (core/frame.hpp); throws InvalidArgument naming the system for a cell
// that cannot be one. Kept out of line: the build's ISA clones call it, and it must round the
// same in all of them (no FMA), as it did before the frame moved to core.
template <typename T>
__attribute__((noinline)) Frame frame_of(const BatchGeometry<T>& g, std::int64_t s) {
  const std::array<bool, 3> p = pbc_of(g, s);
  double cell[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  if (p[0] || p[1] || p[2]) {
    if (g.cell == nullptr) throw InvalidArgument(sys_str(s) + " is periodic but the batch has no cell");
    for (int k = 0; k < 9; ++k) cell[k] = static_cast<double>(g.cell[9 * s + k]);
  }
  Frame f;
  const FrameStatus st = make_frame(cell, p.data(), f);
  switch (st.error) {
    case FrameError::kNone:
      break;
    case FrameError::kNonFinite:
      throw InvalidArgument(sys_str(s) + ": cell vector " + std::to_string(st.row) + " is not finite");
    case FrameError::kNonPositiveVolume:
      throw InvalidArgument(sys_str(s) + ": periodic cell has zero or negative volume (" + std::to_string(st.volume) +
                            " Å^3); rows must be right-handed lattice vectors");
    case FrameError::kParallelRows:
      throw InvalidArgument(sys_str(s) + ": the two periodic cell vectors are zero or parallel");
    case FrameError::kZeroRow:
      throw InvalidArgument(sys_str(s) + ": the periodic cell vector is zero");
  }
  return f;
}

namespace {

// Candidates are tested kChunk at a time (8 doubles: one AVX-512 vector); the padding of the
// coordinate arrays sits kFar away from everything.
constexpr std::int32_t kChunk = 8;
constexpr double kFar = 1e30;

// min over lo <= u <= hi of u^T G u (G symmetric positive definite), exactly: the minimum of a
// convex quadratic over a box is the unconstrained minimum on one of its 27 faces/edges/corners.
__attribute__((noinline)) double min_quadratic_over_box(const double G[3][3], const double lo[3], const double hi[3]) {
  double best = std::numeric_limits<double>::infinity();
  for (int code = 0; code < 27; ++code) {
    int state[3] = {code % 3, (code / 3) % 3, code / 9};  // 0 free, 1 at lo, 2 at hi
    double u[3];
    int free_idx[3];
    int nf = 0;
    for (int d = 0; d < 3; ++d) {
      if (state[d] == 0) free_idx[nf++] = d;
      u[d] = state[d] == 1 ? lo[d] : (state[d] == 2 ? hi[d] : 0.0);
    }
    if (nf > 0) {
      // Solve G_FF u_F = -G_FC u_C by Gaussian elimination (nf <= 3).
      double A[3][4];
      for (int a = 0; a < nf; ++a) {
        double rhs = 0;
        for (int d = 0; d < 3; ++d)
          if (state[d] != 0) rhs -= G[free_idx[a]][d] * u[d];
        for (int b = 0; b < nf; ++b) A[a][b] = G[free_idx[a]][free_idx[b]];
        A[a][nf] = rhs;
      }
      bool singular = false;
      for (int c = 0; c < nf && !singular; ++c) {
        int piv = c;
        for (int r = c + 1; r < nf; ++r)
          if (std::abs(A[r][c]) > std::abs(A[piv][c])) piv = r;
        if (std::abs(A[piv][c]) < 1e-300) {
          singular = true;
          break;
        }
        for (int b = 0; b <= nf; ++b) std::swap(A[c][b], A[piv][b]);
        for (int r = 0; r < nf; ++r) {
          if (r == c) continue;
          const double m = A[r][c] / A[c][c];
          for (int b = c; b <= nf; ++b) A[r][b] -= m * A[c][b];
        }
      }
      if (singular) continue;
      bool feasible = true;
      for (int a = 0; a < nf; ++a) {
        const int d = free_idx[a];
        u[d] = A[a][nf] / A[a][a];
        if (u[d] < lo[d] || u[d] > hi[d]) feasible = false;
      }
      if (!feasible) continue;
    }
    double q = 0;
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) q += u[a] * G[a][b] * u[b];
    best = std::min(best, q);
  }
  return best;
}

// The half stencil of a bin grid: the offsets D > 0 (lexicographic) whose bins can hold a pair
// closer than rc, i.e. those with min over u in [D - 1, D + 1] of u^T G u <= rc2 (G: the bin
// metric), that exact minimum as min_quadratic_over_box rounds it, and not past the grid along an
// open direction. Under a barostat G changes at every build while the candidates do not
// (same_shape: the same m and bins per direction); then the minima q are not all recomputed:
// with E = G - G_ref (the metric they were computed at) and mu <= the smallest eigenvalue of G_ref,
// |u^T E u| <= |E|_2 |u|^2 <= r u^T G_ref u with r = min(|E|_F, |E|_inf) / mu (both bound the
// spectral norm of the symmetric E), so the new minimum lies within
// [1 - r, 1 + r] times the reference one. A candidate whose whole interval (widened by
// kRoundoff for rounding) is below rc2 is in, one entirely above is out, and only the few in
// between are computed again: the stencil is the one the exact minima give, offset for offset, in
// the same order. Past kMaxStrainBound (or without a reference) every minimum is computed at G,
// which becomes the reference.
constexpr double kRoundoff = 1e-8;        // >> the rounding of min_quadratic_over_box at condition <= kMaxCondition
constexpr double kMaxCondition = 1e4;     // of G_ref (|G|_F / mu); beyond it, no reuse
constexpr double kMaxStrainBound = 0.05;  // r beyond which the minima are all recomputed

// A lower bound of the smallest eigenvalue of the symmetric positive definite G: 1/|G^-1|_F, from
// the adjugate, shaded for rounding; 0 when G's condition passes kMaxCondition (or G is singular).
double min_eigen_lower_bound(const double G[3][3]) {
  double adj[3][3];
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) {
      const int a1 = (a + 1) % 3, a2 = (a + 2) % 3, b1 = (b + 1) % 3, b2 = (b + 2) % 3;
      adj[b][a] = G[a1][b1] * G[a2][b2] - G[a1][b2] * G[a2][b1];
    }
  const double det = G[0][0] * adj[0][0] + G[0][1] * adj[1][0] + G[0][2] * adj[2][0];
  double adj2 = 0, g2 = 0;
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) {
      adj2 += adj[a][b] * adj[a][b];
      g2 += G[a][b] * G[a][b];
    }
  if (!(det > 0) || !(adj2 > 0)) return 0;
  const double mu = det / std::sqrt(adj2);
  if (!(mu * kMaxCondition >= std::sqrt(g2))) return 0;
  return mu * (1 - 1e-6);
}

}  // namespace

__attribute__((noinline)) void select_stencil(const double G[3][3], const std::int64_t m[3], const std::int64_t nb[3],
                                              const bool periodic[3], double rc2, bool same_shape,
                                              std::vector<std::array<std::int32_t, 3>>& stencil, std::vector<double>& q,
                                              std::array<double, 10>& ref) {
  double r = std::numeric_limits<double>::infinity();
  if (same_shape && ref[9] > 0 && !q.empty()) {
    // |E|_2 <= min(|E|_F, max row sum of |E_ab|) (E symmetric): the row sums are the tighter
    // for a near-isotropic E (1 against sqrt 3 for E = eps I).
    double e2 = 0, row_max = 0;
    for (int a = 0; a < 3; ++a) {
      double row = 0;
      for (int b = 0; b < 3; ++b) {
        const double d = G[a][b] - ref[3 * a + b];
        e2 += d * d;
        row += std::abs(d);
      }
      row_max = std::max(row_max, row);
    }
    r = std::min(std::sqrt(e2), row_max) / ref[9] * (1 + 1e-6) + 1e-15;
  }
  const bool fresh = !(r <= kMaxStrainBound);
  if (fresh) {
    q.clear();
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) ref[3 * a + b] = G[a][b];
    ref[9] = min_eigen_lower_bound(G);
  }
  const double in_below = rc2 / ((1 + r) * (1 + kRoundoff)), out_above = rc2 / ((1 - r) * (1 - kRoundoff));
  stencil.clear();
  std::size_t i = 0;
  for (std::int64_t d0 = 0; d0 <= m[0]; ++d0)
    for (std::int64_t d1 = d0 == 0 ? 0 : -m[1]; d1 <= m[1]; ++d1)
      for (std::int64_t d2 = (d0 == 0 && d1 == 0) ? 1 : -m[2]; d2 <= m[2]; ++d2, ++i) {
        const std::int64_t D[3] = {d0, d1, d2};
        bool reachable = true, near = true;  // near: the box [D - 1, D + 1] holds 0, so the minimum is 0
        double blo[3], bhi[3];
        for (int d = 0; d < 3; ++d) {
          if (!periodic[d] && std::abs(D[d]) >= nb[d]) reachable = false;
          near = near && std::abs(D[d]) <= 1;
          blo[d] = static_cast<double>(D[d] - 1);
          bhi[d] = static_cast<double>(D[d] + 1);
        }
        bool in = false;
        if (fresh) {
          double qi = std::numeric_limits<double>::infinity();
          if (reachable) qi = near ? 0.0 : min_quadratic_over_box(G, blo, bhi);
          q.push_back(qi);
          in = reachable && !(qi > rc2);
        } else if (reachable) {
          const double qi = q[i];
          if (qi <= in_below)
            in = true;
          else if (!(qi > out_above))
            in = !(min_quadratic_over_box(G, blo, bhi) > rc2);
        }
        if (in)
          stencil.push_back(
              {static_cast<std::int32_t>(d0), static_cast<std::int32_t>(d1), static_cast<std::int32_t>(d2)});
      }
}

namespace {

// The build is compiled for AVX-512 and AVX2 besides the baseline ISA (the distance loop is SIMD;
// simd_clones.hpp).

// Thread-local scratch of one system's build, reused across builds.
struct BuildScratch {
  std::vector<double> frac;          // [ns][3], caller order
  std::vector<std::int32_t> image;   // [ns][3], caller order
  std::vector<std::int32_t> bin_of;  // [ns]
  std::vector<std::int32_t> slot;    // [ns]: each atom's slot (one large system on several threads)
  std::vector<double> chunk_box;     // [chunks][6]: lo, hi of each chunk (idem)
  std::vector<std::int32_t> bin_start;
  std::array<std::vector<double>, 3> wrapped;  // x, y, z of each slot (SoA)
  std::array<std::vector<std::int32_t>, 3> wrap_bin, wrap_shift;
  std::vector<Vec3> shift_cart;
  struct Target {
    std::int32_t begin, end, shift;
    bool self;
  };
  std::vector<Target> targets, shifted_targets;
};

thread_local BuildScratch tls_scratch;

// What step 6 of a build (the pairs, bin by bin) reads: the binned system, prepared by
// build_system in the calling thread's scratch. Offsets are written relative to the output.
struct EmitPlan {
  const std::int32_t* bs = nullptr;  // bin_start
  const double *wx = nullptr, *wy = nullptr, *wz = nullptr;
  const std::int32_t* wrap_bin[3] = {nullptr, nullptr, nullptr};
  const std::int32_t* wrap_shift[3] = {nullptr, nullptr, nullptr};
  const std::array<std::int32_t, 3>* stencil = nullptr;
  std::size_t n_stencil = 0;
  const Vec3* shift_cart = nullptr;
  std::int64_t nb[3] = {0, 0, 0}, m[3] = {0, 0, 0}, M[3] = {0, 0, 0}, L[3] = {0, 0, 0};
  std::int32_t zero_shift = 0, base = 0;
  double rc2 = 0;
  std::int64_t* offsets = nullptr;        // system-local slots
  std::int64_t* shifted_begin = nullptr;  // system-local slots
};

struct PairOut {
  std::vector<std::int32_t>& neighbors;    // capacity buffer
  std::vector<std::int32_t>& shift_index;  // capacity buffer
  std::vector<BuildScratch::Target>& targets;
  std::vector<BuildScratch::Target>& shifted_targets;
};

// The pairs of the bins in rows [row_lo, row_hi) (row b0 nb1 + b1: the bins of one (b0, b1); their
// atoms are the contiguous slots bs[row_lo nb2] .. bs[row_hi nb2]) into out; returns the pair
// count. Per atom the unshifted targets come first.
BATCHMD_SIMD_CLONES std::size_t emit_bins(const EmitPlan& p, std::int64_t row_lo, std::int64_t row_hi, PairOut out) {
  const std::int32_t* bs = p.bs;
  const double *wx = p.wx, *wy = p.wy, *wz = p.wz;
  const std::int64_t *nb = p.nb, *m = p.m, *M = p.M, *L = p.L;
  const std::int32_t base = p.base, zero_shift = p.zero_shift;
  const double rc2 = p.rc2;
  std::int64_t* offsets = p.offsets;
  std::int64_t* shifted_begin = p.shifted_begin;
  // Output written branch-free into buffers grown ahead of each target.
  std::size_t n_out = 0;
  std::int32_t* out_nbr = out.neighbors.data();
  std::int32_t* out_shift = out.shift_index.data();
  auto reserve = [&](std::size_t more) {
    if (n_out + more <= out.neighbors.size()) return;
    const std::size_t size = std::max(out.neighbors.size() + out.neighbors.size() / 4, n_out + more + 1024);
    out.neighbors.resize(size);
    out.shift_index.resize(size);
    out_nbr = out.neighbors.data();
    out_shift = out.shift_index.data();
  };
  const std::int64_t width[3] = {2 * m[0] + 1, 2 * m[1] + 1, 2 * m[2] + 1};
  for (std::int64_t row = row_lo; row < row_hi; ++row) {
    const std::int64_t b0 = row / nb[1], b1 = row % nb[1];
    for (std::int64_t b2 = 0; b2 < nb[2]; ++b2) {
      const std::int64_t bin = (b0 * nb[1] + b1) * nb[2] + b2;
      if (bs[bin] == bs[bin + 1]) continue;
      out.targets.clear();
      out.shifted_targets.clear();
      out.targets.push_back({bs[bin], bs[bin + 1], zero_shift, true});
      const std::int32_t* wb0 = &p.wrap_bin[0][b0 * width[0] + m[0]];
      const std::int32_t* wb1 = &p.wrap_bin[1][b1 * width[1] + m[1]];
      const std::int32_t* wb2 = &p.wrap_bin[2][b2 * width[2] + m[2]];
      const std::int32_t* ws0 = &p.wrap_shift[0][b0 * width[0] + m[0]];
      const std::int32_t* ws1 = &p.wrap_shift[1][b1 * width[1] + m[1]];
      const std::int32_t* ws2 = &p.wrap_shift[2][b2 * width[2] + m[2]];
      for (std::size_t si = 0; si < p.n_stencil; ++si) {
        const auto& D = p.stencil[si];
        const std::int32_t t0 = wb0[D[0]], t1 = wb1[D[1]], t2 = wb2[D[2]];
        if ((t0 | t1 | t2) < 0) continue;
        const std::int64_t tb = (t0 * nb[1] + t1) * nb[2] + t2;
        if (bs[tb] == bs[tb + 1]) continue;
        const std::int32_t S0 = ws0[D[0]], S1 = ws1[D[1]], S2 = ws2[D[2]];
        // Neighboring bins along the last direction are contiguous slots: merge their ranges.
        auto add = [&](std::vector<BuildScratch::Target>& list, std::int32_t shift) {
          if (!list.empty() && list.back().shift == shift && list.back().end == bs[tb])
            list.back().end = bs[tb + 1];
          else
            list.push_back({bs[tb], bs[tb + 1], shift, false});
        };
        if ((S0 | S1 | S2) == 0)
          add(out.targets, zero_shift);
        else
          add(out.shifted_targets, static_cast<std::int32_t>(((S0 + M[0]) * L[1] + S1 + M[1]) * L[2] + S2 + M[2]));
      }
      const std::size_t n_zero = out.targets.size();
      out.targets.insert(out.targets.end(), out.shifted_targets.begin(), out.shifted_targets.end());
      for (std::int32_t i = bs[bin]; i < bs[bin + 1]; ++i) {
        offsets[i] = static_cast<std::int64_t>(n_out);
        shifted_begin[i] = -1;
        const double xi = wx[i], yi = wy[i], zi = wz[i];
        for (std::size_t ti = 0; ti < out.targets.size(); ++ti) {
          const auto& tg = out.targets[ti];
          if (ti == n_zero) shifted_begin[i] = static_cast<std::int64_t>(n_out);
          const Vec3& sv = p.shift_cart[tg.shift];
          const double sx = xi - sv[0], sy = yi - sv[1], sz = zi - sv[2];
          const std::int32_t j0 = tg.self ? i + 1 : tg.begin;
          if (j0 >= tg.end) continue;
          const std::int32_t len = tg.end - j0;
          reserve(static_cast<std::size_t>(len) + kChunk);
          // Fixed-width chunks (one SIMD vector of distances, then a branch-free compaction);
          // reading past the range is safe: the coordinate arrays are padded.
          const double* px = wx + j0;
          const double* py = wy + j0;
          const double* pz = wz + j0;
          const std::int32_t shift = tg.shift, first = base + j0;
          std::int32_t* __restrict on = out_nbr;
          std::int32_t* __restrict os = out_shift;
          std::size_t n = n_out;
          for (std::int32_t c = 0; c < len; c += kChunk) {
            std::int32_t within[kChunk];
#pragma omp simd
            for (std::int32_t q = 0; q < kChunk; ++q) {
              const double dx = px[c + q] - sx, dy = py[c + q] - sy, dz = pz[c + q] - sz;
              within[q] = (dx * dx + dy * dy + dz * dz < rc2) & (c + q < len);
            }
            for (std::int32_t q = 0; q < kChunk; ++q) {
              on[n] = first + c + q;
              os[n] = shift;
              n += static_cast<std::size_t>(within[q]);
            }
          }
          n_out = n;
        }
        if (shifted_begin[i] < 0) shifted_begin[i] = static_cast<std::int64_t>(n_out);
      }
    }
  }
  return n_out;
}

// Builds the half list of system s into work (neighbors as global slots, shift indices local)
// and the slot-ordered arrays order/image/offsets/shifted_begin (offsets local to the system).
// With split_out, stops before the pairs and describes them there instead (emit_bins, run by the
// caller over ranges of bins in parallel); an empty system leaves *split_out untouched.
template <typename T>
BATCHMD_SIMD_CLONES void build_system_clones(const BatchGeometry<T>& g, std::int64_t s, double rc, SystemOut work,
                                             std::int64_t* order, std::int32_t* image, std::int64_t* offsets,
                                             std::int64_t* shifted_begin, EmitPlan* split_out = nullptr) {
  BuildScratch& sc = tls_scratch;
  const std::int64_t a0 = g.atoms_ptr[s];
  const std::int64_t ns = g.atoms_ptr[s + 1] - a0;
  // From here on slots are local to the system.
  order += a0;
  image += 3 * a0;
  offsets += a0;
  shifted_begin += a0;
  work.shifts.clear();
  work.n_pairs = 0;
  if (ns == 0) {
    work.shifts.assign({0, 0, 0});
    return;
  }
  const Frame f = frame_of(g, s);
  const double rc2 = rc * rc;

  // 1. Fractional coordinates, wrapped along periodic directions.
  sc.frac.resize(3 * ns);
  sc.image.resize(3 * ns);
  double lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
  for (int d = 0; d < 3; ++d) {
    lo[d] = std::numeric_limits<double>::infinity();
    hi[d] = -lo[d];
  }
  // One large system (split_out: the caller emits the pairs on all threads) bins on all threads
  // too: the fractional coordinates by chunks of atoms, their bounds reduced over the chunks.
  const bool par = split_out != nullptr && num_threads() > 1;
  auto frac_of = [&](std::int64_t l, double* clo, double* chi) {
    const T* x = g.positions + 3 * (a0 + l);
    const Vec3 xd{static_cast<double>(x[0]), static_cast<double>(x[1]), static_cast<double>(x[2])};
    for (int d = 0; d < 3; ++d) {
      double u = dot(xd, f.recip[d]);
      std::int32_t n = 0;
      if (f.periodic[d]) n = static_cast<std::int32_t>(wrap_unit(u));  // range checked by validate()
      clo[d] = std::min(clo[d], u);
      chi[d] = std::max(chi[d], u);
      sc.frac[3 * l + d] = u;
      sc.image[3 * l + d] = n;
    }
  };
  if (par) {
    constexpr std::int64_t kAtoms = 2048;
    const std::int64_t n_chunks = (ns + kAtoms - 1) / kAtoms;
    sc.chunk_box.resize(6 * static_cast<std::size_t>(n_chunks));
    double* box = sc.chunk_box.data();
    parallel_for_dynamic(n_chunks, [&](std::int64_t c) {
      double* clo = box + 6 * c;
      double* chi = clo + 3;
      for (int d = 0; d < 3; ++d) {
        clo[d] = std::numeric_limits<double>::infinity();
        chi[d] = -clo[d];
      }
      for (std::int64_t l = c * kAtoms; l < std::min(ns, (c + 1) * kAtoms); ++l) frac_of(l, clo, chi);
    });
    for (std::int64_t c = 0; c < n_chunks; ++c)
      for (int d = 0; d < 3; ++d) {
        lo[d] = std::min(lo[d], box[6 * c + d]);
        hi[d] = std::max(hi[d], box[6 * c + 3 + d]);
      }
  } else {
    for (std::int64_t l = 0; l < ns; ++l) frac_of(l, lo, hi);
  }

  // 2. Bin grid (bin_grid.hpp, shared with the GPU list): nb bins of fractional width w per
  // direction, offsets up to +-m needed, images up to +-M cells away.
  const BinGrid grid = bin_grid(f, lo, hi, std::min<std::int64_t>(4 * ns + 64, std::int64_t{1} << 30), rc);
  const std::int64_t* nb = grid.nb;
  const std::int64_t* m = grid.m;
  const double* w = grid.w;
  const double* origin = grid.origin;
  std::int64_t M[3];
  for (int d = 0; d < 3; ++d) M[d] = f.periodic[d] ? (m[d] + nb[d] - 1) / nb[d] : 0;
  const std::int64_t n_bins = nb[0] * nb[1] * nb[2];

  // 3. Counting sort of atoms by bin -> slots.
  sc.bin_of.resize(ns);
  sc.bin_start.assign(n_bins + 1, 0);
  auto bin_index = [&](std::int64_t l) {
    std::int64_t b[3];
    for (int d = 0; d < 3; ++d) {
      b[d] = static_cast<std::int64_t>((sc.frac[3 * l + d] - origin[d]) / w[d]);
      b[d] = std::clamp<std::int64_t>(b[d], 0, nb[d] - 1);
    }
    return static_cast<std::int32_t>((b[0] * nb[1] + b[1]) * nb[2] + b[2]);
  };
  // Slot k of atom l: its wrapped position and image.
  auto place = [&](std::int64_t l, std::int32_t k) {
    order[k] = a0 + l;
    const T* x = g.positions + 3 * (a0 + l);
    const std::int32_t* n = &sc.image[3 * l];
    for (int e = 0; e < 3; ++e) {
      sc.wrapped[e][k] = unwrap_component(static_cast<double>(x[e]), n, f.row, e);
      image[3 * k + e] = n[e];
    }
  };
  if (par) {
    // Bins and slots on all threads; only the counting and the slot cursor stay serial (integer
    // work, in atom order, so the slots are the one-thread build's).
    std::int32_t* bin_of = sc.bin_of.data();
    parallel_for(ns, [&](std::int64_t l) { bin_of[l] = bin_index(l); });
    for (std::int64_t l = 0; l < ns; ++l) ++sc.bin_start[bin_of[l] + 1];
  } else {
    for (std::int64_t l = 0; l < ns; ++l) {
      const std::int32_t lin = bin_index(l);
      sc.bin_of[l] = lin;
      ++sc.bin_start[lin + 1];
    }
  }
  for (std::int64_t b = 0; b < n_bins; ++b) sc.bin_start[b + 1] += sc.bin_start[b];
  for (auto& coord : sc.wrapped) {
    coord.resize(ns + kChunk);
    std::fill(coord.begin() + ns, coord.end(), kFar);
  }
  {
    // bin_start doubles as the insertion cursor, then is restored.
    if (par) {
      sc.slot.resize(ns);
      std::int32_t* slot = sc.slot.data();
      for (std::int64_t l = 0; l < ns; ++l) slot[l] = sc.bin_start[sc.bin_of[l]]++;
      parallel_for(ns, [&](std::int64_t l) { place(l, slot[l]); });
    } else {
      for (std::int64_t l = 0; l < ns; ++l) place(l, sc.bin_start[sc.bin_of[l]]++);
    }
    for (std::int64_t b = n_bins; b > 0; --b) sc.bin_start[b] = sc.bin_start[b - 1];
    sc.bin_start[0] = 0;
  }

  // 4. Half stencil: offsets D > 0 (lexicographic) whose bins can hold a pair closer than rc.
  double G[3][3];
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) G[a][b] = w[a] * w[b] * dot(f.row[a], f.row[b]);
  std::array<double, 16> key{};
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) key[3 * a + b] = G[a][b];
  for (int d = 0; d < 3; ++d) {
    key[9 + d] = static_cast<double>(m[d]);
    key[12 + d] = f.periodic[d] ? -1.0 : static_cast<double>(nb[d]);
  }
  key[15] = rc;
  if (key != work.stencil_key) {
    bool same_shape = true;  // bins per direction and reach as before: the same candidate offsets
    for (int e = 9; e < 15; ++e) same_shape = same_shape && key[e] == work.stencil_key[e];
    select_stencil(G, m, nb, f.periodic, rc2, same_shape, work.stencil, work.stencil_q, work.stencil_ref);
    work.stencil_key = key;
  }

  // 5. Shift table: every integer shift in [-M, M]^3 (open directions: 0).
  const std::int64_t L[3] = {2 * M[0] + 1, 2 * M[1] + 1, 2 * M[2] + 1};
  work.shifts.resize(3 * L[0] * L[1] * L[2]);
  for (std::int64_t i0 = 0; i0 < L[0]; ++i0)
    for (std::int64_t i1 = 0; i1 < L[1]; ++i1)
      for (std::int64_t i2 = 0; i2 < L[2]; ++i2) {
        const std::int64_t idx = (i0 * L[1] + i1) * L[2] + i2;
        work.shifts[3 * idx + 0] = static_cast<std::int32_t>(i0 - M[0]);
        work.shifts[3 * idx + 1] = static_cast<std::int32_t>(i1 - M[1]);
        work.shifts[3 * idx + 2] = static_cast<std::int32_t>(i2 - M[2]);
      }
  const auto zero_shift = static_cast<std::int32_t>((M[0] * L[1] + M[1]) * L[2] + M[2]);

  // 6. Pairs, bin by bin; per atom the unshifted targets come first.
  // Per direction, bin b plus offset D lands in bin wrap[d][b][D] with image shift S (no
  // divisions in the loops below); -1 marks "outside" along an open direction.
  for (int d = 0; d < 3; ++d) {
    const std::int64_t width = 2 * m[d] + 1;
    sc.wrap_bin[d].resize(nb[d] * width);
    sc.wrap_shift[d].resize(nb[d] * width);
    for (std::int64_t b = 0; b < nb[d]; ++b)
      for (std::int64_t D = -m[d]; D <= m[d]; ++D) {
        std::int64_t t = b + D, S = 0;
        if (f.periodic[d]) {
          while (t < 0) t += nb[d], --S;
          while (t >= nb[d]) t -= nb[d], ++S;
        } else if (t < 0 || t >= nb[d]) {
          t = -1;
        }
        sc.wrap_bin[d][b * width + D + m[d]] = static_cast<std::int32_t>(t);
        sc.wrap_shift[d][b * width + D + m[d]] = static_cast<std::int32_t>(S);
      }
  }
  const std::int64_t n_shifts = L[0] * L[1] * L[2];
  sc.shift_cart.resize(n_shifts);
  for (std::int64_t q = 0; q < n_shifts; ++q) sc.shift_cart[q] = lattice_vector(&work.shifts[3 * q], f.row);

  EmitPlan plan;
  plan.bs = sc.bin_start.data();
  plan.wx = sc.wrapped[0].data();
  plan.wy = sc.wrapped[1].data();
  plan.wz = sc.wrapped[2].data();
  for (int d = 0; d < 3; ++d) {
    plan.wrap_bin[d] = sc.wrap_bin[d].data();
    plan.wrap_shift[d] = sc.wrap_shift[d].data();
    plan.nb[d] = nb[d];
    plan.m[d] = m[d];
    plan.M[d] = M[d];
    plan.L[d] = L[d];
  }
  plan.stencil = work.stencil.data();
  plan.n_stencil = work.stencil.size();
  plan.shift_cart = sc.shift_cart.data();
  plan.zero_shift = zero_shift;
  plan.base = static_cast<std::int32_t>(a0);
  plan.rc2 = rc2;
  plan.offsets = offsets;
  plan.shifted_begin = shifted_begin;
  if (split_out != nullptr) {
    *split_out = plan;  // the caller emits the pairs (in parallel)
    return;
  }
  // Capacity: the expected pair count of a uniform system (the estimate check_density makes)
  // plus 10 %, so that a first build rarely grows the buffers — growth briefly holds the old and
  // the new buffer, and that high-water mark is the process's peak memory on a large system.
  {
    double reach = 0.5235987755982988;  // π/6
    for (int d = 0; d < 3; ++d)
      reach *= f.periodic[d] ? 2 * rc / f.h[d] : std::min(1.0, 2 * rc / std::max((hi[d] - lo[d]) * f.h[d], 1e-300));
    const double expected = 0.55 * static_cast<double>(ns) * static_cast<double>(ns) * std::min(reach, 1e9);
    const auto want = static_cast<std::size_t>(std::min(expected, 4e9)) + kChunk + 64;
    if (work.neighbors.size() < want) {
      work.neighbors.resize(want);
      work.shift_index.resize(want);
    }
  }
  work.n_pairs =
      emit_bins(plan, 0, nb[0] * nb[1], PairOut{work.neighbors, work.shift_index, sc.targets, sc.shifted_targets});
}

// One large system on several threads: the binning (steps 1-5) on the calling thread, then
// the pairs of contiguous ranges of bin rows in parallel, each into its own buffer, then
// concatenated in plane order. The list is the one build_system makes, whatever the thread
// count; the part buffers hold a second copy of the pairs while threads are used.
struct PartBuffer {
  std::vector<std::int32_t> neighbors, shift_index;
  std::vector<BuildScratch::Target> targets, shifted_targets;
  std::size_t n = 0;
};
thread_local std::vector<PartBuffer> tls_parts;

}  // namespace

template <typename T>
void build_system(const BatchGeometry<T>& g, std::int64_t s, double rc, SystemOut work, std::int64_t* order,
                  std::int32_t* image, std::int64_t* offsets, std::int64_t* shifted_begin) {
  build_system_clones(g, s, rc, work, order, image, offsets, shifted_begin);
}

template <typename T>
void build_split(const BatchGeometry<T>& g, double rc, SystemOut out, std::int64_t* order, std::int32_t* image,
                 std::int64_t* offsets, std::int64_t* shifted_begin) {
  const std::size_t hint = out.n_pairs;  // the last build's pair count
  EmitPlan plan;
  build_system_clones(g, 0, rc, out, order, image, offsets, shifted_begin, &plan);
  if (plan.bs == nullptr) return;  // no atoms
  // Parts are ranges of bin rows (one (b0, b1) each), not of planes: a box of 20-30 planes on 16
  // threads would give some threads two planes and others one.
  const std::int64_t n_rows = plan.nb[0] * plan.nb[1], row = plan.nb[2];
  const std::int64_t ns = g.atoms_ptr[1] - g.atoms_ptr[0];
  const auto n_parts = static_cast<std::int64_t>(std::min<std::int64_t>(num_threads(), n_rows));
  std::vector<PartBuffer>& parts = tls_parts;
  parts.resize(static_cast<std::size_t>(n_parts));
  // Row ranges of about equal atom counts.
  std::vector<std::int64_t> lo(static_cast<std::size_t>(n_parts) + 1, n_rows);
  lo[0] = 0;
  for (std::int64_t t = 1, r = 0; t < n_parts; ++t) {
    while (r < n_rows && plan.bs[r * row] < ns * t / n_parts) ++r;
    lo[static_cast<std::size_t>(t)] = r;
  }
  // Each part starts with its share of the last build's pairs as capacity (+10 %). Part t is
  // emitted and then copied into the list by thread t (parallel_for_threads): its buffer stays in
  // that core's cache in between.
  parallel_for_threads(n_parts, [&](std::int64_t t) {
    PartBuffer& pb = parts[static_cast<std::size_t>(t)];
    const std::size_t want = hint / static_cast<std::size_t>(n_parts) * 11 / 10 + 1024;
    if (pb.neighbors.size() < want) {
      pb.neighbors.resize(want);
      pb.shift_index.resize(want);
    }
    pb.n = emit_bins(plan, lo[static_cast<std::size_t>(t)], lo[static_cast<std::size_t>(t) + 1],
                     PairOut{pb.neighbors, pb.shift_index, pb.targets, pb.shifted_targets});
  });
  std::vector<std::size_t> first(static_cast<std::size_t>(n_parts) + 1, 0);
  for (std::int64_t t = 0; t < n_parts; ++t) first[t + 1] = first[t] + parts[t].n;
  const std::size_t total = first[n_parts];
  if (out.neighbors.size() < total) {
    out.neighbors.resize(total + total / 16 + 1024);
    out.shift_index.resize(total + total / 16 + 1024);
  }
  parallel_for_threads(n_parts, [&](std::int64_t t) {
    const PartBuffer& pb = parts[static_cast<std::size_t>(t)];
    const auto n = static_cast<std::ptrdiff_t>(pb.n);
    std::copy(pb.neighbors.begin(), pb.neighbors.begin() + n, out.neighbors.begin() + first[t]);
    std::copy(pb.shift_index.begin(), pb.shift_index.begin() + n, out.shift_index.begin() + first[t]);
    const auto add = static_cast<std::int64_t>(first[t]);
    for (std::int64_t k = plan.bs[lo[t] * row]; k < plan.bs[lo[t + 1] * row]; ++k) {
      plan.offsets[k] += add;
      plan.shifted_begin[k] += add;
    }
  });
  out.n_pairs = total;
}

template Frame frame_of<float>(const BatchGeometry<float>&, std::int64_t);
template Frame frame_of<double>(const BatchGeometry<double>&, std::int64_t);
template void build_system<float>(const BatchGeometry<float>&, std::int64_t, double, SystemOut, std::int64_t*,
                                  std::int32_t*, std::int64_t*, std::int64_t*);
template void build_system<double>(const BatchGeometry<double>&, std::int64_t, double, SystemOut, std::int64_t*,
                                   std::int32_t*, std::int64_t*, std::int64_t*);
template void build_split<float>(const BatchGeometry<float>&, double, SystemOut, std::int64_t*, std::int32_t*,
                                 std::int64_t*, std::int64_t*);
template void build_split<double>(const BatchGeometry<double>&, double, SystemOut, std::int64_t*, std::int32_t*,
                                  std::int64_t*, std::int64_t*);

}  // namespace batchmd::model::detail
