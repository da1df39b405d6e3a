// SPDX-License-Identifier: Apache-2.0
// dynamics/cell_math: the 3×3 matrix arithmetic of the integrators that move the cell (MTK NPT,
// stochastic cell rescaling, variable-cell FIRE): determinant, inverse, products, the eigen-
// decomposition of a symmetric matrix (cyclic Jacobi) and the MTK propagators written in its
// eigenbasis (isotropic cells) or summed as series in the strain rate (the full cell). Host/device
// functions on row-major double[9] (a batch's "cell": rows a, b, c), so the GPU kernels call the
// same arithmetic as the CPU loops.
#pragma once
#include <cmath>

#include "batchmd/core/hd.hpp"

namespace batchmd::dynamics::cellm {

BATCHMD_HD inline double det3(const double* m) {
  return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
}
/// out = m⁻¹ (m must be invertible: the caller checks det3(m) != 0).
BATCHMD_HD inline void inv3(const double* m, double* out) {
  const double d = det3(m);
  out[0] = (m[4] * m[8] - m[5] * m[7]) / d;
  out[1] = (m[2] * m[7] - m[1] * m[8]) / d;
  out[2] = (m[1] * m[5] - m[2] * m[4]) / d;
  out[3] = (m[5] * m[6] - m[3] * m[8]) / d;
  out[4] = (m[0] * m[8] - m[2] * m[6]) / d;
  out[5] = (m[2] * m[3] - m[0] * m[5]) / d;
  out[6] = (m[3] * m[7] - m[4] * m[6]) / d;
  out[7] = (m[1] * m[6] - m[0] * m[7]) / d;
  out[8] = (m[0] * m[4] - m[1] * m[3]) / d;
}
/// out = a · b (out may not alias a or b).
BATCHMD_HD inline void mul3(const double* a, const double* b, double* out) {
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) out[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
}
BATCHMD_HD inline double trace3(const double* m) { return m[0] + m[4] + m[8]; }

/// sinh(x)/x, accurate near 0.
BATCHMD_HD inline double sinhc(double x) {
  if (hd::fabs(x) < 1e-2) {
    const double x2 = x * x;
    return 1.0 + x2 / 6.0 * (1.0 + x2 / 20.0 * (1.0 + x2 / 42.0));
  }
  return std::sinh(x) / x;
}

/// Eigen-decomposition of a symmetric 3×3 matrix a = O diag(w) Oᵀ by cyclic Jacobi rotations:
/// the columns of o (row-major: o[3*i + k] is component i of eigenvector k) are orthonormal.
BATCHMD_HD inline void sym_eigen3(const double* a_in, double* w, double* o) {
  double a[9];
  for (int i = 0; i < 9; ++i) a[i] = a_in[i];
  for (int i = 0; i < 9; ++i) o[i] = (i % 4 == 0) ? 1.0 : 0.0;
  for (int sweep = 0; sweep < 50; ++sweep) {
    const double off = a[1] * a[1] + a[2] * a[2] + a[5] * a[5];
    const double diag = a[0] * a[0] + a[4] * a[4] + a[8] * a[8];
    if (!(off > 1e-32 * diag) || off == 0) break;
    for (int p = 0; p < 2; ++p)
      for (int q = p + 1; q < 3; ++q) {
        const double apq = a[3 * p + q];
        if (apq == 0) continue;
        const double theta = (a[3 * q + q] - a[3 * p + p]) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (hd::fabs(theta) + hd::sqrt(theta * theta + 1));
        const double c = 1 / hd::sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < 3; ++k) {  // a ← a J (columns p, q)
          const double akp = a[3 * k + p], akq = a[3 * k + q];
          a[3 * k + p] = c * akp - s * akq;
          a[3 * k + q] = s * akp + c * akq;
        }
        for (int k = 0; k < 3; ++k) {  // a ← Jᵀ a (rows p, q)
          const double apk = a[3 * p + k], aqk = a[3 * q + k];
          a[3 * p + k] = c * apk - s * aqk;
          a[3 * q + k] = s * apk + c * aqk;
        }
        for (int k = 0; k < 3; ++k) {  // o ← o J
          const double okp = o[3 * k + p], okq = o[3 * k + q];
          o[3 * k + p] = c * okp - s * okq;
          o[3 * k + q] = s * okp + c * okq;
        }
      }
  }
  w[0] = a[0];
  w[1] = a[4];
  w[2] = a[8];
}

