// SPDX-License-Identifier: Apache-2.0
// hooks/profiler: ProfilerHook, which measures wall time spent in each part of the step.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "batchmd/dynamics/dynamics.hpp"

namespace batchmd::hooks {

/// Times the step loop per stage. attach(dyn) registers one lightweight timing hook at each of
/// the nine stages; each records a timestamp when its stage fires. The time of stage s is the wall
/// time from its marker to the next marker, i.e. the stage's hooks (those registered after the
/// profiler) plus the work the loop does before the next stage:
///   BEFORE_PRE_UPDATE: + integrator pre_update   BEFORE_COMPUTE: + model evaluation
///   BEFORE_POST_UPDATE: + integrator post_update AFTER_POST_UPDATE: + convergence check
///   AFTER_STEP / ON_CONVERGE: + the loop's work until the next step (step callback, progress).
/// calls(s) counts how often stage s fired (ON_CONVERGE only fires when a system converged).
/// Attach it before other hooks so every stage's hooks are inside its interval. Timing is
/// accumulated across run() calls until reset(). Reads and writes nothing in the batch.
/// On a GPU batch the host only queues work, so by default a stage's time is the host's time to
/// queue it (the GPU's time shows up wherever the host next waits for it). With
/// synchronize_gpu, every marker first waits for the device's compute stream, so stage times
/// are GPU times — at the price of one host synchronisation per stage.
class ProfilerHook {
 public:
  explicit ProfilerHook(bool synchronize_gpu = false);
  /// Registers the nine timing hooks with `dyn`.
  void attach(dynamics::Dynamics& dyn) const;
  double seconds(dynamics::Stage s) const;
  std::int64_t calls(dynamics::Stage s) const;
  /// Sum of seconds over all stages.
  double total_seconds() const;
  void reset();
  /// A table: stage, calls, seconds, microseconds per call, share of the total.
  std::string report() const;

  /// The timing hook of one stage (registered by attach()).
  class Timer;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace batchmd::hooks
