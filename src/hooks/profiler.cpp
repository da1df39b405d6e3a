// SPDX-License-Identifier: Apache-2.0
// hooks/profiler: ProfilerHook.
#include "batchmd/hooks/profiler.hpp"

#include <chrono>
#include <cstdio>

#include "batchmd/core/cuda.hpp"

namespace batchmd::hooks {

using Clock = std::chrono::steady_clock;

struct ProfilerHook::State {
  std::array<double, dynamics::kNumStages> seconds{};
  std::array<std::int64_t, dynamics::kNumStages> calls{};
  int current = -1;  // stage whose interval is open; -1: none
  Clock::time_point since;
  bool sync_gpu = false;

  // Now, after the GPU finished the work queued so far when asked to.
  Clock::time_point now(const dynamics::Context& ctx) const {
    if (sync_gpu && ctx.batch.is_cuda()) cuda::synchronize(cuda::compute_stream(ctx.batch.device().index));
    return Clock::now();
  }

  void end_interval(Clock::time_point now) {
    if (current >= 0) seconds[static_cast<std::size_t>(current)] += std::chrono::duration<double>(now - since).count();
    current = -1;
  }
};

class ProfilerHook::Timer : public dynamics::Hook {
 public:
  Timer(std::shared_ptr<State> state, dynamics::Stage s) : state_(std::move(state)), stage_(s) {}
  std::string name() const override { return "ProfilerHook[" + std::string(dynamics::stage_name(stage_)) + "]"; }
  dynamics::Stage stage() const override { return stage_; }
  void open(dynamics::Context&) override { state_->current = -1; }
  void close(dynamics::Context& ctx) override { state_->end_interval(state_->now(ctx)); }
  void operator()(dynamics::Context& ctx) override {
    const auto now = state_->now(ctx);
    state_->end_interval(now);
    state_->current = static_cast<int>(stage_);
    state_->since = now;
    ++state_->calls[static_cast<std::size_t>(stage_)];
  }

 private:
  std::shared_ptr<State> state_;
  dynamics::Stage stage_;
};

ProfilerHook::ProfilerHook(bool synchronize_gpu) : state_(std::make_shared<State>()) {
  state_->sync_gpu = synchronize_gpu;
}

void ProfilerHook::attach(dynamics::Dynamics& dyn) const {
  for (int s = 0; s < dynamics::kNumStages; ++s)
    dyn.register_hook(std::make_shared<Timer>(state_, static_cast<dynamics::Stage>(s)));
}

double ProfilerHook::seconds(dynamics::Stage s) const { return state_->seconds[static_cast<std::size_t>(s)]; }
std::int64_t ProfilerHook::calls(dynamics::Stage s) const { return state_->calls[static_cast<std::size_t>(s)]; }

double ProfilerHook::total_seconds() const {
  double t = 0;
  for (double v : state_->seconds) t += v;
  return t;
}

void ProfilerHook::reset() {
  const bool sync = state_->sync_gpu;
  *state_ = State{};
  state_->sync_gpu = sync;
}

std::string ProfilerHook::report() const {
  const double total = total_seconds();
  std::string out;
  char line[160];
  std::snprintf(line, sizeof line, "%-20s %10s %12s %12s %7s\n", "stage", "calls", "seconds", "us/call", "share");
  out += line;
  for (int s = 0; s < dynamics::kNumStages; ++s) {
    const auto st = static_cast<dynamics::Stage>(s);
    const double sec = seconds(st);
    const std::int64_t n = calls(st);
    std::snprintf(line, sizeof line, "%-20s %10lld %12.6f %12.3f %6.1f%%\n",
                  std::string(dynamics::stage_name(st)).c_str(), static_cast<long long>(n), sec,
                  n > 0 ? 1e6 * sec / static_cast<double>(n) : 0.0, total > 0 ? 100.0 * sec / total : 0.0);
    out += line;
  }
  std::snprintf(line, sizeof line, "%-20s %10s %12.6f\n", "total", "", total);
  out += line;
  return out;
}

}  // namespace batchmd::hooks
