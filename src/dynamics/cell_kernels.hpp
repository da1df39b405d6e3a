// SPDX-License-Identifier: Apache-2.0
// dynamics/cell_kernels (internal): the per-system arithmetic of the integrators that move the cell
// that both the CPU loops (npt_mtk.cpp, npt_csr.cpp, cell_relax.cpp, cell_dynamics.cpp) and the GPU
// kernels (cell_gpu.cu) call: the check of a moved cell, the check and conversion of a target
// stress, MTK's cell mass, cell kick and deviatoric work, and stochastic cell rescaling's strain.
// Host/device functions on row-major double[9]; the CPU side turns their codes into messages.
#pragma once
#include <cstdint>

#include "batchmd/core/hd.hpp"
#include "batchmd/dynamics/cell_math.hpp"

namespace batchmd::dynamics::cellk {

// ------------------------------------------------------------------------- checks

/// What is wrong with a moved cell (bits; 0 = nothing).
enum CellFault : int {
  kCellNonFinite = 1,  ///< a component or the volume is NaN or infinite
  kCellCollapsed = 2,  ///< the volume changed sign or became zero
  kCellJumped = 4,     ///< the volume changed by more than a factor of 2 in one step
  kCellFlat = 8,       ///< some height below 1e-3 of the largest
  kTargetBad = 16,     ///< a per-system target is not finite, not symmetric, below -1 eV/Å³ or
                       ///< not hydrostatic for an isotropic stage
};

/// The check of a moved cell (rows) against the volume before the move; v, h_min and h_max
/// receive the new volume and the smallest and largest heights (for messages).
BATCHMD_HD inline int cell_fault(const double* cell, double v_before, double& v, double& h_min, double& h_max) {
  bool finite = true;
  for (int k = 0; k < 9; ++k) finite = finite && hd::isfinite(cell[k]);
  v = cellm::det3(cell);
  h_min = 1e300;
  h_max = 0;
  if (!finite || !hd::isfinite(v)) return kCellNonFinite;
  if (!(v * v_before > 0)) return kCellCollapsed;
  const double ratio = hd::fabs(v / v_before);
  if (ratio > 2 || ratio < 0.5) return kCellJumped;
  for (int d = 0; d < 3; ++d) {
    const double* a = cell + 3 * ((d + 1) % 3);
    const double* c = cell + 3 * ((d + 2) % 3);
    const double nx = a[1] * c[2] - a[2] * c[1], ny = a[2] * c[0] - a[0] * c[2], nz = a[0] * c[1] - a[1] * c[0];
    const double h = hd::fabs(v) / hd::sqrt(nx * nx + ny * ny + nz * nz);
    h_min = h < h_min ? h : h_min;
    h_max = h > h_max ? h : h_max;
  }
  return h_min < 1e-3 * h_max ? kCellFlat : 0;
}

/// Why a target stress is refused (0 = accepted).
enum TargetFault : int { kTargetOk = 0, kTargetNonFinite, kTargetAsymmetric, kTargetTooLow, kTargetNotHydrostatic };

/// Checks one target stress σ (row-major, as given) and writes P_t = −sym(σ) into p and whether
/// it is hydrostatic into hydro.
BATCHMD_HD inline int target_from_stress(const double* sig, bool isotropic, double* p, bool& hydro) {
  double big = 0;
  for (int k = 0; k < 9; ++k) {
    if (!hd::isfinite(sig[k])) return kTargetNonFinite;
    big = hd::fabs(sig[k]) > big ? hd::fabs(sig[k]) : big;
  }
  for (int i = 0; i < 3; ++i)
    for (int j = i + 1; j < 3; ++j)
      if (hd::fabs(sig[3 * i + j] - sig[3 * j + i]) > 1e-12 * big) return kTargetAsymmetric;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) p[3 * i + j] = -0.5 * (sig[3 * i + j] + sig[3 * j + i]);
  if (!(cellm::trace3(p) / 3 > -1.0)) return kTargetTooLow;
  hydro = p[0] == p[4] && p[4] == p[8] && p[1] == 0 && p[2] == 0 && p[5] == 0;
  if (!hydro && isotropic) return kTargetNotHydrostatic;
  return kTargetOk;
}
/// σ from Voigt components (xx, yy, zz, yz, xz, xy), ASE's order.
BATCHMD_HD inline void stress_from_voigt(const double* v, double* sig) {
  const double s[9] = {v[0], v[5], v[4], v[5], v[1], v[3], v[4], v[3], v[2]};
  for (int k = 0; k < 9; ++k) sig[k] = s[k];
}
BATCHMD_HD inline void hydrostatic(double p_scalar, double* p) {
  for (int k = 0; k < 9; ++k) p[k] = k % 4 == 0 ? p_scalar : 0.0;
}

// ------------------------------------------------------------------------- MTK

