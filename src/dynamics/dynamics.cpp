// dynamics/dynamics: the step loop, hook dispatch and velocity Verlet.
#include "batchmd/dynamics/dynamics.hpp"

#include <cmath>
#include <random>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/dynamics/units.hpp"

namespace batchmd::dynamics {

namespace {
/// prev_energy := energy for the systems in `which` (empty = all).
void copy_energy_to_prev(Batch& b, const std::vector<bool>& which) {
  if (!b.has("prev_energy") || !b.has("energy")) return;
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* e = b.get("energy").data<T>();
    T* p = b.get("prev_energy").data<T>();
    for (std::int64_t s = 0; s < b.n_systems(); ++s)
      if (which.empty() || which[static_cast<std::size_t>(s)]) p[s] = e[s];
  });
}

constexpr std::array<std::string_view, kNumStages> kStageNames = {
    "BEFORE_STEP",        "BEFORE_PRE_UPDATE", "AFTER_PRE_UPDATE", "BEFORE_COMPUTE", "AFTER_COMPUTE",
    "BEFORE_POST_UPDATE", "AFTER_POST_UPDATE", "AFTER_STEP",       "ON_CONVERGE"};
}  // namespace

std::string_view stage_name(Stage s) { return kStageNames[static_cast<std::size_t>(s)]; }

Stage stage_from_name(std::string_view s) {
  std::string up(s);
  for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (std::size_t i = 0; i < kStageNames.size(); ++i)
    if (kStageNames[i] == up) return static_cast<Stage>(i);
  throw InvalidArgument("unknown hook stage '" + std::string(s) + "'");
}

Dynamics::Dynamics(std::shared_ptr<model::Model> model, double dt_fs) : model_(std::move(model)), dt_fs_(dt_fs) {
  if (!model_) throw InvalidArgument("dynamics needs a model");
  if (!(std::isfinite(dt_fs) && dt_fs > 0))
    throw InvalidArgument("time step dt must be a positive finite number of fs, got " + std::to_string(dt_fs));
}

void Dynamics::register_hook(std::shared_ptr<Hook> hook) {
  if (!hook) throw InvalidArgument("register_hook: null hook");
  if (hook->frequency() < 1)
    throw InvalidArgument("hook '" + hook->name() + "': frequency must be >= 1, got " +
                          std::to_string(hook->frequency()));
  hooks_[static_cast<std::size_t>(hook->stage())].push_back(std::move(hook));
}

void Dynamics::set_step_count(std::int64_t n) {
  if (n < 0) throw InvalidArgument("step count must be >= 0");
  step_count_ = n;
}

void Dynamics::fire(Stage s, Context& ctx) {
  for (auto& h : hooks_[static_cast<std::size_t>(s)])
    if (step_count_ % h->frequency() == 0) (*h)(ctx);
}

void Dynamics::prepare(Batch& batch) {
  if (!batch.has("positions")) throw InvalidArgument("batch has no positions");
  if (!batch.has("masses")) throw InvalidArgument("batch has no masses");
  batch.add_standard("velocities");
  batch.add_standard("forces");
  batch.add_standard("energy");
  batch.add_standard("step");
  if (!batch.has("system_id")) {
    auto* id = batch.add_standard("system_id").data<std::int64_t>();
    for (std::int64_t s = 0; s < batch.n_systems(); ++s) id[s] = s;
  }
  dispatch_float(batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* m = batch.get("masses").data<T>();
    for (std::int64_t i = 0; i < batch.n_atoms(); ++i)
      if (!(m[i] > 0))
        throw InvalidArgument("atom " + std::to_string(i) + " (system " +
                              std::to_string(batch.system_index().data<std::int64_t>()[i]) +
                              ") has a non-positive mass");
  });
  bool fresh_prev = false;
  if (tracks_status_) {
    batch.add_standard("status");
    batch.add_field("stage_step", Level::System, DType::Int64, {});
    fresh_prev = !batch.has("prev_energy");
    batch.add_field("prev_energy", Level::System, batch.float_dtype(), {});
  }
  const bool fresh_state = add_state(batch);
  if (forces_current_) {
    forces_current_ = false;
  } else {
    model_->compute(batch);
  }
  if (fresh_state) init_state(batch, std::vector<bool>(static_cast<std::size_t>(batch.n_systems()), true));
  if (fresh_prev) copy_energy_to_prev(batch, {});
}

