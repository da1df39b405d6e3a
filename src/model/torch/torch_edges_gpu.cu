// SPDX-License-Identifier: Apache-2.0
// model/torch/torch_edges_gpu.cu: the kernels that turn the device full list into the
// TorchScript model's edges (torch_edges_gpu.hpp), and the stress of its virials. Compiled with
// --fmad=false: the cutoff test and the shifts n . cell are the CPU's arithmetic (torch_edges.hpp)
// to the last bit.
#include <cuda_runtime.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include <cstdint>
#include <cub/device/device_scan.cuh>
#include <string>

#include "batchmd/core/error.hpp"
#include "batchmd/core/frame.hpp"
#include "batchmd/core/launch.cuh"
#include "torch_edges_gpu.hpp"

namespace batchmd::model::detail {
namespace {

// Pair p's displacement r = x_j - x_i + n . cell, n = image[p] + jump[i] - jump[j] (the device
// list's displacements, operation for operation), and whether it is an edge: 0 < |r|^2 < cutoff^2
// in double, as the CPU's select_edges. Host-device so that thrust's iterator may name it.
template <typename T>
__host__ __device__ void lattice_image(const TorchPairs<T>& g, std::int64_t p, std::int32_t i, std::int32_t j,
                                       std::int32_t n[3]) {
  for (int a = 0; a < 3; ++a) n[a] = g.image[3 * p + a] + g.jump[3 * i + a] - g.jump[3 * j + a];
}

template <typename T>
struct PairIsEdge {
  TorchPairs<T> g;
  __host__ __device__ std::int32_t operator()(std::int64_t p) const {
    const std::int32_t i = g.pair_atom[p], j = g.neighbor[p];
    T r[3];
    for (int d = 0; d < 3; ++d) r[d] = g.positions[3 * j + d] - g.positions[3 * i + d];
    if (g.cell != nullptr) {
      const T* c = g.cell + 9 * g.sys[i];
      std::int32_t n[3];
      lattice_image(g, p, i, j, n);
      for (int a = 0; a < 3; ++a)
        if (n[a] != 0)
          for (int d = 0; d < 3; ++d) r[d] += static_cast<T>(n[a]) * c[3 * a + d];
    }
    const double r2 = double(r[0]) * r[0] + double(r[1]) * r[1] + double(r[2]) * r[2];
    return (r2 < g.cutoff2 && r2 > 1e-20) ? 1 : 0;
  }
};

template <typename T>
auto edge_flags(const TorchPairs<T>& g) {
  return thrust::make_transform_iterator(thrust::counting_iterator<std::int64_t>(0), PairIsEdge<T>{g});
}

template <typename T>
struct FillFn {
  TorchEdgeFill<T> f;
  __device__ void operator()(std::int64_t p) const {
    const std::int32_t hi = f.pos[p], lo = p > 0 ? f.pos[p - 1] : 0;
    if (hi == lo) return;  // not an edge
    const std::int64_t q = hi - 1;
    const TorchPairs<T>& g = f.pairs;
    const std::int32_t i = g.pair_atom[p], j = g.neighbor[p];
    f.edge_index[q] = i;
    f.edge_index[f.n_edges + q] = j;
    std::int32_t n[3];
    lattice_image(g, p, i, j, n);
    const T* cell = g.cell != nullptr ? g.cell + 9 * g.sys[i] : nullptr;
    for (int e = 0; e < 3; ++e) {
      T s = 0;
      if (cell != nullptr)
        for (int d = 0; d < 3; ++d) s += static_cast<T>(n[d]) * cell[3 * d + e];
      f.shifts[3 * q + e] = s;
      if (f.unit_shifts != nullptr) f.unit_shifts[3 * q + e] = static_cast<T>(n[e]);
    }
  }
};

struct ZChangedFn {
  const std::int64_t* z;
  const std::int64_t* seen;
  std::int32_t* changed;
  __device__ void operator()(std::int64_t i) const {
    if (z[i] != seen[i]) *changed = 1;  // a benign race: every writer stores 1
  }
};

template <typename T>
struct StressFn {
  const T* virial;
  const T* cell;
  const bool* pbc;
  T* stress;
  __device__ void operator()(std::int64_t s) const {
    const double vol = periodic_volume(cell, pbc, s);
    for (int k = 0; k < 9; ++k) {
      const double w = virial[9 * s + k];
      stress[9 * s + k] = vol > 0 ? static_cast<T>(-w / vol) : T(0);
    }
  }
};

}  // namespace

void launch_torch_z_changed(int device, std::int64_t n, const std::int64_t* z, const std::int64_t* z_seen,
                            std::int32_t* changed) {
  cuda::parallel_for(device, n, ZChangedFn{z, z_seen, changed}, nullptr, "torch atomic numbers check");
}

template <typename T>
std::size_t torch_edge_scan_bytes(std::int64_t n) {
  std::size_t bytes = 0;
  std::int32_t* out = nullptr;
  const cudaError_t err =
      cub::DeviceScan::InclusiveSum(nullptr, bytes, edge_flags(TorchPairs<T>{}), out, static_cast<int>(n));
  if (err != cudaSuccess) cuda::throw_cuda_error(static_cast<int>(err), "torch edges: cub scan sizing");
  return bytes;
}

template <typename T>
void torch_edge_scan(int device, void* temp, std::size_t temp_bytes, const TorchPairs<T>& pairs, std::int32_t* pos) {
  cuda::set_device(device);
  const auto s = static_cast<cudaStream_t>(cuda::compute_stream(device));
  std::size_t bytes = temp_bytes;
  const cudaError_t err =
      cub::DeviceScan::InclusiveSum(temp, bytes, edge_flags(pairs), pos, static_cast<int>(pairs.n_pairs), s);
  if (err != cudaSuccess) cuda::throw_cuda_error(static_cast<int>(err), "torch edges: scan");
  cuda::check_launch("torch edge scan");
}

template <typename T>
void launch_torch_edge_fill(int device, const TorchEdgeFill<T>& f) {
  cuda::parallel_for(device, f.pairs.n_pairs, FillFn<T>{f}, nullptr, "torch edge fill");
}

template <typename T>
void launch_torch_stress(int device, std::int64_t n_systems, const T* virial, const T* cell, const bool* pbc,
                         T* stress) {
  cuda::parallel_for(device, n_systems, StressFn<T>{virial, cell, pbc, stress}, nullptr, "torch stress");
}

#define BATCHMD_TORCH_EDGES_INSTANTIATE(T)                                                        \
  template std::size_t torch_edge_scan_bytes<T>(std::int64_t);                                    \
  template void torch_edge_scan<T>(int, void*, std::size_t, const TorchPairs<T>&, std::int32_t*); \
  template void launch_torch_edge_fill<T>(int, const TorchEdgeFill<T>&);                          \
  template void launch_torch_stress<T>(int, std::int64_t, const T*, const T*, const bool*, T*);
BATCHMD_TORCH_EDGES_INSTANTIATE(float)
BATCHMD_TORCH_EDGES_INSTANTIATE(double)
#undef BATCHMD_TORCH_EDGES_INSTANTIATE

}  // namespace batchmd::model::detail
