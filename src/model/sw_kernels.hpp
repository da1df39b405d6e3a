// SPDX-License-Identifier: Apache-2.0
// model/sw_kernels (internal): the Stillinger–Weber arithmetic, written once for the CPU loop
// (sw.cpp) and the GPU kernel (sw_gpu.cu): per-species-pair and per-triplet coefficient tables
// derived from SWParams as LAMMPS derives them (PairSW::setup_params), and the energy of one atom
// with the gradients of its pairs.
//
// The per-atom function reads atom i's full neighbor list (displacements r_p = x_j - x_i) and
// writes, for each of i's pairs p, g_p = dE_i/dr_p, where E_i is i's share of the energy: the
// two-body terms of the pairs it owns (p < reverse(p); half of every term where the file's two
// directions differ) and all three-body terms centred on i. Forces and the
// virial then follow from the pair gradients (gather_pair_gradients): no atomics, no races — the
// writes of atom i touch only its own pairs.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "batchmd/model/stillinger_weber.hpp"

#ifndef BATCHMD_HD
#if defined(__CUDACC__)
#define BATCHMD_HD __host__ __device__
#else
#define BATCHMD_HD
#endif
#endif

namespace batchmd::model::detail {

/// Coefficients of the ordered species pair (i, j), from entry (i, j, j).
template <typename T>
struct SWPairCoeffs {
  T cut;          ///< a sigma (Å): the radial functions diverge here
  T cutsq;        ///< squared interaction cutoff (Å^2; LAMMPS's, shortened for tol > 0; 0: none)
  T sigma;        ///< Å
  T sigma_gamma;  ///< sigma gamma (Å)
  T c1, c2, c3, c4, c5, c6;
  T p, q;
  std::int32_t ip, iq;     ///< p and q when they are integers in 0..16 (then r^-p is multiplied out), else -1
  std::int32_t symmetric;  ///< 1 when entry (j, i, i) gives the same two-body term
};

/// The angular coefficients of the triplet (i; j, k): lambda eps and cos theta0 of entry
/// (i, j, k) and of entry (i, k, j) (averaged when they differ).
template <typename T>
struct SWTripletCoeffs {
  T le1, cos1, le2, cos2;
  std::int32_t symmetric;  ///< 1 when the two entries agree (then only the first is evaluated)
};

template <typename T>
struct SWTables {
  std::vector<SWPairCoeffs<T>> pair;        ///< [n^2], (i, j) at i * n + j
  std::vector<SWTripletCoeffs<T>> triplet;  ///< [n^3], (i, j, k) at (i * n + j) * n + k
  std::vector<double> view_cutoff;          ///< [n^2] symmetric: max of the two directions (Å)
};

template <typename T>
SWTables<T> sw_tables(const SWParams& prm) {
  const auto n = static_cast<int>(prm.elements.size());
  SWTables<T> t;
  t.pair.resize(static_cast<std::size_t>(n * n));
  t.triplet.resize(static_cast<std::size_t>(n * n * n));
  t.view_cutoff.resize(static_cast<std::size_t>(n * n));
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const SWEntry& e = prm.entry(i, j, j);
      const double rc = prm.pair_cutoff(i, j);
      SWPairCoeffs<T>& c = t.pair[static_cast<std::size_t>(i * n + j)];
      c.cut = static_cast<T>(e.sigma * e.a);
      c.cutsq = static_cast<T>(rc * rc);
      // Every squared distance below cutsq must have its root below cut in T: r - cut = 0 divides
      // by zero (inf, then NaN forces). Rounding rc^2 to T can leave such a value: float32 Si.sw
      // has one, 14.221798 (root 3.77118 = cut), which a relaxation in float32 reached.
      // (At most a few units in the last place; bounded, so that no input can make it loop long.)
      for (int k = 0; k < 16 && c.cut > T(0) && c.cutsq > T(0) && !(std::sqrt(std::nextafter(c.cutsq, T(0))) < c.cut);
           ++k)
        c.cutsq = std::nextafter(c.cutsq, T(0));
      c.sigma = static_cast<T>(e.sigma);
      c.sigma_gamma = static_cast<T>(e.sigma * e.gamma);
      const double ae = e.A * e.epsilon;
      c.c1 = static_cast<T>(ae * e.p * e.B * std::pow(e.sigma, e.p));
      c.c2 = static_cast<T>(ae * e.q * std::pow(e.sigma, e.q));
      c.c3 = static_cast<T>(ae * e.B * std::pow(e.sigma, e.p + 1.0));
      c.c4 = static_cast<T>(ae * std::pow(e.sigma, e.q + 1.0));
      c.c5 = static_cast<T>(ae * e.B * std::pow(e.sigma, e.p));
      c.c6 = static_cast<T>(ae * std::pow(e.sigma, e.q));
      c.p = static_cast<T>(e.p);
      c.q = static_cast<T>(e.q);
      auto small_int = [](double v) {
        return v == std::floor(v) && v >= 0 && v <= 16 ? static_cast<std::int32_t>(v) : -1;
      };
      c.ip = small_int(e.p);
      c.iq = small_int(e.q);
      const SWEntry& o = prm.entry(j, i, i);
      c.symmetric = (e.epsilon == o.epsilon && e.sigma == o.sigma && e.a == o.a && e.A == o.A && e.B == o.B &&
                     e.p == o.p && e.q == o.q && e.tol == o.tol && e.gamma == o.gamma)
                        ? 1
                        : 0;
      t.view_cutoff[static_cast<std::size_t>(i * n + j)] = std::max(rc, prm.pair_cutoff(j, i));
      for (int k = 0; k < n; ++k) {
        const SWEntry& a = prm.entry(i, j, k);
        const SWEntry& b = prm.entry(i, k, j);
        SWTripletCoeffs<T>& tc = t.triplet[static_cast<std::size_t>((i * n + j) * n + k)];
        tc.le1 = static_cast<T>(a.lambda * a.epsilon);
        tc.cos1 = static_cast<T>(a.costheta0);
        tc.le2 = static_cast<T>(b.lambda * b.epsilon);
        tc.cos2 = static_cast<T>(b.costheta0);
        tc.symmetric = (a.lambda * a.epsilon == b.lambda * b.epsilon && a.costheta0 == b.costheta0) ? 1 : 0;
      }
    }
  return t;
}

