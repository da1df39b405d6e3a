// SPDX-License-Identifier: Apache-2.0
// dynamics/npt_mtk: MTKNPT, the Martyna–Tobias–Klein barostat with Nosé–Hoover chains, per
// system on CPU and GPU batches. The per-system arithmetic is cell_math.hpp's and
// cell_kernels.hpp's (host/device), the chains kern::nhc_half_step (integrator_kernels.hpp); the
// GPU half steps (cell_gpu.cu) launch the same functions.
#include <cmath>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/dynamics/cell_math.hpp"
#include "batchmd/dynamics/integrator_kernels.hpp"
#include "batchmd/dynamics/npt.hpp"
#include "batchmd/dynamics/units.hpp"
#include "cell_dynamics.hpp"
#include "cell_gpu.hpp"
#include "cell_kernels.hpp"

namespace batchmd::dynamics {

CellMode cell_mode_from_name(const std::string& name) {
  if (name == "isotropic") return CellMode::Isotropic;
  if (name == "full" || name == "anisotropic") return CellMode::Full;
  throw InvalidArgument("cell mode must be \"isotropic\" or \"full\", got \"" + name + "\"");
}
std::string cell_mode_name(CellMode m) { return m == CellMode::Isotropic ? "isotropic" : "full"; }

namespace {

using cellk::baro_dof;
using cellk::cell_kick;
using cellk::cell_mass;
using cellk::deviatoric_work;
using cellk::sum_sq;

void check_positive(double v, const std::string& what) {
  if (!(v > 0 && std::isfinite(v))) throw InvalidArgument(what + " must be a positive finite number");
}

/// One pass over the atoms [a0, a1) of a system: the damped kick v ← kv v + ka F/m, then with
/// kDrift the drift x ← dr x + dv v (x != nullptr), else the kinetic tensor of the kicked
/// velocities into ks. kIso: the maps are scalars (kv[0] ...), no 3×3 products.
template <bool kIso, bool kDrift, typename T>
void mtk_atoms(const cellm::MtkMaps& mp, T* v, const T* f, const T* m, std::int64_t a0, std::int64_t a1, T* x,
               detail::KineticSums* ks) {
  for (std::int64_t i = a0; i < a1; ++i) {
    const double accel = units::kAccel / double(m[i]);
    T* vi = v + 3 * i;
    const T* fi = f + 3 * i;
    if constexpr (kIso) {
      for (int c = 0; c < 3; ++c) vi[c] = static_cast<T>(mp.kv[0] * double(vi[c]) + mp.ka[0] * (accel * double(fi[c])));
    } else {
      const double vc[3] = {double(vi[0]), double(vi[1]), double(vi[2])};
      const double ac[3] = {accel * double(fi[0]), accel * double(fi[1]), accel * double(fi[2])};
      double p[3], q[3];
      cellm::mv3(mp.kv, vc, p);
      cellm::mv3(mp.ka, ac, q);
      for (int c = 0; c < 3; ++c) vi[c] = static_cast<T>(p[c] + q[c]);
    }
    if constexpr (kDrift) {
      T* xi = x + 3 * i;
      if constexpr (kIso) {
        for (int c = 0; c < 3; ++c) xi[c] = static_cast<T>(mp.dr[0] * double(xi[c]) + mp.dv[0] * double(vi[c]));
      } else {
        const double xc[3] = {double(xi[0]), double(xi[1]), double(xi[2])};
        const double vc[3] = {double(vi[0]), double(vi[1]), double(vi[2])};
        double p[3], q[3];
        cellm::mv3(mp.dr, xc, p);
        cellm::mv3(mp.dv, vc, q);
        for (int c = 0; c < 3; ++c) xi[c] = static_cast<T>(p[c] + q[c]);
      }
    } else {
      ks->add(vi, m[i]);
    }
  }
}

}  // namespace

MTKNPT::MTKNPT(std::shared_ptr<model::Model> model, double dt_fs, MTKConfig config)
    : Dynamics(std::move(model), dt_fs), cfg_(config), gpu_status_(std::make_shared<detail::CellStatusRing>()) {
  check_positive(cfg_.temperature_K, "npt_mtk temperature_K");
  check_positive(cfg_.tau_t_fs, "npt_mtk tau_t_fs (thermostat damping time)");
  check_positive(cfg_.tau_p_fs, "npt_mtk tau_p_fs (barostat damping time)");
  detail::check_stage_target(cfg_.pressure, cfg_.stress, cfg_.mode, "npt_mtk");
  if (cfg_.chain_length < 1 || cfg_.chain_length > gpu::kMaxChainGpu)
    throw InvalidArgument("npt_mtk chain_length must be in [1, " + std::to_string(gpu::kMaxChainGpu) + "], got " +
                          std::to_string(cfg_.chain_length));
  tracks_status_ = true;
}

bool MTKNPT::add_state(Batch& b) {
  detail::require_periodic_cells(b, {}, name());
  const std::int64_t m = cfg_.chain_length;
  const bool fresh = !b.has("npt_xi") || !b.has("npt_vxi") || !b.has("npt_baro_xi") || !b.has("npt_baro_vxi") ||
                     !b.has("npt_cell_velocity");
  b.add_field("npt_xi", Level::System, DType::Float64, {m});
  b.add_field("npt_vxi", Level::System, DType::Float64, {m});
  b.add_field("npt_baro_xi", Level::System, DType::Float64, {m});
  b.add_field("npt_baro_vxi", Level::System, DType::Float64, {m});
  b.add_field("npt_cell_velocity", Level::System, DType::Float64, {3, 3});
  // Added after the other fields: a checkpoint written before it restarts with no deviatoric
  // work done yet (0) instead of resetting the barostat.
  if (!b.has("npt_stress_work")) b.add_field("npt_stress_work", Level::System, DType::Float64, {}).fill_zero();
  return fresh;
}

void MTKNPT::init_state(Batch& b, const std::vector<bool>& which) {
  detail::require_periodic_cells(b, which, name());
  detail::pressure_targets(b, cfg_.pressure, cfg_.stress, cfg_.mode, which, name());  // bad targets: before any step
  if (b.is_cuda()) {
    const std::uint8_t* mask = device_mask(kMaskWhich, which, b.device());
    const int dev = b.device().index;
    const std::int64_t S = b.n_systems(), m = cfg_.chain_length;
    gpu::zero_rows(dev, S, 1, b.get("npt_stress_work").data<double>(), b.get("npt_stress_work").data<double>(), mask);
    gpu::zero_rows(dev, S, m, b.get("npt_xi").data<double>(), b.get("npt_vxi").data<double>(), mask);
    gpu::zero_rows(dev, S, m, b.get("npt_baro_xi").data<double>(), b.get("npt_baro_vxi").data<double>(), mask);
    gpu::zero_rows(dev, S, 9, b.get("npt_cell_velocity").data<double>(), b.get("npt_cell_velocity").data<double>(),
                   mask);
    return;
  }
  double* work = b.get("npt_stress_work").data<double>();
  for (std::size_t s = 0; s < which.size(); ++s)
    if (which[s]) work[s] = 0;
  const auto m = static_cast<std::size_t>(cfg_.chain_length);
  for (const char* f : {"npt_xi", "npt_vxi", "npt_baro_xi", "npt_baro_vxi"}) {
    double* p = b.get(f).data<double>();
    for (std::size_t s = 0; s < which.size(); ++s)
      if (which[s])
        for (std::size_t j = 0; j < m; ++j) p[s * m + j] = 0;
  }
  double* vg = b.get("npt_cell_velocity").data<double>();
  for (std::size_t s = 0; s < which.size(); ++s)
    if (which[s])
      for (int k = 0; k < 9; ++k) vg[9 * s + static_cast<std::size_t>(k)] = 0;
}

template <typename T>
void MTKNPT::gpu_half(Context& ctx, bool pre) {
  Batch& b = ctx.batch;
  detail::CellStatusRing& ring = *gpu_status_;
  if (pre) ring.poll(b, name());
  gpu::MtkArgs<T> a{};
  detail::fill_cell_args<T>(a, b, detail::device_targets(b, cfg_.pressure, cfg_.stress, cfg_.mode, name()),
                            device_scratch(1, gpu::kMtkScratch * b.n_systems(), b.device()), ring);
  a.xi = b.get("npt_xi").data<double>();
  a.vxi = b.get("npt_vxi").data<double>();
  a.bxi = b.get("npt_baro_xi").data<double>();
  a.bvxi = b.get("npt_baro_vxi").data<double>();
  a.vg = b.get("npt_cell_velocity").data<double>();
  a.work = b.get("npt_stress_work").data<double>();
  a.chain = cfg_.chain_length;
  a.tau_t = cfg_.tau_t_fs;
  a.tau_p = cfg_.tau_p_fs;
  a.dt = ctx.dt_fs;
  a.temperature = gpu::sys_value(b, "thermostat_temperature", cfg_.temperature_K);
  const gpu::Structure st = gpu::structure(b, ctx.active_device);
  if (pre) {
    gpu::mtk_pre(st, a);
  } else {
    gpu::mtk_post(st, a);
    ring.after_step(b);
  }
}

void MTKNPT::pre_update(Context& ctx) {
  Batch& b = ctx.batch;
  if (b.is_cuda()) {
    dispatch_float(b.float_dtype(), [&](auto zero) { gpu_half<decltype(zero)>(ctx, true); });
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
  const auto vol0 = cell_volume(b);
  const auto M = static_cast<std::size_t>(cfg_.chain_length);
  double* xi = b.get("npt_xi").data<double>();
  double* vxi = b.get("npt_vxi").data<double>();
  double* bxi = b.get("npt_baro_xi").data<double>();
  double* bvxi = b.get("npt_baro_vxi").data<double>();
  double* vgs = b.get("npt_cell_velocity").data<double>();
  double* work = b.get("npt_stress_work").data<double>();
  const auto* ap = b.atoms_ptr_data();
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
      const double nf = kern::degrees_of_freedom(a1 - a0), kt = units::kBoltzmann * temp[su];
      const double w = cell_mass(nf, kt, cfg_.tau_p_fs);
      double* vg = vgs + 9 * su;
      // NHC on the barostat, then on the particles (dt/2)
      const double sb = kern::nhc_half_step(bxi + su * M, bvxi + su * M, cfg_.chain_length, w * sum_sq(vg),
                                            baro_dof(iso), kt, cfg_.tau_t_fs, dt);
      for (int k = 0; k < 9; ++k) vg[k] *= sb;
      double k2[9];
      detail::kinetic_tensor(v, m, a0, a1, k2);
      const double sp = kern::nhc_half_step(xi + su * M, vxi + su * M, cfg_.chain_length, cellm::trace3(k2), nf, kt,
                                            cfg_.tau_t_fs, dt);
      for (double& e : k2) e *= sp * sp;
      // cell kick with F(t), W(t) (dt/2), damped particle kick (dt/2) with the thermostat's
      // scaling sp folded into its damping, then drift and cell (dt): one pass over the atoms.
      cell_kick(vg, k2, &wvir[9 * su], vol0[su], pt.of(s), nf, w, 0.5 * dt, iso);
      if (!pt.hydro[su]) work[s] += deviatoric_work(pt.of(s), vg, vol0[su], dt);
      // The full cell's maps by their series in v_g (no eigen-decomposition), the isotropic ones
      // (and a v_g too large for the series) through the eigenbasis.
      cellm::MtkMaps mp{};
      if (!iso && cellm::mtk_maps_series(vg, cellm::trace3(vg) / nf, 0.5 * dt, dt, sp, true, mp)) {
        mtk_atoms<false, true>(mp, v, f, m, a0, a1, x, nullptr);
        cellm::apply_cell_map(mp.dr, &cells[9 * su]);
        return;
      }
      const cellm::MtkFrame fr = cellm::mtk_frame(vg, iso);
      const cellm::KickCoeffs kc = cellm::mtk_kick_coeffs(fr, cellm::trace3(vg) / nf, 0.5 * dt);
      const cellm::DriftCoeffs dc = cellm::mtk_drift_coeffs(fr, dt);
      mp = cellm::mtk_maps(fr, kc, dc, sp);
      if (iso)
        mtk_atoms<true, true>(mp, v, f, m, a0, a1, x, nullptr);
      else
        mtk_atoms<false, true>(mp, v, f, m, a0, a1, x, nullptr);
      cellm::mtk_cell(fr, dc, &cells[9 * su]);
    });
  });
  for (std::int64_t s = 0; s < b.n_systems(); ++s) {
    if (!ctx.is_active(s)) continue;
    const auto su = static_cast<std::size_t>(s);
    detail::check_moved_cell(&cells[9 * su], cellm::det3(&cells_before[9 * su]), b, s, name());
    detail::write_cell(b, s, &cells[9 * su]);
  }
}

