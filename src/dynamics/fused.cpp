// SPDX-License-Identifier: Apache-2.0
// dynamics/fused: FusedStage. Statuses are read on the host (the field, or for a GPU batch the
// mirror Dynamics keeps); each stage's mask goes to the device only when it changed.
#include "batchmd/dynamics/fused.hpp"

#include "batchmd/core/error.hpp"

namespace batchmd::dynamics {

namespace {
const std::vector<std::shared_ptr<Dynamics>>& checked(const std::vector<std::shared_ptr<Dynamics>>& stages) {
  if (stages.empty()) throw InvalidArgument("FusedStage needs at least one stage");
  for (const auto& s : stages)
    if (!s) throw InvalidArgument("FusedStage: null stage");
  return stages;
}
std::shared_ptr<model::Model> first_model(const std::vector<std::shared_ptr<Dynamics>>& stages) {
  return std::shared_ptr<model::Model>(checked(stages).front(), &stages.front()->model());
}
double first_dt(const std::vector<std::shared_ptr<Dynamics>>& stages) { return checked(stages).front()->dt(); }
}  // namespace

FusedStage::FusedStage(std::vector<std::shared_ptr<Dynamics>> stages)
    : Dynamics(first_model(stages), first_dt(stages)), stages_(std::move(stages)) {
  for (std::size_t i = 0; i < stages_.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (stages_[i] == stages_[j]) throw InvalidArgument("FusedStage: the same dynamics object appears twice");
  for (auto& s : stages_) raw_.push_back(s.get());
  tracks_status_ = true;
}

std::string FusedStage::name() const {
  std::string n = "fused(";
  for (std::size_t i = 0; i < stages_.size(); ++i) {
    if (i) n.push_back('+');
    n.append(stages_[i]->name());
  }
  n.push_back(')');
  return n;
}

bool FusedStage::needs_stress() const {
  for (const Dynamics* d : raw_)
    if (d->needs_stress()) return true;
  return false;
}

std::vector<std::uint8_t> FusedStage::active_systems(const Batch& batch) const {
  const auto st = host_status(batch);
  std::vector<std::uint8_t> a(static_cast<std::size_t>(batch.n_systems()));
  for (std::size_t s = 0; s < a.size(); ++s) a[s] = st[s] >= 0 && st[s] < final_status();
  return a;
}

bool FusedStage::add_state(Batch& batch) {
  // Stages whose fields are new start the systems currently in them.
  const auto st = host_status(batch);
  const auto n = static_cast<std::size_t>(batch.n_systems());
  for (std::size_t k = 0; k < raw_.size(); ++k)
    if (raw_[k]->add_state(batch)) {
      std::vector<bool> in(n);
      for (std::size_t s = 0; s < n; ++s) in[s] = st[s] == static_cast<std::int32_t>(k);
      raw_[k]->init_state(batch, in);
    }
  return false;
}

void FusedStage::init_state(Batch& batch, const std::vector<bool>& which) { raw_.front()->init_state(batch, which); }

void FusedStage::start_systems(Batch& batch, const std::vector<bool>& which) { Dynamics::start_systems(batch, which); }

template <typename F>
void FusedStage::for_each_stage(Context& ctx, F&& f) {
  const auto n = static_cast<std::size_t>(ctx.batch.n_systems());
  const auto st = host_status(ctx.batch);
  for (std::size_t k = 0; k < raw_.size(); ++k) {
    Context sub{ctx.batch, ctx.model, *raw_[k], ctx.step, raw_[k]->dt(), {}};
    sub.active.assign(n, 0);
    bool any = false;
    for (std::size_t s = 0; s < n; ++s) {
      sub.active[s] = ctx.is_active(static_cast<std::int64_t>(s)) && st[s] == static_cast<std::int32_t>(k);
      any = any || sub.active[s];
    }
    if (!any) continue;
    if (ctx.batch.is_cuda()) sub.active_device = device_mask(kMaskStage0 + k, sub.active, ctx.batch.device());
    f(*raw_[k], sub);
  }
}

void FusedStage::pre_update(Context& ctx) {
  for_each_stage(ctx, [](Dynamics& d, Context& sub) { d.pre_update(sub); });
}

void FusedStage::post_update(Context& ctx) {
  for_each_stage(ctx, [](Dynamics& d, Context& sub) { d.post_update(sub); });
}

std::vector<bool> FusedStage::check_convergence(Context& ctx) { return advance_converged(ctx, raw_); }

bool FusedStage::all_converged(const Batch& batch) const {
  if (!batch.has("status")) return false;
  const auto st = host_status(batch);
  for (std::int64_t s = 0; s < batch.n_systems(); ++s)
    if (st[static_cast<std::size_t>(s)] < final_status()) return false;
  return true;
}

std::vector<std::int64_t> FusedStage::status_counts(const Batch& batch) const {
  std::vector<std::int64_t> c(stages_.size() + 1, 0);
  const auto st = host_status(batch);
  for (std::int64_t s = 0; s < batch.n_systems(); ++s) {
    const std::int32_t x = st[static_cast<std::size_t>(s)];
    if (x >= 0 && x <= final_status()) ++c[static_cast<std::size_t>(x)];
  }
  return c;
}

void FusedStage::finish_run(Batch& batch) {
  for (auto& st : stages_) st->finish_run(batch);
}

}  // namespace batchmd::dynamics
