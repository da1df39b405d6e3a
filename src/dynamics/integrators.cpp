// SPDX-License-Identifier: Apache-2.0
// dynamics/integrators: FIRE, FIRE2, Langevin (BAOAB) and Nosé–Hoover chain, batched and masked
// by the systems active in the step. The arithmetic is kern:: (integrator_kernels.hpp); CPU
// batches run it in host loops over systems, GPU batches through the launchers of dynamics_gpu.hpp.
#include "batchmd/dynamics/integrators.hpp"

#include <algorithm>
#include <cmath>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/dynamics/integrator_kernels.hpp"
#include "batchmd/dynamics/langevin_noise.hpp"
#include "batchmd/dynamics/random.hpp"
#include "batchmd/dynamics/units.hpp"
#include "dynamics_gpu.hpp"

namespace batchmd::dynamics {

namespace {

/// f(s, first_atom, end_atom) for every active system, in parallel over systems: each thread
/// takes a contiguous run of systems holding about the same number of atoms (systems of a batch
/// differ in size by 10x and more, so equal numbers of systems would load threads unevenly).
template <typename F>
void for_active_systems(const Context& ctx, F&& f) {
  const auto* ap = ctx.batch.atoms_ptr_data();
  parallel_for_weighted(ctx.batch.n_systems(), ap, [&](std::int64_t s) {
    if (ctx.is_active(s)) f(s, ap[s], ap[s + 1]);
  });
}

template <typename T>
void masked_half_kick(Context& ctx) {
  Batch& b = ctx.batch;
  T* v = b.get("velocities").data<T>();
  const T* f = b.get("forces").data<T>();
  const T* m = b.get("masses").data<T>();
  if (b.is_cuda()) return gpu::half_kick(gpu::structure(b, ctx.active_device), v, f, m, ctx.dt_fs);
  const double h = 0.5 * ctx.dt_fs * units::kAccel;
  for_active_systems(ctx, [&](std::int64_t, std::int64_t a0, std::int64_t a1) {
    for (std::int64_t i = a0; i < a1; ++i) kern::half_kick(v + 3 * i, f + 3 * i, m[i], h);
  });
}

void check_positive(double v, const char* what) {
  if (!(v > 0 && std::isfinite(v))) throw InvalidArgument(std::string(what) + " must be a positive finite number");
}

/// FIRE / FIRE2 per-system state.
bool add_fire_state(Batch& b) {
  const bool fresh = !b.has("fire_dt") || !b.has("fire_alpha") || !b.has("fire_npos");
  b.add_field("fire_dt", Level::System, DType::Float64, {});
  b.add_field("fire_alpha", Level::System, DType::Float64, {});
  b.add_field("fire_npos", Level::System, DType::Int64, {});
  return fresh;
}
/// dev_which: `which` on the device for a GPU batch.
void init_fire_state(Batch& b, const std::vector<bool>& which, const std::uint8_t* dev_which, double dt, double alpha) {
  auto* h = b.get("fire_dt").data<double>();
  auto* a = b.get("fire_alpha").data<double>();
  auto* n = b.get("fire_npos").data<std::int64_t>();
  if (b.is_cuda()) {
    if (!which.empty()) gpu::fire_init(b.device().index, b.n_systems(), h, a, n, dev_which, dt, alpha);
    return;
  }
  for (std::size_t s = 0; s < which.size(); ++s)
    if (which[s]) {
      h[s] = dt;
      a[s] = alpha;
      n[s] = 0;
    }
}

/// x += scale · h · v for the atoms [a0, a1), scale so that no atom moves more than max_step.
template <typename T>
void capped_drift(T* x, const T* v, std::int64_t a0, std::int64_t a1, double h, double max_step) {
  double d2 = 0;
  for (std::int64_t i = a0; i < a1; ++i) d2 = std::max(d2, kern::norm2(v + 3 * i));
  const double step = kern::capped_step(h, d2, max_step);
  for (std::int64_t i = 3 * a0; i < 3 * a1; ++i) kern::drift(x[i], v[i], step);
}

template <typename T>
kern::PowerSums power(const T* v, const T* f, std::int64_t a0, std::int64_t a1) {
  kern::PowerSums r;
  for (std::int64_t i = 3 * a0; i < 3 * a1; ++i) kern::add_power(r, v[i], f[i]);
  return r;
}
template <typename T>
void mix(T* v, const T* f, std::int64_t a0, std::int64_t a1, double alpha, double vn, double fn) {
  const kern::Mix m = kern::mix_coeffs(alpha, vn, fn);
  for (std::int64_t i = 3 * a0; i < 3 * a1; ++i) kern::mix(v[i], f[i], m);
}
template <typename T>
void kick(T* v, const T* f, const T* m, std::int64_t a0, std::int64_t a1, double h) {
  for (std::int64_t i = a0; i < a1; ++i) kern::euler_kick(v + 3 * i, f + 3 * i, m[i], h);
}

/// The checks FIRE and FIRE2 share (their configs have the same step and mixing knobs), in the
/// order each constructor made them; `name` prefixes the messages, `count` is n_min / n_delay.
template <typename Config>
void check_fire_config(const Config& c, const std::string& name, const char* count_name, std::int64_t count) {
  check_positive(c.dt_start, (name + " dt_start").c_str());
  check_positive(c.dt_max, (name + " dt_max").c_str());
  check_positive(c.max_step, (name + " max_step").c_str());
  if (count < 0) throw InvalidArgument(name + " " + count_name + " must be >= 0");
  if (!(c.f_inc >= 1 && c.f_dec > 0 && c.f_dec <= 1 && c.f_alpha > 0 && c.f_alpha <= 1 && c.alpha_start >= 0 &&
        c.alpha_start <= 1))
    throw InvalidArgument(name + ": need f_inc >= 1, 0 < f_dec <= 1, 0 < f_alpha <= 1, 0 <= alpha_start <= 1");
}

}  // namespace

// ---------------------------------------------------------------------------------------- FIRE

FIRE::FIRE(std::shared_ptr<model::Model> model, double dt_fs, FIREConfig config)
    : Dynamics(std::move(model), dt_fs), cfg_(config) {
  if (cfg_.dt_start <= 0) cfg_.dt_start = dt_fs;
  if (cfg_.dt_max <= 0) cfg_.dt_max = 10 * cfg_.dt_start;
  check_fire_config(cfg_, "FIRE", "n_min", cfg_.n_min);
  tracks_status_ = true;
}

bool FIRE::add_state(Batch& b) { return add_fire_state(b); }
void FIRE::init_state(Batch& b, const std::vector<bool>& which) {
  const std::uint8_t* m = b.is_cuda() ? device_mask(kMaskWhich, which, b.device()) : nullptr;
  init_fire_state(b, which, m, cfg_.dt_start, cfg_.alpha_start);
}

void FIRE::pre_update(Context& ctx) {
  Batch& b = ctx.batch;
  auto* hs = b.get("fire_dt").data<double>();
  auto* as = b.get("fire_alpha").data<double>();
  auto* ns = b.get("fire_npos").data<std::int64_t>();
  const kern::FireParams prm{cfg_.dt_max, cfg_.f_inc, cfg_.f_dec, cfg_.alpha_start, cfg_.f_alpha, cfg_.n_min};
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* x = b.get("positions").data<T>();
    T* v = b.get("velocities").data<T>();
    const T* f = b.get("forces").data<T>();
    const T* m = b.get("masses").data<T>();
    if (b.is_cuda()) {
      double* scratch = device_scratch(0, gpu::kScratchPerSystem * b.n_systems(), b.device());
      gpu::fire_step(gpu::structure(b, ctx.active_device), prm, cfg_.max_step, x, v, f, m, hs, as, ns, scratch);
      return;
    }
    for_active_systems(ctx, [&](std::int64_t s, std::int64_t a0, std::int64_t a1) {
      const kern::PowerSums r = power(v, f, a0, a1);
      double h = hs[s], a = as[s];
      std::int64_t n = ns[s];
      const kern::FireAction act = kern::fire_update(prm, r, h, a, n);
      hs[s] = h;
      as[s] = a;
      ns[s] = n;
      if (act.mix.on)
        for (std::int64_t i = 3 * a0; i < 3 * a1; ++i) kern::mix(v[i], f[i], act.mix);
      if (act.zero) std::fill(v + 3 * a0, v + 3 * a1, T(0));
      kick(v, f, m, a0, a1, h);
      capped_drift(x, v, a0, a1, h, cfg_.max_step);
    });
  });
}

