// SPDX-License-Identifier: Apache-2.0
// model/zbl_gpu: ZBL for a GPU batch (CUDA builds) — its pair coefficients and kernel on the
// shared PairTableGpu (full list, table upload, gather and sums).
#include "zbl_gpu.hpp"

#include "pair_table_gpu.hpp"
#include "zbl_gpu_kernels.hpp"

namespace batchmd::model::detail {

struct ZBLGpu::Impl {
  ZBLConfig cfg;
  PairTableGpu<ZBLCoeffs> table;
  explicit Impl(const ZBLConfig& c) : cfg(c), table(c.outer, c.skin) {}

  template <typename T>
  void compute(Batch& batch, const ZBLSpecies& sp, bool stress) {
    table.compute<T>(
        batch, sp.z, sp.atom, sp.cutoff, stress,
        [&](std::int32_t i, std::int32_t j) {
          return zbl_coeffs<T>(double(sp.z[static_cast<std::size_t>(i)]), double(sp.z[static_cast<std::size_t>(j)]),
                               cfg.inner, cfg.outer);
        },
        &launch_zbl<T>);
  }
};

ZBLGpu::ZBLGpu(const ZBLConfig& config) : impl_(std::make_unique<Impl>(config)) {}
ZBLGpu::~ZBLGpu() = default;
std::int64_t ZBLGpu::neighbor_builds() const { return impl_->table.neighbor_builds(); }

void ZBLGpu::compute(Batch& batch, const ZBLSpecies& species, bool compute_stress) {
  if (batch.n_systems() == 0) return;
  dispatch_float(batch.float_dtype(),
                 [&](auto zero) { impl_->compute<decltype(zero)>(batch, species, compute_stress); });
}

}  // namespace batchmd::model::detail
