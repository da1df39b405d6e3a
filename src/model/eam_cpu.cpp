// SPDX-License-Identifier: Apache-2.0
// model/eam_cpu: the CPU EAM kernel (see eam_cpu.hpp). Pass 1 walks the half list once, computing
// each pair's distance and knot, adding the densities at both ends and keeping the pairs inside the
// cutoff in a compact per-system cache (LAMMPS recomputes them in its force loop, and walks the
// pairs of the skin twice); pass 3 runs over that cache only. Single-element potentials skip the
// species lookups. The arithmetic is eam_kernels.hpp's, in LAMMPS's order, so results match LAMMPS
// to rounding. (Blocked "omp simd" loops as in the LJ kernel were tried: GCC 12 emits no vector
// code for these loops inside target_clones functions, and they ran no faster; plain loops
// remain.)
//
// One large system on several threads (eam_cpu_split): the same three passes, each a parallel loop
// over chunks of slots with about equal pair counts; a chunk adds the densities (and later the
// forces) of both ends of its pairs into its own buffer over the system's slots, and the buffers are
// added in chunk order. The single-chunk path (eam_cpu_system) runs the same pass functions with
// the shared buffers, in the same order as before the split existed, so its bits are unchanged.
#include "eam_cpu.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "batchmd/core/parallel.hpp"
#include "batchmd/core/simd_clones.hpp"

