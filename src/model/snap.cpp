// SPDX-License-Identifier: Apache-2.0
// model/snap: the SNAP Model — maps atoms to the model's elements, keeps the neighbor list, and
// hands a CPU batch to snap_cpu (through the full NeighborView) or a GPU batch to SnapGpu.
#include "batchmd/model/snap.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"
#include "batchmd/model/neighbor_list.hpp"
#include "model_fields.hpp"
#include "neighbor_view.hpp"
#include "snap_cpu.hpp"
#include "snap_gpu.hpp"

namespace batchmd::model {

namespace {

// Model species of every atom: the element index, or -1 for atoms an ElementPairs restriction
// leaves out. An atom of an element the model does not cover is an error unless restricted.
std::vector<std::int32_t> species_of(const SNAPConfig& cfg, const Batch& batch, const std::int64_t* z) {
  const SNAPParams& p = cfg.params;
  const std::int64_t na = batch.n_atoms();
  std::vector<std::int32_t> sp(static_cast<std::size_t>(na));
  const std::int64_t* ptr = batch.atoms_ptr_data();
  std::int64_t s = 0;
  for (std::int64_t a = 0; a < na; ++a) {
    while (ptr[s + 1] <= a) ++s;
    const int e = p.element_index(z[a]);
    const bool wanted = cfg.pairs.allows(z[a], z[a]);
    if (e < 0 && wanted && cfg.pairs.all()) {
      std::string have;
      for (const auto& el : p.elements) {
        if (!have.empty()) have += ", ";
        have += el.symbol;
      }
      throw InvalidArgument("SNAP: element " + element_label(z[a]) + " (Z = " + std::to_string(z[a]) + ") of atom " +
                            std::to_string(a - ptr[s]) + " in system " + std::to_string(s) +
                            " is not covered by the model (" + have + ")");
    }
    sp[static_cast<std::size_t>(a)] = e >= 0 && wanted ? e : -1;
  }
  return sp;
}

template <typename T>
struct CpuBuffers {
  detail::NeighborView<T> view;
  std::vector<T> atom_energy, gradient;
  std::vector<double> virial;
};

}  // namespace

struct SNAP::Impl {
  detail::SnapTables tables;
  double skin;
  NeighborList nl;
  CpuBuffers<double> buf_d;
  CpuBuffers<float> buf_f;
  std::unique_ptr<detail::SnapGpu> gpu;

  Impl(const SNAPConfig& c)
      : tables(c.params, c.pairs, c.lammps_chemflag_forces),
        skin(c.skin),
        nl(std::max(c.params.max_cutoff(), 1e-3), c.skin) {}

  CpuBuffers<double>& buffers(double) { return buf_d; }
  CpuBuffers<float>& buffers(float) { return buf_f; }

  template <typename T>
  void build_view(const Batch& batch, const std::vector<std::int32_t>& species, CpuBuffers<T>& b) {
    const BatchGeometry<T> g = detail::batch_geometry<T>(batch, "SNAP");
    nl.update(g);
    detail::ViewRequest req{species.data(), tables.scalars.n_elem, tables.cutoff.data()};
    detail::build_neighbor_view(nl, g, req, b.view);
  }
};

SNAP::SNAP(SNAPConfig config) : config_(std::move(config)) {
  if (!std::isfinite(config_.skin) || config_.skin < 0)
    throw InvalidArgument("SNAP: skin must be a finite length >= 0 Å, got " + std::to_string(config_.skin));
  impl_ = std::make_unique<Impl>(config_);
}
SNAP::~SNAP() = default;

double SNAP::cutoff() const { return config_.params.max_cutoff(); }

std::int64_t SNAP::neighbor_builds() const {
  return impl_->nl.n_builds() + (impl_->gpu ? impl_->gpu->neighbor_builds() : 0);
}

std::optional<std::vector<std::int64_t>> SNAP::covered_elements() const {
  if (!config_.pairs.all()) return std::nullopt;  // atoms of other elements are left out, not refused
  std::vector<std::int64_t> z;
  for (const auto& e : config_.params.elements) z.push_back(e.atomic_number);
  std::sort(z.begin(), z.end());
  return z;
}

void SNAP::compute(Batch& batch, bool compute_stress) {
  detail::add_output_fields(batch, compute_stress, "SNAP");
  if (batch.is_cuda()) {
    const Tensor z = batch.get("atomic_numbers").to(Device::cpu());
    const auto species = species_of(config_, batch, z.data<std::int64_t>());
    if (!impl_->gpu) impl_->gpu = std::make_unique<detail::SnapGpu>(impl_->tables, config_.skin);
    impl_->gpu->compute(batch, species, compute_stress);
    return;
  }
  const auto species = species_of(config_, batch, batch.get("atomic_numbers").data<std::int64_t>());
  dispatch_float(batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    auto& b = impl_->buffers(T{});
    impl_->build_view(batch, species, b);
    const std::int64_t na = batch.n_atoms(), ns = batch.n_systems();
    b.atom_energy.resize(static_cast<std::size_t>(na));
    b.gradient.resize(static_cast<std::size_t>(3 * b.view.n_pairs()));
    detail::SnapCpuOut<T> out;
    out.atom_energy = b.atom_energy.data();
    out.pair_gradient = b.gradient.data();
    detail::snap_compute_cpu(impl_->tables, b.view, species.data(), out);
    b.virial.assign(static_cast<std::size_t>(9 * ns), 0.0);
    const std::int64_t* ptr = batch.atoms_ptr_data();
    detail::gather_pair_gradients(b.view, b.gradient.data(), ns, ptr, batch.get("forces").data<T>(),
                                  compute_stress ? b.virial.data() : nullptr);
    T* energy = batch.get("energy").data<T>();
    for (std::int64_t s = 0; s < ns; ++s) {
      double e = 0;
      for (std::int64_t a = ptr[s]; a < ptr[s + 1]; ++a) e += double(b.atom_energy[a]);
      energy[s] = static_cast<T>(e);
    }
    if (compute_stress)
      detail::write_virial_and_stress(batch, b.virial.data(), detail::batch_geometry<T>(batch, "SNAP"));
  });
}

std::vector<double> SNAP::descriptors(const Batch& batch) {
  if (batch.is_cuda()) throw InvalidArgument("SNAP.descriptors: the batch must be on the CPU");
  if (!batch.has("positions") || !batch.has("atomic_numbers"))
    throw InvalidArgument("SNAP.descriptors: the batch needs positions and atomic_numbers");
  const auto species = species_of(config_, batch, batch.get("atomic_numbers").data<std::int64_t>());
  const int K = impl_->tables.scalars.n_coeff;
  std::vector<double> d(static_cast<std::size_t>(batch.n_atoms() * K));
  dispatch_float(batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    auto& b = impl_->buffers(T{});
    impl_->build_view(batch, species, b);
    detail::SnapCpuOut<T> out;
    out.descriptors = d.data();
    detail::snap_compute_cpu(impl_->tables, b.view, species.data(), out);
  });
  return d;
}

}  // namespace batchmd::model
