// SPDX-License-Identifier: Apache-2.0
// model/full_list_gpu.cu: the device kernels of the GPU full neighbor list — this call's pair
// displacements, forces (and per-atom virials) gathered from per-pair gradients, and the
// per-system energy / virial / stress outputs. Deterministic: no atomics (each atom sums its own
// pairs in list order; systems are reduced by core/reduce's fixed tree).
#include <cuda_runtime.h>

#include <cstdint>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/frame.hpp"
#include "batchmd/core/launch.cuh"
#include "batchmd/core/reduce.cuh"
#include "full_list_gpu.hpp"

namespace batchmd::model::detail {

template <typename T>
void launch_displacements(int device, std::int64_t n_pairs, const std::int32_t* pair_atom, const std::int32_t* neighbor,
                          const std::int32_t* image, const std::int32_t* shift, const std::int64_t* system_of_atom,
                          const T* positions, const T* cell, T* rij) {
  // One thread per pair: ~30 flops, 60 B read (x_i, x_j, image, shifts), 3 T written.
  cuda::parallel_for(
      device, n_pairs,
      [=] __device__(std::int64_t p) {
        const std::int32_t i = pair_atom[p], j = neighbor[p];
        T r[3];
        for (int d = 0; d < 3; ++d) r[d] = positions[3 * j + d] - positions[3 * i + d];
        if (cell != nullptr) {
          const T* c = cell + 9 * system_of_atom[i];
          for (int a = 0; a < 3; ++a) {
            const std::int32_t n = image[3 * p + a] + shift[3 * i + a] - shift[3 * j + a];
            if (n != 0)
              for (int d = 0; d < 3; ++d) r[d] += static_cast<T>(n) * c[3 * a + d];
          }
        }
        for (int d = 0; d < 3; ++d) rij[3 * p + d] = r[d];
      },
      nullptr, "full list displacements");
}

template <typename T>
void launch_gather_forces(int device, const DeviceNeighborView<T>& v, const T* g, T* forces, double* atom_virial) {
  // One thread per atom: its pairs in list order (the same order as the CPU gather).
  const std::int64_t* off = v.offsets;
  const std::int64_t* rev = v.reverse;
  const T* rij = v.rij;
  cuda::parallel_for(
      device, v.n_atoms,
      [=] __device__(std::int64_t i) {
        T f[3] = {0, 0, 0};
        double w[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
        for (std::int64_t p = off[i]; p < off[i + 1]; ++p) {
          for (int d = 0; d < 3; ++d) f[d] += g[3 * p + d] - g[3 * rev[p] + d];
          if (atom_virial != nullptr)
            for (int a = 0; a < 3; ++a)
              for (int b = 0; b < 3; ++b) w[3 * a + b] -= double(rij[3 * p + a]) * double(g[3 * p + b]);
        }
        for (int d = 0; d < 3; ++d) forces[3 * i + d] = f[d];
        if (atom_virial != nullptr)
          for (int k = 0; k < 9; ++k) atom_virial[9 * i + k] = w[k];
      },
      nullptr, "gather pair gradients");
}

template <typename T>
void launch_system_outputs(int device, const DeviceNeighborView<T>& v, const double* atom_energy,
                           const double* atom_virial, const T* cell, const bool* pbc, double* scratch, T* energy,
                           T* virial, T* stress) {
  const std::int64_t ns = v.n_systems;
  if (ns <= 0) return;
  double* e_sum = scratch;
  double* w_sum = scratch + ns;
  cuda::segment_reduce<1>(
      device, ns, v.atoms_ptr, [=] __device__(std::int64_t i, double* out) { out[0] = atom_energy[i]; }, e_sum, nullptr,
      "system energies");
  if (atom_virial != nullptr)
    cuda::segment_reduce<9>(
        device, ns, v.atoms_ptr,
        [=] __device__(std::int64_t i, double* out) {
          for (int k = 0; k < 9; ++k) out[k] = atom_virial[9 * i + k];
        },
        w_sum, nullptr, "system virials");
  cuda::parallel_for(
      device, ns,
      [=] __device__(std::int64_t s) {
        energy[s] = static_cast<T>(e_sum[s]);
        if (atom_virial == nullptr) return;
        const double vol = periodic_volume(cell, pbc, s);
        for (int k = 0; k < 9; ++k) {
          virial[9 * s + k] = static_cast<T>(w_sum[9 * s + k]);
          stress[9 * s + k] = vol > 0 ? static_cast<T>(-w_sum[9 * s + k] / vol) : T(0);
        }
      },
      nullptr, "system outputs");
}

#define BATCHMD_FULL_LIST_INSTANTIATE(T)                                                                            \
  template void launch_displacements<T>(int, std::int64_t, const std::int32_t*, const std::int32_t*,                \
                                        const std::int32_t*, const std::int32_t*, const std::int64_t*, const T*,    \
                                        const T*, T*);                                                              \
  template void launch_gather_forces<T>(int, const DeviceNeighborView<T>&, const T*, T*, double*);                  \
  template void launch_system_outputs<T>(int, const DeviceNeighborView<T>&, const double*, const double*, const T*, \
                                         const bool*, double*, T*, T*, T*);
BATCHMD_FULL_LIST_INSTANTIATE(float)
BATCHMD_FULL_LIST_INSTANTIATE(double)
#undef BATCHMD_FULL_LIST_INSTANTIATE

}  // namespace batchmd::model::detail
