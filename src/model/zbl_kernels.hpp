// SPDX-License-Identifier: Apache-2.0
// model/zbl_kernels (internal): the ZBL universal screened nuclear repulsion (Ziegler, Biersack,
// Littmark, "The Stopping and Range of Ions in Matter", 1985) with LAMMPS's smoothing: between the
// inner and outer cutoff a polynomial in t = r - r_inner is added to the energy so that E, dE/dr
// and d2E/dr2 all reach zero at the outer cutoff, and E is shifted by a constant everywhere
// inside. Host/device code: the CPU loop and the GPU kernel share it.
//
//   E(r) = Z_i Z_j e^2/(4 pi eps0) / r * phi(r / a),  a = 0.46850 / (Z_i^0.23 + Z_j^0.23) Å,
//   phi(x) = 0.18175 e^(-3.19980 x) + 0.50986 e^(-0.94229 x) + 0.28022 e^(-0.40290 x)
//          + 0.02817 e^(-0.20162 x).
#pragma once
#include <cmath>

#ifndef BATCHMD_HD
#if defined(__CUDACC__)
#define BATCHMD_HD __host__ __device__
#else
#define BATCHMD_HD
#endif
#endif

namespace batchmd::model::detail {

/// e^2 / (4 pi eps0) in eV Å — the value LAMMPS's metal units use (qqr2e).
inline constexpr double kCoulombEvA = 14.399645;

/// The coefficients of one element pair.
template <typename T>
struct ZBLCoeffs {
  T d[4];           ///< screening exponents / a (1/Å)
  T zze;            ///< Z_i Z_j e^2/(4 pi eps0) (eV Å)
  T sw1, sw2;       ///< dE/dr switching: t^2 (sw1 + sw2 t)
  T sw3, sw4, sw5;  ///< E switching: t^3 (sw3 + sw4 t) + sw5
  T inner, outer2;  ///< inner cutoff (Å), outer cutoff squared (Å^2)
};

template <typename T>
BATCHMD_HD inline constexpr T zbl_c(int k) {
  return k == 0 ? T(0.02817) : k == 1 ? T(0.28022) : k == 2 ? T(0.50986) : T(0.18175);
}

/// Unswitched ZBL energy and its first two radial derivatives at r (Å).
template <typename T>
BATCHMD_HD inline void zbl_raw(const ZBLCoeffs<T>& c, T r, T& e, T& de, T& d2e) {
  using std::exp;
  const T rinv = T(1) / r;
  T s = 0, sp = 0, spp = 0;
  for (int k = 0; k < 4; ++k) {
    const T ek = zbl_c<T>(k) * exp(-c.d[k] * r);
    s += ek;
    sp += c.d[k] * ek;
    spp += c.d[k] * c.d[k] * ek;
  }
  e = c.zze * s * rinv;
  de = c.zze * (-sp - s * rinv) * rinv;
  d2e = c.zze * (spp + T(2) * sp * rinv + T(2) * s * rinv * rinv) * rinv;
}

/// Energy (eV) of a pair at squared distance rsq < outer^2, and dE/dr (eV/Å) in de.
template <typename T>
BATCHMD_HD inline T zbl_pair(const ZBLCoeffs<T>& c, T rsq, T& de) {
  using std::sqrt;
  const T r = sqrt(rsq);
  T e, d2e;
  zbl_raw(c, r, e, de, d2e);
  e += c.sw5;
  if (r > c.inner) {
    const T t = r - c.inner;
    de += t * t * (c.sw1 + c.sw2 * t);
    e += t * t * t * (c.sw3 + c.sw4 * t);
  }
  return e;
}

/// Coefficients of the pair (z_i, z_j) with cutoffs inner < outer (Å).
template <typename T>
ZBLCoeffs<T> zbl_coeffs(double zi, double zj, double inner, double outer) {
  const double d[4] = {0.20162, 0.40290, 0.94229, 3.19980};
  const double ainv = (std::pow(zi, 0.23) + std::pow(zj, 0.23)) / 0.46850;
  ZBLCoeffs<double> c{};
  for (int k = 0; k < 4; ++k) c.d[k] = d[k] * ainv;
  c.zze = zi * zj * kCoulombEvA;
  c.inner = inner;
  c.outer2 = outer * outer;
  // E + t^3 (A/3 + B/4 t) + C and its first two derivatives vanish at t_c = outer - inner.
  double fc, fcp, fcpp;
  zbl_raw(c, outer, fc, fcp, fcpp);
  const double tc = outer - inner;
  double A = 0, B = 0, C = -fc;
  if (tc > 0) {
    A = (-3.0 * fcp + tc * fcpp) / (tc * tc);
    B = (2.0 * fcp - tc * fcpp) / (tc * tc * tc);
    C = -fc + (tc / 2.0) * fcp - (tc * tc / 12.0) * fcpp;
  }
  ZBLCoeffs<T> o{};
  for (int k = 0; k < 4; ++k) o.d[k] = static_cast<T>(c.d[k]);
  o.zze = static_cast<T>(c.zze);
  o.sw1 = static_cast<T>(A);
  o.sw2 = static_cast<T>(B);
  o.sw3 = static_cast<T>(A / 3.0);
  o.sw4 = static_cast<T>(B / 4.0);
  o.sw5 = static_cast<T>(C);
  o.inner = static_cast<T>(inner);
  o.outer2 = static_cast<T>(outer * outer);
  return o;
}

}  // namespace batchmd::model::detail
