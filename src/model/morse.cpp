// SPDX-License-Identifier: Apache-2.0
// model/morse: the Morse Model. Atoms are mapped to the elements present (compact species), the
// pair table is built for them, and morse_atom gives each ordered pair of the full NeighborView
// half the pair energy and half its gradient, which gather_pair_gradients turns into forces and
// the virial. A GPU batch goes to morse_gpu.
#include "batchmd/model/morse.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <utility>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/data/schema.hpp"
#include "compact_species.hpp"
#include "model_fields.hpp"
#include "morse_gpu.hpp"
#include "morse_kernels.hpp"
#include "neighbor_view.hpp"
#include "neighbor_view_cache.hpp"

namespace batchmd::model {

namespace detail {

MorseSpecies morse_species(const MorseConfig& cfg, const Batch& batch, const std::int64_t* z) {
  CompactSpecies cs = compact_species("Morse", batch, z);
  const auto& index = cs.index;
  MorseSpecies out;
  out.z = std::move(cs.z);
  out.atom = std::move(cs.atom);
  const auto n = out.z.size();
  out.pair.assign(n * n, -1);
  out.cutoff.assign(n * n, 0.0);
  for (std::size_t k = 0; k < cfg.pairs.size(); ++k) {
    const MorsePair& p = cfg.pairs[k];
    const std::int32_t a = index[static_cast<std::size_t>(p.z_a)], b = index[static_cast<std::size_t>(p.z_b)];
    if (a < 0 || b < 0) continue;
    for (auto [i, j] : {std::pair(a, b), std::pair(b, a)}) {
      out.pair[static_cast<std::size_t>(i) * n + static_cast<std::size_t>(j)] = static_cast<std::int32_t>(k);
      out.cutoff[static_cast<std::size_t>(i) * n + static_cast<std::size_t>(j)] = p.cutoff;
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i; j < n; ++j)
      if (out.pair[i * n + j] < 0)
        throw InvalidArgument("Morse: no parameters for the element pair " + element_label(out.z[i]) + "-" +
                              element_label(out.z[j]) + " (both are in the batch; every pair needs an entry)");
  return out;
}

double max_cutoff(const MorseConfig& c) {
  double m = 0;
  for (const auto& p : c.pairs) m = std::max(m, p.cutoff);
  return m;
}

}  // namespace detail

namespace {

template <typename T>
struct CpuBuffers {
  detail::NeighborViewCache<T> cache;
  std::vector<T> gradient;
  std::vector<double> atom_energy, virial;
  std::vector<detail::MorseCoeffs<T>> coeffs;
};

}  // namespace

struct Morse::Impl {
  NeighborList nl;
  CpuBuffers<double> buf_d;
  CpuBuffers<float> buf_f;
  std::unique_ptr<detail::MorseGpu> gpu;
  explicit Impl(const MorseConfig& c) : nl(detail::max_cutoff(c), c.skin) {}
  CpuBuffers<double>& buffers(double) { return buf_d; }
  CpuBuffers<float>& buffers(float) { return buf_f; }
};

Morse::Morse(MorseConfig config) : config_(std::move(config)) {
  const auto& c = config_;
  if (c.pairs.empty()) throw InvalidArgument("Morse: no element pairs given");
  for (std::size_t k = 0; k < c.pairs.size(); ++k) {
    const MorsePair& p = c.pairs[k];
    const std::string who =
        "Morse: pair " + std::to_string(k) + " (" + element_label(p.z_a) + "-" + element_label(p.z_b) + ")";
    if (p.z_a < 1 || p.z_a > 118 || p.z_b < 1 || p.z_b > 118)
      throw InvalidArgument(who + ": atomic numbers must be in 1..118");
    if (!std::isfinite(p.d0) || p.d0 < 0) throw InvalidArgument(who + ": d0 must be a finite energy >= 0 eV");
    if (!std::isfinite(p.alpha) || !(p.alpha > 0)) throw InvalidArgument(who + ": alpha must be finite and > 0 1/Å");
    if (!std::isfinite(p.r0) || !(p.r0 > 0)) throw InvalidArgument(who + ": r0 must be finite and > 0 Å");
    if (!std::isfinite(p.cutoff) || !(p.cutoff > 0)) throw InvalidArgument(who + ": cutoff must be finite and > 0 Å");
    for (std::size_t m = 0; m < k; ++m)
      if (std::minmax(p.z_a, p.z_b) == std::minmax(c.pairs[m].z_a, c.pairs[m].z_b))
        throw InvalidArgument(who + ": the same element pair as pair " + std::to_string(m));
  }
  if (!std::isfinite(c.skin) || c.skin < 0)
    throw InvalidArgument("Morse: skin must be a finite length >= 0 Å, got " + std::to_string(c.skin));
  impl_ = std::make_unique<Impl>(config_);
}
Morse::~Morse() = default;

double Morse::cutoff() const { return detail::max_cutoff(config_); }

std::int64_t Morse::neighbor_builds() const {
  return impl_->nl.n_builds() + (impl_->gpu ? impl_->gpu->neighbor_builds() : 0);
}

void Morse::compute(Batch& batch, bool compute_stress) {
  detail::add_output_fields(batch, compute_stress, "Morse");
  if (batch.is_cuda()) {
    const Tensor z = batch.get("atomic_numbers").to(Device::cpu());
    const auto sp = detail::morse_species(config_, batch, z.data<std::int64_t>());
    if (!impl_->gpu) impl_->gpu = std::make_unique<detail::MorseGpu>(config_);
    impl_->gpu->compute(batch, sp, compute_stress);
    return;
  }
  const auto sp = detail::morse_species(config_, batch, batch.get("atomic_numbers").data<std::int64_t>());
  dispatch_float(batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    auto& b = impl_->buffers(T{});
    const BatchGeometry<T> g = detail::batch_geometry<T>(batch, "Morse");
    const auto n = static_cast<std::int32_t>(sp.z.size());
    detail::ViewRequest req{sp.atom.data(), n, sp.cutoff.data()};
    const detail::NeighborView<T>& v = b.cache.update(impl_->nl, g, req);
    b.coeffs.resize(static_cast<std::size_t>(n * n));
    for (std::size_t k = 0; k < b.coeffs.size(); ++k) {
      const MorsePair& p = config_.pairs[static_cast<std::size_t>(sp.pair[k])];
      b.coeffs[k] = detail::morse_coeffs<T>(p.d0, p.alpha, p.r0, p.cutoff, config_.shift_energy);
    }
    const std::int64_t na = g.n_atoms, ns = g.n_systems;
    b.gradient.resize(static_cast<std::size_t>(3 * v.n_pairs()));
    b.atom_energy.resize(static_cast<std::size_t>(na));
    T* grad = b.gradient.data();
    double* ae = b.atom_energy.data();
    const T* rij = v.rij.data();
    const std::int32_t* nsp = v.species.data();
    const std::int64_t* off = v.offsets.data();
    const std::int32_t* species = sp.atom.data();
    const detail::MorseCoeffs<T>* coeffs = b.coeffs.data();
    parallel_for(na, [&](std::int64_t i) {
      ae[i] = detail::morse_atom(off[i], off[i + 1], species[i], rij, nsp, coeffs + species[i] * n, grad);
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
