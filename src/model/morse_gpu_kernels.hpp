// SPDX-License-Identifier: Apache-2.0
// model/morse_gpu_kernels (internal; CUDA builds): the Morse kernel launcher (morse_gpu.cu).
#pragma once
#include <cstdint>

#include "full_list_gpu.hpp"
#include "morse_kernels.hpp"

namespace batchmd::model::detail {

/// Per atom i: atom_energy[i] = half the energy of its pairs and g[p] = dE_i/dr_p (morse_atom).
/// coeffs: [n_species^2] (device).
template <typename T>
void launch_morse(int device, const DeviceNeighborView<T>& v, const MorseCoeffs<T>* coeffs, std::int32_t n_species,
                  double* atom_energy, T* g);

}  // namespace batchmd::model::detail
