// SPDX-License-Identifier: Apache-2.0
// model/sw_gpu_kernels (internal; CUDA builds): the Stillinger–Weber kernel launcher (sw_gpu.cu).
#pragma once
#include <cstdint>

#include "full_list_gpu.hpp"
#include "sw_kernels.hpp"

namespace batchmd::model::detail {

/// Per atom i: atom_energy[i] = i's energy share and g[p] = dE_i/dr_p for its pairs (sw_atom).
/// pair: [n^2], triplet: [n^3] coefficient tables, radial: [n_pairs][2] scratch (all device).
template <typename T>
void launch_sw(int device, const DeviceNeighborView<T>& v, const SWPairCoeffs<T>* pair,
               const SWTripletCoeffs<T>* triplet, std::int32_t n_species, T* radial, double* atom_energy, T* g);

}  // namespace batchmd::model::detail