// --------------------------------------------------------------------------------------- FIRE2

FIRE2::FIRE2(std::shared_ptr<model::Model> model, double dt_fs, FIRE2Config config)
    : Dynamics(std::move(model), dt_fs), cfg_(config) {
  if (cfg_.dt_start <= 0) cfg_.dt_start = dt_fs;
  if (cfg_.dt_max <= 0) cfg_.dt_max = 10 * cfg_.dt_start;
  if (cfg_.dt_min <= 0) cfg_.dt_min = 0.02 * cfg_.dt_start;
  check_fire_config(cfg_, "FIRE2", "n_delay", cfg_.n_delay);
  tracks_status_ = true;
}

bool FIRE2::add_state(Batch& b) { return add_fire_state(b); }
void FIRE2::init_state(Batch& b, const std::vector<bool>& which) {
  const std::uint8_t* m = b.is_cuda() ? device_mask(kMaskWhich, which, b.device()) : nullptr;
  init_fire_state(b, which, m, cfg_.dt_start, cfg_.alpha_start);
}

void FIRE2::pre_update(Context& ctx) {
  Batch& b = ctx.batch;
  auto* hs = b.get("fire_dt").data<double>();
  auto* as = b.get("fire_alpha").data<double>();
  auto* ns = b.get("fire_npos").data<std::int64_t>();
  const auto* ss = b.get("stage_step").data<std::int64_t>();
  const kern::Fire2Params prm{cfg_.dt_max,      cfg_.dt_min,  cfg_.f_inc,   cfg_.f_dec,
                              cfg_.alpha_start, cfg_.f_alpha, cfg_.n_delay, cfg_.initial_delay};
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* x = b.get("positions").data<T>();
    T* v = b.get("velocities").data<T>();
    const T* f = b.get("forces").data<T>();
    const T* m = b.get("masses").data<T>();
    if (b.is_cuda()) {
      double* scratch = device_scratch(0, gpu::kScratchPerSystem * b.n_systems(), b.device());
      gpu::fire2_step(gpu::structure(b, ctx.active_device), prm, cfg_.max_step, x, v, f, m, hs, as, ns, ss, scratch);
      return;
    }
    for_active_systems(ctx, [&](std::int64_t s, std::int64_t a0, std::int64_t a1) {
      const kern::PowerSums r = power(v, f, a0, a1);
      double h = hs[s], a = as[s];
      std::int64_t n = ns[s];
      const bool back = kern::fire2_update(prm, r.p, ss[s], h, a, n);
      ns[s] = n;
      if (back) {
        // step back half a step (capped like a forward step, since v may be large)
        for (std::int64_t i = 3 * a0; i < 3 * a1; ++i) v[i] = -v[i];
        capped_drift(x, v, a0, a1, 0.5 * h, cfg_.max_step);
        std::fill(v + 3 * a0, v + 3 * a1, T(0));
      }
      hs[s] = h;
      as[s] = a;
      kick(v, f, m, a0, a1, h);
      const kern::PowerSums r2 = power(v, f, a0, a1);
      mix(v, f, a0, a1, a, std::sqrt(r2.vv), std::sqrt(r2.ff));
      capped_drift(x, v, a0, a1, h, cfg_.max_step);
    });
  });
}

