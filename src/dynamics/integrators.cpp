// dynamics/integrators: FIRE, FIRE2, Langevin (BAOAB) and Nosé–Hoover chain, batched and masked
// by the systems active in the step.
#include "batchmd/dynamics/integrators.hpp"

#include <algorithm>
#include <cmath>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/dynamics/random.hpp"
#include "batchmd/dynamics/units.hpp"

namespace batchmd::dynamics {

namespace {

/// f(s, first_atom, end_atom) for every active system, in parallel over systems.
template <typename F>
void for_active_systems(const Context& ctx, F&& f) {
  const auto* ap = ctx.batch.atoms_ptr_data();
  parallel_for(ctx.batch.n_systems(), [&](std::int64_t s) {
    if (ctx.is_active(s)) f(s, ap[s], ap[s + 1]);
  });
}

template <typename T>
void masked_half_kick(Context& ctx) {
  Batch& b = ctx.batch;
  T* v = b.get("velocities").data<T>();
  const T* f = b.get("forces").data<T>();
  const T* m = b.get("masses").data<T>();
  const double h = 0.5 * ctx.dt_fs * units::kAccel;
  for_active_systems(ctx, [&](std::int64_t, std::int64_t a0, std::int64_t a1) {
    for (std::int64_t i = a0; i < a1; ++i) {
      const T s = static_cast<T>(h / double(m[i]));
      for (int k = 0; k < 3; ++k) v[3 * i + k] += s * f[3 * i + k];
    }
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
void init_fire_state(Batch& b, const std::vector<bool>& which, double dt, double alpha) {
  auto* h = b.get("fire_dt").data<double>();
  auto* a = b.get("fire_alpha").data<double>();
  auto* n = b.get("fire_npos").data<std::int64_t>();
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
  for (std::int64_t i = a0; i < a1; ++i) {
    double n2 = 0;
    for (int k = 0; k < 3; ++k) n2 += double(v[3 * i + k]) * double(v[3 * i + k]);
    d2 = std::max(d2, n2);
  }
  const double dmax = h * std::sqrt(d2);
  const double step = dmax > max_step ? h * max_step / dmax : h;
  for (std::int64_t i = 3 * a0; i < 3 * a1; ++i) x[i] = static_cast<T>(double(x[i]) + step * double(v[i]));
}

struct Sums {
  double p = 0, vv = 0, ff = 0;
};
template <typename T>
Sums power(const T* v, const T* f, std::int64_t a0, std::int64_t a1) {
  Sums r;
  for (std::int64_t i = 3 * a0; i < 3 * a1; ++i) {
    r.p += double(f[i]) * double(v[i]);
    r.vv += double(v[i]) * double(v[i]);
    r.ff += double(f[i]) * double(f[i]);
  }
  return r;
}
template <typename T>
void mix(T* v, const T* f, std::int64_t a0, std::int64_t a1, double alpha, double vn, double fn) {
  if (!(fn > 0)) return;
  const double c = alpha * vn / fn;
  for (std::int64_t i = 3 * a0; i < 3 * a1; ++i) v[i] = static_cast<T>((1.0 - alpha) * double(v[i]) + c * double(f[i]));
}
template <typename T>
void kick(T* v, const T* f, const T* m, std::int64_t a0, std::int64_t a1, double h) {
  for (std::int64_t i = a0; i < a1; ++i) {
    const double s = h * units::kAccel / double(m[i]);
    for (int k = 0; k < 3; ++k) v[3 * i + k] = static_cast<T>(double(v[3 * i + k]) + s * double(f[3 * i + k]));
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------- FIRE

FIRE::FIRE(std::shared_ptr<model::Model> model, double dt_fs, FIREConfig config)
    : Dynamics(std::move(model), dt_fs), cfg_(config) {
  if (cfg_.dt_start <= 0) cfg_.dt_start = dt_fs;
  if (cfg_.dt_max <= 0) cfg_.dt_max = 10 * cfg_.dt_start;
  check_positive(cfg_.dt_start, "FIRE dt_start");
  check_positive(cfg_.dt_max, "FIRE dt_max");
  check_positive(cfg_.max_step, "FIRE max_step");
  if (cfg_.n_min < 0) throw InvalidArgument("FIRE n_min must be >= 0");
  if (!(cfg_.f_inc >= 1 && cfg_.f_dec > 0 && cfg_.f_dec <= 1 && cfg_.f_alpha > 0 && cfg_.f_alpha <= 1 &&
        cfg_.alpha_start >= 0 && cfg_.alpha_start <= 1))
    throw InvalidArgument("FIRE: need f_inc >= 1, 0 < f_dec <= 1, 0 < f_alpha <= 1, 0 <= alpha_start <= 1");
  tracks_status_ = true;
}

bool FIRE::add_state(Batch& b) { return add_fire_state(b); }
void FIRE::init_state(Batch& b, const std::vector<bool>& which) {
  init_fire_state(b, which, cfg_.dt_start, cfg_.alpha_start);
}

void FIRE::pre_update(Context& ctx) {
  Batch& b = ctx.batch;
  auto* hs = b.get("fire_dt").data<double>();
  auto* as = b.get("fire_alpha").data<double>();
  auto* ns = b.get("fire_npos").data<std::int64_t>();
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* x = b.get("positions").data<T>();
    T* v = b.get("velocities").data<T>();
    const T* f = b.get("forces").data<T>();
    const T* m = b.get("masses").data<T>();
    for_active_systems(ctx, [&](std::int64_t s, std::int64_t a0, std::int64_t a1) {
      const Sums r = power(v, f, a0, a1);
      double h = hs[s], a = as[s];
      if (r.p > 0) {
        mix(v, f, a0, a1, a, std::sqrt(r.vv), std::sqrt(r.ff));
        if (ns[s] > cfg_.n_min) {
          h = std::min(h * cfg_.f_inc, cfg_.dt_max);
          a *= cfg_.f_alpha;
        }
        ++ns[s];
      } else if (r.p < 0) {
        std::fill(v + 3 * a0, v + 3 * a1, T(0));
        h *= cfg_.f_dec;
        a = cfg_.alpha_start;
        ns[s] = 0;
      }
      hs[s] = h;
      as[s] = a;
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
  check_positive(cfg_.dt_start, "FIRE2 dt_start");
  check_positive(cfg_.dt_max, "FIRE2 dt_max");
  check_positive(cfg_.max_step, "FIRE2 max_step");
  if (cfg_.n_delay < 0) throw InvalidArgument("FIRE2 n_delay must be >= 0");
  if (!(cfg_.f_inc >= 1 && cfg_.f_dec > 0 && cfg_.f_dec <= 1 && cfg_.f_alpha > 0 && cfg_.f_alpha <= 1 &&
        cfg_.alpha_start >= 0 && cfg_.alpha_start <= 1))
    throw InvalidArgument("FIRE2: need f_inc >= 1, 0 < f_dec <= 1, 0 < f_alpha <= 1, 0 <= alpha_start <= 1");
  tracks_status_ = true;
}

bool FIRE2::add_state(Batch& b) { return add_fire_state(b); }
void FIRE2::init_state(Batch& b, const std::vector<bool>& which) {
  init_fire_state(b, which, cfg_.dt_start, cfg_.alpha_start);
}

void FIRE2::pre_update(Context& ctx) {
  Batch& b = ctx.batch;
  auto* hs = b.get("fire_dt").data<double>();
  auto* as = b.get("fire_alpha").data<double>();
  auto* ns = b.get("fire_npos").data<std::int64_t>();
  const auto* ss = b.get("stage_step").data<std::int64_t>();
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* x = b.get("positions").data<T>();
    T* v = b.get("velocities").data<T>();
    const T* f = b.get("forces").data<T>();
    const T* m = b.get("masses").data<T>();
    for_active_systems(ctx, [&](std::int64_t s, std::int64_t a0, std::int64_t a1) {
      const Sums r = power(v, f, a0, a1);
      double h = hs[s], a = as[s];
      if (r.p > 0) {
        ++ns[s];
        if (ns[s] > cfg_.n_delay) {
          h = std::min(h * cfg_.f_inc, cfg_.dt_max);
          a *= cfg_.f_alpha;
        }
      } else {
        ns[s] = 0;
        if (!(cfg_.initial_delay && ss[s] < cfg_.n_delay)) {
          if (h * cfg_.f_dec >= cfg_.dt_min) h *= cfg_.f_dec;
          a = cfg_.alpha_start;
        }
        // step back half a step (capped like a forward step, since v may be large)
        for (std::int64_t i = 3 * a0; i < 3 * a1; ++i) v[i] = -v[i];
        capped_drift(x, v, a0, a1, 0.5 * h, cfg_.max_step);
        std::fill(v + 3 * a0, v + 3 * a1, T(0));
      }
      hs[s] = h;
      as[s] = a;
      kick(v, f, m, a0, a1, h);
      const Sums r2 = power(v, f, a0, a1);
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
  const auto temp = system_parameter(b, "thermostat_temperature", temperature_);
  const auto gamma = system_parameter(b, "langevin_friction", friction_);
  const auto* sid = b.get("system_id").data<std::int64_t>();
  const auto* st = b.get("step").data<std::int64_t>();
  const double dt = ctx.dt_fs;
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* x = b.get("positions").data<T>();
    T* v = b.get("velocities").data<T>();
    const T* f = b.get("forces").data<T>();
    const T* m = b.get("masses").data<T>();
    for_active_systems(ctx, [&](std::int64_t s, std::int64_t a0, std::int64_t a1) {
      const auto su = static_cast<std::size_t>(s);
      const double c = std::exp(-gamma[su] * dt);
      const double noise = std::sqrt(std::max(0.0, 1.0 - c * c) * units::kBoltzmann * temp[su] * units::kAccel);
      for (std::int64_t i = a0; i < a1; ++i) {
        const double inv_m = 1.0 / double(m[i]);
        const auto g = gaussian4(seed_, sid[s], st[s], i - a0);
        const double sd = noise * std::sqrt(inv_m);
        for (int k = 0; k < 3; ++k) {
          const std::int64_t j = 3 * i + k;
          double vj = double(v[j]) + 0.5 * dt * units::kAccel * inv_m * double(f[j]);  // B
          double xj = double(x[j]) + 0.5 * dt * vj;                                    // A
          vj = c * vj + sd * g[static_cast<std::size_t>(k)];                           // O
          xj += 0.5 * dt * vj;                                                         // A
          v[j] = static_cast<T>(vj);
          x[j] = static_cast<T>(xj);
        }
      }
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
  for (std::size_t s = 0; s < which.size(); ++s)
    if (which[s])
      for (std::size_t j = 0; j < m; ++j) xi[s * m + j] = vxi[s * m + j] = 0;
}

void NoseHooverChain::chain_half_step(Context& ctx) {
  Batch& b = ctx.batch;
  const auto temp = system_parameter(b, "thermostat_temperature", temperature_);
  auto* xi_all = b.get("nhc_xi").data<double>();
  auto* vxi_all = b.get("nhc_vxi").data<double>();
  const double dt2 = 0.5 * ctx.dt_fs, dt4 = 0.25 * ctx.dt_fs, dt8 = 0.125 * ctx.dt_fs;
  const auto M = static_cast<std::size_t>(m_);
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* v = b.get("velocities").data<T>();
    const T* m = b.get("masses").data<T>();
    for_active_systems(ctx, [&](std::int64_t s, std::int64_t a0, std::int64_t a1) {
      if (a1 == a0) return;
      double* xi = xi_all + static_cast<std::size_t>(s) * M;
      double* vxi = vxi_all + static_cast<std::size_t>(s) * M;
      double mv2 = 0;
      for (std::int64_t i = a0; i < a1; ++i)
        for (int k = 0; k < 3; ++k) mv2 += double(m[i]) * double(v[3 * i + k]) * double(v[3 * i + k]);
      double ke2 = mv2 * units::kMv2ToEv;  // 2 E_kin, eV
      const double nf = degrees_of_freedom(b, s);
      const double kt = units::kBoltzmann * temp[static_cast<std::size_t>(s)];
      const double q1 = nf * kt * tau_ * tau_, qj = kt * tau_ * tau_;
      auto q = [&](std::size_t j) { return j == 0 ? q1 : qj; };
      auto force = [&](std::size_t j) {
        return j == 0 ? (ke2 - nf * kt) / q1 : (q(j - 1) * vxi[j - 1] * vxi[j - 1] - kt) / qj;
      };
      vxi[M - 1] += force(M - 1) * dt4;
      for (std::size_t j = M - 1; j-- > 0;) {
        const double e = std::exp(-vxi[j + 1] * dt8);
        vxi[j] = (vxi[j] * e + force(j) * dt4) * e;
      }
      const double scale = std::exp(-vxi[0] * dt2);
      for (std::int64_t i = 3 * a0; i < 3 * a1; ++i) v[i] = static_cast<T>(double(v[i]) * scale);
      ke2 *= scale * scale;
      for (std::size_t j = 0; j < M; ++j) xi[j] += vxi[j] * dt2;
      for (std::size_t j = 0; j + 1 < M; ++j) {
        const double e = std::exp(-vxi[j + 1] * dt8);
        vxi[j] = (vxi[j] * e + force(j) * dt4) * e;
      }
      vxi[M - 1] += force(M - 1) * dt4;
    });
  });
}

void NoseHooverChain::pre_update(Context& ctx) {
  chain_half_step(ctx);
  dispatch_float(ctx.batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    masked_half_kick<T>(ctx);
    Batch& b = ctx.batch;
    T* x = b.get("positions").data<T>();
    const T* v = b.get("velocities").data<T>();
    const double dt = ctx.dt_fs;
    for_active_systems(ctx, [&](std::int64_t, std::int64_t a0, std::int64_t a1) {
      for (std::int64_t i = 3 * a0; i < 3 * a1; ++i) x[i] = static_cast<T>(double(x[i]) + dt * double(v[i]));
    });
  });
}

void NoseHooverChain::post_update(Context& ctx) {
  dispatch_float(ctx.batch.float_dtype(), [&](auto zero) { masked_half_kick<decltype(zero)>(ctx); });
  chain_half_step(ctx);
}

std::vector<double> NoseHooverChain::conserved_energy(const Batch& b) const {
  auto h = kinetic_energy(b);
  const auto temp = system_parameter(b, "thermostat_temperature", temperature_);
  const auto M = static_cast<std::size_t>(m_);
  const double* xi = b.get("nhc_xi").data<double>();
  const double* vxi = b.get("nhc_vxi").data<double>();
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* e = b.get("energy").data<T>();
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
