// SPDX-License-Identifier: Apache-2.0
// model/full_list_device.cu: the kernels of the device-built full list and their launchers
// (declared in full_list_device_kernels.hpp; the host logic that sequences them is
// full_list_device.cpp).
//
// Each system is binned in the fractional coordinates of its frame (core/frame.hpp) on a
// CellGrid (cell_grid.hpp); every atom of a rebuilt system scans the (2m+1)^3 bins around its
// own, and keeps a candidate (j, image n) when the displacement computed exactly as the host view
// computes it (neighbor_view.cpp: r = x_j - x_i, then + n_d . row_d in T for the non-zero n_d) is
// inside the pair's cutoff + skin and non-zero. The grid only proposes candidates; the test is
// the host's, in the same arithmetic (this file is compiled with --fmad=false), so the pair set
// is the host view's. Each atom's pairs are then sorted by (neighbor, image): the host view's
// canonical order, so every sum over them is the host's.
//
// Two passes (count, then fill into offsets from a scan), no capacity guess; no atomics on
// pairs (only bin arrival ranks, which the final sort makes irrelevant).
#include <cuda_runtime.h>

#include <cstdint>
#include <cub/block/block_scan.cuh>
#include <cub/device/device_scan.cuh>
#include <string>

#include "batchmd/core/error.hpp"
#include "batchmd/core/frame.hpp"
#include "batchmd/core/launch.cuh"
#include "full_list_device_kernels.hpp"

