// SPDX-License-Identifier: Apache-2.0
// model/lennard_jones_kernels: the CPU Lennard-Jones kernel over a half NeighborList.
//
// Per call: positions are gathered into slot order (wrapped by the build-time image offsets, so
// every pair needs at most a small table shift), forces accumulate in slot order with Newton's
// third law and are scattered back to the caller's atom order at the end.
#include "batchmd/model/lennard_jones_kernels.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/core/simd_clones.hpp"
#include "split_chunks.hpp"

namespace batchmd::model {

namespace {

void check_pair(int z_a, int z_b, const LJPair& p, bool is_default) {
  const std::string who = is_default ? std::string("default LJ pair")
                                     : "LJ pair (Z " + std::to_string(z_a) + ", Z " + std::to_string(z_b) + ")";
  if (!std::isfinite(p.epsilon) || p.epsilon < 0)
    throw InvalidArgument(who + ": epsilon must be a finite energy >= 0 eV, got " + std::to_string(p.epsilon));
  if (!std::isfinite(p.sigma) || !(p.sigma > 0))
    throw InvalidArgument(who + ": sigma must be a finite length > 0 Å, got " + std::to_string(p.sigma));
  if (!std::isfinite(p.cutoff) || !(p.cutoff > 0))
    throw InvalidArgument(who + ": cutoff must be a finite length > 0 Å, got " + std::to_string(p.cutoff));
}

void check_z(int z) {
  if (z < 0 || z > LJTable::kMaxZ)
    throw InvalidArgument("atomic number must be in [0, " + std::to_string(LJTable::kMaxZ) + "], got " +
                          std::to_string(z));
}

// Eight float64 lanes (GCC/Clang vector extension; the baseline clone splits it into SSE2 halves).
using Lanes = double __attribute__((vector_size(64)));
// Eight values of a block as float64 lanes (through a reference: a vector returned by value
// would depend on the clone's ISA).
template <typename T>
[[gnu::always_inline]] inline void load_lanes(const T* p, Lanes& out) {
  if constexpr (std::is_same_v<T, double>) {
    std::memcpy(&out, p, sizeof out);
  } else {
    using Floats = float __attribute__((vector_size(32)));
    Floats f;
    std::memcpy(&f, p, sizeof f);
    out = __builtin_convertvector(f, Lanes);
  }
}

// One 512-bit vector of T (eight float64 or sixteen float32 lanes), and the tree sum of its
// lanes in a fixed order (halves added lane by lane until one lane is left).
template <typename T>
struct VecOf;
template <>
struct VecOf<double> {
  using type = double __attribute__((vector_size(64)));
};
template <>
struct VecOf<float> {
  using type = float __attribute__((vector_size(64)));
};
template <typename T>
using Vec = typename VecOf<T>::type;
template <typename T>
[[gnu::always_inline]] inline T lane_sum(const Vec<T>& v) {
  constexpr int kW = 64 / sizeof(T);
  alignas(64) T a[kW];
  std::memcpy(a, &v, sizeof a);
  for (int w = kW / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) a[l] += a[l + w];
  return a[0];
}

// r_ij ⊗ F_j of one vector of pairs into the float64 lane sums (a float32 vector as its two
// halves of eight, low half first, as the separate virial loop of mixed types takes them).
template <typename T>
[[gnu::always_inline]] inline void add_virial(PairVirial<Lanes>& vir, const Vec<T>& dx, const Vec<T>& dy,
                                              const Vec<T>& dz, const Vec<T>& fx, const Vec<T>& fy, const Vec<T>& fz) {
  if constexpr (std::is_same_v<T, double>) {
    vir.add(dx, dy, dz, fx, fy, fz);
  } else {
#define BATCHMD_HALF(v, a) \
  __builtin_convertvector(__builtin_shufflevector(v, v, a, a + 1, a + 2, a + 3, a + 4, a + 5, a + 6, a + 7), Lanes)
    vir.add(BATCHMD_HALF(dx, 0), BATCHMD_HALF(dy, 0), BATCHMD_HALF(dz, 0), BATCHMD_HALF(fx, 0), BATCHMD_HALF(fy, 0),
            BATCHMD_HALF(fz, 0));
    vir.add(BATCHMD_HALF(dx, 8), BATCHMD_HALF(dy, 8), BATCHMD_HALF(dz, 8), BATCHMD_HALF(fx, 8), BATCHMD_HALF(fy, 8),
            BATCHMD_HALF(fz, 8));
#undef BATCHMD_HALF
  }
}

struct Sums {
  double energy = 0;
  std::array<double, 6> virial{};  // xx yy zz xy xz yz
};

// Reusable per-thread buffers of one lj_compute call (no allocation in the steady state).
template <typename T>
struct Workspace {
  std::vector<T> pos;     // [n_atoms][3], slot order, wrapped
  std::vector<T> force;   // [n_atoms][3], slot order
  std::vector<T> shifts;  // [n_shifts][3], Cartesian
  std::vector<std::int32_t> type;
  std::vector<T> thread_force;  // [n_threads][n_atoms][3] for a split system
  std::vector<LJCoeffs<T>> coeffs;
  std::vector<Sums> sums;
  detail::SplitChunks split;  // a split system's chunks (one per thread) and their windows
};

// Pairs of slots [k0, k1): forces into f (slot order), energy and virial into sums.
// Each atom's neighbors go through three passes over a small L1-resident block: gather the
// separations, evaluate the pair function for the whole block without branches (a SIMD loop;
// pairs beyond the cutoff are masked), then scatter the forces on the neighbors (Newton's third
// law) — a plain load-add-store per pair.
// One pair type (the common case) is written with 512-bit vectors (Vec<T>: the AVX2 and baseline
// clones split them): the force on i, its energy and the virial's products r_ij ⊗ F_j stay lane
// sums in registers, the first three across the atom's blocks (then summed as a tree of lanes),
// the virial across the whole call (float64 lanes; a float32 vector as its two halves), reduced
// once at the end, lanes in order. A separate virial pass over the block reloaded six arrays
// (eleven loads for eight pairs, in the load ports the gather and scatter already fill) and made
// the LJ call with the stress ~8 % dearer than without; now ~3-4 %.
// Mixed types keep a `#pragma omp simd` loop (a coefficient row per pair; the force on i and
// the energy reduced per block, lane-wise then the lanes) and that separate virial pass.
// Summation orders are fixed by the list alone (and, for mixed types, the ISA clone): results
// do not depend on the thread count.
template <bool kSingleType, bool kVirial, typename T>
[[gnu::always_inline]] inline void pair_loop(std::int64_t k0, std::int64_t k1, const NeighborList& nl, const T* pos,
                                             const std::int32_t* type, std::int32_t n_types, const LJCoeffs<T>* coeffs,
                                             const T* shift_cart, T* f, Sums& sums) {
  constexpr std::int64_t kBlock = 128;
  constexpr std::int64_t kPad = 64 / sizeof(T);        // one 512-bit vector
  const T kFar = static_cast<T>(2 * nl.cutoff() + 1);  // Å; beyond every pair cutoff
  alignas(64) T bx[kBlock], by[kBlock], bz[kBlock];
  alignas(64) T fbx[kBlock], fby[kBlock], fbz[kBlock];
  alignas(64) std::int32_t bt[kBlock];
  const std::int64_t* off = nl.neighbor_offsets().data();
  const std::int64_t* sb = nl.shifted_begin().data();
  const std::int32_t* nbr = nl.neighbors().data();
  const std::int32_t* sidx = nl.shift_index().data();
  const LJCoeffs<T> c0 = coeffs[0];
  using V = Vec<T>;
  double energy = 0;
  PairVirial<Lanes> vir;  // per-lane virial sums of the call
  for (std::int64_t k = k0; k < k1; ++k) {
    const T xi = pos[3 * k], yi = pos[3 * k + 1], zi = pos[3 * k + 2];
    const LJCoeffs<T>* crow = coeffs + (kSingleType ? 0 : type[k] * n_types);
    T fxi = 0, fyi = 0, fzi = 0, ei = 0;
    V fxv{}, fyv{}, fzv{}, ev{};  // the single-type pass's lane sums for atom k
    const std::int64_t p_shift = sb[k], p_end = off[k + 1];
    for (std::int64_t p0 = off[k]; p0 < p_end; p0 += kBlock) {
      const std::int64_t n = std::min(kBlock, p_end - p0);
      const std::int32_t* nb = nbr + p0;
      // 1. Gather separations r_ij (with the image shift past p_shift).
      const std::int64_t n_plain = std::clamp<std::int64_t>(p_shift - p0, 0, n);
      for (std::int64_t q = 0; q < n_plain; ++q) {
        const std::int32_t j = nb[q];
        bx[q] = pos[3 * j] - xi;
        by[q] = pos[3 * j + 1] - yi;
        bz[q] = pos[3 * j + 2] - zi;
      }
      for (std::int64_t q = n_plain; q < n; ++q) {
        const std::int32_t j = nb[q];
        const T* sv = shift_cart + 3 * sidx[p0 + q];
        bx[q] = pos[3 * j] + sv[0] - xi;
        by[q] = pos[3 * j + 1] + sv[1] - yi;
        bz[q] = pos[3 * j + 2] + sv[2] - zi;
      }
      if constexpr (!kSingleType)
        for (std::int64_t q = 0; q < n; ++q) bt[q] = type[nb[q]];
      // Pad to whole SIMD vectors with far-away dummies, so no scalar remainder loop runs.
      const std::int64_t n_pad = (n + kPad - 1) / kPad * kPad;
      for (std::int64_t q = n; q < n_pad; ++q) {
        bx[q] = by[q] = bz[q] = kFar;
        bt[q] = 0;
      }
      // 2. Pair function, branch-free: F_j = fpair r_ij into the block, F_i = -sum F_j.
      if constexpr (kSingleType) {
        // One pair type: written with 512-bit vectors (lj_pair_force's operations, lane by
        // lane), so the force on i, the energy and the virial stay as lane sums in registers
        // across the atom's blocks and the virial needs no second pass over the block.
        for (std::int64_t q = 0; q < n_pad; q += kPad) {
          V dx, dy, dz;
          std::memcpy(&dx, bx + q, sizeof dx);
          std::memcpy(&dy, by + q, sizeof dy);
          std::memcpy(&dz, bz + q, sizeof dz);
          const V rsq = dx * dx + dy * dy + dz * dz;
          const V r2inv = T(1) / rsq;
          const V r6inv = r2inv * r2inv * r2inv;
          const auto inside = rsq < c0.cutsq;
          const V fpair = inside ? r6inv * (c0.lj1 * r6inv - c0.lj2) * r2inv : V{};
          ev += inside ? r6inv * (c0.lj3 * r6inv - c0.lj4) - c0.offset : V{};
          const V fx = fpair * dx, fy = fpair * dy, fz = fpair * dz;
          std::memcpy(fbx + q, &fx, sizeof fx);
          std::memcpy(fby + q, &fy, sizeof fy);
          std::memcpy(fbz + q, &fz, sizeof fz);
          fxv -= fx;
          fyv -= fy;
          fzv -= fz;
          if constexpr (kVirial) add_virial<T>(vir, dx, dy, dz, fx, fy, fz);
        }
      } else {
#pragma omp simd reduction(+ : ei, fxi, fyi, fzi)
        for (std::int64_t q = 0; q < n_pad; ++q) {
          const T dx = bx[q], dy = by[q], dz = bz[q];
          const T rsq = dx * dx + dy * dy + dz * dz;
          const LJCoeffs<T>& c = crow[bt[q]];
          T fx, fy, fz;
          ei += lj_pair_force(rsq, dx, dy, dz, c, fx, fy, fz);
          fbx[q] = fx;
          fby[q] = fy;
          fbz[q] = fz;
          fxi -= fx;
          fyi -= fy;
          fzi -= fz;
        }
        // 2b. Virial: r_ij ⊗ F_j of the block into the lane sums (padding pairs carry F = 0).
        if constexpr (kVirial)
          for (std::int64_t q = 0; q < n_pad; q += 8) {
            Lanes dx, dy, dz, fx, fy, fz;
            load_lanes(bx + q, dx);
            load_lanes(by + q, dy);
            load_lanes(bz + q, dz);
            load_lanes(fbx + q, fx);
            load_lanes(fby + q, fy);
            load_lanes(fbz + q, fz);
            vir.add(dx, dy, dz, fx, fy, fz);
          }
      }
      // 3. Scatter the neighbors' forces (a neighbor may repeat, as its periodic images in a
      // small box, so this loop stays scalar).
      for (std::int64_t q = 0; q < n; ++q) {
        T* fj = f + 3 * nb[q];
        fj[0] += fbx[q];
        fj[1] += fby[q];
        fj[2] += fbz[q];
      }
    }
    if constexpr (kSingleType) {
      fxi = lane_sum<T>(fxv);
      fyi = lane_sum<T>(fyv);
      fzi = lane_sum<T>(fzv);
      ei = lane_sum<T>(ev);
    }
    f[3 * k] += fxi;
    f[3 * k + 1] += fyi;
    f[3 * k + 2] += fzi;
    energy += static_cast<double>(ei);
  }
  sums.energy += energy;
  if constexpr (kVirial) {
    const Lanes* lanes[6] = {&vir.xx, &vir.yy, &vir.zz, &vir.xy, &vir.xz, &vir.yz};
    for (int a = 0; a < 6; ++a) {
      double v = 0;
      for (int l = 0; l < 8; ++l) v += (*lanes[a])[l];
      sums.virial[a] += v;
    }
  }
}

template <typename T>
using PairLoopFn = void (*)(std::int64_t, std::int64_t, const NeighborList&, const T*, const std::int32_t*,
                            std::int32_t, const LJCoeffs<T>*, const T*, T*, Sums&);

// The pair loops are compiled for AVX-512 and AVX2 besides the baseline ISA; the loader picks
// the best the CPU supports (simd_clones.hpp; pass 2 above is the SIMD part).
#define BATCHMD_PAIR_LOOP(name, single, vir, T)                                                            \
  BATCHMD_SIMD_CLONES void name(std::int64_t k0, std::int64_t k1, const NeighborList& nl, const T* pos,    \
                                const std::int32_t* type, std::int32_t n_types, const LJCoeffs<T>* coeffs, \
                                const T* shift_cart, T* f, Sums& sums) {                                   \
    pair_loop<single, vir, T>(k0, k1, nl, pos, type, n_types, coeffs, shift_cart, f, sums);                \
  }
BATCHMD_PAIR_LOOP(pair_loop_d_single, true, false, double)
BATCHMD_PAIR_LOOP(pair_loop_d_single_virial, true, true, double)
BATCHMD_PAIR_LOOP(pair_loop_d_mixed, false, false, double)
BATCHMD_PAIR_LOOP(pair_loop_d_mixed_virial, false, true, double)
BATCHMD_PAIR_LOOP(pair_loop_f_single, true, false, float)
BATCHMD_PAIR_LOOP(pair_loop_f_single_virial, true, true, float)
BATCHMD_PAIR_LOOP(pair_loop_f_mixed, false, false, float)
BATCHMD_PAIR_LOOP(pair_loop_f_mixed_virial, false, true, float)
#undef BATCHMD_PAIR_LOOP

template <typename T>
PairLoopFn<T> pick_pair_loop(bool single_type, bool virial) {
  if constexpr (std::is_same_v<T, double>) {
    if (single_type) return virial ? &pair_loop_d_single_virial : &pair_loop_d_single;
    return virial ? &pair_loop_d_mixed_virial : &pair_loop_d_mixed;
  } else {
    if (single_type) return virial ? &pair_loop_f_single_virial : &pair_loop_f_single;
    return virial ? &pair_loop_f_mixed_virial : &pair_loop_f_mixed;
  }
}

void write_virial(const Sums& sums, double* out9) {
  const auto& v = sums.virial;
  const double w[9] = {v[0], v[3], v[4], v[3], v[1], v[5], v[4], v[5], v[2]};
  std::copy(w, w + 9, out9);
}

}  // namespace

LJTable::LJTable(const LJPair& default_pair) : default_(default_pair) { check_pair(0, 0, default_pair, true); }

LJTable& LJTable::set(int z_a, int z_b, const LJPair& pair) {
  check_z(z_a);
  check_z(z_b);
  check_pair(z_a, z_b, pair, false);
  const std::pair<int, int> key{std::min(z_a, z_b), std::max(z_a, z_b)};
  for (auto& [k, v] : overrides_)
    if (k == key) {
      v = pair;
      return *this;
    }
  overrides_.emplace_back(key, pair);
  return *this;
}

const LJPair& LJTable::get(int z_a, int z_b) const {
  const std::pair<int, int> key{std::min(z_a, z_b), std::max(z_a, z_b)};
  for (const auto& [k, v] : overrides_)
    if (k == key) return v;
  return default_;
}

double LJTable::max_cutoff() const noexcept {
  double rc = default_.cutoff;
  for (const auto& kv : overrides_) rc = std::max(rc, kv.second.cutoff);
  return rc;
}

template <typename T>
void lj_compute(const BatchGeometry<T>& g, const std::int64_t* atomic_numbers, const NeighborList& nl,
                const LJTable& table, T* energy, T* forces, std::type_identity_t<T>* virial) {
  const std::int64_t ns = g.n_systems, na = g.n_atoms;
  if (nl.n_builds() == 0 || nl.n_systems() != ns || nl.n_atoms() != na)
    throw InvalidArgument("lj_compute: the neighbor list was not built for this batch (" + std::to_string(ns) +
                          " systems, " + std::to_string(na) + " atoms); call NeighborList::update first");
  if (ns == 0) return;
  if (g.atoms_ptr == nullptr) throw InvalidArgument("lj_compute: atoms_ptr is null");
  const auto ptr = nl.atoms_ptr();
  for (std::int64_t s = 0; s <= ns; ++s)
    if (g.atoms_ptr[s] != ptr[s])
      throw InvalidArgument("lj_compute: atoms_ptr differs from the neighbor list's at system " + std::to_string(s) +
                            "; call NeighborList::update first");
  if ((ns > 0 && energy == nullptr) ||
      (na > 0 && (forces == nullptr || atomic_numbers == nullptr || g.positions == nullptr)))
    throw InvalidArgument("lj_compute: null energy, forces, positions or atomic_numbers");

  // Compact species present in the batch -> coefficient matrix.
  std::array<std::int32_t, LJTable::kMaxZ + 1> type_of;
  type_of.fill(-1);
  std::array<int, LJTable::kMaxZ + 1> species{};
  std::int32_t n_types = 0;
  for (std::int64_t a = 0; a < na; ++a) {
    const std::int64_t z = atomic_numbers[a];
    if (z < 0 || z > LJTable::kMaxZ)
      throw InvalidArgument("lj_compute: atom " + std::to_string(a) + " has atomic number " + std::to_string(z) +
                            ", outside [0, " + std::to_string(LJTable::kMaxZ) + "]");
    if (type_of[z] < 0) {
      species[n_types] = static_cast<int>(z);
      type_of[z] = n_types++;
    }
  }
  // Workspace of the calling thread; lambdas below capture pointers into it, never `ws` itself
  // (on a worker thread that name would denote the worker's own, empty, workspace).
  static thread_local Workspace<T> ws;
  std::vector<LJCoeffs<T>>& coeffs = ws.coeffs;
  coeffs.resize(static_cast<std::size_t>(std::max(1, n_types * n_types)));
  for (std::int32_t a = 0; a < n_types; ++a)
    for (std::int32_t b = 0; b < n_types; ++b) {
      const LJPair& p = table.get(species[a], species[b]);
      if (p.cutoff > nl.cutoff())
        throw InvalidArgument("lj_compute: cutoff " + std::to_string(p.cutoff) + " Å of LJ pair (Z " +
                              std::to_string(species[a]) + ", Z " + std::to_string(species[b]) +
                              ") exceeds the neighbor list cutoff " + std::to_string(nl.cutoff()) + " Å");
      coeffs[a * n_types + b] = lj_coeffs<T>(p);
    }
  const LJCoeffs<T>* lj = coeffs.data();
  const bool single_type = n_types <= 1;
  const PairLoopFn<T> loop = pick_pair_loop<T>(single_type, virial != nullptr);

  ws.pos.resize(3 * na);
  ws.force.resize(3 * na);
  if (!single_type) ws.type.resize(na);
  const auto shift_ptr = nl.shift_ptr();
  const auto shifts = nl.shifts();
  ws.shifts.resize(shifts.size());
  const std::int64_t* order = nl.atom_order().data();
  const std::int32_t* image = nl.image_offsets().data();
  T* pos = ws.pos.data();
  T* force = ws.force.data();
  std::int32_t* type = ws.type.data();
  T* shift_cart = ws.shifts.data();

  // Slot-order positions (wrapped), types and Cartesian shifts of system s, slots [k0, k1).
  auto prepare = [&](std::int64_t s, std::int64_t k0, std::int64_t k1) {
    const T* cell = g.cell != nullptr ? g.cell + 9 * s : nullptr;
    for (std::int64_t k = k0; k < k1; ++k) {
      const T* x = g.positions + 3 * order[k];
      const std::int32_t* n = image + 3 * k;
      T px = x[0], py = x[1], pz = x[2];
      if (cell != nullptr && (n[0] | n[1] | n[2]) != 0)
        for (int d = 0; d < 3; ++d) {
          const T nd = static_cast<T>(n[d]);
          px -= nd * cell[3 * d];
          py -= nd * cell[3 * d + 1];
          pz -= nd * cell[3 * d + 2];
        }
      pos[3 * k] = px;
      pos[3 * k + 1] = py;
      pos[3 * k + 2] = pz;
      if (!single_type) type[k] = type_of[atomic_numbers[order[k]]];
    }
  };
  auto prepare_shifts = [&](std::int64_t s) {
    const T* cell = g.cell != nullptr ? g.cell + 9 * s : nullptr;
    for (std::int64_t q = shift_ptr[s]; q < shift_ptr[s + 1]; ++q)
      for (int e = 0; e < 3; ++e) {
        T v = 0;
        if (cell != nullptr)
          for (int d = 0; d < 3; ++d)
            if (shifts[3 * q + d] != 0) v += static_cast<T>(shifts[3 * q + d]) * cell[3 * d + e];
        shift_cart[3 * q + e] = v;
      }
  };
  auto finish = [&](std::int64_t s, const Sums& sums) {
    energy[s] = static_cast<T>(sums.energy);
    if (virial != nullptr) {
      double w[9];
      write_virial(sums, w);
      for (int e = 0; e < 9; ++e) virial[9 * s + e] = static_cast<T>(w[e]);
    }
  };

  const int n_threads = num_threads();
  const bool split = ns == 1 && n_threads > 1 && na >= 4096;
  if (!split) {
    parallel_for_dynamic(ns, [&](std::int64_t s) {
      const std::int64_t k0 = g.atoms_ptr[s], k1 = g.atoms_ptr[s + 1];
      prepare(s, k0, k1);
      prepare_shifts(s);
      std::fill(force + 3 * k0, force + 3 * k1, T(0));
      Sums sums;
      loop(k0, k1, nl, pos, type, n_types, lj, shift_cart + 3 * shift_ptr[s], force, sums);
      for (std::int64_t k = k0; k < k1; ++k) {
        T* out = forces + 3 * order[k];
        out[0] = force[3 * k];
        out[1] = force[3 * k + 1];
        out[2] = force[3 * k + 2];
      }
      finish(s, sums);
    });
    return;
  }

  // One large system: slots split into equal pair-count chunks, one private force buffer each.
  // A chunk writes only its own slots and their neighbors', which the list's slot order (by bin)
  // keeps within a window of nearby slots; only that window of its buffer is cleared and summed,
  // so the reduction reads about (n_atoms + n_threads × window) values instead of n_threads ×
  // n_atoms. The sum over chunks keeps chunk order and only skips exact zeros (v starts at +0, so
  // the result is bit-identical to summing every buffer).
  prepare_shifts(0);
  parallel_for(na, [&](std::int64_t k) { prepare(0, k, k + 1); });
  ws.thread_force.resize(3 * na * static_cast<std::size_t>(n_threads));
  T* thread_force = ws.thread_force.data();
  ws.sums.assign(static_cast<std::size_t>(n_threads), Sums{});
  Sums* sums = ws.sums.data();
  // Chunk bounds and windows follow from the pairs and the thread count alone: found again only
  // when the list changed (a scan of every pair, ~10 % of the pair loop's time when done per call).
  // Chunk t runs on thread t in every call: its pairs, positions and force window stay in that
  // core's cache between steps.
  detail::SplitChunks* parts = &ws.split;  // (the workers' own `ws` is another object)
  const bool fresh = parts->begin(nl, 0, na, n_threads);
  const std::int64_t* bounds = parts->bounds.data();
  const std::int64_t* window = parts->window.data();
  parallel_for_threads(n_threads, [&](std::int64_t t) {
    if (fresh) parts->find_window(nl, t);
    const std::int64_t lo = window[2 * t], hi = window[2 * t + 1];
    T* ft = thread_force + 3 * na * t;
    std::fill(ft + 3 * lo, ft + 3 * hi, T(0));
    loop(bounds[t], bounds[t + 1], nl, pos, type, n_types, lj, shift_cart, ft, sums[t]);
  });
  if (fresh) parts->done(nl);
  parallel_for(na, [&](std::int64_t k) {
    T v[3] = {0, 0, 0};
    for (int t = 0; t < n_threads; ++t) {
      if (k < window[2 * t] || k >= window[2 * t + 1]) continue;
      const T* ft = thread_force + 3 * na * t + 3 * k;
      v[0] += ft[0];
      v[1] += ft[1];
      v[2] += ft[2];
    }
    T* out = forces + 3 * order[k];
    out[0] = v[0];
    out[1] = v[1];
    out[2] = v[2];
  });
  Sums total;
  for (int t = 0; t < n_threads; ++t) {
    total.energy += sums[t].energy;
    for (int a = 0; a < 6; ++a) total.virial[a] += sums[t].virial[a];
  }
  finish(0, total);
}

template void lj_compute<float>(const BatchGeometry<float>&, const std::int64_t*, const NeighborList&, const LJTable&,
                                float*, float*, float*);
template void lj_compute<double>(const BatchGeometry<double>&, const std::int64_t*, const NeighborList&, const LJTable&,
                                 double*, double*, double*);

}  // namespace batchmd::model
