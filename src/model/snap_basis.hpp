// SPDX-License-Identifier: Apache-2.0
// model/snap_basis (internal): the index tables of the SNAP bispectrum for one 2J_max — where each
// Wigner U element, each Clebsch–Gordan block, each Z product and each bispectrum component B
// lives in the flat arrays the kernels use — and the Clebsch–Gordan coefficients themselves.
//
// Conventions (the same labels as Thompson et al. 2015 and LAMMPS, so coefficient files index
// the same components). Angular momenta are doubled integers: j = 2J in 0..twojmax, and
// m-indices are shifted to 0 <= ma, mb <= j. The U layer of j is a (j+1) x (j+1) block stored row
// by row: element (ma, mb) at u_block[j] + mb (j+1) + ma. Its "half" is rows 2 mb <= j, the first
// (j/2 + 1)(j + 1) entries of the block; the other rows follow from
//   U(j; j-ma, j-mb) = (-1)^(ma-mb) conj(U(j; ma, mb)).
// A bispectrum triple (j1, j2, j) has j2 <= j1 <= j, |j1-j2| <= j <= j1+j2, j1+j2+j even; the
// triples in the order below are the columns of a .snapcoeff file (per element triple when
// chemflag is set). A Z block (j1, j2, j) with j2 <= j1 holds the half rows of layer j.
//
// Everything is plain arrays of ints and doubles so a device copy is a memcpy (SnapBasisView).
#pragma once
#include <cstdint>
#include <vector>

namespace batchmd::model::detail {

/// One Z product Z(j1, j2, j; ma, mb) = sum over (ma1, mb1) of CG(mb1) CG(ma1) U1(ma1, mb1) U2(ma2, mb2)
/// and where it goes in the adjoint Y.
struct SnapZIndex {
  std::int32_t j1, j2, j;
  std::int32_t ma1min, ma2max, na;  // ma1 runs ma1min.. (na values), ma2 from ma2max down
  std::int32_t mb1min, mb2max, nb;
  std::int32_t jju;  // the U/Y element (j; ma, mb) this product pairs with
  std::int32_t icg;  // offset of the (j1, j2, j) block in the CG list
  // Adjoint routing: Y(elem3; jju) += ybeta * sum over the set bits p of yperms of
  //   beta[triple_p(e1, e2, e3) * n_b + yjjb] * Z,
  // triple_0 = (e1, e2, e3), triple_1 = (e3, e2, e1), triple_2 = (e2, e3, e1): this Z block is
  // the derivative of up to three slots of one bispectrum triple (snap_basis.cpp).
  std::int32_t yjjb;
  std::int32_t yperms;  // bit mask of the element permutations
  double ybeta;         // 1, or (j1+1)/(j+1) without bnormflag
};

/// One bispectrum triple and the Z block / U layer it contracts.
struct SnapBIndex {
  std::int32_t j1, j2, j;
  std::int32_t jjz;  // first Z entry of the (j1, j2, j) block
  std::int32_t jju;  // first U entry of layer j
};

/// One entry of the half U layers, in the order the kernels enumerate them.
struct SnapHalfIndex {
  std::int32_t j, ma, mb;
  std::int32_t jju;  // full index
  // Weight of this entry in B = 2 sum w Re(conj(U) Z) and dE/dr = 2 sum w Re(conj(dU) Y): 1 for
  // rows 2 mb < j, and in the middle row of an even j: 1 left of the diagonal, 1/2 on it, 0 right.
  double weight;
};

struct SnapBasis {
  int twojmax = 0;
  bool bnorm = false;
  std::vector<std::int32_t> u_block;  // [twojmax+1] first full U index of layer j
  std::int32_t n_u = 0;               // full U entries
  std::vector<SnapHalfIndex> half;    // the half entries, layer by layer, row by row
  std::vector<double> rootpq;         // [(twojmax+1)^2] sqrt(p/q) at p*(twojmax+1)+q, p,q >= 1
  std::vector<double> cg;             // Clebsch–Gordan coefficients, blocks of (j1+1)(j2+1)
  std::vector<SnapZIndex> z;
  std::vector<SnapBIndex> b;
  std::int32_t n_b() const { return static_cast<std::int32_t>(b.size()); }
  std::int32_t n_z() const { return static_cast<std::int32_t>(z.size()); }
  std::int32_t n_half() const { return static_cast<std::int32_t>(half.size()); }

  /// bnorm: LAMMPS bnormflag (Z and B divided by 2J+1 instead of carrying (j1+1)/(j+1) factors).
  /// lammps_chem_adjoint: route Y as LAMMPS does (one element triple's beta times the slot
  /// multiplicity) instead of the exact gradient; identical without chemflag.
  SnapBasis(int twojmax, bool bnorm, bool lammps_chem_adjoint = false);
};

/// Number of bispectrum components per element triple for a 2J_max.
int snap_triples(int twojmax);

}  // namespace batchmd::model::detail