void Dynamics::set_convergence(Convergence c) {
  convergence_ = std::move(c);
  tracks_status_ = true;
}

void Dynamics::start_systems(Batch& batch, const std::vector<bool>& which) {
  if (which.size() != static_cast<std::size_t>(batch.n_systems()))
    throw InvalidArgument("start_systems: mask has the wrong length");
  if (tracks_status_) {
    if (!batch.has("status") || !batch.has("stage_step") || !batch.has("prev_energy"))
      throw InvalidArgument("start_systems: the batch was not prepared for " + name());
    auto* st = batch.get("status").data<std::int32_t>();
    auto* ss = batch.get("stage_step").data<std::int64_t>();
    for (std::size_t s = 0; s < which.size(); ++s)
      if (which[s]) {
        st[s] = 0;
        ss[s] = 0;
      }
    copy_energy_to_prev(batch, which);
  }
  init_state(batch, which);
}

std::vector<std::uint8_t> Dynamics::active_systems(const Batch& batch) const {
  if (!tracks_status_ || !batch.has("status")) return {};
  const auto* st = batch.get("status").data<std::int32_t>();
  std::vector<std::uint8_t> a(static_cast<std::size_t>(batch.n_systems()));
  for (std::size_t s = 0; s < a.size(); ++s) a[s] = st[s] == 0;
  return a;
}

std::vector<bool> Dynamics::check_convergence(Context& ctx) {
  if (!convergence_) return {};
  return advance_converged(ctx, {this});
}

bool Dynamics::all_converged(const Batch& batch) const {
  if (!convergence_ || !batch.has("status")) return false;
  const auto* st = batch.get("status").data<std::int32_t>();
  for (std::int64_t s = 0; s < batch.n_systems(); ++s)
    if (st[s] < final_status()) return false;
  return true;
}

std::vector<bool> Dynamics::advance_converged(Context& ctx, const std::vector<Dynamics*>& stages) {
  Batch& b = ctx.batch;
  const auto n = static_cast<std::size_t>(b.n_systems());
  auto* st = b.get("status").data<std::int32_t>();
  std::vector<bool> newly(n, false);
  for (std::size_t k = 0; k < stages.size(); ++k) {
    if (!stages[k]->convergence_) continue;
    std::vector<std::uint8_t> cand(n, 0);
    bool any = false;
    for (std::size_t s = 0; s < n; ++s) {
      cand[s] = ctx.is_active(static_cast<std::int64_t>(s)) && st[s] == static_cast<std::int32_t>(k);
      any = any || cand[s];
    }
    if (!any) continue;
    auto met = stages[k]->convergence_->evaluate(b, cand);
    for (std::size_t s = 0; s < n; ++s) newly[s] = newly[s] || met[s];
  }
  // prev_energy of every updated system becomes this step's energy (also of those that move on:
  // a stage starts from the energy the system enters with).
  std::vector<bool> updated(n);
  for (std::size_t s = 0; s < n; ++s) updated[s] = ctx.is_active(static_cast<std::int64_t>(s));
  copy_energy_to_prev(b, updated);
  auto* ss = b.get("stage_step").data<std::int64_t>();
  for (std::size_t s = 0; s < n; ++s)
    if (newly[s]) {
      ++st[s];
      ss[s] = 0;
    }
  for (std::size_t k = 1; k < stages.size(); ++k) {
    std::vector<bool> entered(n, false);
    bool any = false;
    for (std::size_t s = 0; s < n; ++s) {
      entered[s] = newly[s] && st[s] == static_cast<std::int32_t>(k);
      any = any || entered[s];
    }
    if (any) stages[k]->init_state(b, entered);
  }
  return newly;
}

