// SPDX-License-Identifier: Apache-2.0
// dynamics/dynamics_gpu_stub: the dynamics module's GPU launchers (dynamics_gpu.hpp) in a build
// without the CUDA backend, where no batch can live on a GPU: the step loop and the integrators
// compile and link the same code as a CUDA build, and each launcher throws InvalidArgument (never
// reached in practice: every call sits behind batch.is_cuda()).
#include "batchmd/core/error.hpp"
#include "dynamics_gpu.hpp"

namespace batchmd::dynamics::gpu {

namespace {
[[noreturn]] void no_cuda() {
  throw InvalidArgument("dynamics: a GPU batch needs the CUDA backend, which this build of batchmd does not have");
}
}  // namespace

void count_step(const Structure&, std::int64_t*, std::int64_t*) { no_cuda(); }
template <typename T>
void copy_masked(int, std::int64_t, const T*, T*, const std::uint8_t*) {
  no_cuda();
}
void set_status(int, std::int64_t, std::int32_t*, std::int64_t*, const std::uint8_t*, bool) { no_cuda(); }
template <typename T>
void max_force2(const Structure&, const T*, double*) {
  no_cuda();
}
template <typename T>
void kinetic_mv2(const Structure&, const T*, const T*, double*) {
  no_cuda();
}
void pack_convergence(int, std::int64_t, const double*, SysValue, SysValue, const std::int64_t*, double*) { no_cuda(); }
template <typename T>
void vv_pre(const Structure&, T*, T*, const T*, const T*, double) {
  no_cuda();
}
template <typename T>
void vv_half_kick(const Structure&, T*, const T*, const T*, double) {
  no_cuda();
}
void fire_init(int, std::int64_t, double*, double*, std::int64_t*, const std::uint8_t*, double, double) { no_cuda(); }
void zero_rows(int, std::int64_t, std::int64_t, double*, double*, const std::uint8_t*) { no_cuda(); }
template <typename T>
void fire_step(const Structure&, const kern::FireParams&, double, T*, T*, const T*, const T*, double*, double*,
               std::int64_t*, double*) {
  no_cuda();
}
template <typename T>
void fire2_step(const Structure&, const kern::Fire2Params&, double, T*, T*, const T*, const T*, double*, double*,
                std::int64_t*, const std::int64_t*, double*) {
  no_cuda();
}
template <typename T>
void langevin_baoa(const Structure&, T*, T*, const T*, const T*, double, SysValue, SysValue, std::uint64_t,
                   const std::int64_t*, const std::int64_t*) {
  no_cuda();
}
template <typename T>
void half_kick(const Structure&, T*, const T*, const T*, double) {
  no_cuda();
}
template <typename T>
void nhc_half_step(const Structure&, T*, const T*, double*, double*, std::int64_t, double, double, SysValue, double*,
                   T*, const T*) {
  no_cuda();
}

// The instantiations dynamics_gpu.cu and integrators_gpu.cu provide.
#define BATCHMD_INSTANTIATE(T)                                                                                         \
  template void copy_masked<T>(int, std::int64_t, const T*, T*, const std::uint8_t*);                                  \
  template void max_force2<T>(const Structure&, const T*, double*);                                                    \
  template void kinetic_mv2<T>(const Structure&, const T*, const T*, double*);                                         \
  template void vv_pre<T>(const Structure&, T*, T*, const T*, const T*, double);                                       \
  template void vv_half_kick<T>(const Structure&, T*, const T*, const T*, double);                                     \
  template void fire_step<T>(const Structure&, const kern::FireParams&, double, T*, T*, const T*, const T*, double*,   \
                             double*, std::int64_t*, double*);                                                         \
  template void fire2_step<T>(const Structure&, const kern::Fire2Params&, double, T*, T*, const T*, const T*, double*, \
                              double*, std::int64_t*, const std::int64_t*, double*);                                   \
  template void langevin_baoa<T>(const Structure&, T*, T*, const T*, const T*, double, SysValue, SysValue,             \
                                 std::uint64_t, const std::int64_t*, const std::int64_t*);                             \
  template void half_kick<T>(const Structure&, T*, const T*, const T*, double);                                        \
  template void nhc_half_step<T>(const Structure&, T*, const T*, double*, double*, std::int64_t, double, double,       \
                                 SysValue, double*, T*, const T*);
BATCHMD_INSTANTIATE(float)
BATCHMD_INSTANTIATE(double)
#undef BATCHMD_INSTANTIATE

}  // namespace batchmd::dynamics::gpu
