// SPDX-License-Identifier: Apache-2.0
// mpi/session: one process's place in a data-parallel `batchmd run` launched by mpirun — its
// rank, its share of the job's systems, the snapshot hook that brings every rank's samples to the
// one writer (rank 0), and the collectives the run's summary needs (docs/mpi.md).
//
// The seam of the optional MPI back-end (ARCHITECTURE.md, decision 9): this header names no MPI
// type. A build with MPI compiles session.cpp; a build without it compiles session_stub.cpp, where
// every process is a single rank (and a launch by mpirun with several ranks is refused with a
// message saying so). run.cpp calls the same functions either way.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "batchmd/core/device.hpp"
#include "batchmd/data/batch.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/dynamics/inflight.hpp"
#include "batchmd/mpi/partition.hpp"
#include "batchmd/sinks/data_sink.hpp"

namespace batchmd::mpi {

/// Whether this batchmd was built with the MPI back-end (BATCHMD_MPI).
bool compiled_in() noexcept;

/// The number of ranks of the mpirun launch this process belongs to, read from the launcher's
/// environment (OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_SIZE... ) without starting MPI; 1 when the
/// process was not started by mpirun.
int launched_ranks() noexcept;

/// What a snapshot hook needs to know about the snapshots it records (see snapshot_hook).
struct SnapshotPlan {
  std::int64_t every = 1;       ///< steps between snapshots (as hooks::SnapshotHook's frequency)
  bool final_snapshot = false;  ///< also record the state at the end (as hooks::SnapshotHook)
};

/// This process's part in a run. A Session of one rank (no mpirun, or a build without MPI) makes
/// every call below the identity or a no-op, so run.cpp reads the same either way.
///
/// Collectives: gather_batch, gather_values, max and the end of the run must be called by every
/// rank in the same order (they are in run.cpp's step order).
class Session {
 public:
  /// Joins the mpirun launch (MPI_Init on first use) when launched_ranks() > 1; otherwise a
  /// single-rank session that starts nothing. Throws InvalidArgument when mpirun started several
  /// ranks of a batchmd built without MPI (each would run the whole job).
  static Session start();
  Session(Session&&) noexcept = default;
  Session& operator=(Session&&) noexcept = default;
  ~Session() = default;