std::int64_t Dynamics::run(Batch& batch, std::int64_t n_steps) {
  if (n_steps < 0) throw InvalidArgument("n_steps must be >= 0, got " + std::to_string(n_steps));
  prepare(batch);
  Context ctx{batch, *model_, *this, step_count_, dt_fs_, {}};
  std::vector<Hook*> opened;
  std::int64_t taken = 0;
  try {
    for (auto& stage : hooks_)
      for (auto& h : stage) {
        h->open(ctx);
        opened.push_back(h.get());
      }
    for (; taken < n_steps; ++taken) {
      if (all_converged(batch)) break;
      step(batch);
      if (on_step_ && !on_step_(taken + 1)) {
        ++taken;
        break;
      }
    }
  } catch (...) {
    ctx.step = step_count_;
    ctx.failed = true;
    for (Hook* h : opened) {
      try {
        h->close(ctx);
      } catch (...) {  // the first error is the one the user needs
      }
    }
    throw;
  }
  ctx.step = step_count_;
  for (Hook* h : opened) h->close(ctx);
  return taken;
}

void Dynamics::step(Batch& batch) {
  Context ctx{batch, *model_, *this, step_count_, dt_fs_, {}};
  ctx.active = active_systems(batch);
  fire(Stage::BEFORE_STEP, ctx);
  fire(Stage::BEFORE_PRE_UPDATE, ctx);
  pre_update(ctx);
  fire(Stage::AFTER_PRE_UPDATE, ctx);
  fire(Stage::BEFORE_COMPUTE, ctx);
  model_->compute(batch);
  fire(Stage::AFTER_COMPUTE, ctx);
  fire(Stage::BEFORE_POST_UPDATE, ctx);
  post_update(ctx);
  fire(Stage::AFTER_POST_UPDATE, ctx);
  auto* steps = batch.get("step").data<std::int64_t>();
  std::int64_t* stage_steps =
      tracks_status_ && batch.has("stage_step") ? batch.get("stage_step").data<std::int64_t>() : nullptr;
  for (std::int64_t s = 0; s < batch.n_systems(); ++s)
    if (ctx.is_active(s)) {
      ++steps[s];
      if (stage_steps) ++stage_steps[s];
    }
  ctx.newly_converged = check_convergence(ctx);
  fire(Stage::AFTER_STEP, ctx);
  bool any = false;
  for (bool b : ctx.newly_converged) any = any || b;
  if (any) fire(Stage::ON_CONVERGE, ctx);
  ++step_count_;
}

namespace {
template <typename T>
void half_kick(Batch& b, double dt, const std::vector<std::uint8_t>& active) {
  T* v = b.get("velocities").data<T>();
  const T* f = b.get("forces").data<T>();
  const T* m = b.get("masses").data<T>();
  const auto* si = b.system_index().data<std::int64_t>();
  const std::uint8_t* act = active.empty() ? nullptr : active.data();
  const T h = static_cast<T>(0.5 * dt * units::kAccel);
  parallel_for(b.n_atoms(), [=](std::int64_t i) {
    if (act && !act[si[i]]) return;
    const T s = h / m[i];
    for (int k = 0; k < 3; ++k) v[3 * i + k] += s * f[3 * i + k];
  });
}
template <typename T>
void drift(Batch& b, double dt, const std::vector<std::uint8_t>& active) {
  T* x = b.get("positions").data<T>();
  const T* v = b.get("velocities").data<T>();
  const auto* si = b.system_index().data<std::int64_t>();
  const std::uint8_t* act = active.empty() ? nullptr : active.data();
  const T d = static_cast<T>(dt);
  parallel_for(b.n_atoms() * 3, [=](std::int64_t i) {
    if (act && !act[si[i / 3]]) return;
    x[i] += d * v[i];
  });
}
}  // namespace

void DemoDynamics::pre_update(Context& ctx) {
  dispatch_float(ctx.batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    half_kick<T>(ctx.batch, ctx.dt_fs, ctx.active);
    drift<T>(ctx.batch, ctx.dt_fs, ctx.active);
  });
}

void DemoDynamics::post_update(Context& ctx) {
  dispatch_float(ctx.batch.float_dtype(),
                 [&](auto zero) { half_kick<decltype(zero)>(ctx.batch, ctx.dt_fs, ctx.active); });
}

