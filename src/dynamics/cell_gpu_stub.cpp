// SPDX-License-Identifier: Apache-2.0
// dynamics/cell_gpu_stub: the cell integrators' GPU launchers (cell_gpu.hpp) in a build without
// the CUDA backend, where no batch can live on a GPU: each throws InvalidArgument (never reached:
// every call sits behind batch.is_cuda()).
#include "batchmd/core/error.hpp"
#include "cell_gpu.hpp"

namespace batchmd::dynamics::gpu {

namespace {
[[noreturn]] void no_cuda() {
  throw InvalidArgument("dynamics: a GPU batch needs the CUDA backend, which this build of batchmd does not have");
}
}  // namespace

template <typename T>
void mtk_pre(const Structure&, const MtkArgs<T>&) {
  no_cuda();
}
template <typename T>
void mtk_post(const Structure&, const MtkArgs<T>&) {
  no_cuda();
}
template <typename T>
void csr_pre(const Structure&, const CsrArgs<T>&) {
  no_cuda();
}
template <typename T>
void fire_cell_pre(const Structure&, const FireCellArgs<T>&) {
  no_cuda();
}
template <typename T>
void fire_cell_init(int, std::int64_t, const T*, double*, double*, const std::uint8_t*) {
  no_cuda();
}
template <typename T>
void fire_cell_residual(const Structure&, const FireCellArgs<T>&, const std::uint8_t*) {
  no_cuda();
}

#define BATCHMD_INSTANTIATE(T)                                                                        \
  template void mtk_pre<T>(const Structure&, const MtkArgs<T>&);                                      \
  template void mtk_post<T>(const Structure&, const MtkArgs<T>&);                                     \
  template void csr_pre<T>(const Structure&, const CsrArgs<T>&);                                      \
  template void fire_cell_pre<T>(const Structure&, const FireCellArgs<T>&);                           \
  template void fire_cell_residual<T>(const Structure&, const FireCellArgs<T>&, const std::uint8_t*); \
  template void fire_cell_init<T>(int, std::int64_t, const T*, double*, double*, const std::uint8_t*);
BATCHMD_INSTANTIATE(float)
BATCHMD_INSTANTIATE(double)
#undef BATCHMD_INSTANTIATE

}  // namespace batchmd::dynamics::gpu
