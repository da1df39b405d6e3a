// SPDX-License-Identifier: Apache-2.0
// model/eam_cpu: the CPU EAM kernel (see eam_cpu.hpp). Pass 1 walks the half list once, computing
// each pair's distance and knot, adding the densities at both ends and keeping the pairs inside the
// cutoff in a compact per-system cache (LAMMPS recomputes them in its force loop, and walks the
// pairs of the skin twice); pass 3 runs over that cache only. Single-element potentials skip the
// species lookups. The arithmetic is eam_kernels.hpp's, in LAMMPS's order, so results match LAMMPS
// to rounding. (Blocked "omp simd" loops as in the LJ kernel were tried: GCC 12 emits no vector
// code for these loops inside target_clones functions, and they ran no faster; plain loops
// remain.)
#include "eam_cpu.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

namespace batchmd::model::detail {

namespace {

// The pairs of a system inside the cutoff, as pass 1 found them (slot order, each slot's pairs in
// list order): the force pass reads them without recomputing distances or skipping pairs in the
// skin.
template <typename T>
struct PairCache {
  std::vector<std::int64_t> start;  // [slots + 1], relative to the system's first slot
  std::vector<std::int32_t> j, m;
  std::vector<T> p, r, x, y, z;
  std::int64_t n = 0;
  void reserve(std::int64_t slots, std::int64_t pairs) {
    start.resize(static_cast<std::size_t>(slots + 1));
    if (static_cast<std::int64_t>(j.size()) < pairs) {
      const auto c = static_cast<std::size_t>(pairs);
      j.resize(c);
      m.resize(c);
      p.resize(c);
      r.resize(c);
      x.resize(c);
      y.resize(c);
      z.resize(c);
    }
    n = 0;
  }
  void push(std::int32_t jj, std::int32_t mm, T pp, T rr, T xx, T yy, T zz) {
    j[n] = jj;
    m[n] = mm;
    p[n] = pp;
    r[n] = rr;
    x[n] = xx;
    y[n] = yy;
    z[n] = zz;
    ++n;
  }
};

template <bool kSingle, bool kAll, bool kVirial, typename T>
[[gnu::always_inline]] inline double passes(const EAMSystemArgs<T>& a, std::int64_t k0, std::int64_t k1,
                                            double* virial) {
  const NeighborList& nl = *a.nl;
  const EAMView<T>& v = a.tables;
  const std::int64_t* off = nl.neighbor_offsets().data();
  const std::int32_t ne = v.n_elements;
  const std::int64_t row = static_cast<std::int64_t>(v.nr + 1) * 7;
  const std::int32_t* sp = a.species;
  const T cutsq = v.cutsq, rdr = v.rdr;
  const std::int32_t nr = v.nr;
  const T* rhor = v.rhor;
  const T* z2r = v.z2r;
  const T* pos = a.pos;
  const std::int64_t* sbeg = nl.shifted_begin().data();
  const std::int32_t* nbr = nl.neighbors().data();
  const std::int32_t* sidx = nl.shift_index().data();
  T* rho = a.rho;
  T* fp = a.fp;
  T* f = a.force;
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

  // 1. Densities: rho_k += rho_[b->a](r), rho_j += rho_[a->b](r); the pairs inside the cutoff
  // go to the cache for pass 3.
  static thread_local PairCache<T> cache;
  cache.reserve(k1 - k0, off[k1] - off[k0]);
  for (std::int64_t k = k0; k < k1; ++k) rho[k] = 0;
  for (std::int64_t k = k0; k < k1; ++k) {
    cache.start[static_cast<std::size_t>(k - k0)] = cache.n;
    const std::int32_t sa = kSingle ? 0 : sp[k];
    if constexpr (!kAll)
      if (sa < 0) continue;
    if constexpr (!kSingle) rows_for(sa);
    T rk = 0;
    const T xi = pos[3 * k], yi = pos[3 * k + 1], zi = pos[3 * k + 2];
    const std::int64_t ps = sbeg[k];
    for (std::int64_t q = off[k]; q < off[k + 1]; ++q) {
      const std::int32_t j = nbr[q];
      const std::int32_t sb = kSingle ? 0 : sp[j];
      if constexpr (!kAll)
        if (sb < 0 || !a.allowed[sa * ne + sb]) continue;
      T rx = pos[3 * j] - xi, ry = pos[3 * j + 1] - yi, rzz = pos[3 * j + 2] - zi;
      if (q >= ps) {
        const T* s = a.shift + 3 * sidx[q];
        rx += s[0];
        ry += s[1];
        rzz += s[2];
      }
      const T rsq = rx * rx + ry * ry + rzz * rzz;
      if (!(rsq < cutsq) || rsq == T(0)) continue;
      const T r = std::sqrt(rsq);
      T p;
      const std::int32_t m = eam_knot(r, rdr, nr, p);
      if constexpr (kSingle) {
        const T d = eam_value(rhor + m * 7, p);
        rk += d;
        rho[j] += d;
      } else {
        rk += eam_value(rhor + ri[sb] + m * 7, p);
        rho[j] += eam_value(rhor + rj[sb] + m * 7, p);
      }
      cache.push(j, m, p, r, rx, ry, rzz);
    }
    rho[k] += rk;
  }
  cache.start[static_cast<std::size_t>(k1 - k0)] = cache.n;
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
    const std::int64_t c1 = cache.start[static_cast<std::size_t>(k - k0) + 1];
    for (std::int64_t c = cache.start[static_cast<std::size_t>(k - k0)]; c < c1; ++c) {
      const std::int32_t j = cache.j[c], m = cache.m[c];
      const T p = cache.p[c], recip = T(1) / cache.r[c];
      T dedr, phi;
      if constexpr (kSingle) {
        const T* cz = z2r + m * 7;
        phi = eam_value(cz, p) * recip;
        dedr = (fpk + fp[j]) * eam_slope(rhor + m * 7, p) + eam_slope(cz, p) * recip - phi * recip;
      } else {
        const std::int32_t sb = sp[j];
        const T* cz = z2r + rz[sb] + m * 7;
        phi = eam_value(cz, p) * recip;
        dedr = fpk * eam_slope(rhor + ri[sb] + m * 7, p) + fp[j] * eam_slope(rhor + rj[sb] + m * 7, p) +
               (eam_slope(cz, p) * recip - phi * recip);
      }
      ek += phi;
      const T s = dedr * recip;
      const T rx = cache.x[c], ry = cache.y[c], rzz = cache.z[c];
      const T gx = s * rx, gy = s * ry, gz = s * rzz;  // = -F_j
      fx += gx;
      fy += gy;
      fz += gz;
      f[3 * j] -= gx;
      f[3 * j + 1] -= gy;
      f[3 * j + 2] -= gz;
      if constexpr (kVirial) {
        w0 -= rx * gx;
        w1 -= ry * gy;
        w2 -= rzz * gz;
        w3 -= rx * gy;
        w4 -= rx * gz;
        w5 -= ry * gz;
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
