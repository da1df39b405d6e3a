// SPDX-License-Identifier: Apache-2.0
// hooks/converged_snapshot: ConvergedSnapshotHook, which writes the systems that converged in
// this step (and only those) into a DataSink at ON_CONVERGE.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/sinks/data_sink.hpp"

namespace batchmd::hooks {

/// At ON_CONVERGE, writes the newly converged systems (mask = Context::newly_converged, every
/// field) to `sink`: each system is written once, in the state it converged in (after this step's
/// integrator update, force clamping and convergence status). Flushes the sink when the run ends.
/// Reads: the whole batch. Writes: nothing in the batch.
/// Errors: InvalidArgument for a null sink or a mask whose length is not the number of systems;
/// the sink's CapacityError when it is full (ends the run).
class ConvergedSnapshotHook : public dynamics::Hook {
 public:
  explicit ConvergedSnapshotHook(std::shared_ptr<sinks::DataSink> sink);
  std::string name() const override { return "ConvergedSnapshotHook(" + sink_->name() + ")"; }
  dynamics::Stage stage() const override { return dynamics::Stage::ON_CONVERGE; }
  void operator()(dynamics::Context& ctx) override;
  void close(dynamics::Context& ctx) override;
  /// Systems written so far.
  std::int64_t written() const { return written_; }
  sinks::DataSink& sink() { return *sink_; }

 private:
  std::shared_ptr<sinks::DataSink> sink_;
  std::int64_t written_ = 0;
};

}  // namespace batchmd::hooks
