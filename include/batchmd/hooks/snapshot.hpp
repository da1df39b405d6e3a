// SPDX-License-Identifier: Apache-2.0
// hooks/snapshot: SnapshotHook, which writes the whole batch into a DataSink at AFTER_STEP.
#pragma once
#include <memory>

#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/sinks/data_sink.hpp"

namespace batchmd::hooks {

/// Writes every system and every field of the batch to `sink` every `frequency` steps,
/// at AFTER_STEP (so the snapshot holds this step's positions, velocities and forces).
/// Flushes the sink when the run ends. With final_snapshot, a run that ends (normally or
/// stopped by its step callback, not by an error) on a step that was not recorded also writes
/// that last state, so the sink always ends with a restartable snapshot.
class SnapshotHook : public dynamics::Hook {
 public:
  SnapshotHook(std::shared_ptr<sinks::DataSink> sink, std::int64_t frequency, bool final_snapshot = false);
  std::string name() const override { return "SnapshotHook(" + sink_->name() + ")"; }
  dynamics::Stage stage() const override { return dynamics::Stage::AFTER_STEP; }
  std::int64_t frequency() const override { return frequency_; }
  void operator()(dynamics::Context& ctx) override;
  void close(dynamics::Context& ctx) override;
  std::int64_t snapshots() const { return snapshots_; }
  sinks::DataSink& sink() { return *sink_; }

 private:
  std::shared_ptr<sinks::DataSink> sink_;
  std::int64_t frequency_;
  bool final_snapshot_;
  std::int64_t snapshots_ = 0;
  std::int64_t last_written_ = -1;  // step count of the last state written
};

}  // namespace batchmd::hooks
