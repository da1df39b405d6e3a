// SPDX-License-Identifier: Apache-2.0
// model/torch/torch_edges_gpu.cu: the kernels that turn the device full list into the
// TorchScript model's edges (torch_edges_gpu.hpp), and the stress of its virials. Compiled with
// --fmad=false: the cutoff test and the shifts n . cell are the CPU's arithmetic (torch_edges.hpp)
// to the last bit.
#include <cuda_runtime.h>

#include <cstdint>
#include <cub/device/device_scan.cuh>
#include <string>

#include "batchmd/core/error.hpp"
#include "batchmd/core/frame.hpp"
#include "batchmd/core/launch.cuh"
#include "torch_edges_gpu.hpp"

namespace batchmd::model::detail {
namespace {

template <typename T>
struct FlagFn {
  const T* rij;
  double c2;
  std::int32_t* flag;
  __device__ void operator()(std::int64_t p) const {
    const T* r = rij + 3 * p;
    const double r2 = double(r[0]) * r[0] + double(r[1]) * r[1] + double(r[2]) * r[2];
    flag[p] = (r2 < c2 && r2 > 1e-20) ? 1 : 0;  // as the CPU's select_edges
  }
};

template <typename T>
struct FillFn {
  TorchEdgeFill<T> f;
  __device__ void operator()(std::int64_t p) const {
    if (f.flag[p] == 0) return;
    const std::int64_t q = f.pos[p] - 1;
    const std::int32_t i = f.pair_atom[p], j = f.neighbor[p];
    f.edge_index[q] = i;
    f.edge_index[f.n_edges + q] = j;
    std::int32_t n[3];
    for (int d = 0; d < 3; ++d) n[d] = f.image[3 * p + d] + f.jump[3 * i + d] - f.jump[3 * j + d];
    const T* cell = f.cell != nullptr ? f.cell + 9 * f.sys[i] : nullptr;
    for (int e = 0; e < 3; ++e) {
      T s = 0;
      if (cell != nullptr)
        for (int d = 0; d < 3; ++d) s += static_cast<T>(n[d]) * cell[3 * d + e];
      f.shifts[3 * q + e] = s;
      f.unit_shifts[3 * q + e] = static_cast<T>(n[e]);
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

template <typename T>
void launch_torch_edge_flags(int device, std::int64_t n_pairs, const T* rij, double cutoff2, std::int32_t* flag) {
  cuda::parallel_for(device, n_pairs, FlagFn<T>{rij, cutoff2, flag}, nullptr, "torch edge flags");
}

void launch_torch_z_changed(int device, std::int64_t n, const std::int64_t* z, const std::int64_t* z_seen,
                            std::int32_t* changed) {
  cuda::parallel_for(device, n, ZChangedFn{z, z_seen, changed}, nullptr, "torch atomic numbers check");
}

std::size_t torch_edge_scan_bytes(std::int64_t n) {
  std::size_t bytes = 0;
  const std::int32_t* none = nullptr;
  std::int32_t* out = nullptr;
  const cudaError_t err = cub::DeviceScan::InclusiveSum(nullptr, bytes, none, out, static_cast<int>(n));
  if (err != cudaSuccess) cuda::throw_cuda_error(static_cast<int>(err), "torch edges: cub scan sizing");
  return bytes;
}

void torch_edge_scan(int device, void* temp, std::size_t temp_bytes, const std::int32_t* flag, std::int32_t* pos,
                     std::int64_t n) {
  cuda::set_device(device);
  const auto s = static_cast<cudaStream_t>(cuda::compute_stream(device));
  std::size_t bytes = temp_bytes;
  const cudaError_t err = cub::DeviceScan::InclusiveSum(temp, bytes, flag, pos, static_cast<int>(n), s);
  if (err != cudaSuccess) cuda::throw_cuda_error(static_cast<int>(err), "torch edges: scan");
  cuda::check_launch("torch edge scan");
}

template <typename T>
void launch_torch_edge_fill(int device, const TorchEdgeFill<T>& f) {
  cuda::parallel_for(device, f.n_pairs, FillFn<T>{f}, nullptr, "torch edge fill");
}

template <typename T>
void launch_torch_stress(int device, std::int64_t n_systems, const T* virial, const T* cell, const bool* pbc,
                         T* stress) {
  cuda::parallel_for(device, n_systems, StressFn<T>{virial, cell, pbc, stress}, nullptr, "torch stress");
}

#define BATCHMD_TORCH_EDGES_INSTANTIATE(T)                                                      \
  template void launch_torch_edge_flags<T>(int, std::int64_t, const T*, double, std::int32_t*); \
  template void launch_torch_edge_fill<T>(int, const TorchEdgeFill<T>&);                        \
  template void launch_torch_stress<T>(int, std::int64_t, const T*, const T*, const bool*, T*);
BATCHMD_TORCH_EDGES_INSTANTIATE(float)
BATCHMD_TORCH_EDGES_INSTANTIATE(double)
#undef BATCHMD_TORCH_EDGES_INSTANTIATE

}  // namespace batchmd::model::detail
