// SPDX-License-Identifier: Apache-2.0
// model/lj_gpu_kernels: the kernels of the GPU Lennard-Jones model and their launchers (declared
// in lj_gpu_kernels.hpp; the host logic that sequences them is lj_gpu.cpp).
//
// The list. Each system is binned in the fractional coordinates of its frame (core/frame.hpp, as
// NeighborList does): bins at least (cutoff+skin)/2 wide perpendicular to each face, a reach of
// m = ceil((cutoff+skin)/width) bins; periodic bin offsets wrap and carry an integer lattice
// shift, so a box smaller than 2 (cutoff+skin) yields several images of the same atom (its own
// included). Open directions are binned over the extent of the atoms. Atoms are counting-sorted
// into bins; within a bin they are ordered by atom index, so the list is the same run to run. The
// list is FULL (each atom lists all its neighbors; a thread per atom sums its own force: no
// atomics, deterministic) and dense (layout in lj_gpu_kernels.hpp). Positions need not be
// wrapped: an atom that jumps by a lattice vector (a wrap hook) only updates its image count.
//
// Steps. Every compute launches: check (per atom: finite? cell or pbc changed beyond a strain of a
// fully periodic cell the skin absorbs? moved more than skin/2 — from x0 A under a strain A —
// modulo lattice vectors? — sets the device rebuild flag), the build chain (grid, bin,
// scan, place, rank, build — each kernel returns at once unless the flag is set for this call),
// wrap, forces, a per-system reduction (cuda::segment_reduce, double) and the output. Errors
// (non-finite positions, list overflow, bad cells or atomic numbers) go to the device status
// block, which the host reads lagged.
//
// The per-thread functions are BATCHMD_HD (they would run on the host too); this file is
// compiled with nvcc's default FMA contraction, so float32 forces agree with the CPU to rounding.
#include <cuda_runtime.h>
#include <math.h>

#include <cstdint>

#include "batchmd/core/frame.hpp"
#include "batchmd/core/hd.hpp"
#include "batchmd/core/launch.cuh"
#include "batchmd/core/reduce.cuh"
#include "bin_grid.hpp"
#include "full_list_device_block.cuh"
#include "full_list_device_strain.hpp"
#include "lj_gpu_kernels.hpp"

