// SPDX-License-Identifier: Apache-2.0
// dynamics/npt_csr: StochasticCellRescaling (Bernetti & Bussi 2020) with Langevin BAOAB on the
// particles, per system on CPU batches, isotropic (one log-volume) or anisotropic (a symmetric
// strain: six cell degrees of freedom, no rigid rotation). The cell move is done first in a step,
// from the pressure (tensor) of the state the step starts from, then BAOA; the last B follows
// the forces.
#include <array>
#include <cmath>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/dynamics/cell_math.hpp"
#include "batchmd/dynamics/integrator_kernels.hpp"
#include "batchmd/dynamics/langevin_noise.hpp"
#include "batchmd/dynamics/npt.hpp"
#include "batchmd/dynamics/random.hpp"
#include "batchmd/dynamics/units.hpp"
#include "cell_dynamics.hpp"
#include "cell_gpu.hpp"
#include "cell_kernels.hpp"

namespace batchmd::dynamics {

namespace {
void check_positive(double v, const std::string& what) {
  if (!(v > 0 && std::isfinite(v))) throw InvalidArgument(what + " must be a positive finite number");
}
/// The barostat's noise stream: Philox keyed apart from the particles' Langevin noise.
constexpr std::uint64_t kCellNoiseKey = 0x9E3779B97F4A7C15ULL;

/// x ← m x for one 3-vector of T, in double.
template <typename T>
void apply3(const double* m, T* x) {
  const double a = double(x[0]), b = double(x[1]), c = double(x[2]);
  for (int i = 0; i < 3; ++i) x[i] = static_cast<T>(m[3 * i] * a + m[3 * i + 1] * b + m[3 * i + 2] * c);
}
}  // namespace

StochasticCellRescaling::StochasticCellRescaling(std::shared_ptr<model::Model> model, double dt_fs, CSRConfig config)
    : Dynamics(std::move(model), dt_fs), cfg_(config), gpu_status_(std::make_shared<detail::CellStatusRing>()) {
  check_positive(cfg_.temperature_K, "npt_csr temperature_K");
  check_positive(cfg_.tau_p_fs, "npt_csr tau_p_fs (barostat relaxation time)");
  check_positive(cfg_.compressibility, "npt_csr compressibility (1/bar)");
  check_positive(cfg_.friction_per_fs, "npt_csr friction_per_fs");
  detail::check_stage_target(cfg_.pressure, cfg_.stress, cfg_.mode, "npt_csr");
  tracks_status_ = true;
}

void StochasticCellRescaling::init_state(Batch& b, const std::vector<bool>& which) {
  detail::require_periodic_cells(b, which, name());
  detail::pressure_targets(b, cfg_.pressure, cfg_.stress, cfg_.mode, which, name());  // bad targets: before any step
}

void StochasticCellRescaling::pre_update(Context& ctx) {
  Batch& b = ctx.batch;
  if (b.is_cuda()) {
    gpu_status_->poll(b, name());
    dispatch_float(b.float_dtype(), [&](auto zero) {
      using T = decltype(zero);
      gpu::CsrArgs<T> a{};
      detail::fill_cell_args<T>(a, b, detail::device_targets(b, cfg_.pressure, cfg_.stress, cfg_.mode, name()),
                                device_scratch(1, gpu::kCsrScratch * b.n_systems(), b.device()), *gpu_status_);
      a.system_id = b.get("system_id").data<std::int64_t>();
      a.step = b.get("step").data<std::int64_t>();
      a.tau_p = cfg_.tau_p_fs;
      a.beta = cfg_.compressibility / units::kBar;
      a.friction = cfg_.friction_per_fs;
      a.dt = ctx.dt_fs;
      a.seed = cfg_.seed;
      a.cell_seed = cfg_.seed ^ kCellNoiseKey;
      a.temperature = gpu::sys_value(b, "thermostat_temperature", cfg_.temperature_K);
      gpu::csr_pre(gpu::structure(b, ctx.active_device), a);
      gpu_status_->after_step(b);
    });
    return;
  }
  const auto which = detail::active_mask(ctx);
  detail::require_periodic_cells(b, which, name());
  const double dt = ctx.dt_fs;
  const auto temp = system_parameter(b, "thermostat_temperature", cfg_.temperature_K);
  const auto pt = detail::pressure_targets(b, cfg_.pressure, cfg_.stress, cfg_.mode, which, name());
  const auto wvir = detail::read_mat3(b, "virial");
  const auto cells_before = detail::read_mat3(b, "cell");
  auto cells = cells_before;
  const auto vol = cell_volume(b);
  const auto* sid = b.get("system_id").data<std::int64_t>();
  const auto* st = b.get("step").data<std::int64_t>();
  const auto* ap = b.atoms_ptr_data();
  const double beta = cfg_.compressibility / units::kBar;  // Å³/eV
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* x = b.get("positions").data<T>();
    T* v = b.get("velocities").data<T>();
    const T* f = b.get("forces").data<T>();
    const T* m = b.get("masses").data<T>();
    parallel_for_dynamic(b.n_systems(), [&](std::int64_t s) {
      const auto su = static_cast<std::size_t>(s);
      const std::int64_t a0 = ap[s], a1 = ap[s + 1];
      if (!ctx.is_active(s) || a1 == a0) return;
      const double kt = units::kBoltzmann * temp[su], V = vol[su];
      const kern::LangevinCoeffs lc = kern::langevin_coeffs(cfg_.friction_per_fs, temp[su], dt);
      if (cfg_.mode == CellMode::Full) {
        double p_int[9];
        detail::kinetic_tensor(v, m, a0, a1, p_int);
        const double* w = &wvir[9 * su];
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j) p_int[3 * i + j] = (p_int[3 * i + j] + 0.5 * (w[3 * i + j] + w[3 * j + i])) / V;
        double mu[9], mu_inv[9];
        const auto g0 = gaussian4(cfg_.seed ^ kCellNoiseKey, sid[s], st[s], 0);
        const auto g1 = gaussian4(cfg_.seed ^ kCellNoiseKey, sid[s], st[s], 1);
        const double g[6] = {g0[0], g0[1], g0[2], g0[3], g1[0], g1[1]};
        cellk::csr_anisotropic(p_int, pt.of(s), kt, V, beta, cfg_.tau_p_fs, dt, g, mu, mu_inv);
        double* rows = &cells[9 * su];
        for (int k = 0; k < 3; ++k) apply3(mu, rows + 3 * k);  // each cell vector a_k ← μ a_k
        for_each_noise(cfg_.seed, sid[s], st[s], a0, a1, [&](std::int64_t i, const double* noise) {
          apply3(mu, x + 3 * i);
          apply3(mu_inv, v + 3 * i);  // μ symmetric: μ⁻ᵀ = μ⁻¹
          kern::langevin_baoa(x + 3 * i, v + 3 * i, f + 3 * i, m[i], dt, lc, noise);
        });
        return;
      }
      double mv2 = 0;  // 2 K (amu Å²/fs²): the trace of the kinetic tensor is all the isotropic move needs
      for (std::int64_t i = a0; i < a1; ++i)
        for (int c = 0; c < 3; ++c) mv2 += double(m[i]) * double(v[3 * i + c]) * double(v[3 * i + c]);
      const double p_int = (mv2 * units::kMv2ToEv + cellm::trace3(&wvir[9 * su])) / (3 * V);
      const double xi = gaussian4(cfg_.seed ^ kCellNoiseKey, sid[s], st[s], 0)[0];
      const double mu = cellk::csr_isotropic(p_int, pt.of(s)[0], kt, V, beta, cfg_.tau_p_fs, dt, xi);
      for (int k = 0; k < 9; ++k) cells[9 * su + static_cast<std::size_t>(k)] *= mu;
      // Per atom (one pass): the rescaling, then Langevin B A O A with the forces of the step's
      // start (the scaled positions differ from theirs by O(dε): the first-order splitting of
      // the barostat).
      const double inv_mu = 1 / mu;
      for_each_noise(cfg_.seed, sid[s], st[s], a0, a1, [&](std::int64_t i, const double* noise) {
        for (std::int64_t c = 3 * i; c < 3 * i + 3; ++c) {
          kern::scale(x[c], mu);
          kern::scale(v[c], inv_mu);
        }
        kern::langevin_baoa(x + 3 * i, v + 3 * i, f + 3 * i, m[i], dt, lc, noise);
      });
    });
  });
  for (std::int64_t s = 0; s < b.n_systems(); ++s) {
    if (!ctx.is_active(s)) continue;
    const auto su = static_cast<std::size_t>(s);
    detail::check_moved_cell(&cells[9 * su], cellm::det3(&cells_before[9 * su]), b, s, name());
    detail::write_cell(b, s, &cells[9 * su]);
  }
}

void StochasticCellRescaling::post_update(Context& ctx) {
  Batch& b = ctx.batch;
  if (b.is_cuda()) {
    dispatch_float(b.float_dtype(), [&](auto zero) {
      using T = decltype(zero);
      gpu::half_kick(gpu::structure(b, ctx.active_device), b.get("velocities").data<T>(), b.get("forces").data<T>(),
                     b.get("masses").data<T>(), ctx.dt_fs);
    });
    return;
  }
  const auto* ap = b.atoms_ptr_data();
  const double h = 0.5 * ctx.dt_fs * units::kAccel;
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* v = b.get("velocities").data<T>();
    const T* f = b.get("forces").data<T>();
    const T* m = b.get("masses").data<T>();
    parallel_for(b.n_systems(), [&](std::int64_t s) {
      if (!ctx.is_active(s)) return;
      for (std::int64_t i = ap[s]; i < ap[s + 1]; ++i) kern::half_kick(v + 3 * i, f + 3 * i, m[i], h);
    });
  });
}

void StochasticCellRescaling::finish_run(Batch& b) {
  if (b.is_cuda()) gpu_status_->drain(b, name());
}

}  // namespace batchmd::dynamics
