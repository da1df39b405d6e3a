// SPDX-License-Identifier: Apache-2.0
// model/sw: the Stillinger–Weber Model — maps atoms to the model's elements, keeps the neighbor
// list, and on the CPU evaluates sw_atom over the pairs inside the cutoff
// (NeighborViewCache::update_inside; per-pair gradients, then the shared gather into forces and
// virial), or hands a GPU batch to SWGpu.
#include <algorithm>
#include <cmath>
#include <string>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/data/schema.hpp"
#include "batchmd/model/neighbor_list.hpp"
#include "batchmd/model/stillinger_weber.hpp"
#include "model_fields.hpp"
#include "neighbor_view.hpp"
#include "neighbor_view_cache.hpp"
#include "sw_gpu.hpp"
#include "sw_kernels.hpp"

namespace batchmd::model {

namespace detail {

std::vector<std::int32_t> sw_species(const SWParams& p, const Batch& batch, const std::int64_t* z) {
  const std::int64_t na = batch.n_atoms();
  std::vector<std::int32_t> sp(static_cast<std::size_t>(na));
  const std::int64_t* ptr = batch.atoms_ptr_data();
  std::int64_t s = 0;
  for (std::int64_t a = 0; a < na; ++a) {
    while (ptr[s + 1] <= a) ++s;
    const int e = p.element_index(z[a]);
    if (e < 0) {
      std::string have;
      for (const auto el : p.elements) {
        if (!have.empty()) have += ", ";
        have += element_label(el);
      }
      throw InvalidArgument("Stillinger-Weber: element " + element_label(z[a]) + " (Z = " + std::to_string(z[a]) +
                            ") of atom " + std::to_string(a - ptr[s]) + " in system " + std::to_string(s) +
                            " is not covered by the model (" + have + ")");
    }
    sp[static_cast<std::size_t>(a)] = e;
  }
  return sp;
}

}  // namespace detail

namespace {

template <typename T>
struct CpuBuffers {
  detail::SWTables<T> tables;
  detail::NeighborViewCache<T> cache;
  std::vector<T> gradient, radial;
  std::vector<double> atom_energy, virial;
};

}  // namespace

struct StillingerWeber::Impl {
  NeighborList nl;
  CpuBuffers<double> buf_d;
  CpuBuffers<float> buf_f;
  std::unique_ptr<detail::SWGpu> gpu;
  Impl(const SWConfig& c) : nl(std::max(c.params.max_cutoff(), 1e-3), c.skin) {
    buf_d.tables = detail::sw_tables<double>(c.params);
    buf_f.tables = detail::sw_tables<float>(c.params);
  }
  CpuBuffers<double>& buffers(double) { return buf_d; }
  CpuBuffers<float>& buffers(float) { return buf_f; }
};

StillingerWeber::StillingerWeber(SWConfig config) : config_(std::move(config)) {
  const auto& p = config_.params;
  const auto n = p.elements.size();
  if (n == 0) throw InvalidArgument("Stillinger-Weber: the parameters have no elements");
  if (p.entries.size() != n * n * n)
    throw InvalidArgument("Stillinger-Weber: expected " + std::to_string(n * n * n) + " entries for " +
                          std::to_string(n) + " elements, got " + std::to_string(p.entries.size()));
  if (!std::isfinite(config_.skin) || config_.skin < 0)
    throw InvalidArgument("Stillinger-Weber: skin must be a finite length >= 0 Å, got " + std::to_string(config_.skin));
  impl_ = std::make_unique<Impl>(config_);
}
StillingerWeber::~StillingerWeber() = default;

double StillingerWeber::cutoff() const { return config_.params.max_cutoff(); }

std::int64_t StillingerWeber::neighbor_builds() const {
  return impl_->nl.n_builds() + (impl_->gpu ? impl_->gpu->neighbor_builds() : 0);
}

void StillingerWeber::compute(Batch& batch, bool compute_stress) {
  detail::add_output_fields(batch, compute_stress, "Stillinger-Weber");
  if (batch.is_cuda()) {
    const Tensor z = batch.get("atomic_numbers").to(Device::cpu());
    const auto sp = detail::sw_species(config_.params, batch, z.data<std::int64_t>());
    if (!impl_->gpu) impl_->gpu = std::make_unique<detail::SWGpu>(config_);
    impl_->gpu->compute(batch, sp, compute_stress);
    return;
  }
  const auto sp = detail::sw_species(config_.params, batch, batch.get("atomic_numbers").data<std::int64_t>());
  dispatch_float(batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    auto& b = impl_->buffers(T{});
    const BatchGeometry<T> g = detail::batch_geometry<T>(batch, "Stillinger-Weber");
    const auto n = static_cast<std::int32_t>(config_.params.elements.size());
    detail::ViewRequest req{sp.data(), n, b.tables.view_cutoff.data()};
    // The cached view holds every pair within cutoff + skin (28 per atom for crystalline Si, 4 of
    // them inside the cutoff); the kernel and the gather run over the inside ones only.
    const detail::NeighborView<T>& v = b.cache.update_inside(impl_->nl, g, req, b.tables.view_cutoff.data());
    const std::int64_t na = g.n_atoms, ns = g.n_systems;
    b.gradient.resize(static_cast<std::size_t>(3 * v.n_pairs()));
    b.radial.resize(static_cast<std::size_t>(2 * v.n_pairs()));
    b.atom_energy.resize(static_cast<std::size_t>(na));
    T* grad = b.gradient.data();
    T* radial = b.radial.data();
    double* ae = b.atom_energy.data();
    const T* rij = v.rij.data();
    const std::int32_t* nsp = v.species.data();
    const std::int64_t* off = v.offsets.data();
    const std::int64_t* rev = v.reverse.data();
    const std::int32_t* species = sp.data();
    const detail::SWPairCoeffs<T>* pair = b.tables.pair.data();
    const detail::SWTripletCoeffs<T>* triplet = b.tables.triplet.data();
    parallel_for(na, [&](std::int64_t i) {
      ae[i] = detail::sw_atom(off[i], off[i + 1], species[i], rij, nsp, rev, pair, triplet, n, radial, grad);
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
