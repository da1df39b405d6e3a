// SPDX-License-Identifier: Apache-2.0
// model/lennard_jones: the Lennard-Jones Model — adapts a Batch to the neighbor list and the
// LJ kernels, and derives stress from the virial. A batch on a GPU goes to the GPU
// implementation (detail::LJGpu, lj_gpu.hpp); everything else runs on the CPU. Both paths are
// compiled in every build (the model's GPU seam: without CUDA the kernels are stubs).
#include "batchmd/model/lennard_jones.hpp"

#include <cmath>

#include "batchmd/core/error.hpp"
#include "batchmd/model/lennard_jones_kernels.hpp"
#include "batchmd/model/neighbor_list.hpp"
#include "lj_gpu.hpp"

namespace batchmd::model {

namespace {
LJTable make_table(const LJConfig& c) {
  LJTable t(LJPair{c.epsilon, c.sigma, c.cutoff, c.shift_energy});
  for (const auto& p : c.pairs) {
    if (p.z_a < 0 || p.z_b < 0 || p.z_a > LJTable::kMaxZ || p.z_b > LJTable::kMaxZ)
      throw InvalidArgument("LJ pair override: atomic numbers must be in 0.." + std::to_string(LJTable::kMaxZ));
    t.set(static_cast<int>(p.z_a), static_cast<int>(p.z_b), LJPair{p.epsilon, p.sigma, p.cutoff, c.shift_energy});
  }
  return t;
}
}  // namespace

struct LennardJones::Impl {
  LJTable table;
  NeighborList nl;
  // The GPU state, created at the first GPU batch; state() follows the device used last.
  std::unique_ptr<detail::LJGpu> gpu;
  bool last_on_gpu = false;
  detail::LJGpu& gpu_impl(const LJConfig& c) {
    if (!gpu) {
      std::vector<std::int64_t> z;
      for (const auto& p : c.pairs) z.insert(z.end(), {p.z_a, p.z_b});
      gpu = std::make_unique<detail::LJGpu>(table, std::move(z), c.skin);
    }
    last_on_gpu = true;
    return *gpu;
  }
  explicit Impl(const LJConfig& c) : table(make_table(c)), nl(table.max_cutoff(), c.skin) {}
};

LennardJones::LennardJones(LJConfig config) : config_(std::move(config)), impl_(std::make_unique<Impl>(config_)) {}
LennardJones::~LennardJones() = default;

double LennardJones::cutoff() const { return impl_->table.max_cutoff(); }
std::int64_t LennardJones::neighbor_builds() const {
  if (impl_->gpu) return impl_->nl.n_builds() + impl_->gpu->neighbor_builds();
  return impl_->nl.n_builds();
}

namespace {
template <typename T>
BatchGeometry<T> geometry_of(const Batch& batch) {
  BatchGeometry<T> g;
  g.n_systems = batch.n_systems();
  g.n_atoms = batch.n_atoms();
  g.positions = batch.get("positions").data<T>();
  g.atoms_ptr = batch.atoms_ptr_data();
  g.cell = batch.has("cell") ? batch.get("cell").data<T>() : nullptr;
  g.pbc = batch.has("pbc") ? batch.get("pbc").data<bool>() : nullptr;
  if ((g.pbc != nullptr) && g.cell == nullptr) throw InvalidArgument("LennardJones: the batch has pbc but no cell");
  return g;
}
}  // namespace

std::vector<double> LennardJones::state() const {
  if (impl_->last_on_gpu) return impl_->gpu->state();
  return impl_->nl.state();
}

void LennardJones::restore_state(const Batch& batch, std::span<const double> state) {
  if (batch.is_cuda()) return impl_->gpu_impl(config_).restore_state(batch, state);
  impl_->last_on_gpu = false;
  dispatch_float(batch.float_dtype(),
                 [&](auto zero) { impl_->nl.build_from_reference(geometry_of<decltype(zero)>(batch), state); });
}

void LennardJones::compute(Batch& batch, bool compute_stress) {
  if (!batch.has("positions") || !batch.has("atomic_numbers"))
    throw InvalidArgument("LennardJones.compute: the batch needs positions and atomic_numbers");
  batch.add_standard("energy");
  batch.add_standard("forces");
  if (compute_stress) {
    batch.add_standard("virial");
    batch.add_standard("stress");
  }
  if (batch.is_cuda()) return impl_->gpu_impl(config_).compute(batch, compute_stress);
  impl_->last_on_gpu = false;
  dispatch_float(batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const BatchGeometry<T> g = geometry_of<T>(batch);
    impl_->nl.update(g);
    T* virial = compute_stress ? batch.get("virial").data<T>() : nullptr;
    lj_compute(g, batch.get("atomic_numbers").data<std::int64_t>(), impl_->nl, impl_->table,
               batch.get("energy").data<T>(), batch.get("forces").data<T>(), virial);
    if (compute_stress) {
      T* stress = batch.get("stress").data<T>();
      for (std::int64_t s = 0; s < g.n_systems; ++s) {
        const bool periodic = g.pbc && g.pbc[3 * s] && g.pbc[3 * s + 1] && g.pbc[3 * s + 2];
        double vol = 0;
        if (periodic) {
          const T* c = g.cell + 9 * s;
          vol = std::abs(double(c[0]) * (double(c[4]) * c[8] - double(c[5]) * c[7]) -
                         double(c[1]) * (double(c[3]) * c[8] - double(c[5]) * c[6]) +
                         double(c[2]) * (double(c[3]) * c[7] - double(c[4]) * c[6]));
        }
        for (int k = 0; k < 9; ++k)
          stress[9 * s + k] = vol > 0 ? static_cast<T>(-double(virial[9 * s + k]) / vol) : T(0);
      }
    }
  });
}

}  // namespace batchmd::model
