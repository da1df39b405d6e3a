// SPDX-License-Identifier: Apache-2.0
// model/eam_gpu.cu: the EAM kernels (CUDA builds) — the embedding pass and the pair pass, a thread
// per atom over its full list, with the spline arithmetic shared with the CPU (eam_kernels.hpp);
// forces and per-system sums follow in full_list_gpu.cu.
#include <cuda_runtime.h>

#include "batchmd/core/launch.cuh"
#include "eam_gpu_kernels.hpp"

namespace batchmd::model::detail {

template <typename T>
void launch_eam_embedding(int device, const DeviceNeighborView<T>& v, const EAMView<T>& tables, T* fp,
                          double* atom_energy) {
  // One thread per atom: per pair within the cutoff one sqrt and one spline (7 T read from a
  // table that stays in L1/L2), then one embedding spline per atom.
  const std::int64_t* off = v.offsets;
  const std::int32_t* sp = v.species;
  const std::int32_t* asp = v.atom_species;
  const T* rij = v.rij;
  const EAMView<T> t = tables;
  cuda::parallel_for(
      device, v.n_atoms,
      [=] __device__(std::int64_t i) {
        const std::int32_t a = asp[i];
        if (a < 0) {
          fp[i] = T(0);
          atom_energy[i] = 0.0;
          return;
        }
        T rho = 0;
        for (std::int64_t p = off[i]; p < off[i + 1]; ++p) {
          const T* r = rij + 3 * p;
          const T rsq = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
          if (rsq >= t.cutsq || rsq == T(0)) continue;
          T q;
          const std::int32_t m = eam_knot(sqrt(rsq), t.rdr, t.nr, q);
          rho += eam_density(t, sp[p], a, m, q);
        }
        T f;
        atom_energy[i] = double(eam_embed(t, a, rho, f));
        fp[i] = f;
      },
      nullptr, "EAM embedding");
}

template <typename T>
void launch_eam_pairs(int device, const DeviceNeighborView<T>& v, const EAMView<T>& tables, const T* fp,
                      double* atom_energy, T* g) {
  // One thread per atom: per pair within the cutoff one sqrt, one division and three splines
  // (two density slopes, r*phi), 3 T written.
  const std::int64_t* off = v.offsets;
  const std::int32_t* nbr = v.neighbor;
  const std::int32_t* sp = v.species;
  const std::int32_t* asp = v.atom_species;
  const T* rij = v.rij;
  const EAMView<T> t = tables;
  cuda::parallel_for(
      device, v.n_atoms,
      [=] __device__(std::int64_t i) {
        const std::int32_t a = asp[i];
        double e = 0;
        const T fpi = a < 0 ? T(0) : fp[i];
        for (std::int64_t p = off[i]; p < off[i + 1]; ++p) {
          const T* r = rij + 3 * p;
          const T rsq = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
          T s = 0;
          if (a >= 0 && rsq < t.cutsq && rsq > T(0)) {
            const T rr = sqrt(rsq);
            T q, dedr;
            const std::int32_t m = eam_knot(rr, t.rdr, t.nr, q);
            e += 0.5 * double(eam_pair(t, a, sp[p], rr, m, q, fpi, fp[nbr[p]], dedr));
            s = T(0.5) * dedr / rr;
          }
          for (int d = 0; d < 3; ++d) g[3 * p + d] = s * r[d];
        }
        if (a >= 0) atom_energy[i] += e;
      },
      nullptr, "EAM pairs");
}

template void launch_eam_embedding<float>(int, const DeviceNeighborView<float>&, const EAMView<float>&, float*,
                                          double*);
template void launch_eam_embedding<double>(int, const DeviceNeighborView<double>&, const EAMView<double>&, double*,
                                           double*);
template void launch_eam_pairs<float>(int, const DeviceNeighborView<float>&, const EAMView<float>&, const float*,
                                      double*, float*);
template void launch_eam_pairs<double>(int, const DeviceNeighborView<double>&, const EAMView<double>&, const double*,
                                       double*, double*);

}  // namespace batchmd::model::detail