// ------------------------------------------------------------------------------------ Langevin

Langevin::Langevin(std::shared_ptr<model::Model> model, double dt_fs, double temperature_K, double friction_per_fs,
                   std::uint64_t seed)
    : Dynamics(std::move(model), dt_fs), temperature_(temperature_K), friction_(friction_per_fs), seed_(seed) {
  if (!(temperature_K >= 0 && std::isfinite(temperature_K)))
    throw InvalidArgument("Langevin temperature must be a finite value >= 0 K");
  if (!(friction_per_fs >= 0 && std::isfinite(friction_per_fs)))
    throw InvalidArgument("Langevin friction must be a finite value >= 0 1/fs");
  tracks_status_ = true;
}

void Langevin::pre_update(Context& ctx) {
  Batch& b = ctx.batch;
  const auto* sid = b.get("system_id").data<std::int64_t>();
  const auto* st = b.get("step").data<std::int64_t>();
  const double dt = ctx.dt_fs;
  if (b.is_cuda()) {
    const auto temp = gpu::sys_value(b, "thermostat_temperature", temperature_);
    const auto gamma = gpu::sys_value(b, "langevin_friction", friction_);
    dispatch_float(b.float_dtype(), [&](auto zero) {
      using T = decltype(zero);
      gpu::langevin_baoa(gpu::structure(b, ctx.active_device), b.get("positions").data<T>(),
                         b.get("velocities").data<T>(), b.get("forces").data<T>(), b.get("masses").data<T>(), dt, temp,
                         gamma, seed_, sid, st);
    });
    return;
  }
  const auto temp = system_parameter(b, "thermostat_temperature", temperature_);
  const auto gamma = system_parameter(b, "langevin_friction", friction_);
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* x = b.get("positions").data<T>();
    T* v = b.get("velocities").data<T>();
    const T* f = b.get("forces").data<T>();
    const T* m = b.get("masses").data<T>();
    for_active_systems(ctx, [&](std::int64_t s, std::int64_t a0, std::int64_t a1) {
      const auto su = static_cast<std::size_t>(s);
      const kern::LangevinCoeffs lc = kern::langevin_coeffs(gamma[su], temp[su], dt);
      for_each_noise(seed_, sid[s], st[s], a0, a1, [&](std::int64_t i, const double* noise) {
        kern::langevin_baoa(x + 3 * i, v + 3 * i, f + 3 * i, m[i], dt, lc, noise);
      });
    });
  });
}

