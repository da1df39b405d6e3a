// SPDX-License-Identifier: Apache-2.0
// Test support: the GPU half of SpringChainModel (gpu_test_model.hpp) for the CPU test binaries,
// which never hold a GPU batch — the same seam the library's modules use (a stub where the CUDA
// file is not built). gpu_test_model.cu is the real one, linked into the GPU binary.
#include "batchmd/core/error.hpp"
#include "gpu_test_model.hpp"

namespace batchmd::gpu_test {

template <typename T>
void spring_compute_gpu(int, std::int64_t, std::int64_t, const std::int64_t*, const std::int64_t*, const T*, T*, T*,
                        double*, const SpringParams&) {
  throw InvalidArgument("SpringChainModel: a GPU batch in a CPU test binary");
}

template void spring_compute_gpu<float>(int, std::int64_t, std::int64_t, const std::int64_t*, const std::int64_t*,
                                        const float*, float*, float*, double*, const SpringParams&);
template void spring_compute_gpu<double>(int, std::int64_t, std::int64_t, const std::int64_t*, const std::int64_t*,
                                         const double*, double*, double*, double*, const SpringParams&);

}  // namespace batchmd::gpu_test
