// SPDX-License-Identifier: Apache-2.0
// model/snap_basis: builds the SNAP index tables and the Clebsch–Gordan coefficients (Racah's
// formula, in doubled-integer labels) for one 2J_max.
#include "snap_basis.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

#include "batchmd/core/error.hpp"

namespace batchmd::model::detail {

namespace {

double factorial(int n) {
  double f = 1;
  for (int k = 2; k <= n; ++k) f *= k;
  return f;
}

// <j1/2 m1/2; j2/2 m2/2 | j/2 (m1+m2)/2> for doubled labels (m's in -j..j with the parity of j).
// Racah's closed form: a prefactor of square roots of factorials times an alternating sum.
double clebsch_gordan(int j1, int m1, int j2, int m2, int j) {
  const int m = m1 + m2;
  if (m < -j || m > j) return 0.0;
  const double pre = std::sqrt((j + 1) * factorial((j + j1 - j2) / 2) * factorial((j - j1 + j2) / 2) *
                               factorial((j1 + j2 - j) / 2) / factorial((j1 + j2 + j) / 2 + 1)) *
                     std::sqrt(factorial((j + m) / 2) * factorial((j - m) / 2) * factorial((j1 - m1) / 2) *
                               factorial((j1 + m1) / 2) * factorial((j2 - m2) / 2) * factorial((j2 + m2) / 2));
  // k runs over the integers that keep every factorial argument non-negative.
  const int kmin = std::max({0, (j2 - j - m1) / 2, (j1 - j + m2) / 2});
  const int kmax = std::min({(j1 + j2 - j) / 2, (j1 - m1) / 2, (j2 + m2) / 2});
  double sum = 0;
  for (int k = kmin; k <= kmax; ++k) {
    const double den = factorial(k) * factorial((j1 + j2 - j) / 2 - k) * factorial((j1 - m1) / 2 - k) *
                       factorial((j2 + m2) / 2 - k) * factorial((j - j2 + m1) / 2 + k) *
                       factorial((j - j1 - m2) / 2 + k);
    sum += (k % 2 ? -1.0 : 1.0) / den;
  }
  return pre * sum;
}

}  // namespace

int snap_triples(int twojmax) {
  int n = 0;
  for (int j1 = 0; j1 <= twojmax; ++j1)
    for (int j2 = 0; j2 <= j1; ++j2)
      for (int j = j1 - j2; j <= std::min(twojmax, j1 + j2); j += 2)
        if (j >= j1) ++n;
  return n;
}

SnapBasis::SnapBasis(int twojmax_in, bool bnorm_in, bool lammps_chem_adjoint) : twojmax(twojmax_in), bnorm(bnorm_in) {
  // Beyond 2J = 24 the factorials of Racah's formula lose all precision in double.
  if (twojmax < 0 || twojmax > 24)
    throw InvalidArgument("SNAP: twojmax must be in 0..24, got " + std::to_string(twojmax));
  const int J = twojmax;
  const int jdim = J + 1;

  u_block.resize(jdim);
  n_u = 0;
  for (int j = 0; j <= J; ++j) {
    u_block[j] = n_u;
    n_u += (j + 1) * (j + 1);
  }
  for (int j = 0; j <= J; ++j)
    for (int mb = 0; 2 * mb <= j; ++mb)
      for (int ma = 0; ma <= j; ++ma) {
        double w = 1.0;
        if (2 * mb == j) w = ma < mb ? 1.0 : ma == mb ? 0.5 : 0.0;
        half.push_back({j, ma, mb, u_block[j] + mb * (j + 1) + ma, w});
      }

  rootpq.assign(static_cast<std::size_t>(jdim * jdim), 0.0);
  for (int p = 1; p <= J; ++p)
    for (int q = 1; q <= J; ++q) rootpq[p * jdim + q] = std::sqrt(static_cast<double>(p) / q);

  // Clebsch–Gordan blocks for every (j1 >= j2, j) that a Z product uses.
  std::vector<std::int32_t> cg_block(static_cast<std::size_t>(jdim * jdim * jdim), -1);
  auto at = [jdim](int x1, int x2, int x3) { return static_cast<std::size_t>((x1 * jdim + x2) * jdim + x3); };
  for (int j1 = 0; j1 <= J; ++j1)
    for (int j2 = 0; j2 <= j1; ++j2)
      for (int j = j1 - j2; j <= std::min(J, j1 + j2); j += 2) {
        cg_block[at(j1, j2, j)] = static_cast<std::int32_t>(cg.size());
        for (int m1 = 0; m1 <= j1; ++m1)
          for (int m2 = 0; m2 <= j2; ++m2) cg.push_back(clebsch_gordan(j1, 2 * m1 - j1, j2, 2 * m2 - j2, j));
      }

  // Bispectrum triples (the coefficient order of .snapcoeff files).
  std::vector<std::int32_t> b_block(cg_block.size(), -1);
  for (int j1 = 0; j1 <= J; ++j1)
    for (int j2 = 0; j2 <= j1; ++j2)
      for (int j = j1 - j2; j <= std::min(J, j1 + j2); j += 2)
        if (j >= j1) {
          b_block[at(j1, j2, j)] = static_cast<std::int32_t>(b.size());
          b.push_back({j1, j2, j, 0, u_block[j]});
        }

  // Z products, block by block; each block holds the half rows of layer j.
  std::vector<std::int32_t> z_block(cg_block.size(), -1);
  for (int j1 = 0; j1 <= J; ++j1)
    for (int j2 = 0; j2 <= j1; ++j2)
      for (int j = j1 - j2; j <= std::min(J, j1 + j2); j += 2) {
        z_block[at(j1, j2, j)] = static_cast<std::int32_t>(z.size());
        // Which slot derivatives this block is. B(J1, J2, J) = T(J1, J2, J; U_e1, U_e2, conj U_e3)
        // is linear in each slot; dT/d(slot 3) is Z(e1, e2)^J_{J1 J2}, and by the symmetries of
        // the Clebsch-Gordan sum, dT/d(slot 1) = (J+1)/(J1+1) Z(e3, e2)^{J1}_{J J2} and
        // dT/d(slot 2) = (J+1)/(J2+1) Z(e3, e1)^{J2}_{J J1}. So Z(e1, e2)^j_{j1 j2} (j1 >= j2) feeds
        // Y(e3)^j as slot 3 of B(j1, j2, j) over (e1, e2, e3) when j >= j1, as slot 1 of
        // B(j, j2, j1) over (e3, e2, e1) when j1 >= j >= j2, and as slot 2 of B(j2, j, j1) (or
        // B(j, j2, j1) when j2 = j) over (e2, e3, e1) when j <= j2 — several of these at once when
        // labels coincide. With one element this is LAMMPS's multiplicity 1, 2 or 3; with chemflag
        // each slot takes the beta of its own element triple, which makes Y the exact gradient
        // for any coefficients (LAMMPS reuses one triple's beta for all slots: the same for the
        // coefficient sets where those betas agree).
        std::int32_t jjb = 0, perms = 0;
        double beta = 1.0;
        if (j >= j1) {
          jjb = b_block[at(j1, j2, j)];
          perms = 1 | (j1 == j ? 2 : 0) | (j1 == j && j2 == j ? 4 : 0);
        } else if (j >= j2) {
          jjb = b_block[at(j, j2, j1)];
          perms = 2 | (j2 == j ? 4 : 0);
          if (!bnorm) beta = (j1 + 1) / (j + 1.0);
        } else {
          jjb = b_block[at(j2, j, j1)];
          perms = 4;
          if (!bnorm) beta = (j1 + 1) / (j + 1.0);
        }
        if (lammps_chem_adjoint) {  // the primary slot's triple, counted once per slot
          const std::int32_t primary = perms & 1 ? 1 : perms & 2 ? 2 : 4;
          beta *= static_cast<double>(std::popcount(static_cast<unsigned>(perms)));
          perms = primary;
        }
        for (int mb = 0; 2 * mb <= j; ++mb)
          for (int ma = 0; ma <= j; ++ma) {
            SnapZIndex e{};
            e.j1 = j1;
            e.j2 = j2;
            e.j = j;
            // ma1 + ma2 = K with K = (2 ma - j + j1 + j2) / 2 (the m's add up), 0 <= ma1 <= j1,
            // 0 <= ma2 <= j2; likewise for mb.
            const int ka = (2 * ma - j + j1 + j2) / 2, kb = (2 * mb - j + j1 + j2) / 2;
            e.ma1min = std::max(0, ka - j2);
            e.ma2max = ka - e.ma1min;
            e.na = std::min(j1, ka) - e.ma1min + 1;
            e.mb1min = std::max(0, kb - j2);
            e.mb2max = kb - e.mb1min;
            e.nb = std::min(j1, kb) - e.mb1min + 1;
            e.jju = u_block[j] + mb * (j + 1) + ma;
            e.icg = cg_block[at(j1, j2, j)];
            e.yjjb = jjb;
            e.yperms = perms;
            e.ybeta = beta;
            z.push_back(e);
          }
      }
  for (auto& t : b) t.jjz = z_block[at(t.j1, t.j2, t.j)];
}

}  // namespace batchmd::model::detail