/// The MTK propagators of one system for a symmetric cell velocity v_g (1/fs), in the
/// eigenbasis of v_g (o: eigenvectors as columns, mu: eigenvalues). isotropic: o = I and
/// mu = v_eps for all three (no rotation, bit-stable).
struct MtkFrame {
  double o[9];
  double mu[3];
  bool rotate;  ///< false: o is the identity
};
BATCHMD_HD inline MtkFrame mtk_frame(const double* vg, bool isotropic) {
  MtkFrame f{};
  if (isotropic) {
    for (int i = 0; i < 9; ++i) f.o[i] = (i % 4 == 0) ? 1.0 : 0.0;
    f.mu[0] = f.mu[1] = f.mu[2] = vg[0];
    f.rotate = false;
  } else {
    sym_eigen3(vg, f.mu, f.o);
    f.rotate = true;
  }
  return f;
}
/// Cartesian → eigenbasis (u = Oᵀ x) and back (x = O u).
BATCHMD_HD inline void to_eigen(const MtkFrame& f, const double* x, double* u) {
  if (!f.rotate) {
    u[0] = x[0], u[1] = x[1], u[2] = x[2];
    return;
  }
  for (int k = 0; k < 3; ++k) u[k] = f.o[k] * x[0] + f.o[3 + k] * x[1] + f.o[6 + k] * x[2];
}
BATCHMD_HD inline void from_eigen(const MtkFrame& f, const double* u, double* x) {
  if (!f.rotate) {
    x[0] = u[0], x[1] = u[1], x[2] = u[2];
    return;
  }
  for (int i = 0; i < 3; ++i) x[i] = f.o[3 * i] * u[0] + f.o[3 * i + 1] * u[1] + f.o[3 * i + 2] * u[2];
}