  bool distributed() const { return size_ > 1; }
  bool is_root() const { return rank_ == 0; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  /// Rank among the ranks of this host (OMPI_COMM_WORLD_LOCAL_RANK...), for GPU and thread choice.
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  /// "rank 1 of 3" (empty for a single rank): the prefix of this rank's error messages.
  std::string label() const;

  /// CPU threads for `[run] threads = 0`: the CPUs this process may use shared evenly between the
  /// ranks of this host (at least 1); 0 (= all) for a single rank.
  int default_threads() const;
  /// The device for `[run] device = "auto"`: cuda:<local rank modulo the GPUs> when a GPU is
  /// usable, else the CPU; for a single rank core/cuda's default_device().
  Device default_device() const;
  /// Where this rank prints the run's header and summary: `out` on rank 0, a sink that discards
  /// everything on the others (their progress is not drawn either: see show_progress).
  std::FILE* output(std::FILE* out);
  bool show_progress() const { return is_root(); }
  /// A per-rank file name for what every rank writes itself (log_csv): "log.csv" becomes
  /// "log.rank1.csv" on rank 1 of a distributed run, unchanged for a single rank.
  std::string per_rank_path(const std::string& path) const;

  /// `batchmd run --mpi-pipeline`: the job's stages run on groups of ranks (stage k on ranks
  /// ⌊kN/S⌋ … ⌊(k+1)N/S⌋−1) and systems move from a rank of stage k to one of stage k+1 when they
  /// finish stage k (docs/mpi.md). Call before local_share(). Throws InvalidArgument for a single
  /// rank, a job of one stage, or fewer ranks than stages.
  void enable_pipeline(int n_stages);
  bool pipeline() const { return pipeline_stages_ > 0; }

  /// This rank's share of the job: the contiguous range of systems that partition() gives it
  /// (balanced by atoms × neighbours within cutoff_A), selected from `all` (every rank holds the
  /// same `all`). Every field is kept, system_id included (added as 0..S-1 when missing, so ids
  /// stay global). Throws InvalidArgument when there are fewer systems than ranks. In the pipeline
  /// the systems are shared between the ranks of the first stage; the others start with none.
  /// @post share() describes the range.
  Batch local_share(Batch all, double cutoff_A);
  const Share& share() const { return share_; }
  /// The part of a per-atom array of the whole job (`per_atom` values per atom, e.g. 3 for a
  /// model's restart state of positions) that belongs to this rank's share.
  std::vector<double> local_slice(const std::vector<double>& all, std::int64_t per_atom) const;

  /// Tells the waits of a distributed run how to see that this process was asked to stop (a
  /// signal): a rank that waits for a peer gives up, with an error naming it, when the peer sends
  /// nothing for a few seconds after the stop (a peer that was killed never answers).
  void set_stop_check(std::function<bool()> stop_requested);

  /// The snapshot hook for the run. Distributed: a hook that sends this rank's systems to rank 0
  /// at every snapshot, and on rank 0 writes each snapshot of the whole job into `sink` (null on
  /// other ranks) as one write, systems in global order — so the store holds the samples a
  /// single-process run writes, in the same order. Single rank: hooks::SnapshotHook.
  std::shared_ptr<dynamics::Hook> snapshot_hook(std::shared_ptr<sinks::DataSink> sink, SnapshotPlan plan);
  /// The sink for this rank's ConvergedSnapshotHook (the relaxed-structure store): `relaxed` itself
  /// for a single rank and on rank 0 (null elsewhere), which then also writes what the other ranks
  /// send; on the other ranks a sink that sends what is written to rank 0. Call after
  /// snapshot_hook(). Rank 0 writes the rows as they arrive, so the relaxed store holds the samples
  /// of a single-process run in another order (the same after sorting by step and system_id).
  std::shared_ptr<sinks::DataSink> converged_sink(std::shared_ptr<sinks::DataSink> relaxed);

  /// Inflight batching (`[run] inflight_slots`): the queue that hands out the job's systems
  /// `order` (indices; every rank passes the same) to dynamics::InflightSlots — a list for a
  /// single rank; distributed, rank 0 hands them out as the ranks' slots free up and writes every
  /// rank's rows into `sink` (null on other ranks) as they arrive (docs/mpi.md); each rank's
  /// first share (at most `slots`, the systems dealt evenly) is kept for it. Call before
  /// converged_sink() (which then routes the relaxed structures the same way) and inflight_rows().
  std::shared_ptr<dynamics::WorkQueue> inflight_queue(std::vector<std::int64_t> order, std::int64_t slots,
                                                      std::shared_ptr<sinks::DataSink> sink);
  /// The sink InflightSlots writes its rows into: `sink` for a single rank and on rank 0, a
  /// forwarder to rank 0 elsewhere.
  std::shared_ptr<sinks::DataSink> inflight_rows(std::shared_ptr<sinks::DataSink> sink);
  /// After InflightSlots::run: distributed, rank 0 keeps serving until every rank has ended its
  /// systems (then flushes the stores); the others tell rank 0 they are done. No-op for one rank.
  /// `stopped`: this process was asked to stop (a signal); rank 0 then hands out no more systems.
  void inflight_finish(bool stopped);
  /// Rank 0 of a distributed inflight run, after inflight_finish: systems handed out to each rank
  /// (index = rank); empty otherwise.
  std::vector<std::int64_t> inflight_handed_out() const;
  /// Collective. Rank 0 gets every rank's inflight results (InflightSlots::results with its start
  /// energies) in system-id order, `e0` along; the other ranks (and a single rank) get theirs back.
  Batch gather_inflight(Batch local, std::vector<double>& e0);

  /// Snapshots written into the store so far by the hook snapshot_hook() made (rank 0; 0 on the
  /// other ranks of a distributed run).
  std::int64_t snapshots_written() const { return count_snapshots_ ? count_snapshots_() : 0; }

  /// The step loop: dyn.run(batch, steps); in the pipeline, this rank's part of it (rank 0 also
  /// collects the snapshots). Returns the steps this rank took (the pipeline: the job's steps on
  /// rank 0, 0 elsewhere, so that max() over the ranks is the job's).
  std::int64_t run(dynamics::Dynamics& dyn, Batch& batch, std::int64_t steps);
  /// Collective. The step count the job ended at: the largest rank's (the pipeline: rank 0's
  /// record of the last system; other ranks get `local`).
  std::int64_t end_step(std::int64_t local);
  /// Whether rank 0 can write the model's restart state for the whole job (gather_values of
  /// every rank's in rank order is in system order): not in the pipeline, where systems move.
  bool keeps_model_state() const { return pipeline_stages_ == 0; }

  /// Collective. Rank 0 gets every rank's systems of `local` concatenated in rank order (the
  /// whole job in global order; a CPU batch); the other ranks (and a single rank) get `local` back.
  /// Pipeline: rank 0 gets every system's final state in system-id order (no communication).
  Batch gather_batch(Batch local);
  /// Collective. Rank 0 gets the concatenation of every rank's `local` in rank order (per-system
  /// or per-atom values); the other ranks get `local` back.
  std::vector<double> gather_values(const std::vector<double>& local);
  /// Collective. The largest of every rank's value (every rank gets it).
  std::int64_t max(std::int64_t local);

  /// The end of a distributed run, collective: every rank reports its exit code; the result is the
  /// job's (the first non-zero in rank order, else 0) on every rank.
  int agree_exit_code(int local);

 private:
  Session() = default;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  Share share_;
  std::shared_ptr<std::FILE> devnull_;
  int pipeline_stages_ = 0;  // > 0: the stage pipeline (enable_pipeline)
  std::int64_t n_systems_ = 0;
  std::function<std::int64_t()> count_snapshots_;
  struct Impl;  // the MPI state (session.cpp); null for a single rank
  std::shared_ptr<Impl> impl_;
};

/// For main(): the process is about to exit with `code`. A rank of a distributed run that fails
/// (code other than 0, 130, 143) aborts the whole job (MPI_Abort) so that no other rank waits
/// for it; otherwise MPI is finalised. Returns `code`. No-op when MPI was not started.
int finish(int code);

/// "rank 1 of 3: " while a distributed run is under way, else "": the prefix of error messages.
std::string error_prefix();

}  // namespace batchmd::mpi
