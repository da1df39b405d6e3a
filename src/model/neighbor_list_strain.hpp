// SPDX-License-Identifier: Apache-2.0
// model/neighbor_list_strain (internal): how much of the skin a strain of the cell leaves for the
// atoms' own moves — the one rule that the CPU list (NeighborList::refresh,
// neighbor_list_refresh.cpp) and both GPU lists (full_list_device_strain.hpp) apply to a fully
// periodic cell h0 strained into h = h0 A since the list's build, as host/device code, so that
// they rebuild at the same steps.
#pragma once
#include "batchmd/core/hd.hpp"

namespace batchmd::model::detail {

/// δ (Å) for a strain A (row-major, A[3e + c]; a build position x0 is carried to x0 A), the skin
/// and rc = cutoff + skin: a list built in h0 stays complete while every atom is within δ/2 of
/// x0 A. Why: a pair beyond rc at the build, r0, is now r0 A plus the two atoms' own moves, and
/// |r0 A| ≥ σ_min(A) |r0| ≥ σ rc for any σ ≤ σ_min(A) (the smallest singular value); so it stays
/// beyond σ rc − δ = cutoff with δ = skin − (1 − σ) rc.
///
/// σ is a rigorous lower bound of σ_min(A), the larger of two:
///  - the square root of a Gershgorin bound of the smallest eigenvalue of B = A Aᵀ
///    (|r0 A|² = r0 B r0ᵀ, so λ_min(B) = σ_min(A)²), λ ≥ min_i (B_ii − Σ_{j≠i} |B_ij|), lowered by
///    1e-12 tr B, far more than the rounding of B and of the sums (a few units in the last place
///    of tr B). Exact for A = μI and any diagonal A (a compression by 1 − ε charges ε rc); a
///    simple shear I + γ e_xy is charged about γ/2 rc (σ_min is 1 − γ/2 + O(γ²)), a rotation
///    nothing;
///  - 1 − ‖A − I‖_F (σ_min(A) ≥ 1 − ‖A − I‖₂), the earlier rule, which is the tighter one for some
///    mixes of a compression and shears in one row and column (Gershgorin sums their moduli), so
///    that δ is never smaller than it was. It charged √3 ε rc for the isotropic compression,
///    γ rc for the shear, and the rotation fully.
///
/// An expansion (σ ≥ 1) leaves the whole skin and no more: δ is capped at the skin, the
/// threshold of an unchanged cell. A result ≤ 0 (both bounds ≤ 1 − skin/rc, or a NaN in A: 0 or
/// less) means the list must be rebuilt.
BATCHMD_HD inline double strained_skin(const double* A, double skin, double rc) {
  double B[9];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      B[3 * i + j] = A[3 * i] * A[3 * j] + A[3 * i + 1] * A[3 * j + 1] + A[3 * i + 2] * A[3 * j + 2];
  double lam = B[0] - hd::fabs(B[1]) - hd::fabs(B[2]);
  const double lam1 = B[4] - hd::fabs(B[3]) - hd::fabs(B[5]);
  const double lam2 = B[8] - hd::fabs(B[6]) - hd::fabs(B[7]);
  lam = lam1 < lam ? lam1 : lam;
  lam = lam2 < lam ? lam2 : lam;
  lam -= 1e-12 * (B[0] + B[4] + B[8]);
  if (!(lam > 0)) lam = 0;  // also NaN (a NaN in any row of A reaches row 0's bound)
  const double sigma = hd::sqrt(lam);
  if (sigma >= 1) return skin;
  const double by_gershgorin = skin - (1 - sigma) * rc;
  double dev2 = 0;
  for (int e = 0; e < 9; ++e) {
    const double d = A[e] - (e % 4 == 0 ? 1.0 : 0.0);
    dev2 += d * d;
  }
  // (1 + 1e-12): the rounding of the sum, as the Gershgorin bound's margin (the bound is exact for
  // a uniaxial strain). NaN for a NaN in A: not taken.
  const double by_frobenius = skin - hd::sqrt(dev2) * (1 + 1e-12) * rc;
  return by_frobenius > by_gershgorin ? by_frobenius : by_gershgorin;
}

}  // namespace batchmd::model::detail
