// SPDX-License-Identifier: Apache-2.0
// dynamics/dynamics: the step loop, hook dispatch, velocity Verlet and the kinetic helpers, on
// CPU batches (host loops) and GPU batches (kernels from dynamics_gpu.cu; the host keeps mirrors
// of "status" and "stage_step" and the device copies of the masks a step needs).
#include "batchmd/dynamics/dynamics.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/dynamics/integrator_kernels.hpp"
#include "batchmd/dynamics/units.hpp"
#include "dynamics_gpu.hpp"

namespace batchmd::dynamics {

struct Dynamics::DeviceState {
  struct Mask {
    Tensor dev;                      // uint8 on the device
    std::vector<std::uint8_t> host;  // what dev holds
    bool valid = false;
  };
  // Host mirrors of "status" and "stage_step" (empty when the batch has none) of `batch`, kept
  // equal to the device fields by the code that changes them (step, start_systems,
  // advance_converged) and re-read by resync_status.
  const Batch* batch = nullptr;
  std::vector<std::int32_t> status;
  std::vector<std::int64_t> stage_step;
  bool status_valid = false;
  /// The stage_step mirror, if it is valid for b.
  std::vector<std::int64_t>* stage_steps_of(const Batch& b) {
    const auto n = static_cast<std::size_t>(b.n_systems());
    return status_valid && batch == &b && status.size() == n && stage_step.size() == n ? &stage_step : nullptr;
  }
  std::vector<Mask> masks;
  std::vector<Tensor> scratch;
};

namespace {
/// prev_energy := energy for the systems in `which` (empty = all). On a GPU batch `dev_which` is
/// `which` on the device (nullptr when which is empty).
void copy_energy_to_prev(Batch& b, const std::vector<bool>& which, const std::uint8_t* dev_which) {
  if (!b.has("prev_energy") || !b.has("energy")) return;
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* e = b.get("energy").data<T>();
    T* p = b.get("prev_energy").data<T>();
    if (b.is_cuda()) return gpu::copy_masked(b.device().index, b.n_systems(), e, p, dev_which);
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

Dynamics::Dynamics(std::shared_ptr<model::Model> model, double dt_fs)
    : model_(std::move(model)), dt_fs_(dt_fs), dev_(std::make_unique<DeviceState>()) {
  if (!model_) throw InvalidArgument("dynamics needs a model");
  if (!(std::isfinite(dt_fs) && dt_fs > 0))
    throw InvalidArgument("time step dt must be a positive finite number of fs, got " + std::to_string(dt_fs));
}

Dynamics::~Dynamics() = default;

std::span<const std::int32_t> Dynamics::host_status(const Batch& batch) const {
  if (!batch.has("status")) throw InvalidArgument("batch has no 'status' field (prepare it for " + name() + ")");
  if (!batch.is_cuda()) return batch.get("status").span<std::int32_t>();
  if (!dev_->status_valid || dev_->batch != &batch ||
      dev_->status.size() != static_cast<std::size_t>(batch.n_systems()))
    resync_status(batch);
  return dev_->status;
}

void Dynamics::resync_status(const Batch& batch) const {
  if (!batch.is_cuda() || !batch.has("status")) {
    dev_->status_valid = false;
    return;
  }
  const auto n = static_cast<std::size_t>(batch.n_systems());
  const auto stream = cuda::compute_stream(batch.device().index);
  dev_->status.resize(n);
  dev_->stage_step.clear();
  if (batch.has("stage_step")) {
    dev_->stage_step.resize(n);
    if (n) cuda::copy(dev_->stage_step.data(), batch.get("stage_step").data<std::int64_t>(), n * 8, stream);
  }
  if (n) cuda::copy(dev_->status.data(), batch.get("status").data<std::int32_t>(), n * 4, stream);
  dev_->batch = &batch;
  dev_->status_valid = true;
}

double* Dynamics::device_scratch(std::size_t slot, std::int64_t n, const Device& d) {
  if (dev_->scratch.size() <= slot) dev_->scratch.resize(slot + 1);
  Tensor& t = dev_->scratch[slot];
  n = std::max<std::int64_t>(n, 1);
  if (!t.defined() || t.device() != d || t.numel() < n) t = Tensor(DType::Float64, {n}, d);
  return t.data<double>();
}

const std::uint8_t* Dynamics::device_mask(std::size_t slot, const std::vector<std::uint8_t>& mask, const Device& d) {
  if (mask.empty()) return nullptr;
  if (dev_->masks.size() <= slot) dev_->masks.resize(slot + 1);
  DeviceState::Mask& m = dev_->masks[slot];
  const auto n = static_cast<std::int64_t>(mask.size());
  if (m.valid && m.dev.device() == d && m.host == mask) return m.dev.data<std::uint8_t>();
  if (!m.dev.defined() || m.dev.device() != d || m.dev.numel() < n) m.dev = Tensor(DType::UInt8, {n}, d);
  m.host = mask;
  // Pageable source: the copy has taken the bytes when it returns (no wait for the GPU).
  cuda::copy_async(m.dev.raw(), m.host.data(), m.host.size(), cuda::compute_stream(d.index));
  m.valid = true;
  return m.dev.data<std::uint8_t>();
}

const std::uint8_t* Dynamics::device_mask(std::size_t slot, const std::vector<bool>& mask, const Device& d) {
  return device_mask(slot, std::vector<std::uint8_t>(mask.begin(), mask.end()), d);
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
    Tensor& t = batch.add_standard("system_id");
    if (batch.is_cuda()) {
      std::vector<std::int64_t> ids(static_cast<std::size_t>(batch.n_systems()));
      for (std::size_t s = 0; s < ids.size(); ++s) ids[s] = static_cast<std::int64_t>(s);
      t.copy_from(Tensor::from(ids, {batch.n_systems()}));
    } else {
      auto* id = t.data<std::int64_t>();
      for (std::int64_t s = 0; s < batch.n_systems(); ++s) id[s] = s;
    }
  }
  {
    // GPU batch: the check reads a host copy of the masses (once per run).
    const Tensor* masses = &batch.get("masses");
    Tensor host;
    if (batch.is_cuda()) {
      host = masses->to(Device::cpu());
      masses = &host;
    }
    dispatch_float(batch.float_dtype(), [&](auto zero) {
      using T = decltype(zero);
      const T* m = masses->data<T>();
      for (std::int64_t i = 0; i < batch.n_atoms(); ++i)
        if (!(m[i] > 0))
          throw InvalidArgument("atom " + std::to_string(i) + " (system " +
                                std::to_string(batch.system_index().data<std::int64_t>()[i]) +
                                ") has a non-positive mass");
    });
  }
  bool fresh_prev = false;
  if (tracks_status_) {
    batch.add_standard("status");
    batch.add_field("stage_step", Level::System, DType::Int64, {});
    fresh_prev = !batch.has("prev_energy");
    batch.add_field("prev_energy", Level::System, batch.float_dtype(), {});
    resync_status(batch);
  }
  const bool fresh_state = add_state(batch);
  // Restored forces are kept, unless the integrator needs a virial the batch does not hold.
  if (forces_current_ && !(needs_stress() && !batch.has("virial"))) {
    forces_current_ = false;
  } else {
    forces_current_ = false;
    model_->compute(batch, needs_stress());
  }
  if (fresh_state) init_state(batch, std::vector<bool>(static_cast<std::size_t>(batch.n_systems()), true));
  if (fresh_prev) copy_energy_to_prev(batch, {}, nullptr);
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
    if (batch.is_cuda()) {
      // The batch may have been rearranged (inflight refills): read its statuses afresh.
      resync_status(batch);
      const std::uint8_t* m = device_mask(kMaskWhich, which, batch.device());
      gpu::set_status(batch.device().index, batch.n_systems(), batch.get("status").data<std::int32_t>(),
                      batch.get("stage_step").data<std::int64_t>(), m, false);
      auto* ss_mirror = dev_->stage_steps_of(batch);
      for (std::size_t s = 0; s < which.size(); ++s)
        if (which[s]) {
          dev_->status[s] = 0;
          if (ss_mirror) (*ss_mirror)[s] = 0;
        }
      copy_energy_to_prev(batch, which, m);
    } else {
      auto* st = batch.get("status").data<std::int32_t>();
      auto* ss = batch.get("stage_step").data<std::int64_t>();
      for (std::size_t s = 0; s < which.size(); ++s)
        if (which[s]) {
          st[s] = 0;
          ss[s] = 0;
        }
      copy_energy_to_prev(batch, which, nullptr);
    }
  }
  init_state(batch, which);
}

std::vector<std::uint8_t> Dynamics::active_systems(const Batch& batch) const {
  if (!tracks_status_ || !batch.has("status")) return {};
  const auto st = host_status(batch);
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
  const auto st = host_status(batch);
  for (std::int64_t s = 0; s < batch.n_systems(); ++s)
    if (st[static_cast<std::size_t>(s)] < final_status()) return false;
  return true;
}

std::vector<bool> Dynamics::advance_converged(Context& ctx, const std::vector<Dynamics*>& stages) {
  Batch& b = ctx.batch;
  const auto n = static_cast<std::size_t>(b.n_systems());
  const bool gpu = b.is_cuda();
  // Host statuses: the field (CPU) or the mirror (GPU), which this function keeps up to date.
  if (gpu) host_status(b);  // refreshes the mirror if it is stale
  std::int32_t* st = gpu ? dev_->status.data() : b.get("status").data<std::int32_t>();
  std::vector<bool> newly(n, false);
  // Candidates per stage; the inputs of every criterion with candidates are read in one go (on
  // a GPU batch: the one device-to-host copy of the step).
  std::vector<std::vector<std::uint8_t>> cand(stages.size());
  Convergence::Needs needs;
  bool any_cand = false;
  for (std::size_t k = 0; k < stages.size(); ++k) {
    if (!stages[k]->convergence_) continue;
    std::vector<std::uint8_t> c(n, 0);
    bool any = false;
    for (std::size_t s = 0; s < n; ++s) {
      c[s] = ctx.is_active(static_cast<std::int64_t>(s)) && st[s] == static_cast<std::int32_t>(k);
      any = any || c[s];
    }
    if (!any) continue;
    cand[k] = std::move(c);
    needs |= stages[k]->convergence_->needs();
    any_cand = true;
  }
  if (any_cand) {
    // Step counts only: a GPU batch's host mirror has them, no copy from the device needed.
    Convergence::Inputs inputs;
    const std::vector<std::int64_t>* ss_mirror = gpu ? dev_->stage_steps_of(b) : nullptr;
    if (ss_mirror && !needs.fmax && !needs.energy)
      inputs.stage_step = *ss_mirror;
    else
      inputs = Convergence::gather(b, needs);
    for (std::size_t k = 0; k < stages.size(); ++k) {
      if (cand[k].empty()) continue;
      auto met = stages[k]->convergence_->evaluate(inputs, cand[k]);
      for (std::size_t s = 0; s < n; ++s) newly[s] = newly[s] || met[s];
    }
  }
  // prev_energy of every updated system becomes this step's energy (also of those that move on:
  // a stage starts from the energy the system enters with).
  std::vector<bool> updated(n);
  for (std::size_t s = 0; s < n; ++s) updated[s] = ctx.is_active(static_cast<std::int64_t>(s));
  const std::uint8_t* dev_updated = nullptr;
  if (gpu && !ctx.active.empty())
    dev_updated = ctx.active_device ? ctx.active_device : device_mask(kMaskActive, ctx.active, b.device());
  copy_energy_to_prev(b, updated, dev_updated);
  bool any_new = false;
  for (bool x : newly) any_new = any_new || x;
  if (!any_new) return newly;
  if (gpu) {
    gpu::set_status(b.device().index, b.n_systems(), b.get("status").data<std::int32_t>(),
                    b.get("stage_step").data<std::int64_t>(), device_mask(kMaskWhich, newly, b.device()), true);
    auto* ss_mirror = dev_->stage_steps_of(b);
    for (std::size_t s = 0; s < n; ++s)
      if (newly[s]) {
        ++st[s];
        if (ss_mirror) (*ss_mirror)[s] = 0;
      }
  } else {
    auto* ss = b.get("stage_step").data<std::int64_t>();
    for (std::size_t s = 0; s < n; ++s)
      if (newly[s]) {
        ++st[s];
        ss[s] = 0;
      }
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
    finish_run(batch);
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
  if (batch.is_cuda()) ctx.active_device = device_mask(kMaskActive, ctx.active, batch.device());
  fire(Stage::BEFORE_STEP, ctx);
  fire(Stage::BEFORE_PRE_UPDATE, ctx);
  pre_update(ctx);
  fire(Stage::AFTER_PRE_UPDATE, ctx);
  fire(Stage::BEFORE_COMPUTE, ctx);
  model_->compute(batch, needs_stress());
  fire(Stage::AFTER_COMPUTE, ctx);
  fire(Stage::BEFORE_POST_UPDATE, ctx);
  post_update(ctx);
  fire(Stage::AFTER_POST_UPDATE, ctx);
  auto* steps = batch.get("step").data<std::int64_t>();
  std::int64_t* stage_steps =
      tracks_status_ && batch.has("stage_step") ? batch.get("stage_step").data<std::int64_t>() : nullptr;
  if (batch.is_cuda()) {
    gpu::count_step(gpu::structure(batch, ctx.active_device), steps, stage_steps);
    if (auto* ss_mirror = stage_steps ? dev_->stage_steps_of(batch) : nullptr)
      for (std::int64_t s = 0; s < batch.n_systems(); ++s)
        if (ctx.is_active(s)) ++(*ss_mirror)[static_cast<std::size_t>(s)];
  } else {
    for (std::int64_t s = 0; s < batch.n_systems(); ++s)
      if (ctx.is_active(s)) {
        ++steps[s];
        if (stage_steps) ++stage_steps[s];
      }
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
  const T h = kern::vv_half_kick_factor<T>(dt);
  parallel_for(b.n_atoms(), [=](std::int64_t i) {
    if (act && !act[si[i]]) return;
    kern::vv_half_kick(v + 3 * i, f + 3 * i, m[i], h);
  });
}
/// Half kick then drift, atom by atom in one loop (one pass over memory, one parallel region).
template <typename T>
void kick_drift(Batch& b, double dt, const std::vector<std::uint8_t>& active) {
  T* x = b.get("positions").data<T>();
  T* v = b.get("velocities").data<T>();
  const T* f = b.get("forces").data<T>();
  const T* m = b.get("masses").data<T>();
  const auto* si = b.system_index().data<std::int64_t>();
  const std::uint8_t* act = active.empty() ? nullptr : active.data();
  const T h = kern::vv_half_kick_factor<T>(dt);
  const T d = static_cast<T>(dt);
  parallel_for(b.n_atoms(), [=](std::int64_t i) {
    if (act && !act[si[i]]) return;
    kern::vv_half_kick(v + 3 * i, f + 3 * i, m[i], h);
    for (int k = 0; k < 3; ++k) kern::vv_drift(x[3 * i + k], v[3 * i + k], d);
  });
}

/// Per-system kinetic energy (eV) from host arrays.
template <typename T>
std::vector<double> kinetic_host(const T* v, const T* m, const std::int64_t* ap, std::int64_t n_systems) {
  std::vector<double> ke(static_cast<std::size_t>(n_systems), 0.0);
  for (std::int64_t s = 0; s < n_systems; ++s) {
    double sum = 0;
    for (std::int64_t i = ap[s]; i < ap[s + 1]; ++i)
      for (int k = 0; k < 3; ++k) sum += double(m[i]) * double(v[3 * i + k]) * double(v[3 * i + k]);
    ke[static_cast<std::size_t>(s)] = 0.5 * sum * units::kMv2ToEv;
  }
  return ke;
}

/// Kinetic energies (eV) → temperatures (K), in place.
void ke_to_temperature(std::vector<double>& ke, const std::int64_t* ap) {
  for (std::size_t s = 0; s < ke.size(); ++s) {
    const auto n = ap[s + 1] - ap[s];
    const double dof = n > 1 ? 3.0 * static_cast<double>(n) - 3.0 : 3.0 * static_cast<double>(n);
    ke[s] = dof > 0 ? 2.0 * ke[s] / (dof * units::kBoltzmann) : 0.0;
  }
}
}  // namespace

void VelocityVerlet::pre_update(Context& ctx) {
  dispatch_float(ctx.batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    Batch& b = ctx.batch;
    if (b.is_cuda())
      return gpu::vv_pre<T>(gpu::structure(b, ctx.active_device), b.get("positions").data<T>(),
                            b.get("velocities").data<T>(), b.get("forces").data<T>(), b.get("masses").data<T>(),
                            ctx.dt_fs);
    kick_drift<T>(ctx.batch, ctx.dt_fs, ctx.active);
  });
}

void VelocityVerlet::post_update(Context& ctx) {
  dispatch_float(ctx.batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    Batch& b = ctx.batch;
    if (b.is_cuda())
      return gpu::vv_half_kick<T>(gpu::structure(b, ctx.active_device), b.get("velocities").data<T>(),
                                  b.get("forces").data<T>(), b.get("masses").data<T>(), ctx.dt_fs);
    half_kick<T>(ctx.batch, ctx.dt_fs, ctx.active);
  });
}

