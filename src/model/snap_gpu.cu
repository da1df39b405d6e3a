// SPDX-License-Identifier: Apache-2.0
// model/snap_gpu.cu: the SNAP kernels (CUDA builds) — the adjoint formulation in five kernels,
// each a different parallel shape, sharing the per-element arithmetic of snap_kernels.hpp with
// the CPU loops (docs/snap.md has the design and its costs):
//  1. U:     a block per atom, a team of L lanes per neighbor (32 / L teams per warp), lanes over
//            the entries of one U layer; the previous layer lives in shared memory (ping-pong),
//            each team accumulates w f_c U in its own shared buffer (no atomics), the teams'
//            buffers are summed at the end.
//  2. B:     a block per group of A atoms (U staged in shared memory, a lane per atom), warps
//            over (component, row) slots: each row's sum of w Re(conj(U) Z), Z on the fly.
//  3. beta:  a thread per atom: B from its rows, beta = dE/dB (quadratic terms), the energy.
//  4. Y:     as B, warps over (element set, half U entry) items, summing the beta-weighted Z
//            products that feed the entry (a CSR list per entry), Z on the fly.
//  5. force: as U (teams of L lanes per neighbor), recomputing U and dU/dr layer by layer and
//            contracting with the atom's Y (held in shared memory): dE_i/dr_p per pair.
// Per-atom arrays are [entry][atom] (threads of consecutive atoms read consecutive addresses).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "snap_gpu_kernels.hpp"

