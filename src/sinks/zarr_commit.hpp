// SPDX-License-Identifier: Apache-2.0
// sinks/zarr_commit: the commit protocol of a ZarrData writer (TRAJECTORY_FORMAT.md, "Growth and
// commits"). Writes taken off the queue are appended to their arrays, and every chunk they
// complete is encoded and stored at once, in parallel on the task pool (one array per task); the
// unfinished tail of each array stays in memory. A commit then stores the tails, then each
// array's shape, then the root's num_samples — so a reader, or a writer after a kill, sees whole
// samples only, and a kill loses at most what came after the last commit.
//
// It keeps two extents: what is encoded (e_*: stored but for the held-back tails) and what the
// layout's root says is committed (TrajectoryStore::n_*). Runs on the writer thread only.
#pragma once
#include <memory>

#include "task_pool.hpp"
#include "zarr_layout.hpp"
#include "zarr_write_queue.hpp"

namespace batchmd::sinks::detail {

class CommitProtocol final : public WriteHandler {
 public:
  /// Starts from the layout's committed extent; `workers` encoding threads.
  CommitProtocol(TrajectoryStore& layout, int workers);

  void process(std::vector<WriteJob>& jobs) override;
  bool pending() const override { return e_samples_ > layout_.n_samples; }
  Clock::time_point last_commit() const override { return last_commit_; }
  void commit() override;
  std::size_t buffers_per_write() const override { return layout_.fields.size(); }

  /// Forgets the encoded extent (the layout was reset); call under the queue's lock, when idle.
  void reset() { e_samples_ = e_atoms_ = e_edges_ = 0; }

 private:
  TrajectoryStore& layout_;
  std::unique_ptr<TaskPool> pool_;
  std::int64_t e_samples_ = 0, e_atoms_ = 0, e_edges_ = 0;
  Clock::time_point last_commit_ = Clock::now();
};

}  // namespace batchmd::sinks::detail