double degrees_of_freedom(const Batch& batch, std::int64_t s) {
  const auto* ap = batch.atoms_ptr_data();
  return kern::degrees_of_freedom(ap[s + 1] - ap[s]);
}

std::vector<double> system_parameter(const Batch& batch, std::string_view name, double fallback) {
  std::vector<double> v(static_cast<std::size_t>(batch.n_systems()), fallback);
  if (!batch.has(name)) return v;
  if (batch.level(name) != Level::System)
    throw InvalidArgument("field '" + std::string(name) + "' is not system-level");
  const Tensor* t = &batch.get(name);
  Tensor host;
  if (t->is_cuda()) {
    host = t->to(Device::cpu());
    t = &host;
  }
  dispatch_float(t->dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* p = t->data<T>();
    for (std::size_t s = 0; s < v.size(); ++s) v[s] = double(p[s]);
  });
  return v;
}

std::vector<double> kinetic_energy(const Batch& batch) {
  if (!batch.has("velocities")) return std::vector<double>(static_cast<std::size_t>(batch.n_systems()), 0.0);
  if (batch.is_cuda()) {
    std::vector<double> ke(static_cast<std::size_t>(batch.n_systems()), 0.0);
    if (ke.empty()) return ke;
    Tensor sums(DType::Float64, {batch.n_systems()}, batch.device());
    dispatch_float(batch.float_dtype(), [&](auto zero) {
      using T = decltype(zero);
      gpu::kinetic_mv2(gpu::structure(batch, nullptr), batch.get("velocities").data<T>(), batch.get("masses").data<T>(),
                       sums.data<double>());
    });
    cuda::copy(ke.data(), sums.raw(), ke.size() * sizeof(double), cuda::compute_stream(batch.device().index));
    for (double& e : ke) e = 0.5 * e * units::kMv2ToEv;
    return ke;
  }
  return dispatch_float(batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    return kinetic_host(batch.get("velocities").data<T>(), batch.get("masses").data<T>(), batch.atoms_ptr_data(),
                        batch.n_systems());
  });
}

