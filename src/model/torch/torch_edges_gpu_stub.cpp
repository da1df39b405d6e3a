// SPDX-License-Identifier: Apache-2.0
// model/torch/torch_edges_gpu_stub: TorchEdgesGpu in a build without the CUDA backend — no batch
// can live on a GPU there, so it is never used; constructing it says why.
#include "batchmd/core/error.hpp"
#include "torch_edges_gpu.hpp"

namespace batchmd::model::detail {

struct TorchEdgesGpu::Impl {};

TorchEdgesGpu::TorchEdgesGpu(double, double) { throw InvalidArgument("TorchScript: this build has no CUDA backend"); }
TorchEdgesGpu::~TorchEdgesGpu() = default;
std::int64_t TorchEdgesGpu::builds() const { return 0; }
std::int32_t* TorchEdgesGpu::side_word(int) { return nullptr; }
void launch_torch_z_changed(int, std::int64_t, const std::int64_t*, const std::int64_t*, std::int32_t*) {}

template <typename T>
DeviceEdges<T> TorchEdgesGpu::update(const Batch&, const std::vector<std::int32_t>&, std::int32_t, std::uint64_t,
                                     bool) {
  return {};
}
template DeviceEdges<float> TorchEdgesGpu::update<float>(const Batch&, const std::vector<std::int32_t>&, std::int32_t,
                                                         std::uint64_t, bool);
template DeviceEdges<double> TorchEdgesGpu::update<double>(const Batch&, const std::vector<std::int32_t>&, std::int32_t,
                                                           std::uint64_t, bool);

template <typename T>
void launch_torch_stress(int, std::int64_t, const T*, const T*, const bool*, T*) {}
template void launch_torch_stress<float>(int, std::int64_t, const float*, const float*, const bool*, float*);
template void launch_torch_stress<double>(int, std::int64_t, const double*, const double*, const bool*, double*);

}  // namespace batchmd::model::detail
