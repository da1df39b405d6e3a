// SPDX-License-Identifier: Apache-2.0
// Test support: the GPU half of SpringChainModel (gpu_test_model.hpp) — forces written and
// per-atom energies summed per system in one segment reduction, then cast to the batch dtype.
#include "batchmd/core/launch.cuh"
#include "batchmd/core/reduce.cuh"
#include "gpu_test_model.hpp"

namespace batchmd::gpu_test {

template <typename T>
void spring_compute_gpu(int device, std::int64_t n_systems, std::int64_t n_atoms, const std::int64_t* atoms_ptr,
                        const std::int64_t* system_index, const T* x, T* f, T* e, double* scratch,
                        const SpringParams& p) {
  (void)n_atoms;
  const SpringParams prm = p;
  cuda::segment_reduce<1>(
      device, n_systems, atoms_ptr,
      [=] __device__(std::int64_t i, double* r) {
        const std::int64_t s = system_index[i];
        double fi[3];
        r[0] = spring_atom(x, i, atoms_ptr[s], atoms_ptr[s + 1], prm, fi);
        for (int k = 0; k < 3; ++k) f[3 * i + k] = static_cast<T>(fi[k]);
      },
      scratch, nullptr, "spring_chain");
  cuda::parallel_for(
      device, n_systems, [=] __device__(std::int64_t s) { e[s] = static_cast<T>(scratch[s]); }, nullptr,
      "spring_chain_energy");
}

template void spring_compute_gpu<float>(int, std::int64_t, std::int64_t, const std::int64_t*, const std::int64_t*,
                                        const float*, float*, float*, double*, const SpringParams&);
template void spring_compute_gpu<double>(int, std::int64_t, std::int64_t, const std::int64_t*, const std::int64_t*,
                                         const double*, double*, double*, double*, const SpringParams&);

}  // namespace batchmd::gpu_test