std::vector<double> temperature(const Batch& batch) {
  auto ke = kinetic_energy(batch);
  ke_to_temperature(ke, batch.atoms_ptr_data());
  return ke;
}

void maxwell_boltzmann(Batch& batch, double temperature_K, std::uint64_t seed) {
  if (!(temperature_K >= 0 && std::isfinite(temperature_K)))
    throw InvalidArgument("temperature must be a finite value >= 0 K");
  batch.add_standard("velocities");
  // A GPU batch: draw on the host from a copy of the masses, then upload the velocities.
  Tensor& vel = batch.get("velocities");
  Tensor host_v, host_m;
  const Tensor* masses = &batch.get("masses");
  Tensor* velocities = &vel;
  if (batch.is_cuda()) {
    host_m = masses->to(Device::cpu());
    host_v = Tensor(vel.dtype(), vel.shape());
    masses = &host_m;
    velocities = &host_v;
  }
  dispatch_float(batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* v = velocities->data<T>();
    const T* m = masses->data<T>();
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
    auto t_now = kinetic_host(v, m, ap, batch.n_systems());
    ke_to_temperature(t_now, ap);
    for (std::int64_t s = 0; s < batch.n_systems(); ++s) {
      const double tn = t_now[static_cast<std::size_t>(s)];
      const double f = tn > 0 ? std::sqrt(temperature_K / tn) : 0.0;
      for (std::int64_t i = ap[s]; i < ap[s + 1]; ++i)
        for (int k = 0; k < 3; ++k) v[3 * i + k] = static_cast<T>(double(v[3 * i + k]) * f);
    }
  });
  if (batch.is_cuda()) vel.copy_from(host_v);
}

}  // namespace batchmd::dynamics
