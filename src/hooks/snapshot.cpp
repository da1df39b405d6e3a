// hooks/snapshot: SnapshotHook.
#include "batchmd/hooks/snapshot.hpp"

#include "batchmd/core/error.hpp"

namespace batchmd::hooks {

SnapshotHook::SnapshotHook(std::shared_ptr<sinks::DataSink> sink, std::int64_t frequency)
    : sink_(std::move(sink)), frequency_(frequency) {
  if (!sink_) throw InvalidArgument("SnapshotHook needs a sink");
  if (frequency < 1) throw InvalidArgument("SnapshotHook frequency must be >= 1, got " + std::to_string(frequency));
}

void SnapshotHook::operator()(dynamics::Context& ctx) {
  sink_->write(ctx.batch);
  ++snapshots_;
}

}  // namespace batchmd::hooks