namespace batchmd::model::detail::devlist {
namespace {

constexpr int kThreads = 256;
constexpr double kBig = 1e300;

__device__ inline void record_atom_error(Status* st, int bits, std::int64_t i) {
  atomicOr(&st->error, bits);
  atomicMin(&st->bad_atom, static_cast<int>(i));
}
__device__ inline void record_system_error(Status* st, int bits, std::int64_t s) {
  atomicOr(&st->error, bits);
  atomicMin(&st->bad_system, static_cast<int>(s));
}

// (j1, n1) < (j2, n2) lexicographically: the host view's order (neighbor, then image).
__device__ inline bool pair_less(std::int32_t j1, const std::int32_t* n1, std::int32_t j2, const std::int32_t* n2) {
  if (j1 != j2) return j1 < j2;
  for (int d = 0; d < 3; ++d)
    if (n1[d] != n2[d]) return n1[d] < n2[d];
  return false;
}

template <typename T>
__device__ inline double pair_cut(const ListArgs<T>& a, std::int32_t si, std::int32_t sj) {
  const std::int32_t lo = si < sj ? si : sj, hi = si < sj ? sj : si;
  return a.cut[lo * a.n_species + hi];
}

// Calls emit(j, n) for every (atom j, image n) of atom i (a system with flag 1, binned) inside
// the pair's cutoff + skin, in stencil order.
template <typename T, typename Emit>
__device__ inline void for_each_pair(const ListArgs<T>& a, std::int64_t i, Emit&& emit) {
  const std::int32_t si = a.species[i];
  if (si < 0) return;
  const std::int64_t s = a.sys[i];
  const CellGrid& g = a.grid[s];
  const long long local = a.bin[i] - a.bin_base[s];
  const int bc[3] = {static_cast<int>(local / (static_cast<long long>(g.nb[1]) * g.nb[2])),
                     static_cast<int>((local / g.nb[2]) % g.nb[1]), static_cast<int>(local % g.nb[2])};
  const T* xi = a.pos + 3 * i;
  const T* c = a.cell != nullptr ? a.cell + 9 * s : nullptr;
  const std::int32_t wi[3] = {a.wimg[3 * i], a.wimg[3 * i + 1], a.wimg[3 * i + 2]};
  for (int d0 = -g.m[0]; d0 <= g.m[0]; ++d0) {
    int t0 = bc[0] + d0, s0 = 0;
    if (!wrap_bin(t0, s0, g.nb[0], g.periodic[0])) continue;
    for (int d1 = -g.m[1]; d1 <= g.m[1]; ++d1) {
      int t1 = bc[1] + d1, s1 = 0;
      if (!wrap_bin(t1, s1, g.nb[1], g.periodic[1])) continue;
      for (int d2 = -g.m[2]; d2 <= g.m[2]; ++d2) {
        int t2 = bc[2] + d2, s2 = 0;
        if (!wrap_bin(t2, s2, g.nb[2], g.periodic[2])) continue;
        const long long tb = a.bin_base[s] + (static_cast<long long>(t0) * g.nb[1] + t1) * g.nb[2] + t2;
        const std::int32_t k0 = a.bin_start[tb], k1 = k0 + a.bin_count[tb];
        const int S[3] = {s0, s1, s2};
        for (std::int32_t k = k0; k < k1; ++k) {
          const std::int32_t j = a.bin_atoms[k];
          const std::int32_t sj = a.species[j];
          if (sj < 0) continue;
          const double rc = pair_cut(a, si, sj);
          if (!(rc > 0)) continue;
          std::int32_t n[3];
          for (int d = 0; d < 3; ++d) n[d] = S[d] + wi[d] - a.wimg[3 * j + d];
          // The host view's displacement and test (neighbor_view.cpp), operation for operation.
          const T* xj = a.pos + 3 * j;
          T r[3] = {xj[0] - xi[0], xj[1] - xi[1], xj[2] - xi[2]};
          if (c != nullptr && (n[0] | n[1] | n[2]) != 0)
            for (int d = 0; d < 3; ++d)
              if (n[d] != 0)
                for (int e = 0; e < 3; ++e) r[e] += static_cast<T>(n[d]) * c[3 * d + e];
          const double r2 = double(r[0]) * r[0] + double(r[1]) * r[1] + double(r[2]) * r[2];
          if (r2 < rc * rc && r2 > 1e-20) emit(j, n);
        }
      }
    }
  }
}

// ---- per-item functors (cuda::parallel_for: 256 threads per block, grid-stride)

template <typename T>
struct CheckFn {
  ListArgs<T> a;
  __device__ void operator()(std::int64_t i) const {
    const std::int64_t s = a.sys[i];
    const CellGrid& g = a.grid[s];
    if (i == a.ptr[s]) {  // the first atom of a system looks at its cell and pbc
      bool changed = false, any = false;
      for (int d = 0; d < 3; ++d) {
        const int p = (a.pbc != nullptr && a.pbc[3 * s + d]) ? 1 : 0;
        changed = changed || p != g.periodic[d];
        any = any || p != 0;
      }
      if (any)
        for (int e = 0; e < 9; ++e) {
          const double cv = a.cell != nullptr ? static_cast<double>(a.cell[9 * s + e]) : 0.0;
          changed = changed || cv != g.cell[e];
        }
      if (changed) {
        a.flag[s] = 1;
        a.st->rebuild = 1;
      }
    }
    double x[3], dl[3];
    for (int e = 0; e < 3; ++e) x[e] = static_cast<double>(a.pos[3 * i + e]);
    if (!hd::isfinite(x[0]) || !hd::isfinite(x[1]) || !hd::isfinite(x[2])) {
      record_atom_error(a.st, kErrNonFinite, i);
      return;
    }
    for (int e = 0; e < 3; ++e) dl[e] = x[e] - static_cast<double>(a.ref[3 * i + e]);
    int k[3];
    if (classify_displacement(dl, g.cell, g.recip, g.periodic, a.thr2, k) == Displacement::kRebuild) {
      a.flag[s] = 1;
      a.st->rebuild = 1;
    }
    for (int d = 0; d < 3; ++d) a.jump[3 * i + d] = k[d];
  }
};

template <typename T>
struct BinFn {
  ListArgs<T> a;
  __device__ void operator()(std::int64_t i) const {
    const std::int64_t s = a.sys[i];
    if (a.flag[s] != 1) return;
    const CellGrid& g = a.grid[s];
    double x[3], u[3];
    for (int e = 0; e < 3; ++e) x[e] = static_cast<double>(a.pos[3 * i + e]);
    int n[3] = {0, 0, 0};
    for (int d = 0; d < 3; ++d) {
      u[d] = dot3(x, g.recip + 3 * d);
      if (g.periodic[d]) {
        if (!(hd::fabs(u[d]) < kMaxImageCells)) {
          record_atom_error(a.st, kErrFar, i);
          a.flag[s] = 2;
          return;
        }
        n[d] = static_cast<int>(wrap_unit(u[d]));
      }
    }
    int b[3];
    cell_grid_bin(g, u, b);
    for (int e = 0; e < 3; ++e) {
      a.wpos[3 * i + e] = unwrap_component(x[e], n, g.row, e);
      a.ref[3 * i + e] = a.pos[3 * i + e];
    }
    for (int d = 0; d < 3; ++d) {
      a.wimg[3 * i + d] = n[d];
      a.jump[3 * i + d] = 0;
    }
    const auto lin =
        static_cast<std::int32_t>(a.bin_base[s] + (static_cast<long long>(b[0]) * g.nb[1] + b[1]) * g.nb[2] + b[2]);
    a.bin[i] = lin;
    a.rank[i] = atomicAdd(&a.bin_count[lin], 1);
  }
};

template <typename T>
struct PlaceFn {
  ListArgs<T> a;
  __device__ void operator()(std::int64_t i) const {
    if (a.flag[a.sys[i]] != 1) return;
    a.bin_atoms[a.bin_start[a.bin[i]] + a.rank[i]] = static_cast<std::int32_t>(i);
  }
};

template <typename T>
struct CountFn {
  ListArgs<T> a;
  PairArrays old;
  std::int64_t* counts;
  __device__ void operator()(std::int64_t i) const {
    if (i == 0) counts[0] = 0;
    const std::uint8_t f = a.flag[a.sys[i]];
    std::int64_t cnt = 0;
    if (f == 1) {
      for_each_pair(a, i, [&](std::int32_t, const std::int32_t*) { ++cnt; });
    } else if (f == 0) {
      cnt = old.offsets[i + 1] - old.offsets[i];
    }
    counts[i + 1] = cnt;
  }
};

template <typename T>
struct FillFn {
  ListArgs<T> a;
  PairArrays old, out;
  __device__ void operator()(std::int64_t i) const {
    const std::uint8_t f = a.flag[a.sys[i]];
    const std::int64_t b = out.offsets[i], e = out.offsets[i + 1];
    if (f == 0) {
      const std::int64_t ob = old.offsets[i];
      for (std::int64_t p = b; p < e; ++p) {
        out.neighbor[p] = old.neighbor[ob + (p - b)];
        for (int d = 0; d < 3; ++d) out.image[3 * p + d] = old.image[3 * (ob + (p - b)) + d];
      }
    } else if (f == 1) {
      std::int64_t p = b;
      for_each_pair(a, i, [&](std::int32_t j, const std::int32_t* n) {
        if (p < e) {
          out.neighbor[p] = j;
          for (int d = 0; d < 3; ++d) out.image[3 * p + d] = n[d];
        }
        ++p;
      });
      if (p != e) {
        atomicOr(&a.st->error, kErrFillMismatch);
        for (std::int64_t q = b; q < e; ++q) {  // keep the arrays valid
          out.neighbor[q] = static_cast<std::int32_t>(i);
          for (int d = 0; d < 3; ++d) out.image[3 * q + d] = 0;
        }
      }
      // Insertion sort by (neighbor, image): ranges are short (tens of pairs).
      for (std::int64_t q = b + 1; q < e; ++q) {
        const std::int32_t j = out.neighbor[q];
        const std::int32_t n[3] = {out.image[3 * q], out.image[3 * q + 1], out.image[3 * q + 2]};
        std::int64_t k = q;
        while (k > b && pair_less(j, n, out.neighbor[k - 1], out.image + 3 * (k - 1))) {
          out.neighbor[k] = out.neighbor[k - 1];
          for (int d = 0; d < 3; ++d) out.image[3 * k + d] = out.image[3 * (k - 1) + d];
          --k;
        }
        out.neighbor[k] = j;
        for (int d = 0; d < 3; ++d) out.image[3 * k + d] = n[d];
      }
    }
    for (std::int64_t p = b; p < e; ++p) {
      out.pair_atom[p] = static_cast<std::int32_t>(i);
      out.species[p] = a.species[out.neighbor[p]];
    }
  }
};

struct ReverseFn {
  PairArrays out;
  Status* st;
  __device__ void operator()(std::int64_t p) const {
    const std::int32_t i = out.pair_atom[p], j = out.neighbor[p];
    const std::int32_t key[3] = {-out.image[3 * p], -out.image[3 * p + 1], -out.image[3 * p + 2]};
    std::int64_t lo = out.offsets[j], hi = out.offsets[j + 1];  // lower bound of (i, -image)
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (pair_less(out.neighbor[mid], out.image + 3 * mid, i, key))
        lo = mid + 1;
      else
        hi = mid;
    }
    const bool found = lo < out.offsets[j + 1] && out.neighbor[lo] == i && out.image[3 * lo] == key[0] &&
                       out.image[3 * lo + 1] == key[1] && out.image[3 * lo + 2] == key[2];
    if (found) {
      out.reverse[p] = lo;
    } else {
      atomicOr(&st->error, kErrNoReverse);
      out.reverse[p] = p;  // in bounds; the host throws at the next call
    }
  }
};

// Launch: one block of kThreads per system. Thread 0 builds the frame, all threads reduce the
// extent along open directions, thread 0 the grid; all zero the system's bin counts.
template <typename T>
__global__ void __launch_bounds__(kThreads) grid_kernel(ListArgs<T> a) {
  const std::int64_t s = blockIdx.x;
  __shared__ Frame f;
  __shared__ double cell[9];
  __shared__ int ok;
  __shared__ double red[6][kThreads];
  const int tid = static_cast<int>(threadIdx.x);
  if (tid == 0) ok = a.flag[s] == 1 ? 1 : 0;  // one read decides for the whole block
  __syncthreads();
  if (!ok) return;
  __syncthreads();
  if (tid == 0) {
    bool per[3];
    for (int e = 0; e < 9; ++e) cell[e] = a.cell != nullptr ? static_cast<double>(a.cell[9 * s + e]) : 0.0;
    for (int d = 0; d < 3; ++d) per[d] = a.pbc != nullptr && a.pbc[3 * s + d];
    if (!(per[0] || per[1] || per[2]))
      for (int e = 0; e < 9; ++e) cell[e] = 0.0;  // an open system keeps no cell
    ok = make_frame(cell, per, f).ok() ? 1 : 0;
    if (!ok) record_system_error(a.st, kErrBadCell, s);
  }
  __syncthreads();
  if (!ok) {
    if (tid == 0) a.flag[s] = 2;
    return;
  }
  double lo[3] = {kBig, kBig, kBig}, hi[3] = {-kBig, -kBig, -kBig};
  for (std::int64_t i = a.ptr[s] + tid; i < a.ptr[s + 1]; i += kThreads) {
    double x[3];
    for (int e = 0; e < 3; ++e) x[e] = static_cast<double>(a.pos[3 * i + e]);
    for (int d = 0; d < 3; ++d) {
      if (f.periodic[d]) continue;
      const double u = dot3(x, f.recip[d].v);
      lo[d] = fmin(lo[d], u);
      hi[d] = fmax(hi[d], u);
    }
  }
  for (int d = 0; d < 3; ++d) {
    red[d][tid] = lo[d];
    red[3 + d][tid] = -hi[d];
  }
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w /= 2) {
    if (tid < w)
      for (int q = 0; q < 6; ++q) red[q][tid] = fmin(red[q][tid], red[q][tid + w]);
    __syncthreads();
  }
  if (tid == 0) {
    const double l[3] = {red[0][0], red[1][0], red[2][0]};
    const double h[3] = {-red[3][0], -red[4][0], -red[5][0]};
    ok = make_cell_grid(a.grid[s], f, cell, l, h, a.bin_base[s + 1] - a.bin_base[s], a.rc) ? 1 : 0;
    if (!ok) {
      record_system_error(a.st, kErrCellTooThin, s);
      a.flag[s] = 2;
    }
  }
  __syncthreads();
  if (!ok) return;
  const int n_bins = a.grid[s].n_bins;
  const long long base = a.bin_base[s];
  for (int b = tid; b < n_bins; b += kThreads) a.bin_count[base + b] = 0;
}

