// SPDX-License-Identifier: Apache-2.0
// dynamics/inflight: inflight batching — a fixed-capacity batch whose finished systems are
// written to a sink and replaced by new input structures until the input is exhausted
// (InflightBatcher, the library form), and InflightSlots, the form `batchmd run` uses
// (`[run] inflight_slots`): every system on its own clock, snapshot rows at its own steps, and the
// next system taken from a WorkQueue (one process, or rank 0 of an MPI job) as a slot frees up.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/sinks/data_sink.hpp"

namespace batchmd::sinks {
class TrajectoryReader;
}

namespace batchmd::dynamics {

/// Where inflight batching takes its input structures from.
class StructureSource {
 public:
  virtual ~StructureSource() = default;
  virtual std::int64_t size() const = 0;
  virtual std::int64_t n_atoms(std::int64_t i) const = 0;
  /// Structure i as a one-system batch.
  virtual Batch load(std::int64_t i) const = 0;
};

/// Structures held in memory.
class VectorSource : public StructureSource {
 public:
  explicit VectorSource(std::vector<AtomicData> systems);
  std::int64_t size() const override { return static_cast<std::int64_t>(systems_.size()); }
  std::int64_t n_atoms(std::int64_t i) const override;
  Batch load(std::int64_t i) const override;

 private:
  std::vector<AtomicData> systems_;
};

/// The samples of a trajectory store (sinks::TrajectoryReader URL), or a chosen subset of them.
class TrajectorySource : public StructureSource {
 public:
  explicit TrajectorySource(const std::string& url, std::vector<std::int64_t> samples = {});
  ~TrajectorySource() override;
  std::int64_t size() const override { return static_cast<std::int64_t>(samples_.size()); }
  std::int64_t n_atoms(std::int64_t i) const override;
  Batch load(std::int64_t i) const override;

 private:
  std::unique_ptr<sinks::TrajectoryReader> reader_;
  std::vector<std::int64_t> samples_;
  std::vector<std::int64_t> counts_;
};

struct InflightResult {
  std::int64_t steps = 0;       ///< steps taken
  std::int64_t finished = 0;    ///< systems written with status == final_status()
  std::int64_t unfinished = 0;  ///< systems still running when max_steps ran out (also written)
  std::int64_t not_loaded = 0;  ///< inputs never loaded (max_steps ran out first)
};

/// Runs `dynamics` (a plain Dynamics with a convergence criterion, or a FusedStage) over every
/// structure of `source` with a batch of fixed capacity (max_systems systems, max_atoms atoms,
/// max_edges edges). Inputs are loaded in order (first in, first out: when the next structure
/// does not fit, the batch waits for more room). After every step, systems whose status reached
/// dynamics.final_status() are written to `sink` (all in one write) and removed, and new inputs
/// are put into the freed room; the new systems are started in the dynamics (status 0, state
/// reset, forces computed). Each system carries the system-level int64 field "input_index"
/// (its index in the source); a source without "system_id" gets system_id = input_index.
/// When run() ends by max_steps, the systems still in the batch are written with their status
/// (< final_status()). Hence every input structure that was loaded comes out exactly once.
class InflightBatcher {
 public:
  InflightBatcher(std::shared_ptr<Dynamics> dynamics, std::shared_ptr<StructureSource> source,
                  std::shared_ptr<sinks::DataSink> sink, std::int64_t max_systems, std::int64_t max_atoms,
                  std::int64_t max_edges = 0);
  InflightResult run(std::int64_t max_steps);
  /// Runs the batch on device d (default: the CPU). Inputs are loaded on the host and copied in;
  /// the sink receives batches on d. Throws InvalidArgument when d is not usable.
  void set_device(const Device& d);
  const Device& device() const { return device_; }
  const Batch& batch() const { return batch_; }
  /// Inputs loaded so far.
  std::int64_t loaded() const { return next_; }

 private:
  /// Loads inputs while they fit; returns the mask of the systems it added.
  std::vector<bool> fill();
  Batch normalized(std::int64_t i) const;
  std::shared_ptr<Dynamics> dyn_;
  std::shared_ptr<StructureSource> src_;
  std::shared_ptr<sinks::DataSink> sink_;
  std::int64_t max_systems_, max_atoms_, max_edges_;
  Device device_;
  Batch batch_;
  std::int64_t next_ = 0;
  InflightResult result_;
};

/// Hands out the systems of an inflight run: indices into the job's systems, each at most once
/// over all takers (one process: a list; MPI: rank 0 hands them out, see mpi/inflight_queue).
class WorkQueue {
 public:
  virtual ~WorkQueue() = default;
  /// Up to `n` (>= 1) systems not handed out yet, in the queue's order; fewer when it runs dry,
  /// none once it is empty for good.
  virtual std::vector<std::int64_t> take(std::int64_t n) = 0;
  /// Called by InflightSlots after every step (a queue served by this process answers its askers).
  virtual void poll() {}
};

/// A WorkQueue over a fixed list, first in first out (one process).
class ListQueue : public WorkQueue {
 public:
  explicit ListQueue(std::vector<std::int64_t> order) : order_(std::move(order)) {}
  std::vector<std::int64_t> take(std::int64_t n) override;

