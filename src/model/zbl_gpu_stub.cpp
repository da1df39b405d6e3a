// SPDX-License-Identifier: Apache-2.0
// model/zbl_gpu_stub: ZBLGpu in a build without the CUDA backend — no batch can live on a GPU
// there, so it is never used; constructing it says why.
#include "batchmd/core/error.hpp"
#include "zbl_gpu.hpp"

namespace batchmd::model::detail {

struct ZBLGpu::Impl {};

ZBLGpu::ZBLGpu(const ZBLConfig&) { throw InvalidArgument("ZBL: this build has no CUDA backend"); }
ZBLGpu::~ZBLGpu() = default;
void ZBLGpu::compute(Batch&, const ZBLSpecies&, bool) {}
std::int64_t ZBLGpu::neighbor_builds() const { return 0; }

}  // namespace batchmd::model::detail
