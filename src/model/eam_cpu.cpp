// model/eam_cpu: the CPU EAM kernel (see eam_cpu.hpp). Each slot's neighbors go through small
// L1-resident blocks in three steps, as the LJ kernel does: gather the separations (pairs the
// config excludes are moved beyond the cutoff), run the branch-free part (distance, knot, splines;
// pairs beyond the cutoff are masked to zero, every table load stays in range), then scatter to the
// neighbors (Newton's third law). The arithmetic is eam_kernels.hpp's, so results match LAMMPS to
// rounding. Note (GCC 12, measured): the middle loops are written for `omp simd`, but GCC does not
// emit vector code for them inside the target_clones functions, so today they run scalar at
// LAMMPS's speed (docs/benchmarks.md); single-element potentials skip the species lookups.
#include "eam_cpu.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace batchmd::model::detail {

namespace {

constexpr std::int64_t kBlock = 128;

// Per block: separations, and (after the SIMD step) per pair values to scatter.
template <typename T>
struct Block {
  alignas(64) T x[kBlock], y[kBlock], z[kBlock], u[kBlock], w[kBlock];
  alignas(64) std::int32_t j[kBlock], b[kBlock];
};

// Gathers the pairs [p0, p0 + n) of slot k (species a) into blk, padded to whole SIMD vectors with
// far-away dummies; returns the padded count.
template <bool kAll, typename T>
[[gnu::always_inline]] inline std::int64_t gather(const EAMSystemArgs<T>& a, std::int64_t k, std::int32_t sa,
                                                  std::int64_t p0, std::int64_t n, T far, Block<T>& blk) {
  const NeighborList& nl = *a.nl;
  const std::int64_t ps = nl.shifted_begin()[k];
  const std::int32_t* nbr = nl.neighbors().data();
  const std::int32_t* sidx = nl.shift_index().data();
  const T xi = a.pos[3 * k], yi = a.pos[3 * k + 1], zi = a.pos[3 * k + 2];
  const std::int32_t ne = a.tables.n_elements;
  for (std::int64_t q = 0; q < n; ++q) {
    const std::int64_t p = p0 + q;
    const std::int32_t j = nbr[p];
    T rx = a.pos[3 * j] - xi, ry = a.pos[3 * j + 1] - yi, rz = a.pos[3 * j + 2] - zi;
    if (p >= ps) {
      const T* s = a.shift + 3 * sidx[p];
      rx += s[0];
      ry += s[1];
      rz += s[2];
    }
    std::int32_t sb = a.species[j];
    if constexpr (!kAll)
      if (sb < 0 || !a.allowed[sa * ne + sb]) {
        rx = ry = rz = far;
        sb = 0;
      }
    blk.x[q] = rx;
    blk.y[q] = ry;
    blk.z[q] = rz;
    blk.j[q] = j;
    blk.b[q] = sb;
  }
  constexpr std::int64_t kPad = 64 / sizeof(T);
  const std::int64_t n_pad = (n + kPad - 1) / kPad * kPad;
  for (std::int64_t q = n; q < n_pad; ++q) {
    blk.x[q] = blk.y[q] = blk.z[q] = far;
    blk.j[q] = static_cast<std::int32_t>(k);
    blk.b[q] = 0;
  }
  return n_pad;
}

// Distance, knot and fraction of a gathered pair; inside = within the cutoff (and not coincident).
// (Scalars, not the EAMView: stores into the block could otherwise alias its members.)
template <typename T>
[[gnu::always_inline]] inline bool knot_of(T cutsq, T rdr, std::int32_t nr, T rx, T ry, T rz, T& r, std::int32_t& m,
                                           T& p) {
  const T rsq = rx * rx + ry * ry + rz * rz;
  const bool inside = (rsq < cutsq) & (rsq > T(0));  // no &&: no branch in the SIMD loop
  r = std::sqrt(inside ? rsq : cutsq);
  m = eam_knot(r, rdr, nr, p);
  return inside;
}

template <bool kSingle, bool kAll, bool kVirial, typename T>
[[gnu::always_inline]] inline double passes(const EAMSystemArgs<T>& a, std::int64_t k0, std::int64_t k1,
                                            double* virial) {
  const NeighborList& nl = *a.nl;
  const EAMView<T>& v = a.tables;
  const std::int64_t* off = nl.neighbor_offsets().data();
  const std::int32_t ne = v.n_elements;
  const std::int64_t row = static_cast<std::int64_t>(v.nr + 1) * 7;
  const T far = static_cast<T>(2 * nl.cutoff() + 2 * nl.skin() + 1);
  const std::int32_t* sp = a.species;
  const T cutsq = v.cutsq, rdr = v.rdr;
  const std::int32_t nr = v.nr;
  const T* rhor = v.rhor;
  const T* z2r = v.z2r;
  T* rho = a.rho;
  T* fp = a.fp;
  T* f = a.force;
  Block<T> blk;
  // Per central species: the offsets (in T) of the functions each neighbor species uses —
  // density at i from j, at j from i, r*phi (a file has at most 118 elements).
  std::int64_t ri[118], rj[118], rz[118];
  auto rows_for = [&](std::int32_t sa) {
    for (std::int32_t sb = 0; sb < ne; ++sb) {
      ri[sb] = v.rhor_index[sb * ne + sa] * row;
      rj[sb] = v.rhor_index[sa * ne + sb] * row;
      rz[sb] = v.z2r_index[sa * ne + sb] * row;
    }
  };

  // 1. Densities: rho_k += rho_[b->a](r), rho_j += rho_[a->b](r).
  for (std::int64_t k = k0; k < k1; ++k) rho[k] = 0;
  for (std::int64_t k = k0; k < k1; ++k) {
    const std::int32_t sa = kSingle ? 0 : sp[k];
    if constexpr (!kAll)
      if (sa < 0) continue;
    if constexpr (!kSingle) rows_for(sa);
    T rk = 0;
    for (std::int64_t p0 = off[k]; p0 < off[k + 1]; p0 += kBlock) {
      const std::int64_t n = std::min(kBlock, off[k + 1] - p0);
      const std::int64_t n_pad = gather<kAll>(a, k, sa, p0, n, far, blk);
      if constexpr (kSingle) {
#pragma omp simd reduction(+ : rk)
        for (std::int64_t q = 0; q < n_pad; ++q) {
          T r, p;
          std::int32_t m;
          const bool in = knot_of(cutsq, rdr, nr, blk.x[q], blk.y[q], blk.z[q], r, m, p);
          T d = eam_value(rhor + m * 7, p);  // loaded for every lane (m is valid), then masked
          d = in ? d : T(0);
          blk.u[q] = d;
          rk += d;
        }
        for (std::int64_t q = 0; q < n; ++q) rho[blk.j[q]] += blk.u[q];
      } else {
#pragma omp simd reduction(+ : rk)
        for (std::int64_t q = 0; q < n_pad; ++q) {
          T r, p;
          std::int32_t m;
          const bool in = knot_of(cutsq, rdr, nr, blk.x[q], blk.y[q], blk.z[q], r, m, p);
          const std::int32_t sb = blk.b[q];
          const T di = eam_value(rhor + ri[sb] + m * 7, p);
          const T dj = eam_value(rhor + rj[sb] + m * 7, p);
          rk += in ? di : T(0);
          blk.u[q] = in ? dj : T(0);
        }
        for (std::int64_t q = 0; q < n; ++q) rho[blk.j[q]] += blk.u[q];
      }
    }
    rho[k] += rk;
  }
  // 2. Embedding.
  double energy = 0;
  for (std::int64_t k = k0; k < k1; ++k) {
    const std::int32_t sa = kSingle ? 0 : sp[k];
    if (!kAll && sa < 0) {
      fp[k] = 0;
      continue;
    }
    energy += static_cast<double>(eam_embed(v, sa, rho[k], fp[k]));
  }
  // 3. Pairs: phi and dE/dr = fp_k rho'_[b->a] + fp_j rho'_[a->b] + phi'; F_j = -dE/dr r_kj / r.
  for (std::int64_t k = k0; k < k1; ++k) f[3 * k] = f[3 * k + 1] = f[3 * k + 2] = 0;
  double w[6] = {0, 0, 0, 0, 0, 0};
  for (std::int64_t k = k0; k < k1; ++k) {
    const std::int32_t sa = kSingle ? 0 : sp[k];
    if constexpr (!kAll)
      if (sa < 0) continue;
    if constexpr (!kSingle) rows_for(sa);
    const T fpk = fp[k];
    T fx = 0, fy = 0, fz = 0, ek = 0;
    T w0 = 0, w1 = 0, w2 = 0, w3 = 0, w4 = 0, w5 = 0;
    for (std::int64_t p0 = off[k]; p0 < off[k + 1]; p0 += kBlock) {
      const std::int64_t n = std::min(kBlock, off[k + 1] - p0);
      const std::int64_t n_pad = gather<kAll>(a, k, sa, p0, n, far, blk);
      for (std::int64_t q = 0; q < n_pad; ++q) blk.w[q] = fp[blk.j[q]];
      if constexpr (kSingle) {
#pragma omp simd reduction(+ : ek)
        for (std::int64_t q = 0; q < n_pad; ++q) {
          T r, p;
          std::int32_t m;
          const bool in = knot_of(cutsq, rdr, nr, blk.x[q], blk.y[q], blk.z[q], r, m, p);
          const T* cz = z2r + m * 7;
          const T recip = T(1) / r;
          const T phi = eam_value(cz, p) * recip;
          const T phip = eam_slope(cz, p) * recip - phi * recip;
          const T dedr = (fpk + blk.w[q]) * eam_slope(rhor + m * 7, p) + phip;
          blk.u[q] = in ? dedr * recip : T(0);
          ek += in ? phi : T(0);
        }
      } else {
#pragma omp simd reduction(+ : ek)
        for (std::int64_t q = 0; q < n_pad; ++q) {
          T r, p;
          std::int32_t m;
          const bool in = knot_of(cutsq, rdr, nr, blk.x[q], blk.y[q], blk.z[q], r, m, p);
          const std::int32_t sb = blk.b[q];
          const T* cz = z2r + rz[sb] + m * 7;
          const T recip = T(1) / r;
          const T phi = eam_value(cz, p) * recip;
          const T phip = eam_slope(cz, p) * recip - phi * recip;
          const T dedr =
              fpk * eam_slope(rhor + ri[sb] + m * 7, p) + blk.w[q] * eam_slope(rhor + rj[sb] + m * 7, p) + phip;
          blk.u[q] = in ? dedr * recip : T(0);
          ek += in ? phi : T(0);
        }
      }
      for (std::int64_t q = 0; q < n; ++q) {
        const T s = blk.u[q];
        const T gx = s * blk.x[q], gy = s * blk.y[q], gz = s * blk.z[q];  // = -F_j
        const std::int32_t j = blk.j[q];
        fx += gx;
        fy += gy;
        fz += gz;
        f[3 * j] -= gx;
        f[3 * j + 1] -= gy;
        f[3 * j + 2] -= gz;
        if constexpr (kVirial) {
          w0 -= blk.x[q] * gx;
          w1 -= blk.y[q] * gy;
          w2 -= blk.z[q] * gz;
          w3 -= blk.x[q] * gy;
          w4 -= blk.x[q] * gz;
          w5 -= blk.y[q] * gz;
        }
      }
    }
    f[3 * k] += fx;
    f[3 * k + 1] += fy;
    f[3 * k + 2] += fz;
    energy += static_cast<double>(ek);
    if constexpr (kVirial) {
      w[0] += w0;
      w[1] += w1;
      w[2] += w2;
      w[3] += w3;
      w[4] += w4;
      w[5] += w5;
    }
  }
  if (virial != nullptr) std::copy(w, w + 6, virial);
  return energy;
}

template <typename T>
using PassesFn = double (*)(const EAMSystemArgs<T>&, std::int64_t, std::int64_t, double*);

// Compiled for AVX-512 and AVX2 besides the baseline; the loader picks the best the CPU has.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define BATCHMD_EAM_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define BATCHMD_EAM_CLONES
#endif

#define BATCHMD_EAM_PASSES(name, single, all, vir, T)                                                      \
  BATCHMD_EAM_CLONES double name(const EAMSystemArgs<T>& a, std::int64_t k0, std::int64_t k1, double* w) { \
    return passes<single, all, vir, T>(a, k0, k1, w);                                                      \
  }
BATCHMD_EAM_PASSES(eam_d_single, true, true, false, double)
BATCHMD_EAM_PASSES(eam_d_single_v, true, true, true, double)
BATCHMD_EAM_PASSES(eam_d_all, false, true, false, double)
BATCHMD_EAM_PASSES(eam_d_all_v, false, true, true, double)
BATCHMD_EAM_PASSES(eam_d_some, false, false, false, double)
BATCHMD_EAM_PASSES(eam_d_some_v, false, false, true, double)
BATCHMD_EAM_PASSES(eam_f_single, true, true, false, float)
BATCHMD_EAM_PASSES(eam_f_single_v, true, true, true, float)
BATCHMD_EAM_PASSES(eam_f_all, false, true, false, float)
BATCHMD_EAM_PASSES(eam_f_all_v, false, true, true, float)
BATCHMD_EAM_PASSES(eam_f_some, false, false, false, float)
BATCHMD_EAM_PASSES(eam_f_some_v, false, false, true, float)
#undef BATCHMD_EAM_PASSES

}  // namespace

template <typename T>
double eam_cpu_system(const EAMSystemArgs<T>& a, std::int64_t k0, std::int64_t k1, double* virial) {
  const bool v = virial != nullptr;
  PassesFn<T> fn;
  if constexpr (std::is_same_v<T, double>) {
    fn = a.single ? (v ? &eam_d_single_v : &eam_d_single)
         : a.all  ? (v ? &eam_d_all_v : &eam_d_all)
                  : (v ? &eam_d_some_v : &eam_d_some);
  } else {
    fn = a.single ? (v ? &eam_f_single_v : &eam_f_single)
         : a.all  ? (v ? &eam_f_all_v : &eam_f_all)
                  : (v ? &eam_f_some_v : &eam_f_some);
  }
  return fn(a, k0, k1, virial);
}

template double eam_cpu_system<float>(const EAMSystemArgs<float>&, std::int64_t, std::int64_t, double*);
template double eam_cpu_system<double>(const EAMSystemArgs<double>&, std::int64_t, std::int64_t, double*);

}  // namespace batchmd::model::detail