/// Two-body energy of the pair at distance r (Å) with r^2 = rsq < cutsq, and dphi/dr / r in
/// fr (as LAMMPS's twobody, whose fforce is -fr).
template <typename T>
BATCHMD_HD inline T sw_two_body(const SWPairCoeffs<T>& c, T rsq, T& fr) {
  using std::exp;
  using std::pow;
  using std::sqrt;
  const T r = sqrt(rsq);
  const T rinvsq = T(1) / rsq;
  // r^-p and r^-q: multiplied out for small integer powers (Si.sw: p = 4, q = 0), else pow.
  const T rinv = T(1) / r;
  auto inv_pow = [&](std::int32_t n, T x) {
    if (n < 0) return pow(r, -x);
    T v = T(1);
    for (std::int32_t k = 0; k < n; ++k) v *= rinv;
    return v;
  };
  const T rp = inv_pow(c.ip, c.p);
  const T rq = inv_pow(c.iq, c.q);
  const T rainv = T(1) / (r - c.cut);
  const T rainvsq = rainv * rainv * r;
  const T expsrainv = exp(c.sigma * rainv);
  fr = -(c.c1 * rp - c.c2 * rq + (c.c3 * rp - c.c4 * rq) * rainvsq) * expsrainv * rinvsq;
  return (c.c5 * rp - c.c6 * rq) * expsrainv;
}