void MTKNPT::post_update(Context& ctx) {
  Batch& b = ctx.batch;
  if (b.is_cuda()) {
    dispatch_float(b.float_dtype(), [&](auto zero) { gpu_half<decltype(zero)>(ctx, false); });
    return;
  }
  const double dt = ctx.dt_fs;
  const auto temp = system_parameter(b, "thermostat_temperature", cfg_.temperature_K);
  const auto pt = detail::pressure_targets(b, cfg_.pressure, cfg_.stress, cfg_.mode, detail::active_mask(ctx), name());
  const auto wvir = detail::read_mat3(b, "virial");
  const auto vol = cell_volume(b);
  const auto M = static_cast<std::size_t>(cfg_.chain_length);
  double* xi = b.get("npt_xi").data<double>();
  double* vxi = b.get("npt_vxi").data<double>();
  double* bxi = b.get("npt_baro_xi").data<double>();
  double* bvxi = b.get("npt_baro_vxi").data<double>();
  double* vgs = b.get("npt_cell_velocity").data<double>();
  const auto* ap = b.atoms_ptr_data();
  const bool iso = cfg_.mode == CellMode::Isotropic;
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* v = b.get("velocities").data<T>();
    const T* f = b.get("forces").data<T>();
    const T* m = b.get("masses").data<T>();
    parallel_for_dynamic(b.n_systems(), [&](std::int64_t s) {
      const auto su = static_cast<std::size_t>(s);
      const std::int64_t a0 = ap[s], a1 = ap[s + 1];
      if (!ctx.is_active(s) || a1 == a0) return;
      const double nf = kern::degrees_of_freedom(a1 - a0), kt = units::kBoltzmann * temp[su];
      const double w = cell_mass(nf, kt, cfg_.tau_p_fs);
      double* vg = vgs + 9 * su;
      // damped kick (dt/2), with the kinetic tensor of the new velocities summed in the same pass
      cellm::MtkMaps mp{};
      if (iso || !cellm::mtk_maps_series(vg, cellm::trace3(vg) / nf, 0.5 * dt, dt, 1.0, false, mp)) {
        const cellm::MtkFrame fr = cellm::mtk_frame(vg, iso);
        const cellm::KickCoeffs kc = cellm::mtk_kick_coeffs(fr, cellm::trace3(vg) / nf, 0.5 * dt);
        mp = cellm::mtk_maps(fr, kc, cellm::DriftCoeffs{}, 1.0);
      }
      detail::KineticSums ks;
      if (iso)
        mtk_atoms<true, false>(mp, v, f, m, a0, a1, static_cast<T*>(nullptr), &ks);
      else
        mtk_atoms<false, false>(mp, v, f, m, a0, a1, static_cast<T*>(nullptr), &ks);
      double k2[9];
      ks.write(k2);
      cell_kick(vg, k2, &wvir[9 * su], vol[su], pt.of(s), nf, w, 0.5 * dt, iso);
      const double sp = kern::nhc_half_step(xi + su * M, vxi + su * M, cfg_.chain_length, cellm::trace3(k2), nf, kt,
                                            cfg_.tau_t_fs, dt);
      for (std::int64_t i = 3 * a0; i < 3 * a1; ++i) kern::scale(v[i], sp);
      const double sb = kern::nhc_half_step(bxi + su * M, bvxi + su * M, cfg_.chain_length, w * sum_sq(vg),
                                            baro_dof(iso), kt, cfg_.tau_t_fs, dt);
      for (int k = 0; k < 9; ++k) vg[k] *= sb;
    });
  });
}