namespace batchmd::model::detail {

template <typename T>
void EAMPairCache<T>::reserve(std::int64_t slots, std::int64_t pairs) {
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
template struct EAMPairCache<float>;
template struct EAMPairCache<double>;

namespace {

// Per central species: the offsets (in T) of the functions each neighbor species uses — density at
// i from j, at j from i, r*phi (a file has at most 118 elements).
template <typename T>
struct Rows {
  std::int64_t ri[118], rj[118], rz[118];
  void set(const EAMView<T>& v, std::int32_t sa) {
    const std::int32_t ne = v.n_elements;
    const std::int64_t row = static_cast<std::int64_t>(v.nr + 1) * 7;
    for (std::int32_t sb = 0; sb < ne; ++sb) {
      ri[sb] = v.rhor_index[sb * ne + sa] * row;
      rj[sb] = v.rhor_index[sa * ne + sb] * row;
      rz[sb] = v.z2r_index[sa * ne + sb] * row;
    }
  }
};

// 1. Densities of slots [k0, k1): rho[k - base] += rho_[b->a](r), rho[j - base] += rho_[a->b](r)
// (rho must be zero beforehand for the slots this chunk touches); the pairs inside the cutoff go to
// the cache for pass 3.
template <bool kSingle, bool kAll, typename T>
[[gnu::always_inline]] inline void density_pass(const EAMSystemArgs<T>& a, std::int64_t k0, std::int64_t k1, T* rho,
                                                std::int64_t base, EAMPairCache<T>& cache) {
  const NeighborList& nl = *a.nl;
  const EAMView<T>& v = a.tables;
  const std::int64_t* off = nl.neighbor_offsets().data();
  const std::int32_t ne = v.n_elements;
  const std::int32_t* sp = a.species;
  const T cutsq = v.cutsq, rdr = v.rdr;
  const std::int32_t nr = v.nr;
  const T* rhor = v.rhor;
  const T* pos = a.pos;
  const std::int64_t* sbeg = nl.shifted_begin().data();
  const std::int32_t* nbr = nl.neighbors().data();
  const std::int32_t* sidx = nl.shift_index().data();
  Rows<T> rows;
  cache.reserve(k1 - k0, off[k1] - off[k0]);
  for (std::int64_t k = k0; k < k1; ++k) {
    cache.start[static_cast<std::size_t>(k - k0)] = cache.n;
    const std::int32_t sa = kSingle ? 0 : sp[k];
    if constexpr (!kAll)
      if (sa < 0) continue;
    if constexpr (!kSingle) rows.set(v, sa);
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
        rho[j - base] += d;
      } else {
        rk += eam_value(rhor + rows.ri[sb] + m * 7, p);
        rho[j - base] += eam_value(rhor + rows.rj[sb] + m * 7, p);
      }
      cache.push(j, m, p, r, rx, ry, rzz);
    }
    rho[k - base] += rk;
  }
  cache.start[static_cast<std::size_t>(k1 - k0)] = cache.n;
}

// 2. Embedding of slots [k0, k1) from a.rho: writes a.fp, returns energy plus the embedding energies.
template <bool kSingle, bool kAll, typename T>
[[gnu::always_inline]] inline double embed_pass(const EAMSystemArgs<T>& a, std::int64_t k0, std::int64_t k1,
                                                double energy) {
  const std::int32_t* sp = a.species;
  for (std::int64_t k = k0; k < k1; ++k) {
    const std::int32_t sa = kSingle ? 0 : sp[k];
    if (!kAll && sa < 0) {
      a.fp[k] = 0;
      continue;
    }
    energy += static_cast<double>(eam_embed(a.tables, sa, a.rho[k], a.fp[k]));
  }
  return energy;
}

// 3. Pairs of slots [k0, k1) from the cache: phi and dE/dr = fp_k rho'_[b->a] + fp_j rho'_[a->b] +
// phi'; F_j = -dE/dr r_kj / r, added to f[3 (j - base)] (f must be zero beforehand for the slots
// this chunk touches). Returns energy plus the pair energies; adds the virial to w (double[6]).
template <bool kSingle, bool kAll, bool kVirial, typename T>
[[gnu::always_inline]] inline double force_pass(const EAMSystemArgs<T>& a, std::int64_t k0, std::int64_t k1,
                                                const EAMPairCache<T>& cache, T* f, std::int64_t base, double energy,
                                                double* w) {
  const EAMView<T>& v = a.tables;
  const std::int32_t* sp = a.species;
  const T* rhor = v.rhor;
  const T* z2r = v.z2r;
  const T* fp = a.fp;
  Rows<T> rows;
  for (std::int64_t k = k0; k < k1; ++k) {
    const std::int32_t sa = kSingle ? 0 : sp[k];
    if constexpr (!kAll)
      if (sa < 0) continue;
    if constexpr (!kSingle) rows.set(v, sa);
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
        const T* cz = z2r + rows.rz[sb] + m * 7;
        phi = eam_value(cz, p) * recip;
        dedr = fpk * eam_slope(rhor + rows.ri[sb] + m * 7, p) + fp[j] * eam_slope(rhor + rows.rj[sb] + m * 7, p) +
               (eam_slope(cz, p) * recip - phi * recip);
      }
      ek += phi;
      const T s = dedr * recip;
      const T rx = cache.x[c], ry = cache.y[c], rzz = cache.z[c];
      const T gx = s * rx, gy = s * ry, gz = s * rzz;  // = -F_j
      fx += gx;
      fy += gy;
      fz += gz;
      T* fj = f + 3 * (j - base);
      fj[0] -= gx;
      fj[1] -= gy;
      fj[2] -= gz;
      if constexpr (kVirial) {
        w0 -= rx * gx;
        w1 -= ry * gy;
        w2 -= rzz * gz;
        w3 -= rx * gy;
        w4 -= rx * gz;
        w5 -= ry * gz;
      }
    }
    T* fk = f + 3 * (k - base);
    fk[0] += fx;
    fk[1] += fy;
    fk[2] += fz;
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
  return energy;
}

// The whole system on the calling thread, in place in a.rho, a.fp, a.force.
template <bool kSingle, bool kAll, bool kVirial, typename T>
[[gnu::always_inline]] inline double passes(const EAMSystemArgs<T>& a, std::int64_t k0, std::int64_t k1,
                                            double* virial) {
  static thread_local EAMPairCache<T> cache;
  for (std::int64_t k = k0; k < k1; ++k) a.rho[k] = 0;
  density_pass<kSingle, kAll>(a, k0, k1, a.rho, 0, cache);
  const double energy = embed_pass<kSingle, kAll>(a, k0, k1, 0.0);
  for (std::int64_t k = k0; k < k1; ++k) a.force[3 * k] = a.force[3 * k + 1] = a.force[3 * k + 2] = 0;
  double w[6] = {0, 0, 0, 0, 0, 0};
  const double e = force_pass<kSingle, kAll, kVirial>(a, k0, k1, cache, a.force, 0, energy, w);
  if (virial != nullptr) std::copy(w, w + 6, virial);
  return e;
}

