// SPDX-License-Identifier: Apache-2.0
// sinks/zarr_commit: the commit protocol of a ZarrData writer (TRAJECTORY_FORMAT.md, "Growth and
// commits"). Writes taken off the queue are appended to their arrays; every chunk they complete
// is encoded and stored by a task on the pool, while the writer goes on taking writes (at most a
// few chunks per worker in flight: back-pressure beyond that); the unfinished tail of each array
// stays in memory. A commit waits for every chunk in flight, then stores the tails, then each
// array's shape, then the root's num_samples — so a reader, or a writer after a kill, sees whole
// samples only, and a kill loses at most what came after the last commit.
//
// It keeps two extents: what is encoded (e_*: handed to the pool or held back as tails) and what
// the layout's root says is committed (TrajectoryStore::n_*). Runs on the writer thread only; the
// chunk tasks touch nothing but their own chunk and the store.
#pragma once
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <utility>

#include "task_pool.hpp"
#include "zarr_layout.hpp"
#include "zarr_write_queue.hpp"

namespace batchmd::sinks::detail {

/// Chunks being encoded and stored on the pool: a bound on how many, the wait for all of them,
/// the first error one raised, and the buffers they leave for the next chunks.
class ChunksInFlight {
 public:
  ChunksInFlight(TaskPool& pool, std::size_t limit) : pool_(pool), limit_(limit) {}
  ~ChunksInFlight();
  /// Hands `raw` (one whole chunk of `array`, stored under `key`) to the pool; waits while
  /// `limit` chunks are in flight. Raises the first error of an earlier chunk.
  void submit(const zarr::Array& array, std::string key, zarr::Bytes raw);
  /// Waits until no chunk is in flight; raises the first error one raised.
  void wait();
  /// Raises the first error a finished chunk raised, if any.
  void rethrow();
  /// Moves the buffers of stored chunks into `out` (for Array::append_chunks to reuse).
  void take_spare(std::vector<zarr::Bytes>& out);

 private:
  void rethrow_locked();
  TaskPool& pool_;
  const std::size_t limit_;
  std::mutex m_;
  std::condition_variable done_;
  std::size_t in_flight_ = 0;
  std::exception_ptr error_;
  std::vector<zarr::Bytes> spare_;
};

class CommitProtocol final : public WriteHandler {
 public:
  /// Starts from the layout's committed extent; `workers` encoding threads.
  CommitProtocol(TrajectoryStore& layout, int workers);

  void process(std::vector<WriteJob>& jobs) override;
  bool pending() const override { return e_samples_ > layout_.n_samples; }
  Clock::time_point last_commit() const override { return last_commit_; }
  void commit() override;
  std::size_t buffers_per_write() const override { return layout_.fields.size(); }

  /// Forgets the encoded extent (the layout was reset); call under the queue's lock, when idle
  /// (after a commit: no chunk is in flight).
  void reset() { e_samples_ = e_atoms_ = e_edges_ = 0; }

 private:
  /// Rows for one array: where they start, and how many.
  using Rows = std::pair<const std::byte*, std::int64_t>;
  /// Appends `pieces` to one array, in order: unsharded arrays give their completed chunks to
  /// the pool; a sharded one gets one task in `serial` that appends and stores them in order.
  void append(zarr::Array& a, std::vector<Rows> pieces, std::vector<std::function<void()>>& serial);

  TrajectoryStore& layout_;
  std::unique_ptr<TaskPool> pool_;
  ChunksInFlight chunks_;  // after the pool: its destructor waits for the pool's chunk tasks
  std::vector<zarr::EncodedChunk> done_;
  std::vector<zarr::Bytes> spare_;
  std::int64_t e_samples_ = 0, e_atoms_ = 0, e_edges_ = 0;
  Clock::time_point last_commit_ = Clock::now();
};

}  // namespace batchmd::sinks::detail