namespace batchmd::model::gpu {
namespace lj_gpu_impl {

// ===== Device code: what one thread does (host/device functions) =====

// Shifts are stored as three 10-bit fields biased by 512.
constexpr std::int32_t kShiftBias = 512;
constexpr std::int32_t kZeroShift = kShiftBias | (kShiftBias << 10) | (kShiftBias << 20);

BATCHMD_HD inline std::int32_t pack_shift(int s0, int s1, int s2) {
  return (s0 + kShiftBias) | ((s1 + kShiftBias) << 10) | ((s2 + kShiftBias) << 20);
}

template <typename T>
BATCHMD_HD inline bool list_active(const ListArgs<T>& a) {
  return a.st->rebuild_gen == a.gen && a.st->error == 0;
}

// The bin grid of a system from its frame and the extent [lo, hi] of its atoms along open
// directions (fractional; lo > hi for no atoms), with at most max_bins bins. Returns kErr* bits.
BATCHMD_HD inline int make_grid(SysGrid& g, const Frame& f, const double* cell, const double* lo, const double* hi,
                                long long bin_base, long long max_bins, double rc) {
  const BinGrid b = bin_grid(f, lo, hi, max_bins, rc);  // bin_grid.hpp: the CPU list's grid too
  int err = 0;
  for (int d = 0; d < 3; ++d) {
    int m = static_cast<int>(b.m[d]);
    if (f.periodic[d] && m > kMaxReach) {
      err |= kErrCellTooThin;
      m = 1;
    }
    g.lo[d] = b.origin[d];
    g.w[d] = b.w[d];
    g.nb[d] = static_cast<int>(b.nb[d]);
    g.m[d] = m;
    g.periodic[d] = f.periodic[d];
  }
  for (int k = 0; k < 9; ++k) g.cell[k] = cell[k];
  for (int d = 0; d < 3; ++d)
    for (int e = 0; e < 3; ++e) {
      g.row[3 * d + e] = f.row[d][e];
      g.recip[3 * d + e] = f.recip[d][e];
    }
  g.n_bins = static_cast<int>(b.nb[0] * b.nb[1] * b.nb[2]);
  g.bin_base = bin_base;
  return err;
}

// Per atom, every list update: non-finite positions, the system's cell and pbc against the
// build's (a strained fully periodic cell keeps the list: full_list_device_strain.hpp), the
// displacement since the build (modulo lattice vectors along periodic directions: a jump by whole
// cells only moves the image offset, counted in cells of the current cell, which wrap_slot and
// force_slot use). Sets the rebuild flag for this update when needed.
template <typename T>
BATCHMD_HD inline void check_atom(const ListArgs<T>& a, std::int64_t i) {
  if (a.force && i == 0) a.st->rebuild_gen = a.gen;
  const std::int64_t s = a.sys[i];
  const SysGrid& g = a.grid[s];
  double x[3], x0[3];
  for (int e = 0; e < 3; ++e) x[e] = static_cast<double>(a.pos[3 * i + e]);
  if (!hd::isfinite(x[0]) || !hd::isfinite(x[1]) || !hd::isfinite(x[2])) {
    hd::atomic_or(&a.st->error, kErrNonFinite);
    hd::atomic_min(&a.st->bad_atom, static_cast<int>(i));
    return;
  }
  const detail::CellSinceBuild c =
      detail::cell_since_build(a.cell, a.pbc, s, g.cell, g.recip, g.periodic, a.skin, a.rc);
  if (c.kind == detail::CellSinceBuild::kRebuild) {  // the whole batch rebuilds: image counts too
    a.st->rebuild_gen = a.gen;
    return;
  }
  for (int e = 0; e < 3; ++e) x0[e] = static_cast<double>(a.ref[3 * i + e]);
  int k[3];  // the lattice jump (zero unless the atom only jumped by lattice vectors)
  if (detail::displacement_since_build(c, x, x0, g.cell, g.recip, g.periodic, a.thr2, k) == Displacement::kRebuild)
    a.st->rebuild_gen = a.gen;
  for (int d = 0; d < 3; ++d) a.nimg[3 * i + d] = a.nbuild[3 * i + d] + k[d];
}

// Per atom, rebuild: fractional coordinates, image offset, bin, arrival rank in the bin; the
// positions become the build reference.
template <typename T>
BATCHMD_HD inline void bin_atom(const ListArgs<T>& a, std::int64_t i) {
  const SysGrid& g = a.grid[a.sys[i]];
  double x[3];
  for (int e = 0; e < 3; ++e) x[e] = static_cast<double>(a.pos[3 * i + e]);
  int n[3] = {0, 0, 0};
  long long b[3];
  for (int d = 0; d < 3; ++d) {
    double u = dot3(x, g.recip + 3 * d);
    if (g.periodic[d]) {
      if (!(fabs(u) < kMaxImageCells)) {
        hd::atomic_or(&a.st->error, kErrFar);
        hd::atomic_min(&a.st->far_atom, static_cast<int>(i));
        return;
      }
      n[d] = static_cast<int>(wrap_unit(u));
    }
    double q = floor((u - g.lo[d]) / g.w[d]);
    const double top = static_cast<double>(g.nb[d] - 1);
    q = q < 0 ? 0 : (q > top ? top : q);
    b[d] = static_cast<long long>(q);
  }
  for (int e = 0; e < 3; ++e) {
    a.wbuild[3 * i + e] = unwrap_component(x[e], n, g.cell, e);
    a.ref[3 * i + e] = a.pos[3 * i + e];
  }
  for (int d = 0; d < 3; ++d) a.nimg[3 * i + d] = a.nbuild[3 * i + d] = n[d];
  const auto lin = static_cast<std::int32_t>(g.bin_base + (b[0] * g.nb[1] + b[1]) * g.nb[2] + b[2]);
  a.bin[i] = lin;
  a.rank[i] = hd::atomic_add(&a.bin_count[lin], 1);
}

template <typename T>
BATCHMD_HD inline void place_atom(const ListArgs<T>& a, std::int64_t i) {
  a.unsorted[a.bin_start[a.bin[i]] + a.rank[i]] = static_cast<std::int32_t>(i);
}

// Per atom: its slot is the bin start plus the number of atoms of its bin with a smaller index.
template <typename T>
BATCHMD_HD inline void rank_atom(const ListArgs<T>& a, std::int64_t i) {
  const std::int32_t b = a.bin[i];
  const std::int32_t k0 = a.bin_start[b], k1 = k0 + a.bin_count[b];
  std::int32_t slot = k0;
  for (std::int32_t k = k0; k < k1; ++k) slot += a.unsorted[k] < i ? 1 : 0;
  a.order[slot] = static_cast<std::int32_t>(i);
  for (int e = 0; e < 3; ++e) a.wslot[3 * slot + e] = a.wbuild[3 * i + e];
}

// Per slot, rebuild: every (atom, image) closer than cutoff + skin, through the bin stencil.
template <typename T>
BATCHMD_HD inline void build_slot(const ListArgs<T>& a, std::int64_t t) {
  const std::int32_t i = a.order[t];
  const SysGrid& g = a.grid[a.sys[i]];
  const long long local = a.bin[i] - g.bin_base;
  const int bc[3] = {static_cast<int>(local / (static_cast<long long>(g.nb[1]) * g.nb[2])),
                     static_cast<int>((local / g.nb[2]) % g.nb[1]), static_cast<int>(local % g.nb[2])};
  const double xi = a.wslot[3 * t], yi = a.wslot[3 * t + 1], zi = a.wslot[3 * t + 2];
  const double rc2 = a.rc * a.rc;
  int cnt = 0;
  for (int d0 = -g.m[0]; d0 <= g.m[0]; ++d0) {
    int t0 = bc[0] + d0, s0 = 0;
    if (!wrap_bin(t0, s0, g.nb[0], g.periodic[0])) continue;
    for (int d1 = -g.m[1]; d1 <= g.m[1]; ++d1) {
      int t1 = bc[1] + d1, s1 = 0;
      if (!wrap_bin(t1, s1, g.nb[1], g.periodic[1])) continue;
      for (int d2 = -g.m[2]; d2 <= g.m[2]; ++d2) {
        int t2 = bc[2] + d2, s2 = 0;
        if (!wrap_bin(t2, s2, g.nb[2], g.periodic[2])) continue;
        const long long tb = g.bin_base + (static_cast<long long>(t0) * g.nb[1] + t1) * g.nb[2] + t2;
        const std::int32_t k0 = a.bin_start[tb], k1 = k0 + a.bin_count[tb];
        if (k0 == k1) continue;
        const int sv[3] = {s0, s1, s2};
        const Vec3 sh = lattice_vector(sv, g.row);
        const bool unshifted = (s0 | s1 | s2) == 0;
        const std::int32_t packed = pack_shift(s0, s1, s2);
        const double sx = xi - sh[0], sy = yi - sh[1], sz = zi - sh[2];
        for (std::int32_t k = k0; k < k1; ++k) {
          if (unshifted && k == t) continue;
          const double dx = a.wslot[3 * k] - sx, dy = a.wslot[3 * k + 1] - sy, dz = a.wslot[3 * k + 2] - sz;
          if (dx * dx + dy * dy + dz * dz < rc2) {
            if (cnt < a.cap) {
              const long long idx = static_cast<long long>(cnt) * a.n_atoms + t;
              a.nbr[idx] = k;
              a.shift[idx] = packed;
            }
            ++cnt;
          }
        }
      }
    }
  }
  a.count[t] = cnt < a.cap ? cnt : a.cap;
  if (cnt > *static_cast<volatile int*>(&a.st->max_count)) hd::atomic_max(&a.st->max_count, cnt);
}

// Per slot, every compute: the position wrapped by the current image offset, and the LJ type.
template <typename T>
BATCHMD_HD inline void wrap_slot(const ForceArgs<T>& f, std::int64_t t) {
  const std::int32_t i = f.order[t];
  const std::int64_t s = f.sys[i];
  const std::int32_t* n = f.nimg + 3 * i;
  for (int e = 0; e < 3; ++e) {
    double v = static_cast<double>(f.pos[3 * i + e]);
    if (f.cell != nullptr)
      for (int d = 0; d < 3; ++d)
        if (n[d] != 0) v -= n[d] * static_cast<double>(f.cell[9 * s + 3 * d + e]);
    f.wpos[4 * t + e] = static_cast<T>(v);
  }
  f.wpos[4 * t + 3] = T(0);
  const std::int64_t z = f.z[i];
  if (z < 0 || z > kMaxZ) {
    hd::atomic_or(&f.st->error, kErrBadZ);
    hd::atomic_min(&f.st->bad_z_atom, static_cast<int>(i));
    f.type[t] = 0;
  } else {
    f.type[t] = f.ztype[z];
  }
}

// Per slot, every compute: the force on its atom from the full list (summed in T), half of each
// pair's energy and virial W_ab = r_a F_b (r = x_j - x_i, F the force on j).
template <typename T, bool kVirial>
BATCHMD_HD inline void force_slot(const ForceArgs<T>& f, std::int64_t t) {
  constexpr int K = kVirial ? 7 : 1;
  const std::int32_t i = f.order[t];
  const T xi = f.wpos[4 * t], yi = f.wpos[4 * t + 1], zi = f.wpos[4 * t + 2];
  const LJCoeffs<T>* row = f.coeffs + f.type[t] * f.ntypes;
  T c[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  if (f.cell != nullptr && f.pbc != nullptr) {
    const std::int64_t s = f.sys[i];
    for (int d = 0; d < 3; ++d)
      if (f.pbc[3 * s + d])
        for (int e = 0; e < 3; ++e) c[3 * d + e] = f.cell[9 * s + 3 * d + e];
  }
  T fx = 0, fy = 0, fz = 0, en = 0;
  PairVirial<T> vir;
  const int cnt = f.count[t];
  for (int k = 0; k < cnt; ++k) {
    const long long idx = static_cast<long long>(k) * f.n_atoms + t;
    const std::int32_t j = f.nbr[idx];
    const std::int32_t p = f.shift[idx];
    T rx = f.wpos[4 * j] - xi, ry = f.wpos[4 * j + 1] - yi, rz = f.wpos[4 * j + 2] - zi;
    if (p != kZeroShift) {
      const T s0 = static_cast<T>((p & 1023) - kShiftBias);
      const T s1 = static_cast<T>(((p >> 10) & 1023) - kShiftBias);
      const T s2 = static_cast<T>(((p >> 20) & 1023) - kShiftBias);
      rx += s0 * c[0] + s1 * c[3] + s2 * c[6];
      ry += s0 * c[1] + s1 * c[4] + s2 * c[7];
      rz += s0 * c[2] + s1 * c[5] + s2 * c[8];
    }
    const T rsq = rx * rx + ry * ry + rz * rz;
    const LJCoeffs<T> cf = row[f.type[j]];
    if (rsq < cf.cutsq) {  // the list holds pairs up to cutoff + skin: skip the rest
      T gx, gy, gz;        // force on j
      en += lj_pair_force(rsq, rx, ry, rz, cf, gx, gy, gz);
      fx -= gx;
      fy -= gy;
      fz -= gz;
      if constexpr (kVirial) vir.add(rx, ry, rz, gx, gy, gz);
    }
  }
  f.forces[3 * i] = fx;
  f.forces[3 * i + 1] = fy;
  f.forces[3 * i + 2] = fz;
  double* out = f.acc + K * t;
  out[0] = 0.5 * static_cast<double>(en);
  if constexpr (kVirial) {
    out[1] = 0.5 * static_cast<double>(vir.xx);
    out[2] = 0.5 * static_cast<double>(vir.yy);
    out[3] = 0.5 * static_cast<double>(vir.zz);
    out[4] = 0.5 * static_cast<double>(vir.xy);
    out[5] = 0.5 * static_cast<double>(vir.xz);
    out[6] = 0.5 * static_cast<double>(vir.yz);
  }
}

// Per system: energy, virial (xx yy zz xy xz yz -> 3x3) and stress = -W/V (fully periodic).
template <typename T>
BATCHMD_HD inline void output_system(std::int64_t s, const double* sums, int K, const T* cell, const bool* pbc,
                                     T* energy, T* virial, T* stress) {
  energy[s] = static_cast<T>(sums[K * s]);
  if (virial == nullptr) return;
  const double* v = sums + K * s + 1;
  const double w[9] = {v[0], v[3], v[4], v[3], v[1], v[5], v[4], v[5], v[2]};
  for (int e = 0; e < 9; ++e) virial[9 * s + e] = static_cast<T>(w[e]);
  const bool periodic = pbc != nullptr && pbc[3 * s] && pbc[3 * s + 1] && pbc[3 * s + 2] && cell != nullptr;
  double vol = 0;
  if (periodic) {
    double r[9];
    for (int e = 0; e < 9; ++e) r[e] = static_cast<double>(cell[9 * s + e]);
    vol = fabs(triple(row3(r, 0), row3(r, 1), row3(r, 2)));
  }
  for (int e = 0; e < 9; ++e)
    stress[9 * s + e] = vol > 0 ? static_cast<T>(-static_cast<double>(virial[9 * s + e]) / vol) : T(0);
}

// ===== Kernels =====

constexpr int kThreads = 256;

// Functors of the per-item kernels: each is launched through cuda::parallel_for (for_each_kernel,
// kThreads per block, grid-stride, one thread per item: atom, slot or system as named).

template <typename T>
struct CheckFn {
  ListArgs<T> a;
  __device__ void operator()(std::int64_t i) const { check_atom(a, i); }
};
template <typename T>
struct BinFn {
  ListArgs<T> a;
  __device__ void operator()(std::int64_t i) const {
    if (list_active(a)) bin_atom(a, i);
  }
};
template <typename T>
struct PlaceFn {
  ListArgs<T> a;
  __device__ void operator()(std::int64_t i) const {
    if (list_active(a)) place_atom(a, i);
  }
};
template <typename T>
struct RankFn {
  ListArgs<T> a;
  __device__ void operator()(std::int64_t i) const {
    if (list_active(a)) rank_atom(a, i);
  }
};
template <typename T>
struct BuildFn {
  ListArgs<T> a;
  __device__ void operator()(std::int64_t t) const {
    if (list_active(a)) build_slot(a, t);
  }
};
template <typename T>
struct WrapFn {
  ForceArgs<T> f;
  __device__ void operator()(std::int64_t t) const { wrap_slot(f, t); }
};
template <typename T, bool kVirial>
struct ForceFn {
  ForceArgs<T> f;
  __device__ void operator()(std::int64_t t) const { force_slot<T, kVirial>(f, t); }
};
template <int K>
struct AccFn {
  const double* acc;
  __device__ void operator()(std::int64_t t, double* v) const {
    for (int k = 0; k < K; ++k) v[k] = acc[K * t + k];
  }
};
template <typename T>
struct OutputFn {
  const double* sums;
  int K;
  const T* cell;
  const bool* pbc;
  T* energy;
  T* virial;
  T* stress;
  __device__ void operator()(std::int64_t s) const { output_system(s, sums, K, cell, pbc, energy, virial, stress); }
};

// Launch: one block of kThreads per system (grid = n_systems). Thread 0 builds the frame, all
// threads reduce the extent along open directions, thread 0 the grid; all zero the system's bins.
template <typename T>
__global__ void __launch_bounds__(kThreads) grid_kernel(ListArgs<T> a) {
  const std::int64_t s = blockIdx.x;
  __shared__ Frame f;
  __shared__ double cell[9];
  __shared__ int ok;
  const int tid = static_cast<int>(threadIdx.x);
  // One thread decides for the block (another block may set an error meanwhile).
  if (tid == 0) ok = list_active(a) ? 1 : 0;
  __syncthreads();
  if (!ok) return;
  __syncthreads();
  if (tid == 0) {
    bool per[3];
    for (int e = 0; e < 9; ++e) cell[e] = a.cell != nullptr ? static_cast<double>(a.cell[9 * s + e]) : 0.0;
    for (int d = 0; d < 3; ++d) per[d] = a.pbc != nullptr && a.pbc[3 * s + d];
    ok = make_frame(cell, per, f).ok() ? 1 : 0;
    if (!ok) {
      hd::atomic_or(&a.st->error, kErrBadCell);
      hd::atomic_min(&a.st->bad_cell_system, static_cast<int>(s));
    }
  }
  __syncthreads();
  if (!ok) return;
  double lo[3], hi[3];
  detail::block_extent<kThreads>(
      a.ptr[s], a.ptr[s + 1],
      [&](std::int64_t i, double* l, double* h) {
        double x[3];
        for (int e = 0; e < 3; ++e) x[e] = static_cast<double>(a.pos[3 * i + e]);
        for (int d = 0; d < 3; ++d) {
          if (f.periodic[d]) continue;
          const double u = dot3(x, f.recip[d].v);
          l[d] = fmin(l[d], u);
          h[d] = fmax(h[d], u);
        }
      },
      lo, hi);
  if (tid == 0) {
    const int err = make_grid(a.grid[s], f, cell, lo, hi, a.bin_base[s], a.bin_base[s + 1] - a.bin_base[s], a.rc);
    if (err != 0) {
      hd::atomic_or(&a.st->error, err);
      hd::atomic_min(&a.st->bad_cell_system, static_cast<int>(s));
    }
  }
  __syncthreads();
  const SysGrid& g = a.grid[s];
  for (int b = tid; b < g.n_bins; b += kThreads) a.bin_count[g.bin_base + b] = 0;
}

// Launch: one block of kThreads per system (grid = n_systems): bin starts (slots) by an exclusive
// block scan of the bin counts, kThreads bins at a time.
template <typename T>
__global__ void __launch_bounds__(kThreads) scan_kernel(ListArgs<T> a) {
  const std::int64_t s = blockIdx.x;
  __shared__ int active;
  if (threadIdx.x == 0) active = list_active(a) ? 1 : 0;
  __syncthreads();
  if (!active) return;
  detail::block_bin_starts<kThreads>(a.bin_count, a.bin_start, a.grid[s].bin_base, a.grid[s].n_bins,
                                     static_cast<int>(a.ptr[s]));
  if (s == 0 && threadIdx.x == 0) a.st->builds += 1;
}

}  // namespace lj_gpu_impl

// ===== Launchers =====

using namespace lj_gpu_impl;

template <typename T>
void lj_list_update(int device, std::int64_t n_systems, const ListArgs<T>& a) {
  const std::int64_t na = a.n_atoms, ns = n_systems;
  cuda::set_device(device);  // the raw launches below go to the current device
  cuda::parallel_for(device, na, CheckFn<T>{a}, nullptr, "lj_gpu check");
  const auto s = static_cast<cudaStream_t>(cuda::compute_stream(device));
  grid_kernel<T><<<static_cast<unsigned>(ns), kThreads, 0, s>>>(a);
  cuda::check_launch("lj_gpu grid");
  cuda::parallel_for(device, na, BinFn<T>{a}, nullptr, "lj_gpu bin");
  scan_kernel<T><<<static_cast<unsigned>(ns), kThreads, 0, s>>>(a);
  cuda::check_launch("lj_gpu scan");
  cuda::parallel_for(device, na, PlaceFn<T>{a}, nullptr, "lj_gpu place");
  cuda::parallel_for(device, na, RankFn<T>{a}, nullptr, "lj_gpu rank");
}

template <typename T>
void lj_list_build(int device, const ListArgs<T>& a) {
  cuda::parallel_for(device, a.n_atoms, BuildFn<T>{a}, nullptr, a.cap == 0 ? "lj_gpu count" : "lj_gpu build");
}

template <typename T>
void lj_forces(int device, std::int64_t n_systems, const std::int64_t* atoms_ptr, const ForceArgs<T>& f, bool virial,
               double* sums, T* energy, T* virial_out, T* stress) {
  const std::int64_t na = f.n_atoms, ns = n_systems;
  cuda::parallel_for(device, na, WrapFn<T>{f}, nullptr, "lj_gpu wrap");
  if (virial) {
    cuda::parallel_for(device, na, ForceFn<T, true>{f}, nullptr, "lj_gpu forces");
    cuda::segment_reduce<7>(device, ns, atoms_ptr, AccFn<7>{f.acc}, sums, nullptr, "lj_gpu reduce");
  } else {
    cuda::parallel_for(device, na, ForceFn<T, false>{f}, nullptr, "lj_gpu forces");
    cuda::segment_reduce<1>(device, ns, atoms_ptr, AccFn<1>{f.acc}, sums, nullptr, "lj_gpu reduce");
  }
  cuda::parallel_for(device, ns, OutputFn<T>{sums, virial ? 7 : 1, f.cell, f.pbc, energy, virial_out, stress}, nullptr,
                     "lj_gpu output");
}

#define BATCHMD_INSTANTIATE(T)                                            \
  template void lj_list_update<T>(int, std::int64_t, const ListArgs<T>&); \
  template void lj_list_build<T>(int, const ListArgs<T>&);                \
  template void lj_forces<T>(int, std::int64_t, const std::int64_t*, const ForceArgs<T>&, bool, double*, T*, T*, T*);
BATCHMD_INSTANTIATE(float)
BATCHMD_INSTANTIATE(double)
#undef BATCHMD_INSTANTIATE

}  // namespace batchmd::model::gpu