double degrees_of_freedom(const Batch& batch, std::int64_t s) {
  const auto* ap = batch.atoms_ptr_data();
  const auto n = static_cast<double>(ap[s + 1] - ap[s]);
  return n > 1 ? 3.0 * n - 3.0 : 3.0 * n;
}

std::vector<double> system_parameter(const Batch& batch, std::string_view name, double fallback) {
  std::vector<double> v(static_cast<std::size_t>(batch.n_systems()), fallback);
  if (!batch.has(name)) return v;
  if (batch.level(name) != Level::System)
    throw InvalidArgument("field '" + std::string(name) + "' is not system-level");
  const Tensor& t = batch.get(name);
  dispatch_float(t.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* p = t.data<T>();
    for (std::size_t s = 0; s < v.size(); ++s) v[s] = double(p[s]);
  });
  return v;
}

std::vector<double> kinetic_energy(const Batch& batch) {
  std::vector<double> ke(static_cast<std::size_t>(batch.n_systems()), 0.0);
  if (!batch.has("velocities")) return ke;
  dispatch_float(batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* v = batch.get("velocities").data<T>();
    const T* m = batch.get("masses").data<T>();
    const auto* ap = batch.atoms_ptr_data();
    for (std::int64_t s = 0; s < batch.n_systems(); ++s) {
      double sum = 0;
      for (std::int64_t i = ap[s]; i < ap[s + 1]; ++i)
        for (int k = 0; k < 3; ++k) sum += double(m[i]) * double(v[3 * i + k]) * double(v[3 * i + k]);
      ke[static_cast<std::size_t>(s)] = 0.5 * sum * units::kMv2ToEv;
    }
  });
  return ke;
}

std::vector<double> temperature(const Batch& batch) {
  auto ke = kinetic_energy(batch);
  const auto* ap = batch.atoms_ptr_data();
  for (std::int64_t s = 0; s < batch.n_systems(); ++s) {
    const auto n = ap[s + 1] - ap[s];
    const double dof = n > 1 ? 3.0 * static_cast<double>(n) - 3.0 : 3.0 * static_cast<double>(n);
    ke[static_cast<std::size_t>(s)] = dof > 0 ? 2.0 * ke[static_cast<std::size_t>(s)] / (dof * units::kBoltzmann) : 0.0;
  }
  return ke;
}

void maxwell_boltzmann(Batch& batch, double temperature_K, std::uint64_t seed) {
  if (!(temperature_K >= 0 && std::isfinite(temperature_K)))
    throw InvalidArgument("temperature must be a finite value >= 0 K");
  batch.add_standard("velocities");
  dispatch_float(batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* v = batch.get("velocities").data<T>();
    const T* m = batch.get("masses").data<T>();
    const auto* ap = batch.atoms_ptr_data();
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    for (std::int64_t s = 0; s < batch.n_systems(); ++s) {
      double p[3] = {0, 0, 0}, mt = 0;
      for (std::int64_t i = ap[s]; i < ap[s + 1]; ++i) {
        const double sd = std::sqrt(units::kBoltzmann * temperature_K / double(m[i]) * units::kAccel);  // Å/fs
        for (int k = 0; k < 3; ++k) {
          v[3 * i + k] = static_cast<T>(sd * normal(rng));
          p[k] += double(m[i]) * double(v[3 * i + k]);
        }
        mt += double(m[i]);
      }
      if (ap[s + 1] - ap[s] > 1)
        for (std::int64_t i = ap[s]; i < ap[s + 1]; ++i)
          for (int k = 0; k < 3; ++k) v[3 * i + k] -= static_cast<T>(p[k] / mt);
    }
    // Rescale each system to the exact target temperature.
    auto t_now = temperature(batch);
    for (std::int64_t s = 0; s < batch.n_systems(); ++s) {
      const double tn = t_now[static_cast<std::size_t>(s)];
      const double f = tn > 0 ? std::sqrt(temperature_K / tn) : 0.0;
      for (std::int64_t i = ap[s]; i < ap[s + 1]; ++i)
        for (int k = 0; k < 3; ++k) v[3 * i + k] = static_cast<T>(double(v[3 * i + k]) * f);
    }
  });
}

}  // namespace batchmd::dynamics