namespace batchmd::model::detail {

namespace {

constexpr int kWarp = 32;
constexpr unsigned kFull = 0xffffffffu;

// Rows 0..(J/2)+1 of one layer of J+1 entries: a layer's half plus the one mirrored row the next
// layer needs.
__host__ __device__ inline int layer_buffer(int twojmax) { return (twojmax / 2 + 2) * (twojmax + 1); }

template <typename T>
__device__ inline void neighbor_of(const SnapDev<T>& d, std::int32_t si, std::int32_t sj, const T* r, bool derivs,
                                   SnapNeighbor<T>& c) {
  const int ne = d.sc.n_elem;
  snap_neighbor(d.sc, r[0], r[1], r[2], d.cutoff[si * ne + sj], d.weight[sj], T(0.5) * (d.sinner[si] + d.sinner[sj]),
                T(0.5) * (d.dinner[si] + d.dinner[sj]), derivs, c);
}

// The team's pair p of an atom of species si (p < end: in the atom's list): whether it lies
// within the pair's cutoff, and then its neighbor terms c (with derivatives if `derivs`) and its
// element set e.
template <typename T>
__device__ inline bool team_neighbor(const SnapDev<T>& d, const DeviceNeighborView<T>& v, std::int32_t si,
                                     std::int64_t p, std::int64_t end, bool derivs, SnapNeighbor<T>& c, int& e) {
  if (p >= end) return false;
  const T* r = v.rij + 3 * p;
  const std::int32_t sj = v.species[p];
  const T rc = d.cutoff[si * d.sc.n_elem + sj];
  e = d.sc.chem ? sj : 0;
  if (!(r[0] * r[0] + r[1] * r[1] + r[2] * r[2] < rc * rc)) return false;
  neighbor_of(d, si, sj, r, derivs, c);
  return true;
}

// Teams: a warp works on 32 / L neighbors at once, L = d.lanes lanes each (the small U layers
// leave most of a warp idle when one neighbor has all 32 lanes). A warp walks its atom's
// neighbors in rounds (uniform across the warp: __syncwarp is legal); a team whose neighbor is
// past the end or outside the cutoff does nothing in that round.
struct Team {
  int L, sub, sl, subs;  // lanes per team, this lane's team in its warp, lane in the team, teams per warp
  __device__ explicit Team(int lanes)
      : L(lanes), sub(int(threadIdx.x % 32) / lanes), sl(int(threadIdx.x % 32) % lanes), subs(32 / lanes) {}
};

// Complex numbers of the U and force kernels' layer buffers, re and im side by side: one entry
// (or one direction of its derivative) is a single 16-byte (float64) shared-memory access. The
// recursion reads two previous-layer entries (and their three derivatives) per entry it makes;
// with re and im in separate arrays those loads, twice as many, bounded the kernels.
template <typename T>
struct alignas(2 * sizeof(T)) Cx {
  T re, im;
};

// A row of the previous layer in interleaved buffers, for snap_u_entry / snap_du_entry.
template <typename T>
struct CxRow {
  const Cx<T>* pu;
  const Cx<T>* pdu = nullptr;  // [ma'][3]
  __device__ void u(int ma, T& r, T& i) const {
    const Cx<T> v = pu[ma];
    r = v.re, i = v.im;
  }
  __device__ void du(int ma, int k, T& r, T& i) const {
    const Cx<T> v = pdu[3 * ma + k];
    r = v.re, i = v.im;
  }
};

// ---- 1. U: launch <<<n_atoms, 32 * warps, shared>>>; per neighbor ~20 flops per half entry.
template <typename T>
__global__ void snap_u_kernel(SnapDev<T> d, DeviceNeighborView<T> v, T* u_re, T* u_im) {
  extern __shared__ unsigned char smem_raw[];
  T* smem = reinterpret_cast<T*>(smem_raw);
  const std::int64_t i = blockIdx.x;
  const std::int32_t si = v.atom_species[i];
  if (si < 0) return;
  const int J = d.sc.twojmax, nu = d.sc.n_u, nh = d.n_half;
  const int warps = blockDim.x / kWarp, warp = threadIdx.x / kWarp;
  const Team tm(d.lanes);
  const int teams = warps * tm.subs, team = warp * tm.subs + tm.sub;
  const int lb = layer_buffer(J);
  const int per_team = 2 * nu * nh + 4 * lb;
  T* acc_re = smem + team * per_team;
  T* acc_im = acc_re + nu * nh;
  Cx<T>* buf = reinterpret_cast<Cx<T>*>(acc_im + nu * nh);  // [2 layers][lb] (per_team is even)
  for (int k = tm.sl; k < nu * nh; k += tm.L) acc_re[k] = acc_im[k] = T(0);
  __syncwarp();

  const std::int64_t n = v.n_atoms, end = v.offsets[i + 1];
  for (std::int64_t round = v.offsets[i] + warp * tm.subs; round < end; round += teams) {
    const std::int64_t p = round + tm.sub;
    SnapNeighbor<T> c;
    int e = 0;
    const bool act = team_neighbor(d, v, si, p, end, false, c, e);
    T* ar = acc_re + e * nh;
    T* ai = acc_im + e * nh;
    Cx<T>*pu = buf, *cu = buf + lb;
    if (act && tm.sl == 0) {
      pu[0] = Cx<T>{T(1), T(0)};
      ar[0] += c.sfac;
    }
    __syncwarp();
    for (int j = 1; j <= J; ++j) {
      const int cnt = (j / 2 + 1) * (j + 1), hb = d.half_base[j];
      if (act)
        for (int q = tm.sl; q < cnt; q += tm.L) {
          const int mb = q / (j + 1), ma = q % (j + 1);
          T ur, ui;
          snap_u_entry(j, ma, mb, d.rootpq, d.jdim, CxRow<T>{pu + mb * j}, c, ur, ui);
          cu[q] = Cx<T>{ur, ui};
          ar[hb + q] += c.sfac * ur;  // entry hb + q is always this lane's
          ai[hb + q] += c.sfac * ui;
        }
      __syncwarp();
      if (j & 1) {  // the next layer needs row (j+1)/2, the mirror of row (j-1)/2
        const int mb = (j - 1) / 2;
        if (act)
          for (int ma = tm.sl; ma <= j; ma += tm.L) {
            const int src = mb * (j + 1) + ma, dst = (j - mb) * (j + 1) + (j - ma);
            const T sg = static_cast<T>(snap_mirror_sign(ma, mb));
            cu[dst] = Cx<T>{sg * cu[src].re, -sg * cu[src].im};
          }
        __syncwarp();
      }
      Cx<T>* t = pu;
      pu = cu;
      cu = t;
    }
  }
  __syncthreads();

  // Sum the teams' accumulators, add the self term, write the half entries and their mirrors.
  const int ei = d.sc.chem ? si : 0;
  for (int k = threadIdx.x; k < nu * nh; k += blockDim.x) {
    const int e = k / nh, h = k % nh;
    T sr = 0, sm = 0;
    for (int w = 0; w < teams; ++w) {
      sr += smem[w * per_team + k];
      sm += smem[w * per_team + nu * nh + k];
    }
    const SnapHalfIndex hx = d.half[h];
    if (hx.ma == hx.mb && (e == ei || d.sc.wselfall)) sr += T(1);
    const std::int64_t base = std::int64_t(e) * d.n_uf;
    u_re[(base + hx.jju) * n + i] = sr;
    u_im[(base + hx.jju) * n + i] = sm;
    if (2 * hx.mb < hx.j) {
      const int mirror = d.u_block[hx.j] + (hx.j - hx.mb) * (hx.j + 1) + (hx.j - hx.ma);
      const T sg = static_cast<T>(snap_mirror_sign(hx.ma, hx.mb));
      u_re[(base + mirror) * n + i] = sg * sr;
      u_im[(base + mirror) * n + i] = -sg * sm;
    }
  }
}

// ---- The Z-contracting passes (B and Y) read U from shared memory. A block stages the total U of
// A consecutive atoms (every element set) as [entry][A], lane l of a warp works on atom l % A, and
// the 32 / A lanes of one atom take different work items; a group's items are spread over S
// blocks (splits) so that a small batch still fills the GPU. Each item walks its Z products with
// the atom's U in shared memory: lanes of one item read consecutive words (no bank conflicts).
struct ZPass {
  int atoms;   // A: atoms per block (a power of two, at most 32)
  int splits;  // S: blocks per group of A atoms
};

// One block's view of its group: the staged U (zeros for the tail past n and for ignored atoms,
// which the U kernel writes no U for), this lane's atom a and worker index w among `workers`.
template <typename T>
struct ZGroup {
  const T* s_re;
  const T* s_im;
  int A, a, w, workers;
  std::int64_t i;  // the lane's atom (>= n for the tail lanes of the last group)

