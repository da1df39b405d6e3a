// SPDX-License-Identifier: Apache-2.0
// model/sw_gpu: Stillinger–Weber for a GPU batch (CUDA builds) — the full list from
// DeviceFullList, the coefficient tables uploaded once per float type, the SW kernel, and the
// shared gather and sums.
#include "sw_gpu.hpp"

#include <algorithm>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/tensor.hpp"
#include "device_buffer.hpp"
#include "full_list_gpu.hpp"
#include "sw_gpu_kernels.hpp"

namespace batchmd::model::detail {

struct SWGpu::Impl {
  SWConfig cfg;
  DeviceFullList list;
  std::vector<double> view_cutoff;
  Tensor pair, triplet;  // bytes of the coefficient tables
  DType table_dtype = DType::Float64;
  int table_device = -1;
  Tensor atom_energy, atom_virial, g, radial, scratch;
  explicit Impl(const SWConfig& c)
      : cfg(c),
        list(std::max(c.params.max_cutoff(), 1e-3), c.skin),
        view_cutoff(sw_tables<double>(c.params).view_cutoff) {}

  template <typename V>
  static void upload_bytes(Tensor& dst, const std::vector<V>& host, const Device& dev) {
    const auto bytes = static_cast<std::int64_t>(host.size() * sizeof(V));
    dst = Tensor(DType::UInt8, {std::max<std::int64_t>(bytes, 1)}, dev);
    if (bytes > 0)
      cuda::copy_async(dst.raw(), host.data(), static_cast<std::size_t>(bytes), cuda::compute_stream(dev.index));
  }

  template <typename T>
  void compute(Batch& batch, const std::vector<std::int32_t>& sp, bool stress) {
    const Device dev = batch.device();
    const auto n = static_cast<std::int32_t>(cfg.params.elements.size());
    const DeviceNeighborView<T> v = list.update<T>(batch, sp, n, view_cutoff);
    if (!pair.defined() || table_dtype != dtype_of<T>() || table_device != dev.index) {
      const SWTables<T> t = sw_tables<T>(cfg.params);
      upload_bytes(pair, t.pair, dev);
      upload_bytes(triplet, t.triplet, dev);
      table_dtype = dtype_of<T>();
      table_device = dev.index;
    }
    const std::int64_t na = batch.n_atoms(), ns = batch.n_systems();
    ensure_buffer(atom_energy, DType::Float64, na, dev);
    ensure_buffer(g, dtype_of<T>(), 3 * v.n_pairs, dev);
    ensure_buffer(radial, dtype_of<T>(), 2 * v.n_pairs, dev);
    ensure_buffer(scratch, DType::Float64, 10 * ns, dev);
    if (stress) ensure_buffer(atom_virial, DType::Float64, 9 * na, dev);
    launch_sw<T>(dev.index, v, static_cast<const SWPairCoeffs<T>*>(pair.raw()),
                 static_cast<const SWTripletCoeffs<T>*>(triplet.raw()), n, radial.data<T>(), atom_energy.data<double>(),
                 g.data<T>());
    double* av = stress ? atom_virial.data<double>() : nullptr;
    launch_gather_forces<T>(dev.index, v, g.data<T>(), batch.get("forces").data<T>(), av);
    launch_system_outputs<T>(dev.index, v, atom_energy.data<double>(), av,
                             batch.has("cell") ? batch.get("cell").data<T>() : nullptr,
                             batch.has("pbc") ? batch.get("pbc").data<bool>() : nullptr, scratch.data<double>(),
                             batch.get("energy").data<T>(), stress ? batch.get("virial").data<T>() : nullptr,
                             stress ? batch.get("stress").data<T>() : nullptr);
  }
};

SWGpu::SWGpu(const SWConfig& config) : impl_(std::make_unique<Impl>(config)) {}
SWGpu::~SWGpu() = default;
std::int64_t SWGpu::neighbor_builds() const { return impl_->list.builds(); }

void SWGpu::compute(Batch& batch, const std::vector<std::int32_t>& species, bool compute_stress) {
  if (batch.n_systems() == 0) return;
  dispatch_float(batch.float_dtype(),
                 [&](auto zero) { impl_->compute<decltype(zero)>(batch, species, compute_stress); });
}

}  // namespace batchmd::model::detail
