// SPDX-License-Identifier: Apache-2.0
// hooks/hooks_gpu_stub: the GPU launchers of hooks_gpu.hpp in a build without CUDA, where no
// batch can live on a GPU: each throws InvalidArgument (never reached in practice).
#include "batchmd/core/error.hpp"
#include "hooks_gpu.hpp"

namespace batchmd::hooks::gpu {

namespace {
[[noreturn]] void no_cuda() {
  throw InvalidArgument("hooks: a GPU batch needs the CUDA backend, which this build of batchmd does not have");
}
}  // namespace

void clamp_forces(Batch&, double, std::int64_t*, std::int64_t*) { no_cuda(); }
void wrap_positions(Batch&, std::int32_t*, std::int64_t*, std::int64_t*) { no_cuda(); }
void freeze_capture(Batch&, std::int64_t, const std::uint8_t*, std::uint8_t*, void*, std::int64_t*) { no_cuda(); }
void freeze_pin(Batch&, std::int64_t, const std::uint8_t*, const void*) { no_cuda(); }
void harmonic_restraint(Batch&, double, const double*, const std::uint8_t*, double*) { no_cuda(); }
void add_bias_energy(Batch&, const double*, std::int64_t*) { no_cuda(); }
std::vector<std::uint8_t> nonfinite_systems(const Batch&) { no_cuda(); }
SystemScalars system_scalars(const Batch&, bool) { no_cuda(); }

}  // namespace batchmd::hooks::gpu