  __device__ ZGroup(const SnapDev<T>& d, const DeviceNeighborView<T>& v, const T* u_re, const T* u_im, ZPass zp,
                    T* smem) {
    A = zp.atoms;
    const std::int64_t n = v.n_atoms, first = std::int64_t(blockIdx.x / zp.splits) * A;
    const int total = d.sc.n_u * d.n_uf * A;
    for (int k = threadIdx.x; k < total; k += blockDim.x) {
      const std::int64_t e = k / A, at = first + k % A;
      const bool live = at < n && v.atom_species[at] >= 0;
      smem[k] = live ? u_re[e * n + at] : T(0);
      smem[total + k] = live ? u_im[e * n + at] : T(0);
    }
    __syncthreads();
    s_re = smem;
    s_im = smem + total;
    const int warps = blockDim.x / kWarp, lane = threadIdx.x % kWarp, subs = kWarp / A;
    a = lane % A;
    i = first + a;
    workers = zp.splits * warps * subs;
    w = (int(blockIdx.x % zp.splits) * warps + int(threadIdx.x / kWarp)) * subs + lane / A;
  }

  // Item of this worker in round r among n_items (heaviest first), in a snake order (forward in
  // even rounds, backward in odd ones) so that no worker gets all the heavy ends; -1 past the end.
  __device__ int item(int round, int n_items) const {
    const int t = round * workers + ((round & 1) ? workers - 1 - w : w);
    return t < n_items ? t : -1;
  }

  // Z(e1, e2) entry q of the lane's atom (bnorm applied).
  __device__ void z(const SnapDev<T>& d, int e1, int e2, int q, T& zr, T& zi) const {
    const SnapZIndex& e = d.z[q];
    const int o1 = e1 * d.n_uf * A + a, o2 = e2 * d.n_uf * A + a;
    snap_z_entry(e, d.cg, d.u_block, s_re + o1, s_im + o1, s_re + o2, s_im + o2, A, zr, zi);
    if (d.sc.bnorm) {
      zr /= static_cast<T>(e.j + 1);
      zi /= static_cast<T>(e.j + 1);
    }
  }

