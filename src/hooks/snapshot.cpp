// SPDX-License-Identifier: Apache-2.0
// hooks/snapshot: SnapshotHook.
#include "batchmd/hooks/snapshot.hpp"

#include "batchmd/core/error.hpp"

namespace batchmd::hooks {

SnapshotHook::SnapshotHook(std::shared_ptr<sinks::DataSink> sink, std::int64_t frequency, bool final_snapshot)
    : sink_(std::move(sink)), frequency_(frequency), final_snapshot_(final_snapshot) {
  if (!sink_) throw InvalidArgument("SnapshotHook needs a sink");
  if (frequency < 1) throw InvalidArgument("SnapshotHook frequency must be >= 1, got " + std::to_string(frequency));
}

void SnapshotHook::operator()(dynamics::Context& ctx) {
  sink_->write(ctx.batch);
  ++snapshots_;
  last_written_ = ctx.step + 1;  // AFTER_STEP: this step is complete
}

void SnapshotHook::close(dynamics::Context& ctx) {
  if (final_snapshot_ && !ctx.failed && ctx.step > 0 && last_written_ != ctx.step) {
    sink_->write(ctx.batch);
    ++snapshots_;
    last_written_ = ctx.step;
  }
  sink_->flush();
}

}  // namespace batchmd::hooks