// Launch: one block of kThreads per system: bin starts (batch slots) by an exclusive block scan
// of the bin counts, kThreads bins at a time.
template <typename T>
__global__ void __launch_bounds__(kThreads) scan_kernel(ListArgs<T> a) {
  const std::int64_t s = blockIdx.x;
  using Scan = cub::BlockScan<int, kThreads>;
  __shared__ typename Scan::TempStorage tmp;
  __shared__ int active;
  if (threadIdx.x == 0) active = a.flag[s] == 1 ? 1 : 0;  // one read decides for the whole block
  __syncthreads();
  if (!active) return;
  const int n_bins = a.grid[s].n_bins;
  const long long base = a.bin_base[s];
  int running = static_cast<int>(a.ptr[s]);
  for (int b0 = 0; b0 < n_bins; b0 += kThreads) {
    const int b = b0 + static_cast<int>(threadIdx.x);
    const int c = b < n_bins ? a.bin_count[base + b] : 0;
    int excl = 0, total = 0;
    Scan(tmp).ExclusiveSum(c, excl, total);
    if (b < n_bins) a.bin_start[base + b] = running + excl;
    running += total;
    __syncthreads();
  }
}

}  // namespace

template <typename T>
void devlist_check(int device, const ListArgs<T>& a) {
  cuda::parallel_for(device, a.n_atoms, CheckFn<T>{a}, nullptr, "device list check");
}

