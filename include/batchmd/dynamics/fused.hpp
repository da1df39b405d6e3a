// SPDX-License-Identifier: Apache-2.0
// dynamics/fused: FusedStage, several dynamics (e.g. FIRE then Langevin) run on one batch with
// one shared model evaluation per step.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "batchmd/dynamics/dynamics.hpp"

namespace batchmd::dynamics {

/// Composes stages on one batch. Each system's int32 "status" is the index of the stage it is
/// in; a step calls every stage's pre_update / post_update restricted to its own systems
/// (status == k, fixed at the start of the step) around ONE model evaluation of the whole
/// batch (with the first stage's model). At AFTER_STEP, before any hook, each stage's
/// convergence criterion (set_convergence on the stage) is evaluated on its systems; a system
/// that meets it moves to stage k+1 (whose per-system state is reset, stage_step = 0) and is
/// reported in Context::newly_converged at ON_CONVERGE. Systems with status == number of
/// stages are finished and left untouched; run() ends when every system is finished. A stage
/// without a criterion keeps its systems until run() ends.
///
/// Hooks are registered on the FusedStage (hooks of the member stages are not fired). Each
/// stage keeps its own dt. The member stages must not be run on their own concurrently. On a GPU
/// batch the stages' masks are uploaded only when they change, and the criteria of all stages
/// are evaluated from one copy of their inputs per step (none when they only count steps).
class FusedStage : public Dynamics {
 public:
  explicit FusedStage(std::vector<std::shared_ptr<Dynamics>> stages);
  std::string name() const override;
  const std::vector<std::shared_ptr<Dynamics>>& stages() const { return stages_; }
  std::int64_t n_stages() const { return static_cast<std::int64_t>(stages_.size()); }
  std::int32_t final_status() const override { return static_cast<std::int32_t>(stages_.size()); }
  /// Starts the given systems in stage 0.
  void start_systems(Batch& batch, const std::vector<bool>& which) override;
  /// Per-stage system counts (index n_stages: finished).
  std::vector<std::int64_t> status_counts(const Batch& batch) const;
  /// True when any stage needs stress (then every step computes it for the whole batch).
  bool needs_stress() const override;

 protected:
  std::vector<std::uint8_t> active_systems(const Batch& batch) const override;
  bool add_state(Batch& batch) override;
  void init_state(Batch& batch, const std::vector<bool>& which) override;
  void pre_update(Context& ctx) override;
  void post_update(Context& ctx) override;
  void finish_run(Batch& batch) override;
  std::vector<bool> check_convergence(Context& ctx) override;
  bool all_converged(const Batch& batch) const override;

 private:
  template <typename F>
  void for_each_stage(Context& ctx, F&& f);
  std::vector<std::shared_ptr<Dynamics>> stages_;
  std::vector<Dynamics*> raw_;
};

}  // namespace batchmd::dynamics