/// Atom i's energy share (returned, eV) and g[p] = dE_i/dr_p for each of its pairs
/// p in [begin, end). rij: [n_pairs][3] (Å); species: of each pair's neighbor; reverse: the
/// opposite pair of each pair (a symmetric pair's two-body term goes to the direction with the
/// smaller index); si: species of i
/// (< 0: the atom is ignored, its g are zero); n: number of species. radial: per-pair scratch of
/// 2 T ([n_pairs][2]) that holds, for pairs inside their cutoff, exp(gamma sigma / (r - a sigma))
/// and gamma sigma / (r - a sigma)^2 / r; 0 marks pairs outside.
template <typename T>
BATCHMD_HD inline double sw_atom(std::int64_t begin, std::int64_t end, std::int32_t si, const T* rij,
                                 const std::int32_t* species, const std::int64_t* reverse, const SWPairCoeffs<T>* pair,
                                 const SWTripletCoeffs<T>* triplet, std::int32_t n, T* radial, T* g) {
  using std::exp;
  using std::sqrt;
  double e = 0;
  if (si < 0) {
    for (std::int64_t p = begin; p < end; ++p)
      for (int d = 0; d < 3; ++d) g[3 * p + d] = T(0);
    return 0;
  }
  const SWPairCoeffs<T>* row = pair + si * n;
  // Two-body halves, and the radial factors of the three-body terms.
  for (std::int64_t p = begin; p < end; ++p) {
    const T* r = rij + 3 * p;
    const T rsq = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
    const std::int32_t sj = species[p];
    const SWPairCoeffs<T>& c = row[sj < 0 ? 0 : sj];
    if (sj < 0 || !(rsq < c.cutsq)) {
      radial[2 * p] = T(0);
      radial[2 * p + 1] = T(0);
      for (int d = 0; d < 3; ++d) g[3 * p + d] = T(0);
      continue;
    }
    // A symmetric pair's two-body term is evaluated once, by the direction p < reverse(p) (which
    // gets all of it); otherwise each direction adds half of its own entry's term.
    T h = T(0);
    if (!c.symmetric) {
      T fr;
      e += 0.5 * double(sw_two_body(c, rsq, fr));
      h = T(0.5) * fr;
    } else if (p < reverse[p]) {
      T fr;
      e += double(sw_two_body(c, rsq, fr));
      h = fr;
    }
    for (int d = 0; d < 3; ++d) g[3 * p + d] = h * r[d];
    const T rr = sqrt(rsq);
    const T rainv = T(1) / (rr - c.cut);
    const T gsrainv = c.sigma_gamma * rainv;
    radial[2 * p] = exp(gsrainv);
    radial[2 * p + 1] = gsrainv * rainv / rr;
  }
  // Three-body terms: each unordered pair of i's neighbors inside their cutoffs once. The list
  // holds pairs up to cutoff + skin (4-7x more than inside for Si), so the inside ones are
  // gathered first (up to kLocal of them; beyond that the loop scans the whole list).
  constexpr int kLocal = 48;
  std::int64_t inside[kLocal];
  int m = 0;
  bool overflow = false;
  for (std::int64_t p = begin; p < end && !overflow; ++p)
    if (radial[2 * p] != T(0)) {
      if (m == kLocal)
        overflow = true;
      else
        inside[m++] = p;
    }
  const SWTripletCoeffs<T>* trow = triplet + si * n * n;
  auto triple = [&](std::int64_t p, std::int64_t q, const T* r1, T rsq1, T rinvsq1, T ep, T gsr1,
                    const SWTripletCoeffs<T>* tj, T* gp) {
    const T eq = radial[2 * q];
    const T* r2 = rij + 3 * q;
    const T rsq2 = r2[0] * r2[0] + r2[1] * r2[1] + r2[2] * r2[2];
    const T rinv12 = T(1) / sqrt(rsq1 * rsq2);
    const T cs = (r1[0] * r2[0] + r1[1] * r2[1] + r1[2] * r2[2]) * rinv12;
    const SWTripletCoeffs<T>& tc = tj[species[q]];
    const T facexp = ep * eq;
    const T d1 = cs - tc.cos1;
    T ang = tc.le1 * d1 * d1;     // lambda eps (cos - cos0)^2
    T dang = T(2) * tc.le1 * d1;  // its derivative in cos
    if (!tc.symmetric) {
      const T d2 = cs - tc.cos2;
      ang = T(0.5) * (ang + tc.le2 * d2 * d2);
      dang = T(0.5) * dang + tc.le2 * d2;
    }
    const T facrad = ang * facexp;
    e += double(facrad);
    const T facang = dang * facexp;
    const T facang12 = rinv12 * facang;
    const T csfacang = cs * facang;
    // dE/dr1 = -(frad1 + cs facang / r1^2) r1 + facang / (r1 r2) r2, and the mirror for r2.
    const T a1 = facrad * gsr1 + csfacang * rinvsq1;
    const T a2 = facrad * radial[2 * q + 1] + csfacang / rsq2;
    for (int d = 0; d < 3; ++d) {
      gp[d] += facang12 * r2[d] - a1 * r1[d];
      g[3 * q + d] += facang12 * r1[d] - a2 * r2[d];
    }
    (void)p;
  };
  auto centre = [&](std::int64_t p, auto&& each_later) {
    const T ep = radial[2 * p];
    const T* r1 = rij + 3 * p;
    const T rsq1 = r1[0] * r1[0] + r1[1] * r1[1] + r1[2] * r1[2];
    const T rinvsq1 = T(1) / rsq1;
    const T gsr1 = radial[2 * p + 1];
    const SWTripletCoeffs<T>* tj = trow + species[p] * n;
    T gp[3] = {0, 0, 0};
    each_later([&](std::int64_t q) { triple(p, q, r1, rsq1, rinvsq1, ep, gsr1, tj, gp); });
    for (int d = 0; d < 3; ++d) g[3 * p + d] += gp[d];
  };
  if (!overflow) {
    for (int a = 0; a < m; ++a)
      centre(inside[a], [&](auto&& f) {
        for (int b = a + 1; b < m; ++b) f(inside[b]);
      });
  } else {
    for (std::int64_t p = begin; p < end; ++p) {
      if (radial[2 * p] == T(0)) continue;
      centre(p, [&](auto&& f) {
        for (std::int64_t q = p + 1; q < end; ++q)
          if (radial[2 * q] != T(0)) f(q);
      });
    }
  }
  return e;
}

}  // namespace batchmd::model::detail