/// Coefficients of the damped half kick  v ← e^{−λh} v + h e^{−λh/2} sinhc(λh/2) a  (h = dt/2)
/// for the three eigenvalues λ_k = mu_k + tr(v_g)/N_f.
struct KickCoeffs {
  double damp[3], drive[3];
};
/// One eigenvalue's damping and drive (the GPU computes the three in three threads).
BATCHMD_HD inline void mtk_kick_coeff(double mu, double trace_over_nf, double h, double& damp, double& drive) {
  const double l = mu + trace_over_nf;
  damp = std::exp(-l * h);
  drive = h * std::exp(-0.5 * l * h) * sinhc(0.5 * l * h);
}
BATCHMD_HD inline KickCoeffs mtk_kick_coeffs(const MtkFrame& f, double trace_over_nf, double h) {
  KickCoeffs c{};
  for (int k = 0; k < 3; ++k) mtk_kick_coeff(f.mu[k], trace_over_nf, h, c.damp[k], c.drive[k]);
  return c;
}
/// Coefficients of the drift  r ← e^{μ dt} r + dt e^{μ dt/2} sinhc(μ dt/2) v.
struct DriftCoeffs {
  double scale[3], step[3];
};
/// One eigenvalue's drift scale and step.
BATCHMD_HD inline void mtk_drift_coeff(double mu, double dt, double& scale, double& step) {
  scale = std::exp(mu * dt);
  step = dt * std::exp(0.5 * mu * dt) * sinhc(0.5 * mu * dt);
}
BATCHMD_HD inline DriftCoeffs mtk_drift_coeffs(const MtkFrame& f, double dt) {
  DriftCoeffs c{};
  for (int k = 0; k < 3; ++k) mtk_drift_coeff(f.mu[k], dt, c.scale[k], c.step[k]);
  return c;
}
/// One atom's damped half kick; accel = kAccel / m (Å/fs² per eV/Å).
template <typename T>
BATCHMD_HD inline void mtk_kick(const MtkFrame& f, const KickCoeffs& c, T* v, const T* force, double accel) {
  double vc[3] = {double(v[0]), double(v[1]), double(v[2])};
  double ac[3] = {accel * double(force[0]), accel * double(force[1]), accel * double(force[2])};
  double u[3], a[3];
  to_eigen(f, vc, u);
  to_eigen(f, ac, a);
  for (int k = 0; k < 3; ++k) u[k] = c.damp[k] * u[k] + c.drive[k] * a[k];
  from_eigen(f, u, vc);
  for (int k = 0; k < 3; ++k) v[k] = static_cast<T>(vc[k]);
}
/// One atom's drift with the cell's strain rate.
template <typename T>
BATCHMD_HD inline void mtk_drift(const MtkFrame& f, const DriftCoeffs& c, T* x, const T* v) {
  double xc[3] = {double(x[0]), double(x[1]), double(x[2])};
  double vc[3] = {double(v[0]), double(v[1]), double(v[2])};
  double r[3], u[3];
  to_eigen(f, xc, r);
  to_eigen(f, vc, u);
  for (int k = 0; k < 3; ++k) r[k] = c.scale[k] * r[k] + c.step[k] * u[k];
  from_eigen(f, r, xc);
  for (int k = 0; k < 3; ++k) x[k] = static_cast<T>(xc[k]);
}
/// The cell (rows a, b, c) after dt: rows ← rows · exp(v_g dt) (exp(v_g dt) is symmetric).
BATCHMD_HD inline void mtk_cell(const MtkFrame& f, const DriftCoeffs& c, double* rows) {
  double e[9];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      e[3 * i + j] = f.o[3 * i] * c.scale[0] * f.o[3 * j] + f.o[3 * i + 1] * c.scale[1] * f.o[3 * j + 1] +
                     f.o[3 * i + 2] * c.scale[2] * f.o[3 * j + 2];
  double out[9];
  mul3(rows, e, out);
  for (int i = 0; i < 9; ++i) rows[i] = out[i];
}

/// The same propagators as Cartesian maps, for the per-atom loops: the symmetric matrices
/// O diag(c) Oᵀ of the kick (v ← kv v + ka a) and of the drift (r ← dr r + dv v). Four 3×3
/// products per atom instead of five rotations into the eigenbasis and back. `vscale` multiplies
/// the kick's damping (a thermostat's velocity scaling that precedes the kick, folded in).
/// isotropic frames (rotate false) give diagonal maps; their loops use kv[0] etc. as scalars.
struct MtkMaps {
  double kv[9], ka[9], dr[9], dv[9];
};
/// Entry (i, j) of O diag(c) Oᵀ.
BATCHMD_HD inline double sym_entry(const MtkFrame& f, const double* c, int i, int j) {
  return f.o[3 * i] * c[0] * f.o[3 * j] + f.o[3 * i + 1] * c[1] * f.o[3 * j + 1] +
         f.o[3 * i + 2] * c[2] * f.o[3 * j + 2];
}
BATCHMD_HD inline void sym_from_eigen(const MtkFrame& f, const double* c, double* m) {
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) m[3 * i + j] = sym_entry(f, c, i, j);
}
BATCHMD_HD inline MtkMaps mtk_maps(const MtkFrame& f, const KickCoeffs& k, const DriftCoeffs& d, double vscale) {
  MtkMaps m{};
  const double damp[3] = {k.damp[0] * vscale, k.damp[1] * vscale, k.damp[2] * vscale};
  sym_from_eigen(f, damp, m.kv);
  sym_from_eigen(f, k.drive, m.ka);
  sym_from_eigen(f, d.scale, m.dr);
  sym_from_eigen(f, d.step, m.dv);
  return m;
}
/// φ(A) = Σ_{n≥0} Aⁿ/(n+1)! (= (e^A − I) A⁻¹) and e^A = I + A φ(A) of a 3×3 matrix A (row-major)
/// by Horner's rule on the series, terms kept until ‖A‖ⁿ/(n+1)! < 1e-18. The full cell's maps
/// are these functions of v_g times a time step (‖·‖ ~ 1e-4 in a stable run), which the series
/// gives to rounding without the eigen-decomposition. Returns false when ‖A‖_F ≥ 0.5 (the
/// caller takes the eigenbasis route).
BATCHMD_HD inline bool phi_exp3(const double* a, double* phi, double* ex) {
  double nrm2 = 0;
  for (int k = 0; k < 9; ++k) nrm2 += a[k] * a[k];
  const double nrm = hd::sqrt(nrm2);
  if (!(nrm < 0.5)) return false;
  int n = 1;
  double t = 0.5 * nrm;  // ‖A‖ⁿ/(n+1)!
  while (t > 1e-18 && n < 30) {
    ++n;
    t *= nrm / (n + 1);
  }
  double c = 1;  // 1/(n+1)!
  for (int k = 2; k <= n + 1; ++k) c /= k;
  double p[9];
  for (int k = 0; k < 9; ++k) p[k] = k % 4 == 0 ? c : 0.0;
  for (int k = n - 1; k >= 0; --k) {  // p ← I/(k+1)! + A p
    c *= (k + 2);
    double q[9];
    mul3(a, p, q);
    for (int e = 0; e < 9; ++e) p[e] = q[e] + (e % 4 == 0 ? c : 0.0);
  }
  double ap[9];
  mul3(a, p, ap);
  for (int e = 0; e < 9; ++e) {
    phi[e] = p[e];
    ex[e] = ap[e] + (e % 4 == 0 ? 1.0 : 0.0);
  }
  return true;
}

