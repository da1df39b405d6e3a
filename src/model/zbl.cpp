// SPDX-License-Identifier: Apache-2.0
// model/zbl: the ZBL Model. Atoms are mapped to the elements present (compact species), a pair
// table is built for them, and each ordered pair of the full NeighborView carries half the pair
// energy and half its gradient (so the sum over both directions is the pair term), which
// gather_pair_gradients turns into forces and the virial. A GPU batch goes to zbl_gpu.
#include "batchmd/model/zbl.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <utility>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "compact_species.hpp"
#include "model_fields.hpp"
#include "neighbor_view.hpp"
#include "zbl_gpu.hpp"
#include "zbl_kernels.hpp"

namespace batchmd::model {

namespace detail {

ZBLSpecies zbl_species(const ZBLConfig& cfg, const Batch& batch, const std::int64_t* z) {
  CompactSpecies cs = compact_species("ZBL", batch, z);
  ZBLSpecies out;
  out.z = std::move(cs.z);
  out.atom = std::move(cs.atom);
  const auto n = out.z.size();
  out.cutoff.assign(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      if (cfg.pairs.allows(out.z[i], out.z[j])) out.cutoff[i * n + j] = cfg.outer;
  return out;
}

}  // namespace detail

namespace {

template <typename T>
struct CpuBuffers {
  detail::NeighborView<T> view;
  std::vector<T> gradient;
  std::vector<double> virial;
  std::vector<detail::ZBLCoeffs<T>> coeffs;
};

}  // namespace

struct ZBL::Impl {
  NeighborList nl;
  CpuBuffers<double> buf_d;
  CpuBuffers<float> buf_f;
  std::unique_ptr<detail::ZBLGpu> gpu;
  explicit Impl(const ZBLConfig& c) : nl(c.outer, c.skin) {}
  CpuBuffers<double>& buffers(double) { return buf_d; }
  CpuBuffers<float>& buffers(float) { return buf_f; }
};

ZBL::ZBL(ZBLConfig config) : config_(std::move(config)) {
  const auto& c = config_;
  if (!std::isfinite(c.inner) || !(c.inner > 0))
    throw InvalidArgument("ZBL: the inner cutoff must be a finite length > 0 Å, got " + std::to_string(c.inner));
  if (!std::isfinite(c.outer) || c.outer < c.inner)
    throw InvalidArgument("ZBL: the outer cutoff must be finite and >= the inner cutoff (" + std::to_string(c.inner) +
                          " Å), got " + std::to_string(c.outer));
  if (!std::isfinite(c.skin) || c.skin < 0)
    throw InvalidArgument("ZBL: skin must be a finite length >= 0 Å, got " + std::to_string(c.skin));
  impl_ = std::make_unique<Impl>(config_);
}
ZBL::~ZBL() = default;

std::int64_t ZBL::neighbor_builds() const {
  return impl_->nl.n_builds() + (impl_->gpu ? impl_->gpu->neighbor_builds() : 0);
}

void ZBL::compute(Batch& batch, bool compute_stress) {
  detail::add_output_fields(batch, compute_stress, "ZBL");
  if (batch.is_cuda()) {
    const Tensor z = batch.get("atomic_numbers").to(Device::cpu());
    const auto sp = detail::zbl_species(config_, batch, z.data<std::int64_t>());
    if (!impl_->gpu) impl_->gpu = std::make_unique<detail::ZBLGpu>(config_);
    impl_->gpu->compute(batch, sp, compute_stress);
    return;
  }
  const auto sp = detail::zbl_species(config_, batch, batch.get("atomic_numbers").data<std::int64_t>());
  dispatch_float(batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    auto& b = impl_->buffers(T{});
    const BatchGeometry<T> g = detail::batch_geometry<T>(batch, "ZBL");
    impl_->nl.update(g);
    const auto n = static_cast<std::int32_t>(sp.z.size());
    detail::ViewRequest req{sp.atom.data(), n, sp.cutoff.data()};
    detail::build_neighbor_view(impl_->nl, g, req, b.view);
    b.coeffs.resize(static_cast<std::size_t>(n * n));
    for (std::int32_t i = 0; i < n; ++i)
      for (std::int32_t j = 0; j < n; ++j)
        b.coeffs[i * n + j] = detail::zbl_coeffs<T>(double(sp.z[i]), double(sp.z[j]), config_.inner, config_.outer);
    const std::int64_t na = g.n_atoms, ns = g.n_systems;
    b.gradient.resize(static_cast<std::size_t>(3 * b.view.n_pairs()));
    std::vector<double> atom_energy(static_cast<std::size_t>(na));
    const auto& v = b.view;
    const detail::ZBLCoeffs<T>* coeffs = b.coeffs.data();
    T* grad = b.gradient.data();
    double* ae = atom_energy.data();
    const std::int32_t* species = sp.atom.data();
    parallel_for(na, [&](std::int64_t i) {
      double e = 0;
      const detail::ZBLCoeffs<T>* row = coeffs + species[i] * n;
      for (std::int64_t p = v.offsets[i]; p < v.offsets[i + 1]; ++p) {
        const T* r = v.rij.data() + 3 * p;
        const T rsq = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
        T de;
        e += 0.5 * double(detail::zbl_pair(row[v.species[p]], rsq, de));
        const T f = T(0.5) * de / std::sqrt(rsq);  // d(E/2)/dr_p = (dE/dr / 2) r_p / |r_p|
        for (int d = 0; d < 3; ++d) grad[3 * p + d] = f * r[d];
      }
      ae[i] = e;
    });
    b.virial.assign(static_cast<std::size_t>(9 * ns), 0.0);
    detail::gather_pair_gradients(v, grad, ns, g.atoms_ptr, batch.get("forces").data<T>(),
                                  compute_stress ? b.virial.data() : nullptr);
    T* energy = batch.get("energy").data<T>();
    for (std::int64_t s = 0; s < ns; ++s) {
      double e = 0;
      for (std::int64_t a = g.atoms_ptr[s]; a < g.atoms_ptr[s + 1]; ++a) e += ae[a];
      energy[s] = static_cast<T>(e);
    }
    if (compute_stress) detail::write_virial_and_stress(batch, b.virial.data(), g);
  });
}

}  // namespace batchmd::model
