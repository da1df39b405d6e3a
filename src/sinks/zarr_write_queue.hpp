// SPDX-License-Identifier: Apache-2.0
// sinks/zarr_write_queue: the bounded queue between ZarrData::write (the step thread) and the one
// background writer thread — back-pressure when queue_depth writes wait, the writer's wake-ups
// (work, a flush's ticket, the commit deadline, the end), the first background error kept and
// raised on the caller's next call, and the recycling of CPU write buffers so the step thread
// neither allocates nor faults pages once warm.
//
// What a write *means* to the store is not here: the writer hands every batch of queued writes to
// a WriteHandler (zarr_commit.hpp implements it) and asks it to commit when the interval has
// passed, when flush() asks, or at the end.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "batchmd/zarr/store.hpp"
#include "gpu_staging.hpp"

namespace batchmd::sinks::detail {

/// One accepted write: the selected systems' rows, per field, in the layout's field order.
struct WriteJob {
  std::int64_t samples = 0;
  std::vector<std::int64_t> atoms, edges;  // per sample
  std::vector<const std::byte*> data;      // one per field, in fields order ...
  std::vector<std::int64_t> rows;          // ... with its row count
  std::vector<zarr::Bytes> owned;          // from a CPU batch: the bytes `data` points into
  StagingLease staged;                     // from a GPU batch: pinned bytes, valid after wait()
};

/// What the writer thread does with the writes it takes. Called on the writer thread only, except
/// pending(), which the queue also calls under its lock.
class WriteHandler {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~WriteHandler() = default;
  /// Stores what the writes complete (in order).
  virtual void process(std::vector<WriteJob>& jobs) = 0;
  /// Whether samples are stored but not yet committed.
  virtual bool pending() const = 0;
  virtual Clock::time_point last_commit() const = 0;
  /// Makes every processed sample visible.
  virtual void commit() = 0;
  /// Buffers a CPU write owns (one per field): bounds the recycled buffers.
  virtual std::size_t buffers_per_write() const = 0;
};

class WriteQueue {
 public:
  using Clock = WriteHandler::Clock;
  /// Starts the writer thread. handler must outlive the queue.
  WriteQueue(WriteHandler& handler, std::size_t queue_depth, double commit_interval_s);
  /// Lets the writer take what is queued, commit it, and end; joins it.
  ~WriteQueue();
  WriteQueue(const WriteQueue&) = delete;
  WriteQueue& operator=(const WriteQueue&) = delete;

  /// Waits while queue_depth writes are queued (back-pressure); raises a background error.
  void enqueue(WriteJob job);
  /// Waits until every write enqueued before is processed and committed; raises a background error.
  void flush();
  /// Raises the first background error, if any.
  void rethrow();
  /// A buffer of `bytes` for a CPU write, recycled from an earlier one when there is one.
  zarr::Bytes take_buffer(std::size_t bytes);
  /// Runs f under the queue's lock (to change what the writer reads when it wakes; call when idle).
  void locked(const std::function<void()>& f);

 private:
  void loop();
  void recycle(WriteJob& j);
  void rethrow_locked();

  WriteHandler& handler_;
  const std::size_t queue_depth_;
  const Clock::duration interval_;
  std::mutex m_;
  std::condition_variable cv_work_, cv_space_, cv_idle_;
  std::deque<WriteJob> queue_;
  bool busy_ = false, stop_ = false;
  // flush() takes a ticket and waits until a commit that served it has ended.
  std::uint64_t commit_tickets_ = 0, commits_served_ = 0;
  // Buffers of processed CPU writes, reused by the next write (no allocation or page faults on
  // the step thread once warm); at most (queue_depth + 2) writes' worth.
  std::vector<zarr::Bytes> spare_;
  std::exception_ptr error_;
  std::thread writer_;  // last: started when everything above exists
};

}  // namespace batchmd::sinks::detail