/// The full cell's maps (as mtk_maps) from the series instead of the eigenbasis: with
/// L = v_g + (tr v_g / N_f) I, kv = e^{−L h} vscale, ka = h φ(−L h), and with the drift
/// dr = e^{v_g dt} (also the cell's map: rows ← rows dr), dv = dt φ(v_g dt). The same functions
/// as the eigenbasis formulas (h e^{−λh/2} sinhc(λh/2) = h φ(−λh), dt e^{μdt/2} sinhc(μdt/2) =
/// dt φ(μ dt)). False when a matrix is too large for the series.
BATCHMD_HD inline bool mtk_maps_series(const double* vg, double trace_over_nf, double h, double dt, double vscale,
                                       bool drift, MtkMaps& m) {
  double a[9], phi[9], ex[9];
  for (int k = 0; k < 9; ++k) a[k] = -h * (vg[k] + (k % 4 == 0 ? trace_over_nf : 0.0));
  if (!phi_exp3(a, phi, ex)) return false;
  for (int k = 0; k < 9; ++k) {
    m.kv[k] = ex[k] * vscale;
    m.ka[k] = h * phi[k];
    m.dr[k] = 0;
    m.dv[k] = 0;
  }
  if (!drift) return true;
  for (int k = 0; k < 9; ++k) a[k] = dt * vg[k];
  if (!phi_exp3(a, phi, ex)) return false;
  for (int k = 0; k < 9; ++k) {
    m.dr[k] = ex[k];
    m.dv[k] = dt * phi[k];
  }
  return true;
}
/// rows ← rows · e (the cell moved by a symmetric map e, e.g. MtkMaps::dr).
BATCHMD_HD inline void apply_cell_map(const double* e, double* rows) {
  double out[9];
  mul3(rows, e, out);
  for (int i = 0; i < 9; ++i) rows[i] = out[i];
}

/// out = m x for a symmetric (any) 3×3 m.
BATCHMD_HD inline void mv3(const double* m, const double* x, double* out) {
  for (int i = 0; i < 3; ++i) out[i] = m[3 * i] * x[0] + m[3 * i + 1] * x[1] + m[3 * i + 2] * x[2];
}

}  // namespace batchmd::dynamics::cellm
