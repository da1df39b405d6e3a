// SPDX-License-Identifier: Apache-2.0
// model/sw_gpu_stub: SWGpu in a build without the CUDA backend — no batch can live on a GPU
// there, so it is never used; constructing it says why.
#include "batchmd/core/error.hpp"
#include "sw_gpu.hpp"

namespace batchmd::model::detail {

struct SWGpu::Impl {};

SWGpu::SWGpu(const SWConfig&) { throw InvalidArgument("Stillinger-Weber: this build has no CUDA backend"); }
SWGpu::~SWGpu() = default;
void SWGpu::compute(Batch&, const std::vector<std::int32_t>&, bool) {}
std::int64_t SWGpu::neighbor_builds() const { return 0; }

}  // namespace batchmd::model::detail
