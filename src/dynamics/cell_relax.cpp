// SPDX-License-Identifier: Apache-2.0
// dynamics/cell_relax: FIRECell, FIRE on atoms + cell through a UnitCellFilter-style map, per
// system on CPU and GPU batches (cell_gpu.cu: the same arithmetic). The FIRE decisions are kern::fire_update
// (integrator_kernels.hpp) on the power sums of the joint (atoms + cell) vector.
#include "batchmd/dynamics/cell_relax.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/dynamics/cell_math.hpp"
#include "batchmd/dynamics/integrator_kernels.hpp"
#include "batchmd/dynamics/units.hpp"
#include "cell_dynamics.hpp"
#include "cell_gpu.hpp"

namespace batchmd::dynamics {

FIRECell::FIRECell(std::shared_ptr<model::Model> model, double dt_fs, FIRECellConfig config)
    : Dynamics(std::move(model), dt_fs), cfg_(config), gpu_status_(std::make_shared<detail::CellStatusRing>()) {
  FIREConfig& f = cfg_.fire;
  if (f.dt_start <= 0) f.dt_start = dt_fs;
  if (f.dt_max <= 0) f.dt_max = 10 * f.dt_start;
  if (!(f.dt_start > 0 && f.dt_max > 0 && f.max_step > 0 && std::isfinite(f.dt_max) && std::isfinite(f.max_step)))
    throw InvalidArgument("fire_cell: dt_start, dt_max and max_step must be positive finite numbers");
  if (f.n_min < 0) throw InvalidArgument("fire_cell n_min must be >= 0");
  if (!(f.f_inc >= 1 && f.f_dec > 0 && f.f_dec <= 1 && f.f_alpha > 0 && f.f_alpha <= 1 && f.alpha_start >= 0 &&
        f.alpha_start <= 1))
    throw InvalidArgument("fire_cell: need f_inc >= 1, 0 < f_dec <= 1, 0 < f_alpha <= 1, 0 <= alpha_start <= 1");
  detail::check_stage_target(cfg_.pressure, cfg_.stress, cfg_.mode, "fire_cell");
  if (!std::isfinite(cfg_.cell_factor)) throw InvalidArgument("fire_cell cell_factor must be finite");
  tracks_status_ = true;
}

bool FIRECell::add_state(Batch& b) {
  detail::require_periodic_cells(b, {}, name());
  bool fresh = false;
  for (const char* n :
       {"fire_dt", "fire_alpha", "fire_npos", "cell_reference", "cell_dof_velocity", "cell_stress_residual"})
    fresh = fresh || !b.has(n);
  b.add_field("fire_dt", Level::System, DType::Float64, {});
  b.add_field("fire_alpha", Level::System, DType::Float64, {});
  b.add_field("fire_npos", Level::System, DType::Int64, {});
  b.add_field("cell_reference", Level::System, DType::Float64, {3, 3});
  b.add_field("cell_dof_velocity", Level::System, DType::Float64, {3, 3});
  b.add_field("cell_stress_residual", Level::System, DType::Float64, {});
  return fresh;
}

template <typename T>
void FIRECell::gpu_step(Context* ctx, Batch& b, const std::vector<bool>* which, bool pre) {
  detail::CellStatusRing& ring = *gpu_status_;
  if (pre) ring.poll(b, name());
  gpu::FireCellArgs<T> a{};
  detail::fill_cell_args<T>(a, b, detail::device_targets(b, cfg_.pressure, cfg_.stress, cfg_.mode, name()),
                            device_scratch(1, gpu::kFireCellScratch * b.n_systems(), b.device()), ring);
  a.stress = b.has("stress") ? b.get("stress").data<T>() : nullptr;
  a.h = b.get("fire_dt").data<double>();
  a.alpha = b.get("fire_alpha").data<double>();
  a.npos = b.get("fire_npos").data<std::int64_t>();
  a.ref = b.get("cell_reference").data<double>();
  a.vc = b.get("cell_dof_velocity").data<double>();
  a.residual = b.get("cell_stress_residual").data<double>();
  const FIREConfig& fc = cfg_.fire;
  a.prm = kern::FireParams{fc.dt_max, fc.f_inc, fc.f_dec, fc.alpha_start, fc.f_alpha, fc.n_min};
  a.max_step = fc.max_step;
  a.cell_factor = cfg_.cell_factor;
  if (ctx == nullptr) {  // the residual of the systems in `which` (init_state)
    gpu::fire_cell_residual(gpu::structure(b, nullptr), a, device_mask(kMaskWhich, *which, b.device()));
    return;
  }
  const gpu::Structure st = gpu::structure(b, ctx->active_device);
  if (pre) {
    gpu::fire_cell_pre(st, a);
  } else {
    gpu::fire_cell_residual(st, a, ctx->active_device);
    ring.after_step(b);
  }
}

void FIRECell::init_state(Batch& b, const std::vector<bool>& which) {
  detail::require_periodic_cells(b, which, name());
  if (b.is_cuda()) {
    detail::pressure_targets(b, cfg_.pressure, cfg_.stress, cfg_.mode, which, name());  // bad targets: now
    const std::uint8_t* mask = device_mask(kMaskWhich, which, b.device());
    const int dev = b.device().index;
    gpu::fire_init(dev, b.n_systems(), b.get("fire_dt").data<double>(), b.get("fire_alpha").data<double>(),
                   b.get("fire_npos").data<std::int64_t>(), mask, cfg_.fire.dt_start, cfg_.fire.alpha_start);
    dispatch_float(b.float_dtype(), [&](auto zero) {
      using T = decltype(zero);
      gpu::fire_cell_init(dev, b.n_systems(), b.get("cell").data<T>(), b.get("cell_reference").data<double>(),
                          b.get("cell_dof_velocity").data<double>(), mask);
      gpu_step<T>(nullptr, b, &which, false);
    });
    return;
  }
  auto* h = b.get("fire_dt").data<double>();
  auto* a = b.get("fire_alpha").data<double>();
  auto* n = b.get("fire_npos").data<std::int64_t>();
  auto* ref = b.get("cell_reference").data<double>();
  auto* vc = b.get("cell_dof_velocity").data<double>();
  const auto cells = detail::read_mat3(b, "cell");
  for (std::size_t s = 0; s < which.size(); ++s) {
    if (!which[s]) continue;
    h[s] = cfg_.fire.dt_start;
    a[s] = cfg_.fire.alpha_start;
    n[s] = 0;
    for (std::size_t k = 0; k < 9; ++k) {
      ref[9 * s + k] = cells[9 * s + k];
      vc[9 * s + k] = 0;
    }
  }
  write_residual(b, which);
}

void FIRECell::write_residual(Batch& b, const std::vector<bool>& which) const {
  auto* res = b.get("cell_stress_residual").data<double>();
  const bool have = b.has("stress");
  const auto sig = have ? detail::read_mat3(b, "stress") : std::vector<double>();
  const auto pt = detail::pressure_targets(b, cfg_.pressure, cfg_.stress, cfg_.mode, which, name());
  for (std::size_t s = 0; s < static_cast<std::size_t>(b.n_systems()); ++s) {
    if (!which.empty() && !which[s]) continue;
    if (!have) {
      res[s] = std::numeric_limits<double>::max();
      continue;
    }
    const double* g = &sig[9 * s];
    const double* p = pt.of(static_cast<std::int64_t>(s));
    double r = 0;
    if (cfg_.mode == CellMode::Isotropic) {
      r = std::abs(cellm::trace3(g) / 3 + p[0]);  // isotropic targets are hydrostatic
    } else {
      for (int k = 0; k < 9; ++k) r = std::max(r, std::abs(g[k] + p[k]));  // σ − σ_t
    }
    res[s] = std::isfinite(r) ? r : std::numeric_limits<double>::max();
  }
}

void FIRECell::pre_update(Context& ctx) {
  Batch& b = ctx.batch;
  if (b.is_cuda()) {
    dispatch_float(b.float_dtype(), [&](auto zero) { gpu_step<decltype(zero)>(&ctx, b, nullptr, true); });
    return;
  }
  const auto which = detail::active_mask(ctx);
  detail::require_periodic_cells(b, which, name());
  auto* hs = b.get("fire_dt").data<double>();
  auto* as = b.get("fire_alpha").data<double>();
  auto* ns = b.get("fire_npos").data<std::int64_t>();
  const double* refs = b.get("cell_reference").data<double>();
  double* vcs = b.get("cell_dof_velocity").data<double>();
  const auto pt = detail::pressure_targets(b, cfg_.pressure, cfg_.stress, cfg_.mode, which, name());
  const auto wvir = detail::read_mat3(b, "virial");
  const auto cells_before = detail::read_mat3(b, "cell");
  auto cells = cells_before;
  const auto* ap = b.atoms_ptr_data();
  const FIREConfig& fc = cfg_.fire;
  const kern::FireParams prm{fc.dt_max, fc.f_inc, fc.f_dec, fc.alpha_start, fc.f_alpha, fc.n_min};
  const bool iso = cfg_.mode == CellMode::Isotropic;
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
      const double* h0 = refs + 9 * su;
      double* cell = &cells[9 * su];
      double* vc = vcs + 9 * su;
      // D = (h0⁻¹ h)ᵀ: columns of the cell map as h_col = D h0_col.
      double h0inv[9], dt_[9], d[9], dinv[9];
      cellm::inv3(h0, h0inv);
      cellm::mul3(h0inv, cell, dt_);
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) d[3 * i + j] = dt_[3 * j + i];
      cellm::inv3(d, dinv);
      const double cf = cfg_.cell_factor > 0 ? cfg_.cell_factor : double(a1 - a0);
      double mass = 0;
      for (std::int64_t i = a0; i < a1; ++i) mass += double(m[i]);
      mass /= double(a1 - a0);
      // Generalized forces: atoms Dᵀ F, cell (W − V P_t) D⁻ᵀ / cf (P_t = −σ_t; P I for a scalar).
      const double vol = std::abs(cellm::det3(cell));
      const double* ptk = pt.of(s);
      double g[9], gc[9];
      for (int k = 0; k < 9; ++k) g[k] = wvir[9 * su + static_cast<std::size_t>(k)] - vol * ptk[k];
      if (iso) {
        const double t = cellm::trace3(g) / 3;
        for (int k = 0; k < 9; ++k) g[k] = k % 4 == 0 ? t : 0.0;
      }
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
          gc[3 * i + j] =
              (g[3 * i] * dinv[3 * j] + g[3 * i + 1] * dinv[3 * j + 1] + g[3 * i + 2] * dinv[3 * j + 2]) / cf;
      if (iso) {
        const double t = cellm::trace3(gc) / 3;
        for (int k = 0; k < 9; ++k) gc[k] = k % 4 == 0 ? t : 0.0;
      }
      auto gen_force = [&](std::int64_t i, double* fg) {
        for (int k = 0; k < 3; ++k)
          fg[k] = d[k] * double(f[3 * i]) + d[3 + k] * double(f[3 * i + 1]) + d[6 + k] * double(f[3 * i + 2]);
      };
      // FIRE on the joint vector
      kern::PowerSums r;
      for (std::int64_t i = a0; i < a1; ++i) {
        double fg[3];
        gen_force(i, fg);
        for (int k = 0; k < 3; ++k) kern::add_power(r, double(v[3 * i + k]), fg[k]);
      }
      for (int k = 0; k < 9; ++k) kern::add_power(r, vc[k], gc[k]);
      double h = hs[s], a = as[s];
      std::int64_t n = ns[s];
      const kern::FireAction act = kern::fire_update(prm, r, h, a, n);
      hs[s] = h;
      as[s] = a;
      ns[s] = n;
      double d2 = 0;
      for (std::int64_t i = a0; i < a1; ++i) {
        double fg[3], vi[3];
        gen_force(i, fg);
        for (int k = 0; k < 3; ++k) {
          vi[k] = act.zero ? 0.0 : double(v[3 * i + k]);
          if (act.mix.on) vi[k] = act.mix.keep * vi[k] + act.mix.c * fg[k];
          vi[k] += h * units::kAccel / double(m[i]) * fg[k];
          v[3 * i + k] = static_cast<T>(vi[k]);
        }
        d2 = std::max(d2, kern::norm2(v + 3 * i));
      }
      for (int k = 0; k < 9; ++k) {
        if (act.zero) vc[k] = 0;
        if (act.mix.on) vc[k] = act.mix.keep * vc[k] + act.mix.c * gc[k];
        vc[k] += h * units::kAccel / mass * gc[k];
      }
      for (int row = 0; row < 3; ++row) d2 = std::max(d2, kern::norm2(vc + 3 * row));
      const double step = kern::capped_step(h, d2, fc.max_step);
      // New deformation D' = D + step v_c / cf; positions x' = D' (D⁻¹ x + step v).
      double dn[9], map[9];
      for (int k = 0; k < 9; ++k) dn[k] = d[k] + step * vc[k] / cf;
      cellm::mul3(dn, dinv, map);
      for (std::int64_t i = a0; i < a1; ++i) {
        double xg[3];
        for (int k = 0; k < 3; ++k) xg[k] = double(x[3 * i + k]);
        for (int k = 0; k < 3; ++k) {
          const double xn = map[3 * k] * xg[0] + map[3 * k + 1] * xg[1] + map[3 * k + 2] * xg[2] +
                            step * (dn[3 * k] * double(v[3 * i]) + dn[3 * k + 1] * double(v[3 * i + 1]) +
                                    dn[3 * k + 2] * double(v[3 * i + 2]));
          x[3 * i + k] = static_cast<T>(xn);
        }
      }
      // cell rows h' = h0 D'ᵀ
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
          cell[3 * i + j] = h0[3 * i] * dn[3 * j] + h0[3 * i + 1] * dn[3 * j + 1] + h0[3 * i + 2] * dn[3 * j + 2];
    });
  });
  for (std::int64_t s = 0; s < b.n_systems(); ++s) {
    if (!ctx.is_active(s)) continue;
    const auto su = static_cast<std::size_t>(s);
    detail::check_moved_cell(&cells[9 * su], cellm::det3(&cells_before[9 * su]), b, s, name());
    detail::write_cell(b, s, &cells[9 * su]);
  }
}

void FIRECell::post_update(Context& ctx) {
  if (ctx.batch.is_cuda()) {
    dispatch_float(ctx.batch.float_dtype(),
                   [&](auto zero) { gpu_step<decltype(zero)>(&ctx, ctx.batch, nullptr, false); });
    return;
  }
  std::vector<bool> which(static_cast<std::size_t>(ctx.batch.n_systems()));
  for (std::size_t s = 0; s < which.size(); ++s) which[s] = ctx.is_active(static_cast<std::int64_t>(s));
  write_residual(ctx.batch, which);
}

void FIRECell::finish_run(Batch& b) {
  if (b.is_cuda()) gpu_status_->drain(b, name());
}

}  // namespace batchmd::dynamics