  // U(e; entry) of the lane's atom.
  __device__ T u_re(const SnapDev<T>& d, int e, int entry) const { return s_re[(e * d.n_uf + entry) * A + a]; }
  __device__ T u_im(const SnapDev<T>& d, int e, int entry) const { return s_im[(e * d.n_uf + entry) * A + a]; }
};

// ---- 2. B: <<<groups * S, 32 * warps, shared>>>; item = B slot (component k, row mb): the row's
// sum of w Re(conj(U) Z), into bpart[slot][atom] (the beta kernel adds a component's rows).
template <typename T>
__global__ void __launch_bounds__(512)
    snap_b_kernel(SnapDev<T> d, DeviceNeighborView<T> v, const T* u_re, const T* u_im, ZPass zp, T* bpart) {
  extern __shared__ unsigned char smem_raw[];
  const ZGroup<T> g(d, v, u_re, u_im, zp, reinterpret_cast<T*>(smem_raw));
  const std::int64_t n = v.n_atoms;
  const int nu = d.sc.n_u, nb = d.sc.n_b;
  for (int round = 0;; ++round) {
    const int t = g.item(round, d.n_bslot);
    if (t < 0) break;
    const int slot = d.border[t], k = d.bslot_k[slot], mb = d.bslot_mb[slot];
    const int triple = k / nb;
    const int e1 = triple / (nu * nu), e2 = (triple / nu) % nu, e3 = triple % nu;
    const SnapBIndex bi = d.b[k % nb];
    const int j = bi.j;
    T sum = 0;
    for (int ma = 0; ma <= j; ++ma) {
      T wt = T(1);
      if (2 * mb == j) {
        if (ma > mb) break;
        if (ma == mb) wt = T(0.5);
      }
      const int o = mb * (j + 1) + ma;
      T zr, zi;
      g.z(d, e1, e2, bi.jjz + o, zr, zi);
      sum += wt * (g.u_re(d, e3, bi.jju + o) * zr + g.u_im(d, e3, bi.jju + o) * zi);
    }
    if (g.i < n) bpart[std::int64_t(slot) * n + g.i] = sum;
  }
}

// ---- 3. beta and energy: thread per atom; O(K) (linear) or O(K^2) (quadratic) per atom.
// First each component from its rows: B = 2 sum (in slot order) - the isolated atom's B (bzeroflag).
template <typename T>
__global__ void snap_beta_kernel(SnapDev<T> d, DeviceNeighborView<T> v, const T* bpart, T* b, T* beta, double* energy) {
  const std::int64_t n = v.n_atoms;
  const std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const std::int32_t si = v.atom_species[i];
  if (si < 0) {
    energy[i] = 0;
    return;
  }
  const int K = d.sc.n_coeff, nu = d.sc.n_u, nb = d.sc.n_b;
  const int ei = d.sc.chem ? si : 0;
  for (int k = 0; k < K; ++k) {
    T sum = 0;
    for (int s = d.bslot_ptr[k]; s < d.bslot_ptr[k + 1]; ++s) sum += bpart[std::int64_t(s) * n + i];
    T bval = 2 * sum;
    const int triple = k / nb;
    const int e1 = triple / (nu * nu), e2 = (triple / nu) % nu, e3 = triple % nu;
    if (d.sc.bzero && (d.sc.wselfall || (e1 == ei && e2 == ei && e3 == ei)))
      bval -= snap_bzero<T>(d.b[k % nb].j, d.sc.bnorm);
    b[std::int64_t(k) * n + i] = bval;
  }
  const double* cf = d.coeff + std::int64_t(si) * d.n_all;
  double e = cf[0];
  for (int k = 0; k < K; ++k) {
    beta[std::int64_t(k) * n + i] = static_cast<T>(cf[k + 1]);
    e += cf[k + 1] * double(b[std::int64_t(k) * n + i]);
  }
  if (d.sc.quadratic) {
    int q = K + 1;
    for (int k = 0; k < K; ++k) {
      const T bk = b[std::int64_t(k) * n + i];
      T bk_beta = static_cast<T>(cf[q]) * bk;
      e += 0.5 * cf[q++] * double(bk) * double(bk);
      for (int l = k + 1; l < K; ++l) {
        const T a = static_cast<T>(cf[q]);
        const T bl = b[std::int64_t(l) * n + i];
        bk_beta += a * bl;
        beta[std::int64_t(l) * n + i] += a * bk;
        e += cf[q++] * double(bk) * double(bl);
      }
      beta[std::int64_t(k) * n + i] += bk_beta;
    }
  }
  energy[i] = e;
}

// ---- 4. Y: <<<groups * S, 32 * warps, shared>>>; item = (element set e3, half entry h): the
// beta-weighted Z products that feed Y(e3; h) (a CSR list per entry).
template <typename T>
__global__ void __launch_bounds__(512) snap_y_kernel(SnapDev<T> d, DeviceNeighborView<T> v, const T* u_re,
                                                     const T* u_im, const T* beta, ZPass zp, T* y_re, T* y_im) {
  extern __shared__ unsigned char smem_raw[];
  const ZGroup<T> g(d, v, u_re, u_im, zp, reinterpret_cast<T*>(smem_raw));
  const std::int64_t n = v.n_atoms;
  const std::int64_t ib = g.i < n ? g.i : n - 1;  // the tail lanes read a real atom's beta, write nothing
  const int nu = d.sc.n_u, nb = d.sc.n_b;
  for (int round = 0;; ++round) {
    const int t = g.item(round, nu * d.n_half);
    if (t < 0) break;
    const int item = d.yorder[t];
    const int e3 = item / d.n_half, h = item % d.n_half;
    T yr = 0, yi = 0;
    for (int q = d.y_ptr[h]; q < d.y_ptr[h + 1]; ++q) {
      const int jjz = d.y_z[q];
      for (int e1 = 0; e1 < nu; ++e1)
        for (int e2 = 0; e2 < nu; ++e2) {
          const T bj = snap_y_beta(d.z[jjz], beta + ib, nb, e1, e2, e3, nu, n);
          if (bj == T(0)) continue;
          T zr, zi;
          g.z(d, e1, e2, jjz, zr, zi);
          yr += bj * zr;
          yi += bj * zi;
        }
    }
    if (g.i < n && v.atom_species[g.i] >= 0) {
      const std::int64_t at = (std::int64_t(e3) * d.n_uf + d.half[h].jju) * n + g.i;
      y_re[at] = yr;
      y_im[at] = yi;
    }
  }
}

// ---- 5. dE_i/dr_p: <<<n_atoms, 32 * warps, shared>>>; per neighbor ~110 flops per half entry.
template <typename T>
__global__ void snap_force_kernel(SnapDev<T> d, DeviceNeighborView<T> v, const T* y_re, const T* y_im, T* g) {
  extern __shared__ unsigned char smem_raw[];
  T* smem = reinterpret_cast<T*>(smem_raw);
  const std::int64_t i = blockIdx.x;
  const std::int32_t si = v.atom_species[i];
  if (si < 0) return;  // an ignored atom has no pairs
  const int J = d.sc.twojmax, nu = d.sc.n_u, nh = d.n_half;
  const int warps = blockDim.x / kWarp, warp = threadIdx.x / kWarp;
  const int lb = layer_buffer(J);
  const std::int64_t n = v.n_atoms;
  // The atom's Y (every element set), then per team two layers of U and dU/dr (x, y, z).
  T* ysr = smem;
  T* ysi = smem + nu * nh;
  for (int k = threadIdx.x; k < nu * nh; k += blockDim.x) {
    const int e = k / nh, h = k % nh;
    const std::int64_t at = (std::int64_t(e) * d.n_uf + d.half[h].jju) * n + i;
    ysr[k] = y_re[at];
    ysi[k] = y_im[at];
  }
  __syncthreads();
  const Team tm(d.lanes);
  const int teams = warps * tm.subs;
  // (2 nu nh and 16 lb are even: every Cx is 2 T aligned)
  Cx<T>* buf = reinterpret_cast<Cx<T>*>(smem + 2 * nu * nh + (warp * tm.subs + tm.sub) * (16 * lb));
  const std::int64_t end = v.offsets[i + 1];
  for (std::int64_t round = v.offsets[i] + warp * tm.subs; round < end; round += teams) {
    const std::int64_t p = round + tm.sub;
    SnapNeighbor<T> c;
    int e = 0;
    const bool act = team_neighbor(d, v, si, p, end, true, c, e);
    if (p < end && !act && tm.sl == 0) g[3 * p] = g[3 * p + 1] = g[3 * p + 2] = T(0);  // listed, beyond the cutoff
    const T* yr = ysr + e * nh;
    const T* yi = ysi + e * nh;
    // Layer buffers: U [lb], dU [lb][3]; previous (p) and current (c) layer.
    Cx<T>*pu = buf, *pdu = buf + lb, *cu = buf + 4 * lb, *cdu = buf + 5 * lb;
    T s0 = 0, s[3] = {0, 0, 0};
    if (act && tm.sl == 0) {
      pu[0] = Cx<T>{T(1), T(0)};
      for (int k = 0; k < 3; ++k) pdu[k] = Cx<T>{T(0), T(0)};
      s0 = T(0.5) * yr[0];  // layer 0: U = 1, weight 1/2
    }
    __syncwarp();
    for (int j = 1; j <= J; ++j) {
      const int cnt = (j / 2 + 1) * (j + 1), hb = d.half_base[j];
      if (act)
        for (int q = tm.sl; q < cnt; q += tm.L) {
          const int mb = q / (j + 1), ma = q % (j + 1);
          T ur, ui, dur[3], dui[3];
          snap_du_entry(j, ma, mb, d.rootpq, d.jdim, CxRow<T>{pu + mb * j, pdu + 3 * (mb * j)}, c, ur, ui, dur, dui);
          cu[q] = Cx<T>{ur, ui};
          for (int k = 0; k < 3; ++k) cdu[3 * q + k] = Cx<T>{dur[k], dui[k]};
          const T w = static_cast<T>(d.half[hb + q].weight);
          if (w != T(0)) {
            const T a = yr[hb + q], b = yi[hb + q];
            s0 += w * (ur * a + ui * b);
            for (int k = 0; k < 3; ++k) s[k] += w * (dur[k] * a + dui[k] * b);
          }
        }
      __syncwarp();
      if (j & 1) {
        const int mb = (j - 1) / 2;
        if (act)
          for (int ma = tm.sl; ma <= j; ma += tm.L) {
            const int src = mb * (j + 1) + ma, dst = (j - mb) * (j + 1) + (j - ma);
            const T sg = static_cast<T>(snap_mirror_sign(ma, mb));
            cu[dst] = Cx<T>{sg * cu[src].re, -sg * cu[src].im};
            for (int k = 0; k < 3; ++k) cdu[3 * dst + k] = Cx<T>{sg * cdu[3 * src + k].re, -sg * cdu[3 * src + k].im};
          }
        __syncwarp();
      }
      Cx<T>* t;
      t = pu, pu = cu, cu = t;
      t = pdu, pdu = cdu, cdu = t;
    }
    // Sum over the team's lanes (aligned blocks of L lanes: lane 0 of each team gets its sum).
    for (int off = tm.L / 2; off > 0; off /= 2) {
      s0 += __shfl_down_sync(kFull, s0, off);
      for (int k = 0; k < 3; ++k) s[k] += __shfl_down_sync(kFull, s[k], off);
    }
    if (act && tm.sl == 0) {
      g[3 * p] = 2 * (c.dsfac * c.ux * s0 + c.sfac * s[0]);
      g[3 * p + 1] = 2 * (c.dsfac * c.uy * s0 + c.sfac * s[1]);
      g[3 * p + 2] = 2 * (c.dsfac * c.uz * s0 + c.sfac * s[2]);
    }
    __syncwarp();
  }
}

// Warps per block for a per-warp shared-memory need; opts the kernel into more than 48 KB when
// one warp needs it (up to the 227 KB of sm_90).
template <typename K>
int warps_for(K kernel, std::size_t per_warp, std::size_t per_block, int want, std::size_t& bytes) {
  constexpr std::size_t kDefault = 48 * 1024, kMax = 227 * 1024;
  int w = want;
  while (w > 1 && per_block + w * per_warp > kDefault) --w;
  bytes = per_block + w * per_warp;
  if (bytes > kMax)
    throw InvalidArgument("SNAP: twojmax too large for the GPU kernels (" + std::to_string(bytes) +
                          " bytes of shared memory per block)");
  if (bytes > kDefault) {
    cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
    cuda::check_launch("SNAP shared memory opt-in");
  }
  return w;
}

constexpr int kZThreads = 512;  // threads per block of the B and Y passes (16 warps)

// The B and Y passes' shape on this device: the most atoms per block (A = d.z_atoms_max, half
// that, .., 1) whose staged U fits the shared memory of sm_90 (227 KB), then as many splits of each group as it
// takes to put about one block on every SM's free slots (small batches).
template <typename T, typename KB, typename KY>
ZPass z_pass_shape(int device, KB kb, KY ky, const SnapDev<T>& d, std::int64_t n, std::size_t& bytes) {
  constexpr std::size_t kDefault = 48 * 1024, kMax = 227 * 1024;
  const std::size_t per_atom = 2 * static_cast<std::size_t>(d.sc.n_u) * d.n_uf * sizeof(T);
  ZPass zp{d.z_atoms_max, 1};
  while (zp.atoms > 1 && zp.atoms * per_atom > kMax) zp.atoms /= 2;
  bytes = zp.atoms * per_atom;
  if (bytes > kMax)
    throw InvalidArgument("SNAP: twojmax too large for the GPU kernels (" + std::to_string(bytes) +
                          " bytes of shared memory per block)");
  if (bytes > kDefault) {
    cudaFuncSetAttribute(kb, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
    cudaFuncSetAttribute(ky, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
    cuda::check_launch("SNAP shared memory opt-in");
  }
  int sms = 0, per_sm = 0;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, ky, kZThreads, bytes);
  cuda::check_launch("SNAP occupancy query");
  const std::int64_t groups = (n + zp.atoms - 1) / zp.atoms, slots = std::int64_t(sms) * std::max(per_sm, 1);
  zp.splits = static_cast<int>(std::clamp<std::int64_t>(slots / groups, 1, 16));
  return zp;
}

}  // namespace

template <typename T>
SnapSharedMemory snap_shared_memory(const SnapDev<T>& d) {
  const std::size_t lb = static_cast<std::size_t>(layer_buffer(d.sc.twojmax));
  const std::size_t nunh = static_cast<std::size_t>(d.sc.n_u) * static_cast<std::size_t>(d.n_half);
  const std::size_t subs = static_cast<std::size_t>(32 / d.lanes);
  return {subs * (2 * nunh + 4 * lb) * sizeof(T), subs * 16 * lb * sizeof(T), 2 * nunh * sizeof(T)};
}

template <typename T>
void launch_snap(int device, const SnapDev<T>& d, const DeviceNeighborView<T>& v, const SnapWork<T>& w) {
  const std::int64_t n = v.n_atoms;
  if (n <= 0) return;
  if (n > 2147483647) throw InvalidArgument("SNAP on a GPU: more than 2^31 atoms in one batch");
  cuda::set_device(device);
  cudaStream_t s = static_cast<cudaStream_t>(cuda::compute_stream(device));
  const SnapSharedMemory sm = snap_shared_memory(d);
  const unsigned atoms = static_cast<unsigned>(n);
  constexpr int kThreads = 128;
  const unsigned atom_blocks = static_cast<unsigned>((n + kThreads - 1) / kThreads);

  std::size_t bytes = 0;
  int warps = warps_for(snap_u_kernel<T>, sm.u_per_warp, 0, 4, bytes);
  snap_u_kernel<T><<<atoms, warps * kWarp, bytes, s>>>(d, v, w.u_re, w.u_im);
  cuda::check_launch("SNAP U kernel");

  const ZPass zp = z_pass_shape(device, snap_b_kernel<T>, snap_y_kernel<T>, d, n, bytes);
  const unsigned z_blocks = static_cast<unsigned>((n + zp.atoms - 1) / zp.atoms * zp.splits);
  snap_b_kernel<T><<<z_blocks, kZThreads, bytes, s>>>(d, v, w.u_re, w.u_im, zp, w.bpart);
  cuda::check_launch("SNAP B kernel");
  snap_beta_kernel<T><<<atom_blocks, kThreads, 0, s>>>(d, v, w.bpart, w.b, w.beta, w.atom_energy);
  cuda::check_launch("SNAP beta kernel");
  snap_y_kernel<T><<<z_blocks, kZThreads, bytes, s>>>(d, v, w.u_re, w.u_im, w.beta, zp, w.y_re, w.y_im);
  cuda::check_launch("SNAP Y kernel");

  warps = warps_for(snap_force_kernel<T>, sm.force_per_warp, sm.force_per_block, 4, bytes);
  snap_force_kernel<T><<<atoms, warps * kWarp, bytes, s>>>(d, v, w.y_re, w.y_im, w.g);
  cuda::check_launch("SNAP force kernel");
}

template SnapSharedMemory snap_shared_memory<float>(const SnapDev<float>&);
template SnapSharedMemory snap_shared_memory<double>(const SnapDev<double>&);
template void launch_snap<float>(int, const SnapDev<float>&, const DeviceNeighborView<float>&, const SnapWork<float>&);
template void launch_snap<double>(int, const SnapDev<double>&, const DeviceNeighborView<double>&,
                                  const SnapWork<double>&);

}  // namespace batchmd::model::detail
