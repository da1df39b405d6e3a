// SPDX-License-Identifier: Apache-2.0
// model/snap_kernels (internal): the arithmetic of SNAP shared by the CPU loops (snap_cpu.cpp)
// and the CUDA kernels (snap_gpu.cu) — one source for both devices. Each function computes ONE
// element (a U or dU entry from the previous layer, a Z product, the switching function and
// Cayley–Klein parameters of one neighbor), so the CPU walks them in loops and the GPU hands
// them to the lanes of a warp. Labels and layouts: snap_basis.hpp.
//
// Per neighbor r = (x, y, z), |r| < rcut: the 3-sphere angle theta0 = (r - rmin0) rfac0 pi /
// (rcut - rmin0), z0 = r / tan(theta0), and the Cayley–Klein parameters of the rotation
//   a = (z0 - i z) / r0,  b = (y - i x) / r0,  r0 = sqrt(r^2 + z0^2);
// U(j) follows from U(j-1) by
//   U(j; ma, mb) = sqrt((j-ma)/(j-mb)) conj(a) U(j-1; ma, mb) - sqrt(ma/(j-mb)) conj(b) U(j-1; ma-1, mb)
// for the half rows 2 mb <= j (the rest by symmetry). The neighbor contributes w_j f_c(r) U to
// the atom's total, where f_c is the cosine switching function (times the optional inner one).
#pragma once
#include <cmath>
#include <cstdint>

#include "snap_basis.hpp"

#ifndef BATCHMD_HD
#if defined(__CUDACC__)
#define BATCHMD_HD __host__ __device__
#else
#define BATCHMD_HD
#endif
#endif