std::vector<double> MTKNPT::conserved_energy(const Batch& b_in) const {
  if (b_in.is_cuda()) gpu_status_->drain(b_in, name());  // a cell fault of the last steps first
  const Batch host = b_in.is_cuda() ? b_in.to(Device::cpu()) : Batch();
  const Batch& b = b_in.is_cuda() ? host : b_in;
  auto h = kinetic_energy(b);
  const auto temp = system_parameter(b, "thermostat_temperature", cfg_.temperature_K);
  const auto pt = detail::pressure_targets(b, cfg_.pressure, cfg_.stress, cfg_.mode, {}, name());
  const double* work = b.has("npt_stress_work") ? b.get("npt_stress_work").data<double>() : nullptr;
  const auto vol = cell_volume(b);
  const auto M = static_cast<std::size_t>(cfg_.chain_length);
  const double* xi = b.get("npt_xi").data<double>();
  const double* vxi = b.get("npt_vxi").data<double>();
  const double* bxi = b.get("npt_baro_xi").data<double>();
  const double* bvxi = b.get("npt_baro_vxi").data<double>();
  const double* vgs = b.get("npt_cell_velocity").data<double>();
  const double tt2 = cfg_.tau_t_fs * cfg_.tau_t_fs;
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* e = b.get("energy").data<T>();
    for (std::int64_t s = 0; s < b.n_systems(); ++s) {
      const auto su = static_cast<std::size_t>(s);
      const double nf = degrees_of_freedom(b, s), nb = baro_dof(cfg_.mode == CellMode::Isotropic),
                   kt = units::kBoltzmann * temp[su];
      // P_ext V with the hydrostatic part of the target, plus the deviatoric part's work so far.
      const double ph = pt.hydro[su] ? pt.of(s)[0] : cellm::trace3(pt.of(s)) / 3;
      double extra = 0.5 * cell_mass(nf, kt, cfg_.tau_p_fs) * sum_sq(vgs + 9 * su) + ph * vol[su];
      if (work) extra += work[s];
      for (std::size_t j = 0; j < M; ++j) {
        const double dof = j == 0 ? nf : 1.0, bdof = j == 0 ? nb : 1.0;
        extra += 0.5 * dof * kt * tt2 * vxi[su * M + j] * vxi[su * M + j] + dof * kt * xi[su * M + j];
        extra += 0.5 * bdof * kt * tt2 * bvxi[su * M + j] * bvxi[su * M + j] + bdof * kt * bxi[su * M + j];
      }
      h[su] += double(e[s]) + extra;
    }
  });
  return h;
}

void MTKNPT::finish_run(Batch& b) {
  if (b.is_cuda()) gpu_status_->drain(b, name());
}

}  // namespace batchmd::dynamics