 private:
  std::vector<std::int64_t> order_;
  std::size_t next_ = 0;
};

/// What InflightSlots::run needs to know besides the dynamics.
struct SlotPlan {
  std::int64_t slots = 1;           ///< systems in flight at most (>= 1)
  std::int64_t step_limit = 0;      ///< a system ends when its own "step" field reaches this
  std::int64_t snapshot_every = 1;  ///< a row after each step s of a system with (s-1) % every == 0
  bool final_rows = true;           ///< a run stopped by its step callback writes the systems in flight
};

/// One system for a slot: a one-system batch on the host, and whether it starts afresh (status 0,
/// stage_step 0, integrator state reset, forces computed: as a system of a plain run at step 0) or
/// continues from a recorded row exactly as it stands (a restart: forces, status, step and the
/// integrator's state are the row's).
struct SlotInput {
  Batch system;
  bool fresh = true;
};

/// Inflight batching for `batchmd run`. At most plan.slots systems are in the batch; each takes one
/// step per step of the loop on its own clock (its "step" field) and leaves the batch when its
/// status reaches dyn.final_status() (converged; dynamics that track status) or its step count
/// reaches plan.step_limit; the freed slots are refilled from the queue after the same step.
///
/// Rows written to `rows` (each a whole sample of the batch's fields):
///  - after each step, the rows of the systems whose step count s satisfies (s-1) % every == 0 — the
///    rows a plain run's SnapshotHook records while the system runs, at the same per-system steps;
///  - the end row of every system that leaves (once: not again when it was just recorded).
/// So the store holds every sample of a plain run of the same systems without the plain run's
/// repeats of finished systems, written as they happen (not in system order), each exactly once.
/// A system's arithmetic depends only on its own state, id and step (per-system forces and
/// integrator state, Langevin noise keyed by (seed, system_id, step, atom)), so the rows equal the
/// plain run's bit for bit on the CPU when neighbour lists are rebuilt every step (skin = 0; with
/// a skin the batch-wide rebuild makes the last bits depend on the batch, as in docs/mpi.md).
/// New systems get their forces from a compute on themselves alone, so the systems in flight are
/// left untouched by a refill.
///
/// Hooks registered on dyn run as in a plain run (Context::step is the loop's step count; hooks
/// that keep per-system state key it by system_id, as EnergyDriftMonitorHook does).
class InflightSlots {
 public:
  InflightSlots(Dynamics& dyn, WorkQueue& queue, std::function<SlotInput(std::int64_t)> load,
                std::shared_ptr<sinks::DataSink> rows, SlotPlan plan, Device device = Device::cpu());
  /// Runs until the queue is dry and every slot empty, or dyn's step callback returns false (a
  /// stop: the systems in flight are then written as they stand when plan.final_rows, and kept in
  /// results()). Returns the loop's steps. Flushes `rows` at the end.
  std::int64_t run();
  /// The last state of every system that ran here (ended, or in flight at a stop), host batch in
  /// system-id order, for the run's summary; with start_energies, per system of it the total
  /// energy (eV, potential + kinetic) when it started here.
  Batch results(std::vector<double>* start_energies = nullptr) const;
  /// Steps taken by all systems together, and atoms x steps (throughput figures).
  std::int64_t system_steps() const { return system_steps_; }
  std::int64_t atom_steps() const { return atom_steps_; }
  /// Samples written to `rows`.
  std::int64_t rows_written() const { return rows_written_; }
  /// Systems that ended (converged or out of steps) here.
  std::int64_t ended() const { return ended_count_; }
  /// Whether the step callback stopped the run (systems were left in flight).
  bool stopped() const { return stopped_; }

 private:
  /// Takes systems from the queue into the free slots; returns whether any came.
  bool refill(Batch& batch, bool first);
  /// Writes the rows due after a step, takes out the systems that ended.
  void after_step(Batch& batch);

  Dynamics& dyn_;
  WorkQueue& queue_;
  std::function<SlotInput(std::int64_t)> load_;
  std::shared_ptr<sinks::DataSink> rows_;
  SlotPlan plan_;
  Device device_;
  bool dry_ = false;
  bool stopped_ = false;
  std::vector<Batch> done_;                          // host end rows (and rows in flight at a stop)
  std::vector<std::pair<std::int64_t, double>> e0_;  // system_id -> total energy at its start here
  std::vector<bool> written_;                        // per system in flight: its row of this step is written
  std::int64_t system_steps_ = 0, atom_steps_ = 0, rows_written_ = 0, ended_count_ = 0;
};

}  // namespace batchmd::dynamics
