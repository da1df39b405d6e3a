// SPDX-License-Identifier: Apache-2.0
// model/morse_gpu: Morse for a GPU batch (CUDA builds) — the full list from DeviceFullList, the
// pair table uploaded when the species change, the Morse kernel, and the shared gather and sums.
#include "morse_gpu.hpp"

#include <algorithm>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/tensor.hpp"
#include "full_list_gpu.hpp"
#include "morse_gpu_kernels.hpp"

namespace batchmd::model::detail {

namespace {
double max_cutoff(const MorseConfig& c) {
  double m = 0;
  for (const auto& p : c.pairs) m = std::max(m, p.cutoff);
  return m;
}
}  // namespace

struct MorseGpu::Impl {
  MorseConfig cfg;
  DeviceFullList list;
  Tensor coeffs;  // bytes of [n^2] MorseCoeffs<T>
  std::vector<std::int64_t> coeff_z;
  DType coeff_dtype = DType::Float64;
  Tensor atom_energy, atom_virial, g, scratch;
  explicit Impl(const MorseConfig& c) : cfg(c), list(std::max(max_cutoff(c), 1e-3), c.skin) {}

  template <typename T>
  void compute(Batch& batch, const MorseSpecies& sp, bool stress) {
    const Device dev = batch.device();
    const auto n = static_cast<std::int32_t>(sp.z.size());
    const DeviceNeighborView<T> v = list.update<T>(batch, sp.atom, n, sp.cutoff);
    if (coeff_z != sp.z || coeff_dtype != dtype_of<T>() || !coeffs.defined() || coeffs.device() != dev) {
      std::vector<MorseCoeffs<T>> host(static_cast<std::size_t>(n) * static_cast<std::size_t>(n));
      for (std::size_t k = 0; k < host.size(); ++k) {
        const MorsePair& p = cfg.pairs[static_cast<std::size_t>(sp.pair[k])];
        host[k] = morse_coeffs<T>(p.d0, p.alpha, p.r0, p.cutoff, cfg.shift_energy);
      }
      const auto bytes = static_cast<std::int64_t>(host.size() * sizeof(MorseCoeffs<T>));
      coeffs = Tensor(DType::UInt8, {std::max<std::int64_t>(bytes, 1)}, dev);
      if (bytes > 0)
        cuda::copy_async(coeffs.raw(), host.data(), static_cast<std::size_t>(bytes), cuda::compute_stream(dev.index));
      coeff_z = sp.z;
      coeff_dtype = dtype_of<T>();
    }
    const std::int64_t na = batch.n_atoms(), ns = batch.n_systems();
    auto ensure = [&](Tensor& t, DType dt, std::int64_t count) {
      count = std::max<std::int64_t>(count, 1);
      if (!t.defined() || t.dtype() != dt || t.numel() < count || t.device() != dev) t = Tensor(dt, {count}, dev);
    };
    ensure(atom_energy, DType::Float64, na);
    ensure(g, dtype_of<T>(), 3 * v.n_pairs);
    ensure(scratch, DType::Float64, 10 * ns);
    if (stress) ensure(atom_virial, DType::Float64, 9 * na);
    launch_morse<T>(dev.index, v, static_cast<const MorseCoeffs<T>*>(coeffs.raw()), n, atom_energy.data<double>(),
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

MorseGpu::MorseGpu(const MorseConfig& config) : impl_(std::make_unique<Impl>(config)) {}
MorseGpu::~MorseGpu() = default;
std::int64_t MorseGpu::neighbor_builds() const { return impl_->list.builds(); }

void MorseGpu::compute(Batch& batch, const MorseSpecies& species, bool compute_stress) {
  if (batch.n_systems() == 0) return;
  dispatch_float(batch.float_dtype(),
                 [&](auto zero) { impl_->compute<decltype(zero)>(batch, species, compute_stress); });
}

}  // namespace batchmd::model::detail
