// SPDX-License-Identifier: Apache-2.0
// model/morse_gpu_stub: MorseGpu in a build without the CUDA backend — no batch can live on a GPU
// there, so it is never used; constructing it says why.
#include "batchmd/core/error.hpp"
#include "morse_gpu.hpp"

namespace batchmd::model::detail {

struct MorseGpu::Impl {};

MorseGpu::MorseGpu(const MorseConfig&) { throw InvalidArgument("Morse: this build has no CUDA backend"); }
MorseGpu::~MorseGpu() = default;
void MorseGpu::compute(Batch&, const MorseSpecies&, bool) {}
std::int64_t MorseGpu::neighbor_builds() const { return 0; }

}  // namespace batchmd::model::detail
