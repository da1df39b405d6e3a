// SPDX-License-Identifier: Apache-2.0
// model/morse_gpu.cu: the Morse kernel (CUDA builds) — a thread per atom over its full list, the
// pair function shared with the CPU (morse_kernels.hpp); forces and sums follow in
// full_list_gpu.cu.
#include <cuda_runtime.h>

#include "batchmd/core/launch.cuh"
#include "morse_gpu_kernels.hpp"

namespace batchmd::model::detail {

template <typename T>
void launch_morse(int device, const DeviceNeighborView<T>& v, const MorseCoeffs<T>* coeffs, std::int32_t n_species,
                  double* atom_energy, T* g) {
  // One thread per atom: ~25 flops and one exponential per pair within the cutoff; reads 3 T and
  // writes 3 T per pair.
  const std::int64_t* off = v.offsets;
  const std::int32_t* sp = v.species;
  const std::int32_t* asp = v.atom_species;
  const T* rij = v.rij;
  cuda::parallel_for(
      device, v.n_atoms,
      [=] __device__(std::int64_t i) {
        const std::int32_t si = asp[i];
        atom_energy[i] = morse_atom(off[i], off[i + 1], si, rij, sp, coeffs + (si < 0 ? 0 : si) * n_species, g);
      },
      nullptr, "Morse pairs");
}

template void launch_morse<float>(int, const DeviceNeighborView<float>&, const MorseCoeffs<float>*, std::int32_t,
                                  double*, float*);
template void launch_morse<double>(int, const DeviceNeighborView<double>&, const MorseCoeffs<double>*, std::int32_t,
                                   double*, double*);

}  // namespace batchmd::model::detail