/// Barostat degrees of freedom: 1 (isotropic) or 6 (symmetric strain rate).
BATCHMD_HD inline double baro_dof(bool isotropic) { return isotropic ? 1.0 : 6.0; }
/// Cell mass W (eV fs²) per strain-rate component: (Nf + 3) kT τ_p² / 3.
BATCHMD_HD inline double cell_mass(double nf, double kt, double tau_p) { return (nf + 3.0) * kt * tau_p * tau_p / 3.0; }
BATCHMD_HD inline double sum_sq(const double* m) {
  double s = 0;
  for (int k = 0; k < 9; ++k) s += m[k] * m[k];
  return s;
}
/// The work of the deviatoric part D = P_t − (tr P_t/3) I of the target on the cell during a
/// drift of dt with constant v_g: ∫ V tr(D v_g) dt, exact for V(t) = V0 e^{tr(v_g) t} (eV).
BATCHMD_HD inline double deviatoric_work(const double* pt, const double* vg, double v0, double dt) {
  const double ph = cellm::trace3(pt) / 3;
  double tr_dv = 0;
  for (int a = 0; a < 3; ++a)
    for (int c = 0; c < 3; ++c) tr_dv += (pt[3 * a + c] - (a == c ? ph : 0.0)) * vg[3 * c + a];
  const double x = cellm::trace3(vg) * dt;
  return tr_dv * v0 * dt * std::exp(0.5 * x) * cellm::sinhc(0.5 * x);
}
/// v_g += h G / W with G = K + W_vir − V P_t + (tr K / Nf) I (P_t the target pressure tensor,
/// −σ_target); isotropic: G → tr(G)/3 I; full: G symmetrised (no cell rotation). For P_t = p I
/// the sums are those of the scalar form K + W_vir + (tr K/Nf − V p) I, bit for bit.
BATCHMD_HD inline void cell_kick(double* vg, const double* k2, const double* wvir, double vol, const double* pt,
                                 double nf, double w, double h, bool isotropic) {
  double g[9];
  const double kin = cellm::trace3(k2) / nf;
  for (int k = 0; k < 9; ++k) g[k] = k2[k] + wvir[k] + ((k % 4 == 0 ? kin : 0.0) - vol * pt[k]);
  if (isotropic) {
    const double gi = cellm::trace3(g) / 3.0;
    for (int k = 0; k < 9; ++k) vg[k] = k % 4 == 0 ? vg[k] + h * gi / w : 0.0;
    return;
  }
  for (int a = 0; a < 3; ++a)
    for (int c = 0; c < 3; ++c) vg[3 * a + c] += h * 0.5 * (g[3 * a + c] + g[3 * c + a]) / w;
}

// ------------------------------------------------------------------------- stochastic cell rescaling

/// The anisotropic move of one system: the symmetric strain increment dε (row-major) from the
/// pressure tensor p_int and the target pt (eV/Å³, symmetric), then μ = exp(dε) and μ⁻¹ by its
/// eigenvectors. Diagonal: dε_aa = −(β/3τ)(P_t,aa − P_aa − kT/V) dt + sqrt(2kTβ dt/(3Vτ)) ξ_aa;
/// off-diagonal: dε_ab = −(β/3τ)(P_t,ab − P_ab) dt + sqrt(kTβ dt/(3Vτ)) ξ_ab. Its trace is the
/// isotropic dε in law. (A hydrostatic target has P_t,ab = 0: −c (0 − P_ab) = c P_ab exactly.)
/// g: six standard normal numbers.
BATCHMD_HD inline void csr_anisotropic(const double* p_int, const double* pt, double kt, double V, double beta,
                                       double tau, double dt, const double* g, double* mu, double* mu_inv) {
  const double c = beta / (3 * tau) * dt;
  const double sd = hd::sqrt(2 * kt * beta * dt / (3 * V * tau));
  const double sd_off = sd / hd::sqrt(2.0);
  double de[9];
  de[0] = -c * (pt[0] - p_int[0] - kt / V) + sd * g[0];
  de[4] = -c * (pt[4] - p_int[4] - kt / V) + sd * g[1];
  de[8] = -c * (pt[8] - p_int[8] - kt / V) + sd * g[2];
  de[1] = de[3] = -c * (pt[1] - p_int[1]) + sd_off * g[3];
  de[2] = de[6] = -c * (pt[2] - p_int[2]) + sd_off * g[4];
  de[5] = de[7] = -c * (pt[5] - p_int[5]) + sd_off * g[5];
  double w[3], o[9];
  cellm::sym_eigen3(de, w, o);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double a = 0, b = 0;
      for (int k = 0; k < 3; ++k) {
        a += o[3 * i + k] * std::exp(w[k]) * o[3 * j + k];
        b += o[3 * i + k] * std::exp(-w[k]) * o[3 * j + k];
      }
      mu[3 * i + j] = a;
      mu_inv[3 * i + j] = b;
    }
}
/// The isotropic move: dε = −(β/τ)(P_t − P − kT/V) dt + sqrt(2kTβ dt/(Vτ)) ξ; returns μ = e^{dε/3}.
BATCHMD_HD inline double csr_isotropic(double p_int, double p_t, double kt, double V, double beta, double tau,
                                       double dt, double xi) {
  const double deps = -beta / tau * (p_t - p_int - kt / V) * dt + hd::sqrt(2 * kt * beta * dt / (V * tau)) * xi;
  return std::exp(deps / 3);
}

}  // namespace batchmd::dynamics::cellk