void Langevin::post_update(Context& ctx) {
  dispatch_float(ctx.batch.float_dtype(), [&](auto zero) { masked_half_kick<decltype(zero)>(ctx); });
}

// ---------------------------------------------------------------------------- Nosé–Hoover chain

NoseHooverChain::NoseHooverChain(std::shared_ptr<model::Model> model, double dt_fs, double temperature_K, double tau_fs,
                                 std::int64_t chain_length)
    : Dynamics(std::move(model), dt_fs), temperature_(temperature_K), tau_(tau_fs), m_(chain_length) {
  if (!(temperature_K > 0 && std::isfinite(temperature_K)))
    throw InvalidArgument("Nosé–Hoover temperature must be a positive finite number of K");
  check_positive(tau_fs, "Nosé–Hoover tau");
  if (chain_length < 1) throw InvalidArgument("Nosé–Hoover chain length must be >= 1");
  tracks_status_ = true;
}

bool NoseHooverChain::add_state(Batch& b) {
  const bool fresh = !b.has("nhc_xi") || !b.has("nhc_vxi");
  b.add_field("nhc_xi", Level::System, DType::Float64, {m_});
  b.add_field("nhc_vxi", Level::System, DType::Float64, {m_});
  return fresh;
}

void NoseHooverChain::init_state(Batch& b, const std::vector<bool>& which) {
  auto* xi = b.get("nhc_xi").data<double>();
  auto* vxi = b.get("nhc_vxi").data<double>();
  const auto m = static_cast<std::size_t>(m_);
  if (b.is_cuda()) {
    if (!which.empty())
      gpu::zero_rows(b.device().index, b.n_systems(), m_, xi, vxi, device_mask(kMaskWhich, which, b.device()));
    return;
  }
  for (std::size_t s = 0; s < which.size(); ++s)
    if (which[s])
      for (std::size_t j = 0; j < m; ++j) xi[s * m + j] = vxi[s * m + j] = 0;
}

void NoseHooverChain::chain_half_step(Context& ctx) {
  Batch& b = ctx.batch;
  const auto temp = system_parameter(b, "thermostat_temperature", temperature_);
  auto* xi_all = b.get("nhc_xi").data<double>();
  auto* vxi_all = b.get("nhc_vxi").data<double>();
  const auto M = static_cast<std::size_t>(m_);
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* v = b.get("velocities").data<T>();
    const T* m = b.get("masses").data<T>();
    for_active_systems(ctx, [&](std::int64_t s, std::int64_t a0, std::int64_t a1) {
      if (a1 == a0) return;
      double mv2 = 0;
      for (std::int64_t i = a0; i < a1; ++i)
        for (int k = 0; k < 3; ++k) mv2 += double(m[i]) * double(v[3 * i + k]) * double(v[3 * i + k]);
      const double kt = units::kBoltzmann * temp[static_cast<std::size_t>(s)];
      const double scale =
          kern::nhc_half_step(xi_all + static_cast<std::size_t>(s) * M, vxi_all + static_cast<std::size_t>(s) * M, m_,
                              mv2 * units::kMv2ToEv, degrees_of_freedom(b, s), kt, tau_, ctx.dt_fs);
      for (std::int64_t i = 3 * a0; i < 3 * a1; ++i) kern::scale(v[i], scale);
    });
  });
}

