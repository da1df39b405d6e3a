// SPDX-License-Identifier: Apache-2.0
// model/sw_gpu.cu: the Stillinger–Weber kernel (CUDA builds) — a thread per atom over its full
// list, the arithmetic shared with the CPU (sw_kernels.hpp); forces and sums follow in
// full_list_gpu.cu.
#include <cuda_runtime.h>

#include "batchmd/core/launch.cuh"
#include "sw_gpu_kernels.hpp"

namespace batchmd::model::detail {

template <typename T>
void launch_sw(int device, const DeviceNeighborView<T>& v, const SWPairCoeffs<T>* pair,
               const SWTripletCoeffs<T>* triplet, std::int32_t n_species, T* radial, double* atom_energy, T* g) {
  // One thread per atom: for m pairs in its list (cutoff + skin), m two-body terms (~40 flops,
  // 2 exp, 2 pow) and up to m(m-1)/2 three-body terms (~50 flops each) for the pairs inside the
  // cutoff; reads 3 T per pair, writes 5 T per pair.
  const std::int64_t* off = v.offsets;
  const std::int64_t* rev = v.reverse;
  const std::int32_t* sp = v.species;
  const std::int32_t* asp = v.atom_species;
  const T* rij = v.rij;
  cuda::parallel_for(
      device, v.n_atoms,
      [=] __device__(std::int64_t i) {
        atom_energy[i] = sw_atom(off[i], off[i + 1], asp[i], rij, sp, rev, pair, triplet, n_species, radial, g);
      },
      nullptr, "Stillinger-Weber atoms");
}

template void launch_sw<float>(int, const DeviceNeighborView<float>&, const SWPairCoeffs<float>*,
                               const SWTripletCoeffs<float>*, std::int32_t, float*, double*, float*);
template void launch_sw<double>(int, const DeviceNeighborView<double>&, const SWPairCoeffs<double>*,
                                const SWTripletCoeffs<double>*, std::int32_t, double*, double*, double*);

}  // namespace batchmd::model::detail
