// SPDX-License-Identifier: Apache-2.0
// model/zbl_gpu_kernels (internal; CUDA builds): the ZBL kernel launcher (zbl_gpu.cu).
#pragma once
#include <cstdint>

#include "full_list_gpu.hpp"
#include "zbl_kernels.hpp"

namespace batchmd::model::detail {

/// Per atom i: atom_energy[i] = sum over its pairs within the outer cutoff of E(r)/2, and per pair
/// g[p] = (dE/dr / 2) r_p/|r_p| (0 beyond the cutoff). coeffs: [n_species^2] (device).
template <typename T>
void launch_zbl(int device, const DeviceNeighborView<T>& v, const ZBLCoeffs<T>* coeffs, std::int32_t n_species,
                double* atom_energy, T* g);

}  // namespace batchmd::model::detail