template <typename T>
void devlist_bin(int device, std::int64_t n_systems, const ListArgs<T>& a) {
  if (n_systems <= 0) return;
  cuda::set_device(device);  // the raw launches below go to the current device
  const auto s = static_cast<cudaStream_t>(cuda::compute_stream(device));
  grid_kernel<T><<<static_cast<unsigned>(n_systems), kThreads, 0, s>>>(a);
  cuda::check_launch("device list grid");
  cuda::parallel_for(device, a.n_atoms, BinFn<T>{a}, nullptr, "device list bin");
  scan_kernel<T><<<static_cast<unsigned>(n_systems), kThreads, 0, s>>>(a);
  cuda::check_launch("device list scan");
  cuda::parallel_for(device, a.n_atoms, PlaceFn<T>{a}, nullptr, "device list place");
}

template <typename T>
void devlist_count(int device, const ListArgs<T>& a, const PairArrays& old, std::int64_t* counts) {
  cuda::parallel_for(device, a.n_atoms, CountFn<T>{a, old, counts}, nullptr, "device list count");
}

std::size_t devlist_scan_bytes(std::int64_t n) {
  std::size_t bytes = 0;
  const std::int64_t* none = nullptr;
  std::int64_t* out = nullptr;
  const cudaError_t err = cub::DeviceScan::InclusiveSum(nullptr, bytes, none, out, n + 1);
  if (err != cudaSuccess)
    throw DeviceError(std::string("device list: cub scan sizing failed: ") + cudaGetErrorString(err));
  return bytes;
}

