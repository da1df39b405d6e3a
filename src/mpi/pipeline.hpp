// SPDX-License-Identifier: Apache-2.0
// mpi/pipeline: the distributed stage pipeline (`batchmd run --mpi-pipeline` under mpirun) — the
// stages of a fused job on groups of ranks; a system that finishes stage k on a rank of group k
// moves, with its whole per-system state, to a rank of group k+1 (point to point, no barrier per
// step), and rank 0 writes the one store (docs/mpi.md).
//
// Every rank runs the same FusedStage, so a system's status is its stage as in one process, and
// its arithmetic depends on its own state, step count and id only: the samples equal the fused
// single-process run's. Snapshot rows are recorded per system when the system's own step count
// reaches a snapshot step (a system takes one step per step of the job while it runs), and rank 0
// writes snapshot f once it holds a row of every system — finished systems stand in with their
// final rows, as a single-process run records them unchanged — sorted by system id.
//
// Messages: kTagSystems (rank of group k -> rank of group k+1): SYSTEMS + a packed batch, or
// CLOSED (that rank sends no more). kTagRows (any rank -> rank 0): ROWS(f) + the rows of snapshot
// f, FINAL + systems that finished (or reached the job's steps) with their final rows, RELAXED +
// systems that converged in a stage (for the relaxed-structure store), DONE.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/mpi/session.hpp"
#include "batchmd/sinks/data_sink.hpp"
#include "comm.hpp"

namespace batchmd::mpi {

/// Which ranks run which stage: group k is ranks [first(k), first(k+1)), first(k) = ⌊kN/S⌋.
struct PipelineLayout {
  int ranks = 1, stages = 1;
  int first(int k) const { return static_cast<int>(static_cast<long long>(k) * ranks / stages); }
  int stage_of(int rank) const;
};

class Pipeline {
 public:
  /// n_systems: the whole job's. sink: the store (rank 0; null elsewhere).
  Pipeline(std::shared_ptr<Comm> comm, PipelineLayout layout, std::int64_t n_systems,
           std::shared_ptr<sinks::DataSink> sink, SnapshotPlan plan);
  /// The hook that records snapshot rows (register it on the FusedStage).
  std::shared_ptr<dynamics::Hook> rows_hook();
  /// Runs this rank's part: steps the systems it holds, passes on those that leave its stage, takes
  /// in those that arrive, until no more can come. A system stops at step start_step + steps.
  /// On rank 0 it then collects the rest of the job and returns the job's steps (its last
  /// system's step count minus the start); the other ranks return 0.
  std::int64_t run(dynamics::Dynamics& dyn, Batch& batch, std::int64_t steps);
  /// Rank 0, after run(): every system's final state, sorted by system id (the summary's batch).
  Batch finals();
  /// Rank 0, after run(): the step the job ended at (the latest system's).
  std::int64_t end_step() const { return end_step_; }
  std::int64_t snapshots() const { return snapshots_; }
  /// The relaxed-structure store (rank 0's), for RELAXED messages.
  void set_relaxed(std::shared_ptr<sinks::DataSink> relaxed) { relaxed_ = std::move(relaxed); }
  /// Systems that converged in a stage on this rank (its ForwardingSink; rank 0 writes them).
  void emit_relaxed(Batch rows);

  /// Rows of snapshot `fire` recorded on this rank (called by the rows hook).
  void emit_rows(std::int64_t fire, Batch rows);

 private:
  // A rank's own part.
  void pass_on(dynamics::Dynamics& dyn, Batch& batch, std::int64_t limit);
  /// Takes in arrived systems; with wait, waits until one arrives or every upstream rank closed.
  void take_in(dynamics::Dynamics& dyn, Batch& batch, bool wait);
  void send_rows(std::int64_t kind, std::int64_t fire, const Batch& rows);
  // Rank 0's collection.
  void collect(bool wait);
  void on_rows(std::int64_t kind, std::int64_t fire, Batch rows);
  void write_ready();
  void finish_collection();

  std::shared_ptr<Comm> comm_;
  PipelineLayout layout_;
  int stage_ = 0;
  std::int64_t n_systems_;
  std::shared_ptr<sinks::DataSink> sink_;
  std::shared_ptr<sinks::DataSink> relaxed_;
  SnapshotPlan plan_;
  int upstream_open_ = 0;                 // ranks of the previous group still sending
  std::vector<std::int64_t> atoms_sent_;  // per rank of the job: atoms this rank sent it
  bool stopped_ = false;                  // the step callback asked to stop (a signal)
  // Rank 0 only.
  std::map<std::int64_t, std::vector<Batch>> pending_;  // snapshot -> rows received so far
  std::map<std::int64_t, std::int64_t> pending_rows_;
  std::vector<Batch> finals_;
  std::vector<std::int64_t> final_steps_;  // per final system: its step count at the end
  int done_ranks_ = 0;
  bool any_stopped_ = false;
  std::int64_t next_fire_ = -1;  // the next snapshot to write
  std::int64_t last_written_ = -1;
  std::int64_t snapshots_ = 0;
  std::int64_t end_step_ = 0;
};

}  // namespace batchmd::mpi
