// SPDX-License-Identifier: Apache-2.0
// model/morse_kernels (internal): the Morse pair arithmetic, written once for the CPU loop
// (morse.cpp) and the GPU kernel (morse_gpu.cu), in LAMMPS's form (PairMorse::compute):
// dexp = exp(-alpha (r - r0)), E = D0 (dexp^2 - 2 dexp) - offset, dE/dr = -2 D0 alpha (dexp^2 - dexp).
#pragma once
#include <cmath>
#include <cstdint>

#ifndef BATCHMD_HD
#if defined(__CUDACC__)
#define BATCHMD_HD __host__ __device__
#else
#define BATCHMD_HD
#endif
#endif

namespace batchmd::model::detail {

/// The coefficients of one species pair; cutsq = 0 for pairs that do not interact.
template <typename T>
struct MorseCoeffs {
  T d0;      ///< eV
  T alpha;   ///< 1/Å
  T r0;      ///< Å
  T morse1;  ///< 2 D0 alpha (eV/Å)
  T cutsq;   ///< Å^2
  T offset;  ///< E(r_c) when shifted, else 0 (eV)
};

/// Coefficients with LAMMPS's offset (pair_modify shift: E(r_c), computed in double).
template <typename T>
MorseCoeffs<T> morse_coeffs(double d0, double alpha, double r0, double cutoff, bool shift) {
  MorseCoeffs<T> c;
  c.d0 = static_cast<T>(d0);
  c.alpha = static_cast<T>(alpha);
  c.r0 = static_cast<T>(r0);
  c.morse1 = static_cast<T>(2.0 * d0 * alpha);
  c.cutsq = static_cast<T>(cutoff * cutoff);
  double off = 0;
  if (shift) {
    const double a = std::exp(-alpha * (cutoff - r0));
    off = d0 * (a * a - 2.0 * a);
  }
  c.offset = static_cast<T>(off);
  return c;
}

/// Atom i's energy share (half of each of its pairs' energies, eV; returned) and g[p] =
/// dE_i/dr_p = (dE/dr / 2) r_p / |r_p| for its pairs p in [begin, end) (0 outside the cutoff).
/// row: the coefficients of i's species against every species ([n]); si < 0: the atom is ignored.
template <typename T>
BATCHMD_HD inline double morse_atom(std::int64_t begin, std::int64_t end, std::int32_t si, const T* rij,
                                    const std::int32_t* species, const MorseCoeffs<T>* row, T* g) {
  using std::exp;
  using std::sqrt;
  double e = 0;
  for (std::int64_t p = begin; p < end; ++p) {
    const T* r = rij + 3 * p;
    const T rsq = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
    const std::int32_t sj = species[p];
    T f = T(0);
    if (si >= 0 && sj >= 0) {
      const MorseCoeffs<T>& c = row[sj];
      if (rsq < c.cutsq) {
        const T rr = sqrt(rsq);
        const T dexp = exp(-c.alpha * (rr - c.r0));
        e += 0.5 * double(c.d0 * (dexp * dexp - T(2) * dexp) - c.offset);
        f = -T(0.5) * c.morse1 * (dexp * dexp - dexp) / rr;  // (dE/dr / 2) / r
      }
    }
    for (int d = 0; d < 3; ++d) g[3 * p + d] = f * r[d];
  }
  return e;
}

}  // namespace batchmd::model::detail
