// SPDX-License-Identifier: Apache-2.0
// model/eam_gpu_kernels (internal; CUDA builds): the EAM kernel launchers (eam_gpu.cu), over the
// full list of a GPU batch (DeviceFullList): one thread per atom, no atomics, so results do not
// depend on scheduling.
#pragma once
#include <cstdint>

#include "eam_kernels.hpp"
#include "full_list_gpu.hpp"

namespace batchmd::model::detail {

/// Per atom i of species a >= 0: rho_i = sum over its pairs inside the cutoff of
/// rho_[b->a](r), then fp[i] = F_a'(rho_i) and atom_energy[i] = F_a(rho_i) (both 0 for a < 0).
/// tables: device pointers.
template <typename T>
void launch_eam_embedding(int device, const DeviceNeighborView<T>& v, const EAMView<T>& tables, T* fp,
                          double* atom_energy);

/// Per atom i: atom_energy[i] += sum over its pairs inside the cutoff of phi(r)/2, and per pair
/// g[p] = (dE/dr / 2) r_p / |r_p| with dE/dr = fp_i rho'_[b->a] + fp_j rho'_[a->b] + phi' (0 beyond
/// the cutoff), so that launch_gather_forces gives the forces and virials.
template <typename T>
void launch_eam_pairs(int device, const DeviceNeighborView<T>& v, const EAMView<T>& tables, const T* fp,
                      double* atom_energy, T* g);

}  // namespace batchmd::model::detail
