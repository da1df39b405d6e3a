// SPDX-License-Identifier: Apache-2.0
// model/morse_gpu: Morse for a GPU batch (CUDA builds) — its pair coefficients and kernel on the
// shared PairTableGpu (full list, table upload, gather and sums).
#include "morse_gpu.hpp"

#include <algorithm>

#include "morse_gpu_kernels.hpp"
#include "pair_table_gpu.hpp"

namespace batchmd::model::detail {

struct MorseGpu::Impl {
  MorseConfig cfg;
  PairTableGpu<MorseCoeffs> table;
  explicit Impl(const MorseConfig& c) : cfg(c), table(std::max(max_cutoff(c), 1e-3), c.skin) {}

  template <typename T>
  void compute(Batch& batch, const MorseSpecies& sp, bool stress) {
    const auto n = sp.z.size();
    table.compute<T>(
        batch, sp.z, sp.atom, sp.cutoff, stress,
        [&](std::int32_t i, std::int32_t j) {
          const MorsePair& p = cfg.pairs[static_cast<std::size_t>(
              sp.pair[static_cast<std::size_t>(i) * n + static_cast<std::size_t>(j)])];
          return morse_coeffs<T>(p.d0, p.alpha, p.r0, p.cutoff, cfg.shift_energy);
        },
        &launch_morse<T>);
  }
};

MorseGpu::MorseGpu(const MorseConfig& config) : impl_(std::make_unique<Impl>(config)) {}
MorseGpu::~MorseGpu() = default;
std::int64_t MorseGpu::neighbor_builds() const { return impl_->table.neighbor_builds(); }

void MorseGpu::compute(Batch& batch, const MorseSpecies& species, bool compute_stress) {
  if (batch.n_systems() == 0) return;
  dispatch_float(batch.float_dtype(),
                 [&](auto zero) { impl_->compute<decltype(zero)>(batch, species, compute_stress); });
}

}  // namespace batchmd::model::detail
