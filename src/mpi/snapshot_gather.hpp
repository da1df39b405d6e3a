// SPDX-License-Identifier: Apache-2.0
// mpi/snapshot_gather: the snapshot hooks of a data-parallel run. Every rank records its own
// systems at the snapshot steps; rank 0 writes each snapshot of the whole job into the one store,
// as ONE write of every rank's part in rank order (= global system order, partition.hpp).
//
// Protocol (messages of tag kTagSnapshot, from rank r > 0 to rank 0, in step order):
//   PART(f)        the rank's systems after the step that fired at step count f (f % every == 0)
//   RELAXED        systems that converged in a stage (ConvergedSnapshotHook), for the
//                  relaxed-structure store: rank 0 writes them as they come
//   DONE(T, conv)  the rank's run ended after T steps (T counts from the job's first step, as the
//                  step count does); conv: every system of the rank had finished (converged), so
//                  its state no longer changes; then its final systems.
// Rank 0 writes snapshot f once it holds every rank's part of f. A rank whose systems all
// finished before f stops stepping (Dynamics::run ends early), and a single-process run would
// record those systems unchanged: rank 0 writes that rank's final systems in their place. A
// rank that ended before f without having converged (stopped by a signal) leaves snapshot f
// incomplete: rank 0 writes no snapshot from there on, so the store holds only whole snapshots.
// The run ends at T = max over ranks; with final_snapshot the state at T is written as
// hooks::SnapshotHook does (when every rank that ended earlier had converged).
#pragma once
#include <memory>
#include <optional>
#include <vector>

#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/mpi/session.hpp"
#include "batchmd/sinks/data_sink.hpp"
#include "comm.hpp"

namespace batchmd::mpi {

/// Ranks 1..N-1: sends PART at every snapshot and DONE when the run ends.
class SnapshotSender : public dynamics::Hook {
 public:
  SnapshotSender(std::shared_ptr<Comm> comm, SnapshotPlan plan) : comm_(std::move(comm)), plan_(plan) {}
  std::string name() const override { return "mpi::SnapshotSender"; }
  dynamics::Stage stage() const override { return dynamics::Stage::AFTER_STEP; }
  std::int64_t frequency() const override { return plan_.every; }
  void operator()(dynamics::Context& ctx) override;
  void close(dynamics::Context& ctx) override;

 private:
  std::shared_ptr<Comm> comm_;
  SnapshotPlan plan_;
};

/// Rank 0: collects the parts, writes whole snapshots into the sink.
class SnapshotCollector : public dynamics::Hook {
 public:
  SnapshotCollector(std::shared_ptr<Comm> comm, std::shared_ptr<sinks::DataSink> sink, SnapshotPlan plan);
  std::string name() const override { return "mpi::SnapshotCollector(" + sink_->name() + ")"; }
  dynamics::Stage stage() const override { return dynamics::Stage::AFTER_STEP; }
  std::int64_t frequency() const override { return plan_.every; }
  void operator()(dynamics::Context& ctx) override;
  void close(dynamics::Context& ctx) override;
  std::int64_t snapshots() const { return snapshots_; }
  /// The relaxed-structure store (rank 0's), for the RELAXED messages.
  void set_relaxed(std::shared_ptr<sinks::DataSink> relaxed) { relaxed_ = std::move(relaxed); }

 private:
  struct Peer {
    bool done = false;
    std::int64_t end_step = 0;
    bool converged = false;
    std::optional<Batch> final_rows;
  };
  /// Rank r's part of the snapshot fired at f, or nullptr when the snapshot cannot be whole.
  /// Receives PART(f) or DONE from r when r is still running.
  const Batch* part_of(int r, std::int64_t f, Batch& received);
  /// Receives r's next message into peers_[r]; returns the part when it is PART(f).
  std::optional<Batch> receive(int r, std::int64_t f);
  void write(std::vector<const Batch*> parts, std::int64_t next_step);

  std::shared_ptr<Comm> comm_;
  std::shared_ptr<sinks::DataSink> sink_;
  std::shared_ptr<sinks::DataSink> relaxed_;
  SnapshotPlan plan_;
  std::vector<Peer> peers_;
  std::int64_t snapshots_ = 0;
  std::int64_t last_written_ = -1;  // step count of the last state written
  bool incomplete_ = false;         // a snapshot could not be whole: no more are written
};

/// Whether every system of the context's batch has finished (status >= final_status()).
bool all_finished(dynamics::Context& ctx);

/// The bytes of a RELAXED message holding `rows` (sent by a rank's ForwardingSink).
std::vector<std::byte> relaxed_message(const Batch& rows);

}  // namespace batchmd::mpi