template <typename T>
using PassesFn = double (*)(const EAMSystemArgs<T>&, std::int64_t, std::int64_t, double*);

// The passes are compiled for AVX-512 and AVX2 besides the baseline (simd_clones.hpp).
#define BATCHMD_EAM_PASSES(name, single, all, vir, T)                                                       \
  BATCHMD_SIMD_CLONES double name(const EAMSystemArgs<T>& a, std::int64_t k0, std::int64_t k1, double* w) { \
    return passes<single, all, vir, T>(a, k0, k1, w);                                                       \
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

// The passes of a chunk, compiled like the whole-system passes (split path).
template <typename T>
struct SplitFns {
  void (*density)(const EAMSystemArgs<T>&, std::int64_t, std::int64_t, T*, std::int64_t, EAMPairCache<T>&);
  double (*embed)(const EAMSystemArgs<T>&, std::int64_t, std::int64_t, double);
  double (*force)(const EAMSystemArgs<T>&, std::int64_t, std::int64_t, const EAMPairCache<T>&, T*, std::int64_t, double,
                  double*);
};

#define BATCHMD_EAM_SPLIT(name, single, all, vir, T)                                                                \
  BATCHMD_SIMD_CLONES void name##_rho(const EAMSystemArgs<T>& a, std::int64_t k0, std::int64_t k1, T* rho,          \
                                      std::int64_t base, EAMPairCache<T>& c) {                                      \
    density_pass<single, all>(a, k0, k1, rho, base, c);                                                             \
  }                                                                                                                 \
  double name##_embed(const EAMSystemArgs<T>& a, std::int64_t k0, std::int64_t k1, double e) {                      \
    return embed_pass<single, all>(a, k0, k1, e);                                                                   \
  }                                                                                                                 \
  BATCHMD_SIMD_CLONES double name##_force(const EAMSystemArgs<T>& a, std::int64_t k0, std::int64_t k1,              \
                                          const EAMPairCache<T>& c, T* f, std::int64_t base, double e, double* w) { \
    return force_pass<single, all, vir>(a, k0, k1, c, f, base, e, w);                                               \
  }                                                                                                                 \
  const SplitFns<T> name{&name##_rho, &name##_embed, &name##_force};
BATCHMD_EAM_SPLIT(split_d_single, true, true, false, double)
BATCHMD_EAM_SPLIT(split_d_single_v, true, true, true, double)
BATCHMD_EAM_SPLIT(split_d_all, false, true, false, double)
BATCHMD_EAM_SPLIT(split_d_all_v, false, true, true, double)
BATCHMD_EAM_SPLIT(split_d_some, false, false, false, double)
BATCHMD_EAM_SPLIT(split_d_some_v, false, false, true, double)
BATCHMD_EAM_SPLIT(split_f_single, true, true, false, float)
BATCHMD_EAM_SPLIT(split_f_single_v, true, true, true, float)
BATCHMD_EAM_SPLIT(split_f_all, false, true, false, float)
BATCHMD_EAM_SPLIT(split_f_all_v, false, true, true, float)
BATCHMD_EAM_SPLIT(split_f_some, false, false, false, float)
BATCHMD_EAM_SPLIT(split_f_some_v, false, false, true, float)
#undef BATCHMD_EAM_SPLIT

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

template <typename T>
double eam_cpu_split(const EAMSystemArgs<T>& a, std::int64_t k0, std::int64_t k1, int chunks, EAMSplitWork<T>& w,
                     const std::int64_t* order, T* out, double* virial) {
  const bool v = virial != nullptr;
  SplitFns<T> fn;
  if constexpr (std::is_same_v<T, double>) {
    fn = a.single ? (v ? split_d_single_v : split_d_single)
         : a.all  ? (v ? split_d_all_v : split_d_all)
                  : (v ? split_d_some_v : split_d_some);
  } else {
    fn = a.single ? (v ? split_f_single_v : split_f_single)
         : a.all  ? (v ? split_f_all_v : split_f_all)
                  : (v ? split_f_some_v : split_f_some);
  }
  const std::int64_t n = k1 - k0;
  const auto nc = static_cast<std::size_t>(chunks);
  // Chunk bounds: equal shares of the system's listed pairs (the list and `chunks` decide them).
  // Bounds and windows depend on the pairs, the system and `chunks` only: found again when the
  // list changed.
  const bool fresh = w.split.begin(*a.nl, k0, k1, chunks);
  if (w.cache.size() < nc) w.cache.resize(nc);
  w.rho.resize(nc * static_cast<std::size_t>(n));
  w.force.resize(3 * nc * static_cast<std::size_t>(n));
  w.sums.assign(7 * nc, 0.0);
  // Pointers for the threads (never the containers themselves).
  const std::int64_t* bounds = w.split.bounds.data();
  EAMPairCache<T>* cache = w.cache.data();
  T* rho = w.rho.data();
  T* force = w.force.data();
  double* sums = w.sums.data();
  // A chunk writes only its slots and their neighbors', which the list's slot order (by bin)
  // keeps within a window of nearby slots: only that window of its buffers is cleared and summed
  // (about n + chunks × window values instead of chunks × n). The sums keep chunk order and skip
  // only the exact zeros of the other chunks' buffers; sum_window adds one +0 where any was
  // skipped, which is what adding them did (it turns a -0 sum into +0), so results are unchanged
  // bit for bit.
  const std::int64_t* window = w.split.window.data();
  auto sum_window = [&](const T* buf, std::int64_t stride, std::int64_t i, int e) {
    T s = i >= window[0] && i < window[1] ? buf[stride * i + e] : T(0);
    bool skipped = false;
    for (int u = 1; u < chunks; ++u) {
      if (i >= window[2 * u] && i < window[2 * u + 1])
        s += buf[stride * (u * n + i) + e];
      else
        skipped = true;
    }
    if (skipped) s += T(0);
    return s;
  };
  // 1. Densities, each chunk into its own buffer over its window of the system's slots. Chunk c
  // runs on thread c in all three passes (parallel_for_threads): its pairs and windows stay in
  // that core's cache from pass to pass and from call to call.
  parallel_for_threads(chunks, [&](std::int64_t c) {
    if (fresh) w.split.find_window(*a.nl, c);
    T* r = rho + c * n;
    std::fill(r + window[2 * c], r + window[2 * c + 1], T(0));
    fn.density(a, bounds[c], bounds[c + 1], r, k0, cache[c]);
  });
  if (fresh) w.split.done(*a.nl);
  // 2. Densities added in chunk order, then the embedding (energy per chunk).
  parallel_for_threads(chunks, [&](std::int64_t c) {
    for (std::int64_t k = bounds[c]; k < bounds[c + 1]; ++k) a.rho[k] = sum_window(rho, 1, k - k0, 0);
    sums[7 * c] = fn.embed(a, bounds[c], bounds[c + 1], 0.0);
  });
  // 3. Forces, each chunk into its own buffer (the same window); pair energies and virial per chunk.
  parallel_for_threads(chunks, [&](std::int64_t c) {
    T* f = force + 3 * c * n;
    std::fill(f + 3 * window[2 * c], f + 3 * window[2 * c + 1], T(0));
    sums[7 * c] = fn.force(a, bounds[c], bounds[c + 1], cache[c], f, k0, sums[7 * c], sums + 7 * c + 1);
  });
  // 4. Forces added in chunk order, straight to the caller's atom order.
  parallel_for(n, [&](std::int64_t i) {
    T* o = out + 3 * order[k0 + i];
    for (int e = 0; e < 3; ++e) o[e] = sum_window(force, 3, i, e);
  });
  double energy = 0, wv[6] = {0, 0, 0, 0, 0, 0};
  for (std::size_t c = 0; c < nc; ++c) {
    energy += sums[7 * c];
    for (int e = 0; e < 6; ++e) wv[e] += sums[7 * c + 1 + static_cast<std::size_t>(e)];
  }
  if (virial != nullptr) std::copy(wv, wv + 6, virial);
  return energy;
}

template double eam_cpu_split<float>(const EAMSystemArgs<float>&, std::int64_t, std::int64_t, int, EAMSplitWork<float>&,
                                     const std::int64_t*, float*, double*);
template double eam_cpu_split<double>(const EAMSystemArgs<double>&, std::int64_t, std::int64_t, int,
                                      EAMSplitWork<double>&, const std::int64_t*, double*, double*);

}  // namespace batchmd::model::detail
