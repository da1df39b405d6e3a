// SPDX-License-Identifier: Apache-2.0
// model/snap_gpu_stub: SnapGpu in a build without the CUDA backend — no batch can live on a GPU
// there, so it is never used; constructing it says why.
#include "batchmd/core/error.hpp"
#include "snap_gpu.hpp"

namespace batchmd::model::detail {

struct SnapGpu::Impl {};

SnapGpu::SnapGpu(const SnapTables&, double) { throw InvalidArgument("SNAP: this build has no CUDA backend"); }
SnapGpu::~SnapGpu() = default;
void SnapGpu::compute(Batch&, const std::vector<std::int32_t>&, bool) {}
std::int64_t SnapGpu::neighbor_builds() const { return 0; }

}  // namespace batchmd::model::detail
