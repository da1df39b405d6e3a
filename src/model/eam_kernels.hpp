// SPDX-License-Identifier: Apache-2.0
// model/eam_kernels (internal): the arithmetic of one EAM pair and one embedding, shared by the CPU
// loops (eam.cpp) and the GPU kernels (eam_gpu.cu) — LAMMPS's spline lookups restated:
//   p = r / dr + 1,  m = min(floor(p), nr - 1),  p = min(p - m, 1)   (knot m, 1-based)
//   f(r) = ((c3 p + c4) p + c5) p + c6,   f'(r) = (c0 p + c1) p + c2
// and for the embedding  m = clamp(floor(rho / drho + 1), 1, nrho - 1), F continued linearly
// beyond rhomax.
#pragma once
#include <cstdint>

#ifndef BATCHMD_HD
#if defined(__CUDACC__)
#define BATCHMD_HD __host__ __device__
#else
#define BATCHMD_HD
#endif
#endif

namespace batchmd::model::detail {

/// The tables of an EAM potential in precision T (borrowed pointers, host or device).
template <typename T>
struct EAMView {
  const T* frho = nullptr;                   ///< [n_elements][nrho + 1][7]
  const T* rhor = nullptr;                   ///< [n_rhor][nr + 1][7]
  const T* z2r = nullptr;                    ///< [n_z2r][nr + 1][7]
  const std::int32_t* rhor_index = nullptr;  ///< [n * n]
  const std::int32_t* z2r_index = nullptr;   ///< [n * n]
  std::int32_t n_elements = 0, nrho = 0, nr = 0;
  T rdr = 0, rdrho = 0, rhomax = 0, cutsq = 0;
};

/// Knot (1-based) and fraction of distance r (Å) on the r grid.
template <typename T>
BATCHMD_HD inline std::int32_t eam_knot(T r, T rdr, std::int32_t nr, T& p) {
  p = r * rdr + T(1);
  std::int32_t m = static_cast<std::int32_t>(p);
  m = m < nr - 1 ? m : nr - 1;
  p -= static_cast<T>(m);
  p = p < T(1) ? p : T(1);
  return m;
}

template <typename T>
BATCHMD_HD inline T eam_value(const T* c, T p) {
  return ((c[3] * p + c[4]) * p + c[5]) * p + c[6];
}
template <typename T>
BATCHMD_HD inline T eam_slope(const T* c, T p) {
  return (c[0] * p + c[1]) * p + c[2];
}

/// Density at an atom of species b from a neighbor of species a at distance r (its knot m, p).
template <typename T>
BATCHMD_HD inline T eam_density(const EAMView<T>& v, std::int32_t a, std::int32_t b, std::int32_t m, T p) {
  return eam_value(v.rhor + (static_cast<std::int64_t>(v.rhor_index[a * v.n_elements + b]) * (v.nr + 1) + m) * 7, p);
}

/// F(rho) of species a (eV) and F'(rho) in fp.
template <typename T>
BATCHMD_HD inline T eam_embed(const EAMView<T>& v, std::int32_t a, T rho, T& fp) {
  T p = rho * v.rdrho + T(1);
  std::int32_t m = static_cast<std::int32_t>(p);
  m = m < v.nrho - 1 ? m : v.nrho - 1;
  m = m > 1 ? m : 1;
  p -= static_cast<T>(m);
  p = p < T(1) ? p : T(1);
  const T* c = v.frho + (static_cast<std::int64_t>(a) * (v.nrho + 1) + m) * 7;
  fp = eam_slope(c, p);
  T f = eam_value(c, p);
  if (rho > v.rhomax) f += fp * (rho - v.rhomax);
  return f;
}

/// The pair part of an EAM pair (i of species a, j of species b) at distance r with knot (m, p):
/// returns phi(r) (eV) and sets dE/dr (eV/Å) = fp_i rho'_[b->a](r) + fp_j rho'_[a->b](r) + phi'(r).
template <typename T>
BATCHMD_HD inline T eam_pair(const EAMView<T>& v, std::int32_t a, std::int32_t b, T r, std::int32_t m, T p, T fp_i,
                             T fp_j, T& dedr) {
  const std::int32_t n = v.n_elements;
  const T* ci = v.rhor + (static_cast<std::int64_t>(v.rhor_index[b * n + a]) * (v.nr + 1) + m) * 7;
  const T* cj = v.rhor + (static_cast<std::int64_t>(v.rhor_index[a * n + b]) * (v.nr + 1) + m) * 7;
  const T* cz = v.z2r + (static_cast<std::int64_t>(v.z2r_index[a * n + b]) * (v.nr + 1) + m) * 7;
  const T z2 = eam_value(cz, p), z2p = eam_slope(cz, p);
  const T recip = T(1) / r;
  const T phi = z2 * recip;
  const T phip = z2p * recip - phi * recip;
  dedr = fp_i * eam_slope(ci, p) + fp_j * eam_slope(cj, p) + phip;
  return phi;
}

}  // namespace batchmd::model::detail
