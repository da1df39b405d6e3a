// SPDX-License-Identifier: Apache-2.0
// model/eam_gpu_stub: EAMGpu in a build without the CUDA backend — no batch can live on a GPU
// there, so it is never used; constructing it says why.
#include "batchmd/core/error.hpp"
#include "eam_gpu.hpp"

namespace batchmd::model::detail {

struct EAMGpu::Impl {};

EAMGpu::EAMGpu(const EAMConfig&) { throw InvalidArgument("EAM: this build has no CUDA backend"); }
EAMGpu::~EAMGpu() = default;
void EAMGpu::compute(Batch&, const EAMSpecies&, bool) {}
std::int64_t EAMGpu::neighbor_builds() const { return 0; }

}  // namespace batchmd::model::detail