namespace {
/// The chain's half step on a GPU batch; with kick_drift, also NoseHooverChain::pre_update's half
/// kick and drift (fused into the velocity scaling).
template <typename T>
void nhc_gpu(Context& ctx, double* scratch, double temperature, double tau, std::int64_t chain_length,
             bool kick_drift) {
  Batch& b = ctx.batch;
  gpu::nhc_half_step(gpu::structure(b, ctx.active_device), b.get("velocities").data<T>(), b.get("masses").data<T>(),
                     b.get("nhc_xi").data<double>(), b.get("nhc_vxi").data<double>(), chain_length, tau, ctx.dt_fs,
                     gpu::sys_value(b, "thermostat_temperature", temperature), scratch,
                     kick_drift ? b.get("positions").data<T>() : nullptr,
                     kick_drift ? b.get("forces").data<T>() : nullptr);
}
}  // namespace

void NoseHooverChain::pre_update(Context& ctx) {
  if (ctx.batch.is_cuda()) {
    double* scratch = device_scratch(0, gpu::kScratchPerSystem * ctx.batch.n_systems(), ctx.batch.device());
    dispatch_float(ctx.batch.float_dtype(),
                   [&](auto zero) { nhc_gpu<decltype(zero)>(ctx, scratch, temperature_, tau_, m_, true); });
    return;
  }
  chain_half_step(ctx);
  dispatch_float(ctx.batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    masked_half_kick<T>(ctx);
    Batch& b = ctx.batch;
    T* x = b.get("positions").data<T>();
    const T* v = b.get("velocities").data<T>();
    const double dt = ctx.dt_fs;
    for_active_systems(ctx, [&](std::int64_t, std::int64_t a0, std::int64_t a1) {
      for (std::int64_t i = 3 * a0; i < 3 * a1; ++i) kern::drift(x[i], v[i], dt);
    });
  });
}

void NoseHooverChain::post_update(Context& ctx) {
  dispatch_float(ctx.batch.float_dtype(), [&](auto zero) { masked_half_kick<decltype(zero)>(ctx); });
  if (ctx.batch.is_cuda()) {
    double* scratch = device_scratch(0, gpu::kScratchPerSystem * ctx.batch.n_systems(), ctx.batch.device());
    dispatch_float(ctx.batch.float_dtype(),
                   [&](auto zero) { nhc_gpu<decltype(zero)>(ctx, scratch, temperature_, tau_, m_, false); });
    return;
  }
  chain_half_step(ctx);
}

std::vector<double> NoseHooverChain::conserved_energy(const Batch& b) const {
  auto h = kinetic_energy(b);
  const auto temp = system_parameter(b, "thermostat_temperature", temperature_);
  const auto M = static_cast<std::size_t>(m_);
  // A GPU batch: the thermostat state and the energies come to the host (small, per system).
  const Tensor *xt = &b.get("nhc_xi"), *vt = &b.get("nhc_vxi"), *et = &b.get("energy");
  Tensor xh, vh, eh;
  if (b.is_cuda()) {
    xh = xt->to(Device::cpu());
    vh = vt->to(Device::cpu());
    eh = et->to(Device::cpu());
    xt = &xh;
    vt = &vh;
    et = &eh;
  }
  const double* xi = xt->data<double>();
  const double* vxi = vt->data<double>();
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* e = et->data<T>();
    for (std::int64_t s = 0; s < b.n_systems(); ++s) {
      const auto su = static_cast<std::size_t>(s);
      const double nf = degrees_of_freedom(b, s);
      const double kt = units::kBoltzmann * temp[su];
      double extra = 0;
      for (std::size_t j = 0; j < M; ++j) {
        const double q = (j == 0 ? nf : 1.0) * kt * tau_ * tau_;
        extra += 0.5 * q * vxi[su * M + j] * vxi[su * M + j] + (j == 0 ? nf : 1.0) * kt * xi[su * M + j];
      }
      h[su] += double(e[s]) + extra;
    }
  });
  return h;
}

}  // namespace batchmd::dynamics
