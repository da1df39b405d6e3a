// SPDX-License-Identifier: Apache-2.0
// model/neighbor_list: cell-list construction of half Verlet lists with exact periodic images.
//
// Each system is binned in the fractional coordinates of its *frame* (core/frame.hpp, shared with
// the GPU list): the cell rows along periodic directions, an orthonormal completion along open
// ones (the identity for a cluster).
// A bin is at least rc/kBinsPerCutoff wide perpendicular to each face, so every neighbor lies
// within +-m bins; bins are visited through a half stencil of offsets whose exact minimum
// distance is below rc. Periodic offsets wrap and carry an integer shift, so a box smaller than
// 2 rc simply yields several images of the same atom (its own included).
#include "batchmd/model/neighbor_list.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "batchmd/core/error.hpp"
#include "batchmd/core/frame.hpp"
#include "batchmd/core/parallel.hpp"

namespace batchmd::model {

namespace {

// Bins per (cutoff + skin) along a direction: 2 gives a 5^3 stencil, as LAMMPS' default.
constexpr double kBinsPerCutoff = 2.0;
// Candidates are tested kChunk at a time (8 doubles: one AVX-512 vector); the padding of the
// coordinate arrays sits kFar away from everything.
constexpr std::int32_t kChunk = 8;
constexpr double kFar = 1e30;
// A single system of at least this many atoms has its pairs found by several threads.
constexpr std::int64_t kSplitAtoms = 4096;
std::string sys_str(std::int64_t s) { return "system " + std::to_string(s); }

template <typename T>
std::array<bool, 3> pbc_of(const BatchGeometry<T>& g, std::int64_t s) {
  if (g.pbc == nullptr) return {false, false, false};
  return {g.pbc[3 * s], g.pbc[3 * s + 1], g.pbc[3 * s + 2]};
}

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

// min over lo <= u <= hi of u^T G u (G symmetric positive definite), exactly: the minimum of a
// convex quadratic over a box is the unconstrained minimum on one of its 27 faces/edges/corners.
double min_quadratic_over_box(const double G[3][3], const double lo[3], const double hi[3]) {
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

// The build is compiled for AVX-512 and AVX2 besides the baseline ISA (the distance loop is SIMD);
// the loader picks the best the CPU supports.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define BATCHMD_NL_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define BATCHMD_NL_CLONES
#endif

// Thread-local scratch of one system's build, reused across builds.
struct BuildScratch {
  std::vector<double> frac;          // [ns][3], caller order
  std::vector<std::int32_t> image;   // [ns][3], caller order
  std::vector<std::int32_t> bin_of;  // [ns]
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

// The pairs of the bins in planes [b0_lo, b0_hi) along the first direction (their atoms are the
// contiguous slots bs[b0_lo nb1 nb2] .. bs[b0_hi nb1 nb2]) into out; returns the pair count.
// Per atom the unshifted targets come first.
BATCHMD_NL_CLONES std::size_t emit_bins(const EmitPlan& p, std::int64_t b0_lo, std::int64_t b0_hi, PairOut out) {
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
  for (std::int64_t b0 = b0_lo; b0 < b0_hi; ++b0)
    for (std::int64_t b1 = 0; b1 < nb[1]; ++b1)
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
  return n_out;
}

struct SystemOut {
  std::vector<std::int32_t>& neighbors;    // capacity buffer
  std::vector<std::int32_t>& shift_index;  // capacity buffer
  std::vector<std::int32_t>& shifts;
  std::size_t& n_pairs;
  std::vector<std::array<std::int32_t, 3>>& stencil;
  std::array<double, 16>& stencil_key;
};

// Builds the half list of system s into work (neighbors as global slots, shift indices local)
// and the slot-ordered arrays order/image/offsets/shifted_begin (offsets local to the system).
// With split_out, stops before the pairs and describes them there instead (emit_bins, run by the
// caller over ranges of bins in parallel); an empty system leaves *split_out untouched.
template <typename T>
BATCHMD_NL_CLONES void build_system(const BatchGeometry<T>& g, std::int64_t s, double rc, SystemOut work,
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
  for (std::int64_t l = 0; l < ns; ++l) {
    const T* x = g.positions + 3 * (a0 + l);
    const Vec3 xd{static_cast<double>(x[0]), static_cast<double>(x[1]), static_cast<double>(x[2])};
    for (int d = 0; d < 3; ++d) {
      double u = dot(xd, f.recip[d]);
      std::int32_t n = 0;
      if (f.periodic[d]) n = static_cast<std::int32_t>(wrap_unit(u));  // range checked by validate()
      lo[d] = std::min(lo[d], u);
      hi[d] = std::max(hi[d], u);
      sc.frac[3 * l + d] = u;
      sc.image[3 * l + d] = n;
    }
  }

  // 2. Bin grid: nb bins of fractional width w per direction, offsets up to +-m needed.
  std::int64_t nb[3];
  double w[3], origin[3];
  for (int d = 0; d < 3; ++d) {
    if (f.periodic[d]) {
      nb[d] =
          std::max<std::int64_t>(1, static_cast<std::int64_t>(std::min(std::floor(kBinsPerCutoff * f.h[d] / rc), 1e9)));
      origin[d] = 0;
    } else {
      const double width = rc / (kBinsPerCutoff * f.h[d]);
      nb[d] = static_cast<std::int64_t>(std::min(std::floor((hi[d] - lo[d]) / width), 1e9)) + 1;
      origin[d] = lo[d];
    }
  }
  const std::int64_t max_bins = std::min<std::int64_t>(4 * ns + 64, std::int64_t{1} << 30);
  while (static_cast<double>(nb[0]) * static_cast<double>(nb[1]) * static_cast<double>(nb[2]) >
         static_cast<double>(max_bins)) {
    int d = 0;
    for (int e = 1; e < 3; ++e)
      if (nb[e] > nb[d]) d = e;
    nb[d] = (nb[d] + 1) / 2;
  }
  std::int64_t m[3], M[3];
  for (int d = 0; d < 3; ++d) {
    if (f.periodic[d]) {
      w[d] = 1.0 / static_cast<double>(nb[d]);
    } else {
      const double width = rc / (kBinsPerCutoff * f.h[d]);
      w[d] = std::max(width, (hi[d] - lo[d]) / static_cast<double>(nb[d]) * (1 + 1e-9));
    }
    m[d] = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(rc / (w[d] * f.h[d]) * (1 - 1e-12))));
    M[d] = f.periodic[d] ? (m[d] + nb[d] - 1) / nb[d] : 0;
  }
  const std::int64_t n_bins = nb[0] * nb[1] * nb[2];

  // 3. Counting sort of atoms by bin -> slots.
  sc.bin_of.resize(ns);
  sc.bin_start.assign(n_bins + 1, 0);
  for (std::int64_t l = 0; l < ns; ++l) {
    std::int64_t b[3];
    for (int d = 0; d < 3; ++d) {
      b[d] = static_cast<std::int64_t>((sc.frac[3 * l + d] - origin[d]) / w[d]);
      b[d] = std::clamp<std::int64_t>(b[d], 0, nb[d] - 1);
    }
    const auto lin = static_cast<std::int32_t>((b[0] * nb[1] + b[1]) * nb[2] + b[2]);
    sc.bin_of[l] = lin;
    ++sc.bin_start[lin + 1];
  }
  for (std::int64_t b = 0; b < n_bins; ++b) sc.bin_start[b + 1] += sc.bin_start[b];
  for (auto& coord : sc.wrapped) {
    coord.resize(ns + kChunk);
    std::fill(coord.begin() + ns, coord.end(), kFar);
  }
  {
    // bin_start doubles as the insertion cursor, then is restored.
    for (std::int64_t l = 0; l < ns; ++l) {
      const std::int32_t k = sc.bin_start[sc.bin_of[l]]++;
      order[k] = a0 + l;
      const T* x = g.positions + 3 * (a0 + l);
      const std::int32_t* n = &sc.image[3 * l];
      for (int e = 0; e < 3; ++e) {
        sc.wrapped[e][k] = unwrap_component(static_cast<double>(x[e]), n, f.row, e);
        image[3 * k + e] = n[e];
      }
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
    work.stencil_key = key;
    work.stencil.clear();
    for (std::int64_t d0 = 0; d0 <= m[0]; ++d0)
      for (std::int64_t d1 = d0 == 0 ? 0 : -m[1]; d1 <= m[1]; ++d1)
        for (std::int64_t d2 = (d0 == 0 && d1 == 0) ? 1 : -m[2]; d2 <= m[2]; ++d2) {
          const std::int64_t D[3] = {d0, d1, d2};
          bool reachable = true;
          double blo[3], bhi[3];
          for (int d = 0; d < 3; ++d) {
            if (!f.periodic[d] && std::abs(D[d]) >= nb[d]) reachable = false;
            blo[d] = static_cast<double>(D[d] - 1);
            bhi[d] = static_cast<double>(D[d] + 1);
          }
          if (!reachable || min_quadratic_over_box(G, blo, bhi) > rc2) continue;
          work.stencil.push_back(
              {static_cast<std::int32_t>(d0), static_cast<std::int32_t>(d1), static_cast<std::int32_t>(d2)});
        }
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
  work.n_pairs = emit_bins(plan, 0, nb[0], PairOut{work.neighbors, work.shift_index, sc.targets, sc.shifted_targets});
}

// One large system on several threads: the binning (steps 1-5) on the calling thread, then
// the pairs of contiguous ranges of bin planes in parallel, each into its own buffer, then
// concatenated in plane order. The list is the one build_system makes, whatever the thread
// count; the part buffers hold a second copy of the pairs while threads are used.
struct PartBuffer {
  std::vector<std::int32_t> neighbors, shift_index;
  std::vector<BuildScratch::Target> targets, shifted_targets;
  std::size_t n = 0;
};
thread_local std::vector<PartBuffer> tls_parts;

template <typename T>
void build_split(const BatchGeometry<T>& g, double rc, SystemOut out, std::int64_t* order, std::int32_t* image,
                 std::int64_t* offsets, std::int64_t* shifted_begin) {
  const std::size_t hint = out.n_pairs;  // the last build's pair count
  EmitPlan plan;
  build_system(g, 0, rc, out, order, image, offsets, shifted_begin, &plan);
  if (plan.bs == nullptr) return;  // no atoms
  const std::int64_t n_planes = plan.nb[0], plane = plan.nb[1] * plan.nb[2];
  const std::int64_t ns = g.atoms_ptr[1] - g.atoms_ptr[0];
  const auto n_parts = static_cast<std::int64_t>(std::min<std::int64_t>(num_threads(), n_planes));
  std::vector<PartBuffer>& parts = tls_parts;
  parts.resize(static_cast<std::size_t>(n_parts));
  // Plane ranges of about equal atom counts.
  std::vector<std::int64_t> lo(static_cast<std::size_t>(n_parts) + 1, n_planes);
  lo[0] = 0;
  for (std::int64_t t = 1, b0 = 0; t < n_parts; ++t) {
    while (b0 < n_planes && plan.bs[b0 * plane] < ns * t / n_parts) ++b0;
    lo[static_cast<std::size_t>(t)] = b0;
  }
  // Each part starts with its share of the last build's pairs as capacity (+10 %).
  parallel_for_dynamic(n_parts, [&](std::int64_t t) {
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
  parallel_for_dynamic(n_parts, [&](std::int64_t t) {
    const PartBuffer& pb = parts[static_cast<std::size_t>(t)];
    const auto n = static_cast<std::ptrdiff_t>(pb.n);
    std::copy(pb.neighbors.begin(), pb.neighbors.begin() + n, out.neighbors.begin() + first[t]);
    std::copy(pb.shift_index.begin(), pb.shift_index.begin() + n, out.shift_index.begin() + first[t]);
    const auto add = static_cast<std::int64_t>(first[t]);
    for (std::int64_t k = plan.bs[lo[t] * plane]; k < plan.bs[lo[t + 1] * plane]; ++k) {
      plan.offsets[k] += add;
      plan.shifted_begin[k] += add;
    }
  });
  out.n_pairs = total;
}

}  // namespace

NeighborList::NeighborList(double cutoff, double skin) : cutoff_(cutoff), skin_(skin) {
  if (!std::isfinite(cutoff) || !(cutoff > 0))
    throw InvalidArgument("neighbor list cutoff must be a finite positive length in Å, got " + std::to_string(cutoff));
  if (!std::isfinite(skin) || !(skin >= 0))
    throw InvalidArgument("neighbor list skin must be a finite length >= 0 in Å, got " + std::to_string(skin));
}

template <typename T>
int NeighborList::refresh(const BatchGeometry<T>& g) {
  if (n_builds_ == 0 || rebuild_requested_) return kRebuildAll;
  if (g.n_systems != n_systems_ || g.n_atoms != n_atoms_) return kRebuildAll;
  if (g.atoms_ptr == nullptr) return kRebuildAll;  // validation decides whether that is an error
  for (std::int64_t s = 0; s <= n_systems_; ++s)
    if (g.atoms_ptr[s] != atoms_ptr_[s]) return kRebuildAll;
  // Per system: the cell and reciprocal rows displacements are measured in, the strain since the
  // build, and the threshold. A changed cell of a fully periodic system is a strain A = h0^-1 h
  // charged against the skin (see update()); any other changed cell rebuilds.
  const double rc = cutoff_ + skin_;
  strain_.resize(9 * static_cast<std::size_t>(n_systems_));
  now_cell_.resize(9 * static_cast<std::size_t>(n_systems_));
  now_recip_.resize(9 * static_cast<std::size_t>(n_systems_));
  thr2_.assign(static_cast<std::size_t>(n_systems_), 0.25 * skin_ * skin_);
  strained_.assign(static_cast<std::size_t>(n_systems_), 0);
  sys_state_.assign(static_cast<std::size_t>(n_systems_), 0);  // 0 kept, 1 kept with lattice jumps, 2 rebuilt
  for (std::int64_t s = 0; s < n_systems_; ++s) {
    const auto p = pbc_of(g, s);
    bool any = false, all = true;
    for (int d = 0; d < 3; ++d) {
      if (static_cast<std::uint8_t>(p[d]) != ref_pbc_[3 * s + d]) return kRebuildAll;
      any = any || p[d];
      all = all && p[d];
    }
    std::copy_n(&ref_cell_[9 * s], 9, &now_cell_[9 * s]);
    std::copy_n(&ref_recip_[9 * s], 9, &now_recip_[9 * s]);
    if (!any) continue;
    if (g.cell == nullptr) return kRebuildAll;
    bool changed = false;
    for (int e = 0; e < 9; ++e) changed = changed || static_cast<double>(g.cell[9 * s + e]) != ref_cell_[9 * s + e];
    if (!changed) continue;
    if (!all) {
      sys_state_[s] = 2;
      continue;
    }
    double h[9];
    for (int e = 0; e < 9; ++e) h[e] = static_cast<double>(g.cell[9 * s + e]);
    Frame f;
    const bool periodic[3] = {true, true, true};
    if (make_frame(h, periodic, f).error != FrameError::kNone) {  // the build names the problem
      sys_state_[s] = 2;
      continue;
    }
    // A[e][c] = sum_d recip0[d][e] h[d][c]: x0 A maps a build position into the current cell.
    double* A = &strain_[9 * s];
    double dev2 = 0;
    for (int e = 0; e < 3; ++e)
      for (int c = 0; c < 3; ++c) {
        double a = 0;
        for (int d = 0; d < 3; ++d) a += ref_recip_[9 * s + 3 * d + e] * h[3 * d + c];
        A[3 * e + c] = a;
        const double dv = a - (e == c ? 1.0 : 0.0);
        dev2 += dv * dv;
      }
    const double delta = skin_ - std::sqrt(dev2) * rc;
    if (!(delta > 0)) {  // also NaN
      sys_state_[s] = 2;
      continue;
    }
    thr2_[s] = 0.25 * delta * delta;
    strained_[s] = 1;
    for (int d = 0; d < 3; ++d)
      for (int e = 0; e < 3; ++e) {
        now_cell_[9 * s + 3 * d + e] = f.row[d][e];
        now_recip_[9 * s + 3 * d + e] = f.recip[d][e];
      }
  }
  if (n_atoms_ > 0 && g.positions == nullptr) return kRebuildAll;

  // Displacements since the build (from x0 A under a strain); one longer than the threshold is
  // first reduced by the nearest lattice vector (periodic directions), and only what remains counts.
  // Systems are checked in parallel (a pass over every atom, each step); the rare lattice jumps
  // are then collected serially, in system order. Each system is judged on its own atoms and cell
  // only; once cells move (a barostat), only the systems that need it are rebuilt, so that a
  // system's list, and so its forces to the last bit, do not depend on the rest of its batch.
  auto classify = [&](std::int64_t s, std::int64_t a, int* k) {
    double dl[3];
    const double* x0 = &ref_positions_[3 * a];
    if (strained_[s]) {
      const double* A = &strain_[9 * s];
      for (int e = 0; e < 3; ++e)
        dl[e] = static_cast<double>(g.positions[3 * a + e]) - (x0[0] * A[e] + x0[1] * A[3 + e] + x0[2] * A[6 + e]);
    } else {
      for (int e = 0; e < 3; ++e) dl[e] = static_cast<double>(g.positions[3 * a + e]) - x0[e];
    }
    return classify_displacement(dl, &now_cell_[9 * s], &now_recip_[9 * s], &ref_pbc_[3 * s], thr2_[s], k);
  };
  std::uint8_t* mv = sys_state_.data();
  parallel_for_weighted(n_systems_, atoms_ptr_.data(), [&](std::int64_t s) {
    if (mv[s] == 2) return;
    std::uint8_t state = 0;
    for (std::int64_t a = atoms_ptr_[s]; a < atoms_ptr_[s + 1]; ++a) {
      int k[3];
      const Displacement d = classify(s, a, k);
      if (d == Displacement::kRebuild) {
        state = 2;
        break;
      }
      if (d == Displacement::kLatticeJump) state = 1;
    }
    mv[s] = state;
  });
  bool some = false, any_strained = false;
  for (std::int64_t s = 0; s < n_systems_; ++s) {
    some = some || mv[s] == 2;
    any_strained = any_strained || strained_[s] != 0;
  }
  // Without a strained cell in the batch, a rebuild rebuilds every system, as the GPU list does
  // (the CPU and GPU lists rebuild at the same steps: tests/model/lj_model_cases.hpp).
  if (some && (n_systems_ == 1 || !any_strained)) return kRebuildAll;
  pending_slots_.clear();
  pending_jumps_.clear();
  for (std::int64_t s = 0; s < n_systems_; ++s) {
    if (mv[s] == 0) continue;
    for (std::int64_t a = atoms_ptr_[s]; a < atoms_ptr_[s + 1]; ++a) {
      int k[3];
      if (classify(s, a, k) != Displacement::kLatticeJump) continue;
      pending_slots_.push_back(slot_of_[a]);
      pending_jumps_.insert(pending_jumps_.end(), k, k + 3);
    }
  }
  return some ? kRebuildSome : kKeep;
}

namespace {

// A list denser than this (half-list neighbours per atom) is taken for a mistake, such as a
// cutoff far beyond a tiny box, whose periodic images would exhaust memory and time; the job
// estimate of app/limits refuses the same bound earlier, naming the job's keys.
constexpr double kMaxNeighborsPerAtom = 16384;

// Refuses system s when its list would exceed kMaxNeighborsPerAtom. The estimate: per direction,
// the fraction of the system's atoms (images included) within a slab of width 2 rc — 2 rc / h
// along a periodic direction (above 1 when the box is thinner than the cutoff sphere), at most 1
// along an open one; times the sphere's share (π/6) of the cube. ext: extent along open directions.
void check_density(const Frame& f, const double ext[3], std::int64_t ns, double rc, std::int64_t s) {
  double reach = 0.5235987755982988;  // π/6
  for (int d = 0; d < 3; ++d) reach *= f.periodic[d] ? 2 * rc / f.h[d] : std::min(1.0, 2 * rc / ext[d]);
  const double per_atom = 0.5 * static_cast<double>(ns) * reach;
  if (per_atom > kMaxNeighborsPerAtom)
    throw InvalidArgument(sys_str(s) + ": cutoff + skin = " + std::to_string(rc) + " Å gives ~" +
                          std::to_string(static_cast<std::int64_t>(per_atom)) + " neighbours per atom (" +
                          std::to_string(ns) + " atoms" +
                          (f.any_periodic ? ", cell heights " + std::to_string(f.h[0]) + ", " + std::to_string(f.h[1]) +
                                                ", " + std::to_string(f.h[2]) + " Å"
                                          : std::string()) +
                          "), more than the 16384 a neighbour list allows: is the cutoff meant for this system?");
}

// Checks everything a build relies on, so that the build itself cannot fail half-way.
// With `only`, the per-system checks cover only the systems s with only[s] == 2 (to be rebuilt).
template <typename T>
void validate(const BatchGeometry<T>& g, double rc, const std::uint8_t* only = nullptr) {
  if (g.n_systems < 0 || g.n_atoms < 0) throw InvalidArgument("batch geometry: negative n_systems or n_atoms");
  if (g.n_atoms >= std::numeric_limits<std::int32_t>::max())
    throw InvalidArgument("neighbor list: at most 2^31 - 2 atoms per batch, got " + std::to_string(g.n_atoms));
  if (g.atoms_ptr == nullptr) {
    if (g.n_systems == 0 && g.n_atoms == 0) return;
    throw InvalidArgument("batch geometry: atoms_ptr is null");
  }
  if (g.atoms_ptr[0] != 0)
    throw InvalidArgument("batch geometry: atoms_ptr[0] must be 0, got " + std::to_string(g.atoms_ptr[0]));
  for (std::int64_t s = 0; s < g.n_systems; ++s)
    if (g.atoms_ptr[s + 1] < g.atoms_ptr[s])
      throw InvalidArgument("batch geometry: atoms_ptr decreases at system " + std::to_string(s));
  if (g.atoms_ptr[g.n_systems] != g.n_atoms)
    throw InvalidArgument("batch geometry: atoms_ptr[n_systems] = " + std::to_string(g.atoms_ptr[g.n_systems]) +
                          " but n_atoms = " + std::to_string(g.n_atoms));
  if (g.n_atoms > 0 && g.positions == nullptr) throw InvalidArgument("batch geometry: positions are null");
  for (std::int64_t s = 0; s < g.n_systems; ++s) {
    if (only != nullptr && only[s] != 2) continue;
    const Frame f = frame_of(g, s);  // throws for a bad cell
    double lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
    for (std::int64_t a = g.atoms_ptr[s]; a < g.atoms_ptr[s + 1]; ++a) {
      const T* x = g.positions + 3 * a;
      if (!std::isfinite(x[0]) || !std::isfinite(x[1]) || !std::isfinite(x[2]))
        throw NumericalError(sys_str(s) + ", atom " + std::to_string(a - g.atoms_ptr[s]) + " (batch atom " +
                             std::to_string(a) + "): position is not finite (" + std::to_string(x[0]) + ", " +
                             std::to_string(x[1]) + ", " + std::to_string(x[2]) + ")");
      const Vec3 xd{static_cast<double>(x[0]), static_cast<double>(x[1]), static_cast<double>(x[2])};
      for (int d = 0; d < 3; ++d) {
        const double u = dot(xd, f.recip[d]);
        if (f.periodic[d] && std::abs(u) > kMaxImageCells)
          throw NumericalError(sys_str(s) + ", atom " + std::to_string(a - g.atoms_ptr[s]) +
                               ": position is more than 1e9 cells away from the cell");
        lo[d] = a == g.atoms_ptr[s] ? u : std::min(lo[d], u);
        hi[d] = a == g.atoms_ptr[s] ? u : std::max(hi[d], u);
      }
    }
    const double ext[3] = {hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]};
    check_density(f, ext, g.atoms_ptr[s + 1] - g.atoms_ptr[s], rc, s);
  }
}

}  // namespace

// Concatenates the per-system lists (work_) into one CSR; offsets_ and shifted_begin_ hold
// system-local values on entry.
void NeighborList::concatenate() {
  const std::int64_t ns = n_systems_, na = n_atoms_;
  shift_ptr_.assign(ns + 1, 0);
  std::vector<std::int64_t>& pair_base = pair_base_;
  pair_base.assign(ns + 1, 0);
  for (std::int64_t s = 0; s < ns; ++s) {
    shift_ptr_[s + 1] = shift_ptr_[s] + static_cast<std::int64_t>(work_[s].shifts.size() / 3);
    pair_base[s + 1] = pair_base[s] + static_cast<std::int64_t>(work_[s].n_pairs);
  }
  if (ns == 1) {
    shifts_.assign(work_[0].shifts.begin(), work_[0].shifts.end());
  } else {
    if (neighbors_.size() < static_cast<std::size_t>(pair_base[ns])) {
      neighbors_.resize(pair_base[ns]);
      shift_index_.resize(pair_base[ns]);
    }
    shifts_.resize(3 * shift_ptr_[ns]);
    parallel_for_dynamic(ns, [&](std::int64_t s) {
      const SystemWork& w = work_[s];
      const auto n = static_cast<std::ptrdiff_t>(w.n_pairs);
      std::copy(w.neighbors.begin(), w.neighbors.begin() + n, neighbors_.begin() + pair_base[s]);
      std::copy(w.shift_index.begin(), w.shift_index.begin() + n, shift_index_.begin() + pair_base[s]);
      std::copy(w.shifts.begin(), w.shifts.end(), shifts_.begin() + 3 * shift_ptr_[s]);
    });
  }
  for (std::int64_t s = 0; s < ns; ++s)
    if (pair_base[s] != 0)
      for (std::int64_t k = atoms_ptr_[s]; k < atoms_ptr_[s + 1]; ++k) {
        offsets_[k] += pair_base[s];
        shifted_begin_[k] += pair_base[s];
      }
  offsets_[na] = pair_base[ns];
  n_pairs_ = static_cast<std::size_t>(pair_base[ns]);
}

template <typename T>
void NeighborList::build(const BatchGeometry<T>& g) {
  validate(g, cutoff_ + skin_);
  const std::int64_t ns = g.n_systems, na = g.n_atoms;
  n_systems_ = ns;
  n_atoms_ = na;
  atoms_ptr_.assign(ns + 1, 0);
  if (g.atoms_ptr != nullptr) std::copy(g.atoms_ptr, g.atoms_ptr + ns + 1, atoms_ptr_.begin());
  ref_positions_.resize(3 * na);
  for (std::int64_t i = 0; i < 3 * na; ++i) ref_positions_[i] = static_cast<double>(g.positions[i]);
  ref_pbc_.assign(3 * ns, 0);
  ref_cell_.assign(9 * ns, 0.0);
  for (std::int64_t s = 0; s < ns; ++s) {
    const auto p = pbc_of(g, s);
    for (int d = 0; d < 3; ++d) ref_pbc_[3 * s + d] = p[d];
    if (g.cell != nullptr)
      for (int e = 0; e < 9; ++e) ref_cell_[9 * s + e] = static_cast<double>(g.cell[9 * s + e]);
  }

  order_.resize(na);
  image_.resize(3 * na);
  offsets_.resize(na + 1);
  shifted_begin_.resize(na);
  if (static_cast<std::int64_t>(work_.size()) != ns) work_.resize(ns);
  const double rc = cutoff_ + skin_;
  if (ns == 1) {
    // One system builds straight into the list: no second copy of the pairs in memory.
    SystemWork& w = work_[0];
    std::vector<std::int32_t>().swap(w.neighbors);
    std::vector<std::int32_t>().swap(w.shift_index);
    const SystemOut out{neighbors_, shift_index_, w.shifts, w.n_pairs, w.stencil, w.stencil_key};
    if (num_threads() > 1 && na >= kSplitAtoms)
      build_split(g, rc, out, order_.data(), image_.data(), offsets_.data(), shifted_begin_.data());
    else
      build_system(g, 0, rc, out, order_.data(), image_.data(), offsets_.data(), shifted_begin_.data());
  } else {
    parallel_for_dynamic(ns, [&](std::int64_t s) {
      SystemWork& w = work_[s];
      build_system(g, s, rc, SystemOut{w.neighbors, w.shift_index, w.shifts, w.n_pairs, w.stencil, w.stencil_key},
                   order_.data(), image_.data(), offsets_.data(), shifted_begin_.data());
    });
  }

  concatenate();

  // State for refresh(): inverse permutation, build-time images, frames.
  slot_of_.resize(na);
  for (std::int64_t k = 0; k < na; ++k) slot_of_[order_[k]] = k;
  build_image_.assign(image_.begin(), image_.end());
  jumped_slots_.clear();
  cur_cell_ = ref_cell_;
  ref_recip_.assign(9 * ns, 0.0);
  for (std::int64_t s = 0; s < ns; ++s) {
    const Frame f = frame_of(g, s);
    for (int d = 0; d < 3; ++d)
      for (int e = 0; e < 3; ++e) ref_recip_[9 * s + 3 * d + e] = f.recip[d][e];
  }
  ++n_builds_;
  rebuild_requested_ = false;
}

template <typename T>
bool NeighborList::update(const BatchGeometry<T>& g) {
  const int plan = refresh(g);
  if (plan == kRebuildAll) {
    build(g);
    return true;
  }
  if (plan == kRebuildSome) validate(g, cutoff_ + skin_, sys_state_.data());  // throws before any change
  // Kept systems: image offsets follow the lattice jumps.
  for (const std::int64_t k : jumped_slots_)
    for (int d = 0; d < 3; ++d) image_[3 * k + d] = build_image_[3 * k + d];
  jumped_slots_.clear();
  for (std::size_t q = 0; q < pending_slots_.size(); ++q) {
    const std::int64_t k = pending_slots_[q];
    for (int d = 0; d < 3; ++d) image_[3 * k + d] = build_image_[3 * k + d] + pending_jumps_[3 * q + d];
    jumped_slots_.push_back(k);
  }
  cur_cell_.assign(now_cell_.begin(), now_cell_.end());
  if (plan == kKeep) return false;
  rebuild_systems(g);
  return true;
}

template <typename T>
void NeighborList::rebuild_systems(const BatchGeometry<T>& g) {
  const std::int64_t ns = n_systems_;
  const std::uint8_t* mv = sys_state_.data();
  rebuild_list_.clear();
  for (std::int64_t s = 0; s < ns; ++s) {
    if (mv[s] == 2) {
      rebuild_list_.push_back(s);
    } else if (pair_base_[s] != 0) {  // back to system-local offsets; concatenate() adds the new bases
      for (std::int64_t k = atoms_ptr_[s]; k < atoms_ptr_[s + 1]; ++k) {
        offsets_[k] -= pair_base_[s];
        shifted_begin_[k] -= pair_base_[s];
      }
    }
  }
  const double rc = cutoff_ + skin_;
  parallel_for_dynamic(static_cast<std::int64_t>(rebuild_list_.size()), [&](std::int64_t q) {
    const std::int64_t s = rebuild_list_[static_cast<std::size_t>(q)];
    SystemWork& w = work_[s];
    build_system(g, s, rc, SystemOut{w.neighbors, w.shift_index, w.shifts, w.n_pairs, w.stencil, w.stencil_key},
                 order_.data(), image_.data(), offsets_.data(), shifted_begin_.data());
  });
  concatenate();
  // Reference state of the rebuilt systems (their slots were not among the jumped ones).
  for (const std::int64_t s : rebuild_list_) {
    for (std::int64_t k = atoms_ptr_[s]; k < atoms_ptr_[s + 1]; ++k) {
      slot_of_[order_[k]] = k;
      for (int d = 0; d < 3; ++d) {
        build_image_[3 * k + d] = image_[3 * k + d];
        ref_positions_[3 * k + d] = static_cast<double>(g.positions[3 * k + d]);
      }
    }
    if (g.cell != nullptr)
      for (int e = 0; e < 9; ++e) ref_cell_[9 * s + e] = cur_cell_[9 * s + e] = static_cast<double>(g.cell[9 * s + e]);
    const Frame f = frame_of(g, s);
    for (int d = 0; d < 3; ++d)
      for (int e = 0; e < 3; ++e) ref_recip_[9 * s + 3 * d + e] = f.recip[d][e];
  }
  ++n_builds_;
}

std::vector<NeighborPair> NeighborList::pairs() const {
  std::vector<NeighborPair> out;
  out.reserve(neighbors_.size());
  for (std::int64_t s = 0; s < n_systems_; ++s) {
    const double* cell = &cur_cell_[9 * s];
    for (std::int64_t k = atoms_ptr_[s]; k < atoms_ptr_[s + 1]; ++k)
      for (std::int64_t p = offsets_[k]; p < offsets_[k + 1]; ++p) {
        const std::int64_t j = neighbors_[p];
        NeighborPair pr;
        pr.i = order_[k];
        pr.j = order_[j];
        for (int d = 0; d < 3; ++d) {
          const std::int32_t S = p < shifted_begin_[k] ? 0 : shifts_[3 * (shift_ptr_[s] + shift_index_[p]) + d];
          pr.image[d] = S + image_[3 * k + d] - image_[3 * j + d];
        }
        for (int e = 0; e < 3; ++e) {
          double v = 0;
          for (int d = 0; d < 3; ++d) v += pr.image[d] * cell[3 * d + e];
          pr.shift[e] = v;
        }
        out.push_back(pr);
      }
  }
  return out;
}

std::vector<double> NeighborList::state() const {
  std::vector<double> out(12 * static_cast<std::size_t>(n_atoms_));
  for (std::int64_t s = 0; s < n_systems_; ++s)
    for (std::int64_t a = atoms_ptr_[s]; a < atoms_ptr_[s + 1]; ++a) {
      std::copy_n(&ref_positions_[3 * a], 3, &out[12 * a]);
      std::copy_n(&ref_cell_[9 * s], 9, &out[12 * a + 3]);
    }
  return out;
}

template <typename T>
void NeighborList::build_from_reference(const BatchGeometry<T>& g, std::span<const double> reference) {
  const auto na = static_cast<std::size_t>(g.n_atoms);
  const bool with_cells = na > 0 && reference.size() == 12 * na;
  if (reference.size() != 3 * na && !with_cells)
    throw InvalidArgument("NeighborList: reference positions hold " + std::to_string(reference.size() / 3) +
                          " atoms, the geometry " + std::to_string(g.n_atoms));
  // The reference came from T positions (and T cells), so converting back is exact.
  const std::size_t stride = with_cells ? 12 : 3;
  std::vector<T> pos(3 * na);
  for (std::size_t a = 0; a < na; ++a)
    for (int e = 0; e < 3; ++e) pos[3 * a + e] = static_cast<T>(reference[stride * a + e]);
  BatchGeometry<T> ref = g;
  ref.positions = pos.data();
  std::vector<T> cell;
  if (with_cells && g.cell != nullptr) {
    if (g.atoms_ptr == nullptr) throw InvalidArgument("batch geometry: atoms_ptr is null");
    cell.assign(g.cell, g.cell + 9 * g.n_systems);
    for (std::int64_t s = 0; s < g.n_systems; ++s) {
      const std::int64_t a0 = g.atoms_ptr[s];
      if (a0 >= 0 && a0 < g.atoms_ptr[s + 1] && static_cast<std::size_t>(a0) < na)  // else the build refuses g
        for (int e = 0; e < 9; ++e) cell[9 * s + e] = static_cast<T>(reference[12 * a0 + 3 + e]);
    }
    ref.cell = cell.data();
  }
  request_rebuild();
  update(ref);
  if (!cell.empty())  // the list's cells are the stored build cells; the batch is in g's cells
    for (std::size_t e = 0; e < cur_cell_.size(); ++e) cur_cell_[e] = static_cast<double>(g.cell[e]);
}

template void NeighborList::build_from_reference<float>(const BatchGeometry<float>&, std::span<const double>);
template void NeighborList::build_from_reference<double>(const BatchGeometry<double>&, std::span<const double>);
template bool NeighborList::update<float>(const BatchGeometry<float>&);
template bool NeighborList::update<double>(const BatchGeometry<double>&);

}  // namespace batchmd::model