void devlist_scan(int device, void* temp, std::size_t temp_bytes, const std::int64_t* counts, std::int64_t* offsets,
                  std::int64_t n) {
  cuda::set_device(device);
  const auto s = static_cast<cudaStream_t>(cuda::compute_stream(device));
  std::size_t bytes = temp_bytes;
  const cudaError_t err = cub::DeviceScan::InclusiveSum(temp, bytes, counts, offsets, n + 1, s);
  if (err != cudaSuccess)
    throw DeviceError(std::string("device list: offsets scan failed: ") + cudaGetErrorString(err));
  cuda::check_launch("device list offsets scan");
}

template <typename T>
void devlist_fill(int device, const ListArgs<T>& a, const PairArrays& old, const PairArrays& out,
                  std::int64_t n_pairs) {
  cuda::parallel_for(device, a.n_atoms, FillFn<T>{a, old, out}, nullptr, "device list fill");
  cuda::parallel_for(device, n_pairs, ReverseFn{out, a.st}, nullptr, "device list reverse");
}

#define BATCHMD_DEVLIST_INSTANTIATE(T)                                                       \
  template void devlist_check<T>(int, const ListArgs<T>&);                                   \
  template void devlist_bin<T>(int, std::int64_t, const ListArgs<T>&);                       \
  template void devlist_count<T>(int, const ListArgs<T>&, const PairArrays&, std::int64_t*); \
  template void devlist_fill<T>(int, const ListArgs<T>&, const PairArrays&, const PairArrays&, std::int64_t);
BATCHMD_DEVLIST_INSTANTIATE(float)
BATCHMD_DEVLIST_INSTANTIATE(double)
#undef BATCHMD_DEVLIST_INSTANTIATE

}  // namespace batchmd::model::detail::devlist
