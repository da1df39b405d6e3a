// SPDX-License-Identifier: Apache-2.0
// model/zbl_gpu.cu: the ZBL kernel (CUDA builds) — a thread per atom over its full list, the pair
// function shared with the CPU (zbl_kernels.hpp); forces and sums follow in full_list_gpu.cu.
#include <cuda_runtime.h>

#include "batchmd/core/launch.cuh"
#include "zbl_gpu_kernels.hpp"

namespace batchmd::model::detail {

template <typename T>
void launch_zbl(int device, const DeviceNeighborView<T>& v, const ZBLCoeffs<T>* coeffs, std::int32_t n_species,
                double* atom_energy, T* g) {
  // One thread per atom: ~60 flops and 4 exponentials per pair within the cutoff.
  const std::int64_t* off = v.offsets;
  const std::int32_t* sp = v.species;
  const std::int32_t* asp = v.atom_species;
  const T* rij = v.rij;
  cuda::parallel_for(
      device, v.n_atoms,
      [=] __device__(std::int64_t i) {
        double e = 0;
        const ZBLCoeffs<T>* row = coeffs + asp[i] * n_species;
        for (std::int64_t p = off[i]; p < off[i + 1]; ++p) {
          const T* r = rij + 3 * p;
          const T rsq = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
          const ZBLCoeffs<T>& c = row[sp[p]];
          T f = 0;
          if (rsq < c.outer2) {
            T de;
            e += 0.5 * double(zbl_pair(c, rsq, de));
            f = T(0.5) * de / sqrt(rsq);
          }
          for (int d = 0; d < 3; ++d) g[3 * p + d] = f * r[d];
        }
        atom_energy[i] = e;
      },
      nullptr, "ZBL pairs");
}

template void launch_zbl<float>(int, const DeviceNeighborView<float>&, const ZBLCoeffs<float>*, std::int32_t, double*,
                                float*);
template void launch_zbl<double>(int, const DeviceNeighborView<double>&, const ZBLCoeffs<double>*, std::int32_t,
                                 double*, double*);

}  // namespace batchmd::model::detail
