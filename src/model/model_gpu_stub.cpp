// SPDX-License-Identifier: Apache-2.0
// model/model_gpu_stub: the model's GPU kernel launchers (lj_gpu_kernels.hpp) in a build without
// the CUDA backend, where no batch can live on a GPU: the host code that calls them compiles and
// links unchanged, and each launcher throws InvalidArgument (never reached in practice). A
// model's GPU kernels declare their launchers in a CUDA-free header and get a stub here.
#include "batchmd/core/error.hpp"
#include "lj_gpu_kernels.hpp"

namespace batchmd::model::gpu {

namespace {
[[noreturn]] void no_cuda() {
  throw InvalidArgument("model: a GPU batch needs the CUDA backend, which this build of batchmd does not have");
}
}  // namespace

template <typename T>
void lj_list_update(int, std::int64_t, const ListArgs<T>&) {
  no_cuda();
}
template <typename T>
void lj_list_build(int, const ListArgs<T>&) {
  no_cuda();
}
template <typename T>
void lj_forces(int, std::int64_t, const std::int64_t*, const ForceArgs<T>&, bool, double*, T*, T*, T*) {
  no_cuda();
}

#define BATCHMD_INSTANTIATE(T)                                            \
  template void lj_list_update<T>(int, std::int64_t, const ListArgs<T>&); \
  template void lj_list_build<T>(int, const ListArgs<T>&);                \
  template void lj_forces<T>(int, std::int64_t, const std::int64_t*, const ForceArgs<T>&, bool, double*, T*, T*, T*);
BATCHMD_INSTANTIATE(float)
BATCHMD_INSTANTIATE(double)
#undef BATCHMD_INSTANTIATE

}  // namespace batchmd::model::gpu
