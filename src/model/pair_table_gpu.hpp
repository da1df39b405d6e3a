// SPDX-License-Identifier: Apache-2.0
// model/pair_table_gpu: the host side that the per-element-pair GPU models (Morse, ZBL) share —
// the full list from DeviceFullList, their [n_species²] coefficient table uploaded when the
// species or the float type change, the work buffers, and after the model's pair kernel the
// shared force gather and per-system sums. CUDA builds only (included by *_gpu.cpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/tensor.hpp"
#include "batchmd/data/batch.hpp"
#include "device_buffer.hpp"
#include "full_list_gpu.hpp"

namespace batchmd::model::detail {

/// Coeffs<T>: the model's per-species-pair coefficients, trivially copyable.
template <template <typename> class Coeffs>
class PairTableGpu {
 public:
  PairTableGpu(double cutoff, double skin) : list_(cutoff, skin) {}
  std::int64_t neighbor_builds() const { return list_.builds(); }

  /// species_z: atomic number of each species; atom: [n_atoms] species of each atom; cutoff:
  /// [n²] per species pair (0: no interaction). make(i, j) gives Coeffs<T> of species i and j
  /// (called only when the table must be rebuilt); launch(device, view, coeffs, n, atom_energy,
  /// g) is the model's pair kernel (energy per atom, gradient per ordered pair).
  template <typename T, typename Make, typename Launch>
  void compute(Batch& batch, const std::vector<std::int64_t>& species_z, const std::vector<std::int32_t>& atom,
               const std::vector<double>& cutoff, bool stress, Make&& make, Launch&& launch) {
    const Device dev = batch.device();
    const auto n = static_cast<std::int32_t>(species_z.size());
    const DeviceNeighborView<T> v = list_.template update<T>(batch, atom, n, cutoff);
    if (coeff_z_ != species_z || coeff_dtype_ != dtype_of<T>() || !coeffs_.defined() || coeffs_.device() != dev) {
      std::vector<Coeffs<T>> host(static_cast<std::size_t>(n) * static_cast<std::size_t>(n));
      for (std::int32_t i = 0; i < n; ++i)
        for (std::int32_t j = 0; j < n; ++j) host[static_cast<std::size_t>(i * n + j)] = make(i, j);
      const auto bytes = static_cast<std::int64_t>(host.size() * sizeof(Coeffs<T>));
      coeffs_ = Tensor(DType::UInt8, {std::max<std::int64_t>(bytes, 1)}, dev);
      if (bytes > 0)
        cuda::copy_async(coeffs_.raw(), host.data(), static_cast<std::size_t>(bytes), cuda::compute_stream(dev.index));
      coeff_z_ = species_z;
      coeff_dtype_ = dtype_of<T>();
    }
    const std::int64_t na = batch.n_atoms(), ns = batch.n_systems();
    ensure_buffer(atom_energy_, DType::Float64, na, dev);
    ensure_buffer(g_, dtype_of<T>(), 3 * v.n_pairs, dev);
    ensure_buffer(scratch_, DType::Float64, 10 * ns, dev);
    if (stress) ensure_buffer(atom_virial_, DType::Float64, 9 * na, dev);
    launch(dev.index, v, static_cast<const Coeffs<T>*>(coeffs_.raw()), n, atom_energy_.data<double>(), g_.data<T>());
    double* av = stress ? atom_virial_.data<double>() : nullptr;
    launch_gather_forces<T>(dev.index, v, g_.data<T>(), batch.get("forces").data<T>(), av);
    launch_system_outputs<T>(dev.index, v, atom_energy_.data<double>(), av,
                             batch.has("cell") ? batch.get("cell").data<T>() : nullptr,
                             batch.has("pbc") ? batch.get("pbc").data<bool>() : nullptr, scratch_.data<double>(),
                             batch.get("energy").data<T>(), stress ? batch.get("virial").data<T>() : nullptr,
                             stress ? batch.get("stress").data<T>() : nullptr);
  }

 private:
  DeviceFullList list_;
  Tensor coeffs_;  // bytes of [n²] Coeffs<T>
  std::vector<std::int64_t> coeff_z_;
  DType coeff_dtype_ = DType::Float64;
  Tensor atom_energy_, atom_virial_, g_, scratch_;
};

}  // namespace batchmd::model::detail
