// SPDX-License-Identifier: Apache-2.0
// hooks/converged_snapshot: ConvergedSnapshotHook.
#include "batchmd/hooks/converged_snapshot.hpp"

#include "batchmd/core/error.hpp"

namespace batchmd::hooks {

ConvergedSnapshotHook::ConvergedSnapshotHook(std::shared_ptr<sinks::DataSink> sink) : sink_(std::move(sink)) {
  if (!sink_) throw InvalidArgument("ConvergedSnapshotHook needs a sink");
}

void ConvergedSnapshotHook::operator()(dynamics::Context& ctx) {
  const auto& mask = ctx.newly_converged;
  if (mask.empty()) return;
  if (static_cast<std::int64_t>(mask.size()) != ctx.batch.n_systems())
    throw InvalidArgument("ConvergedSnapshotHook: newly_converged has " + std::to_string(mask.size()) +
                          " entries for " + std::to_string(ctx.batch.n_systems()) + " systems");
  std::int64_t n = 0;
  for (bool b : mask) n += b ? 1 : 0;
  if (n == 0) return;
  sink_->write(ctx.batch, mask);
  written_ += n;
}

void ConvergedSnapshotHook::close(dynamics::Context&) { sink_->flush(); }

}  // namespace batchmd::hooks