namespace batchmd::model::detail {

/// The scalar hyperparameters a kernel needs (in the compute type T).
template <typename T>
struct SnapScalars {
  T rfac0 = 0, rmin0 = 0;
  bool switchflag = true, switchinner = false;
  bool bnorm = false, bzero = false, wselfall = false, quadratic = false, chem = false;
  int n_elem = 1;   ///< elements of the model
  int n_u = 1;      ///< element sets of U/Y: n_elem with chemflag, else 1
  int n_b = 0;      ///< bispectrum components per element triple
  int n_coeff = 0;  ///< descriptors per atom: n_b * n_u^3
  int twojmax = 0;
};

/// One neighbor: Cayley–Klein parameters, their derivatives with respect to r, and the weighted
/// switching factor and its radial derivative.
template <typename T>
struct SnapNeighbor {
  T ar, ai, br, bi;
  T dar[3], dai[3], dbr[3], dbi[3];
  T sfac, dsfac;  ///< w_j f_c(r), w_j f_c'(r)
  T ux, uy, uz;   ///< r / |r|
};

/// Fills c for the neighbor at displacement (x, y, z) with pair cutoff rcut (Å), neighbor weight
/// wj and, with switchinner, the inner switching region [rinner, rinner + drinner]. The caller
/// guarantees 0 < |r| < rcut. Derivatives only when `derivs`.
template <typename T>
BATCHMD_HD inline void snap_neighbor(const SnapScalars<T>& p, T x, T y, T z, T rcut, T wj, T rinner, T drinner,
                                     bool derivs, SnapNeighbor<T>& c) {
  using std::cos;
  using std::sin;
  using std::sqrt;
  const T pi = T(3.14159265358979323846);
  const T rsq = x * x + y * y + z * z;
  const T r = sqrt(rsq);
  const T rscale0 = p.rfac0 * pi / (rcut - p.rmin0);
  const T theta0 = (r - p.rmin0) * rscale0;
  const T cs = cos(theta0), sn = sin(theta0);
  const T z0 = r * cs / sn;
  const T r0inv = T(1) / sqrt(rsq + z0 * z0);
  c.ar = z0 * r0inv;
  c.ai = -z * r0inv;
  c.br = y * r0inv;
  c.bi = -x * r0inv;

  T sf = 1, dsf = 0;
  if (p.switchflag && r > p.rmin0) {
    const T k = pi / (rcut - p.rmin0);
    sf = T(0.5) * (cos((r - p.rmin0) * k) + T(1));
    dsf = T(-0.5) * sin((r - p.rmin0) * k) * k;
  }
  if (p.switchinner) {
    T si = 1, dsi = 0;
    if (r <= rinner) {
      si = 0;
    } else if (r < rinner + drinner) {
      const T k = pi / drinner;
      si = T(0.5) * (T(1) - cos((r - rinner) * k));
      dsi = T(0.5) * sin((r - rinner) * k) * k;
    }
    dsf = dsf * si + sf * dsi;
    sf *= si;
  }
  c.sfac = sf * wj;
  c.dsfac = dsf * wj;
  if (!derivs) return;

  const T rinv = T(1) / r;
  c.ux = x * rinv;
  c.uy = y * rinv;
  c.uz = z * rinv;
  const T dz0dr = z0 / r - (r * rscale0) * (rsq + z0 * z0) / rsq;
  const T dr0invdr = -r0inv * r0inv * r0inv * (r + z0 * dz0dr);
  const T u[3] = {c.ux, c.uy, c.uz};
  for (int k = 0; k < 3; ++k) {
    const T dr0inv = dr0invdr * u[k];
    c.dar[k] = dz0dr * u[k] * r0inv + z0 * dr0inv;
    c.dai[k] = -z * dr0inv;
    c.dbr[k] = y * dr0inv;
    c.dbi[k] = -x * dr0inv;
  }
  c.dai[2] -= r0inv;
  c.dbi[0] -= r0inv;
  c.dbr[1] += r0inv;
}

/// A row of layer j-1 of one neighbor's U (and dU/dr) as the recursion reads it: re and im in
/// separate arrays (the CPU loops), dU as [ma'][3].
template <typename T>
struct SnapSplitRow {
  const T *re, *im, *dre = nullptr, *dim = nullptr;
  BATCHMD_HD void u(int ma, T& r, T& i) const { r = re[ma], i = im[ma]; }
  BATCHMD_HD void du(int ma, int k, T& r, T& i) const { r = dre[3 * ma + k], i = dim[3 * ma + k]; }
};

/// U(j; ma, mb) of one neighbor (half row, 2 mb <= j, j >= 1) from row mb of layer j-1 (its
/// entries ma' = 0..j-1, read through `row`: SnapSplitRow or the GPU's interleaved rows).
/// rootpq is SnapBasis::rootpq, jdim = twojmax + 1.
template <typename T, typename Row>
BATCHMD_HD inline void snap_u_entry(int j, int ma, int mb, const T* rootpq, int jdim, const Row& row,
                                    const SnapNeighbor<T>& c, T& ur, T& ui) {
  T re = 0, im = 0, vr, vi;
  if (ma < j) {
    const T rp = rootpq[(j - ma) * jdim + (j - mb)];
    row.u(ma, vr, vi);
    re += rp * (c.ar * vr + c.ai * vi);
    im += rp * (c.ar * vi - c.ai * vr);
  }
  if (ma > 0) {
    const T rp = rootpq[ma * jdim + (j - mb)];
    row.u(ma - 1, vr, vi);
    re -= rp * (c.br * vr + c.bi * vi);
    im -= rp * (c.br * vi - c.bi * vr);
  }
  ur = re;
  ui = im;
}

/// snap_u_entry plus the derivatives dU/dr_k (k = x, y, z) of the unswitched U, from the row of
/// layer j-1 and its derivatives.
template <typename T, typename Row>
BATCHMD_HD inline void snap_du_entry(int j, int ma, int mb, const T* rootpq, int jdim, const Row& row,
                                     const SnapNeighbor<T>& c, T& ur, T& ui, T* dur, T* dui) {
  T re = 0, im = 0, dre[3] = {0, 0, 0}, dim[3] = {0, 0, 0}, vr, vi, dvr, dvi;
  if (ma < j) {
    const T rp = rootpq[(j - ma) * jdim + (j - mb)];
    row.u(ma, vr, vi);
    re += rp * (c.ar * vr + c.ai * vi);
    im += rp * (c.ar * vi - c.ai * vr);
    for (int k = 0; k < 3; ++k) {
      row.du(ma, k, dvr, dvi);
      dre[k] += rp * (c.dar[k] * vr + c.dai[k] * vi + c.ar * dvr + c.ai * dvi);
      dim[k] += rp * (c.dar[k] * vi - c.dai[k] * vr + c.ar * dvi - c.ai * dvr);
    }
  }
  if (ma > 0) {
    const T rp = rootpq[ma * jdim + (j - mb)];
    row.u(ma - 1, vr, vi);
    re -= rp * (c.br * vr + c.bi * vi);
    im -= rp * (c.br * vi - c.bi * vr);
    for (int k = 0; k < 3; ++k) {
      row.du(ma - 1, k, dvr, dvi);
      dre[k] -= rp * (c.dbr[k] * vr + c.dbi[k] * vi + c.br * dvr + c.bi * dvi);
      dim[k] -= rp * (c.dbr[k] * vi - c.dbi[k] * vr + c.br * dvi - c.bi * dvr);
    }
  }
  ur = re;
  ui = im;
  for (int k = 0; k < 3; ++k) {
    dur[k] = dre[k];
    dui[k] = dim[k];
  }
}

/// Sign of the symmetry U(j; j-ma, j-mb) = (-1)^(ma-mb) conj(U(j; ma, mb)).
BATCHMD_HD inline int snap_mirror_sign(int ma, int mb) { return ((ma + mb) & 1) ? -1 : 1; }

/// Z(j1, j2, j; ma, mb) from two total U arrays (element sets e1, e2), each element k at
/// u[k * stride]; cg is SnapBasis::cg and u_block SnapBasis::u_block. Without the 1/(j+1) of
/// bnormflag (the caller applies it).
template <typename T, typename C>
BATCHMD_HD inline void snap_z_entry(const SnapZIndex& e, const C* cg, const std::int32_t* u_block, const T* u1r,
                                    const T* u1i, const T* u2r, const T* u2i, std::int64_t stride, T& zr, T& zi) {
  const C* cgb = cg + e.icg;
  T sr = 0, si = 0;
  int jju1 = u_block[e.j1] + (e.j1 + 1) * e.mb1min;
  int jju2 = u_block[e.j2] + (e.j2 + 1) * e.mb2max;
  int icgb = e.mb1min * (e.j2 + 1) + e.mb2max;
  for (int ib = 0; ib < e.nb; ++ib) {
    T ar = 0, ai = 0;
    int ma1 = e.ma1min, ma2 = e.ma2max;
    int icga = e.ma1min * (e.j2 + 1) + e.ma2max;
    for (int ia = 0; ia < e.na; ++ia) {
      const T xr = u1r[(jju1 + ma1) * stride], xi = u1i[(jju1 + ma1) * stride];
      const T yr = u2r[(jju2 + ma2) * stride], yi = u2i[(jju2 + ma2) * stride];
      const T cga = static_cast<T>(cgb[icga]);
      ar += cga * (xr * yr - xi * yi);
      ai += cga * (xr * yi + xi * yr);
      ++ma1;
      --ma2;
      icga += e.j2;
    }
    const T cgbv = static_cast<T>(cgb[icgb]);
    sr += cgbv * ar;
    si += cgbv * ai;
    jju1 += e.j1 + 1;
    jju2 -= e.j2 + 1;
    icgb += e.j2;
  }
  zr = sr;
  zi = si;
}

/// The beta that Z(e1, e2) carries into Y(e3) (see SnapZIndex): beta has n_b components per
/// element triple, n element sets; component k at beta[k * stride].
template <typename T>
BATCHMD_HD inline T snap_y_beta(const SnapZIndex& z, const T* beta, int n_b, int e1, int e2, int e3, int n,
                                std::int64_t stride = 1) {
  T b = 0;
  if (z.yperms & 1) b += beta[(((e1 * n + e2) * n + e3) * n_b + z.yjjb) * stride];
  if (z.yperms & 2) b += beta[(((e3 * n + e2) * n + e1) * n_b + z.yjjb) * stride];
  if (z.yperms & 4) b += beta[(((e2 * n + e3) * n + e1) * n_b + z.yjjb) * stride];
  return static_cast<T>(z.ybeta) * b;
}

/// The bispectrum of an isolated atom (wself = 1), subtracted with bzeroflag.
template <typename T>
BATCHMD_HD inline T snap_bzero(int j, bool bnorm) {
  return bnorm ? T(1) : T(j + 1);
}

}  // namespace batchmd::model::detail
