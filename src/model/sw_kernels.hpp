// model/sw_kernels (internal): the Stillinger–Weber arithmetic, written once for the CPU loop
// (sw.cpp) and the GPU kernel (sw_gpu.cu): per-species-pair and per-triplet coefficient tables
// derived from SWParams as LAMMPS derives them (PairSW::setup_params), and the energy of one atom
// with the gradients of its pairs.
//
// The per-atom function reads atom i's full neighbor list (displacements r_p = x_j - x_i) and
// writes, for each of i's pairs p, g_p = dE_i/dr_p, where E_i is i's share of the energy: half of
// every two-body term with its neighbors and all three-body terms centred on i. Forces and the
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
  const T rp = pow(r, -c.p);
  const T rq = pow(r, -c.q);
  const T rainv = T(1) / (r - c.cut);
  const T rainvsq = rainv * rainv * r;
  const T expsrainv = exp(c.sigma * rainv);
  fr = -(c.c1 * rp - c.c2 * rq + (c.c3 * rp - c.c4 * rq) * rainvsq) * expsrainv * rinvsq;
  return (c.c5 * rp - c.c6 * rq) * expsrainv;
}

/// Atom i's energy share (returned, eV) and g[p] = dE_i/dr_p for each of its pairs
/// p in [begin, end). rij: [n_pairs][3] (Å); species: of each pair's neighbor; si: species of i
/// (< 0: the atom is ignored, its g are zero); n: number of species. radial: per-pair scratch of
/// 2 T ([n_pairs][2]) that holds, for pairs inside their cutoff, exp(gamma sigma / (r - a sigma))
/// and gamma sigma / (r - a sigma)^2 / r; 0 marks pairs outside.
template <typename T>
BATCHMD_HD inline double sw_atom(std::int64_t begin, std::int64_t end, std::int32_t si, const T* rij,
                                 const std::int32_t* species, const SWPairCoeffs<T>* pair,
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
    T fr;
    e += 0.5 * double(sw_two_body(c, rsq, fr));
    const T h = T(0.5) * fr;
    for (int d = 0; d < 3; ++d) g[3 * p + d] = h * r[d];
    const T rr = sqrt(rsq);
    const T rainv = T(1) / (rr - c.cut);
    const T gsrainv = c.sigma_gamma * rainv;
    radial[2 * p] = exp(gsrainv);
    radial[2 * p + 1] = gsrainv * rainv / rr;
  }
  // Three-body terms: each unordered pair of i's neighbors once.
  const SWTripletCoeffs<T>* trow = triplet + si * n * n;
  for (std::int64_t p = begin; p < end; ++p) {
    const T ep = radial[2 * p];
    if (ep == T(0)) continue;
    const T* r1 = rij + 3 * p;
    const T rsq1 = r1[0] * r1[0] + r1[1] * r1[1] + r1[2] * r1[2];
    const T rinvsq1 = T(1) / rsq1;
    const T gsr1 = radial[2 * p + 1];
    const SWTripletCoeffs<T>* tj = trow + species[p] * n;
    T gp[3] = {0, 0, 0};
    for (std::int64_t q = p + 1; q < end; ++q) {
      const T eq = radial[2 * q];
      if (eq == T(0)) continue;
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
    }
    for (int d = 0; d < 3; ++d) g[3 * p + d] += gp[d];
  }
  return e;
}

}  // namespace batchmd::model::detail
