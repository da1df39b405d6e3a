// SPDX-License-Identifier: Apache-2.0
// sinks/zarr_write_queue: the writer thread's loop and the queue's waits (see zarr_write_queue.hpp).
#include "zarr_write_queue.hpp"

#include <algorithm>

namespace batchmd::sinks::detail {

WriteQueue::WriteQueue(WriteHandler& handler, std::size_t queue_depth, double commit_interval_s)
    : handler_(handler),
      queue_depth_(queue_depth),
      interval_(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(commit_interval_s))) {
  writer_ = std::thread([this] { loop(); });
}

WriteQueue::~WriteQueue() {
  {
    std::lock_guard lk(m_);
    stop_ = true;
  }
  cv_work_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void WriteQueue::rethrow_locked() {
  if (error_) std::rethrow_exception(error_);
}

void WriteQueue::rethrow() {
  std::lock_guard lk(m_);
  rethrow_locked();
}

void WriteQueue::locked(const std::function<void()>& f) {
  std::lock_guard lk(m_);
  f();
}

void WriteQueue::enqueue(WriteJob job) {
  std::unique_lock lk(m_);
  cv_space_.wait(lk, [&] { return queue_.size() < queue_depth_ || error_; });
  rethrow_locked();
  queue_.push_back(std::move(job));
  cv_work_.notify_one();
}

/// The writer thread: takes every queued write, has the handler store what completes a chunk,
/// and commits when the interval since the last commit has passed, when flush() asks, or at the
/// end; waits for the commit deadline when there is nothing else to do.
void WriteQueue::loop() {
  for (;;) {
    std::vector<WriteJob> jobs;
    bool asked = false, ending = false;
    std::uint64_t ticket = 0;
    {
      std::unique_lock lk(m_);
      const auto ready = [&] { return stop_ || !queue_.empty() || commits_served_ < commit_tickets_; };
      if (handler_.pending() && !error_)
        cv_work_.wait_until(lk, handler_.last_commit() + interval_, ready);
      else
        cv_work_.wait(lk, ready);
      while (!queue_.empty()) {
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      ticket = commit_tickets_;
      asked = commits_served_ < ticket;
      ending = stop_;
      busy_ = true;
    }
    cv_space_.notify_all();
    std::exception_ptr e;
    bool failed;
    {
      std::lock_guard lk(m_);
      failed = static_cast<bool>(error_);
    }
    if (!failed) {
      try {
        if (!jobs.empty()) handler_.process(jobs);
        if (handler_.pending() && (asked || ending || Clock::now() - handler_.last_commit() >= interval_))
          handler_.commit();
      } catch (...) {
        e = std::current_exception();
      }
    }
    for (auto& j : jobs) recycle(j);
    {
      std::lock_guard lk(m_);
      if (e && !error_) error_ = e;
      busy_ = false;
      commits_served_ = std::max(commits_served_, ticket);
      if (ending && queue_.empty()) {
        cv_idle_.notify_all();
        return;
      }
    }
    cv_idle_.notify_all();
    cv_space_.notify_all();
  }
}

/// Keeps a processed write's buffers for the next write (bounded).
void WriteQueue::recycle(WriteJob& j) {
  const std::size_t limit = (queue_depth_ + 2) * std::max<std::size_t>(1, handler_.buffers_per_write());
  std::lock_guard lk(m_);
  for (auto& b : j.owned)
    if (spare_.size() < limit) spare_.push_back(std::move(b));
  j.owned.clear();
}

zarr::Bytes WriteQueue::take_buffer(std::size_t bytes) {
  zarr::Bytes b;
  {
    std::lock_guard lk(m_);
    if (!spare_.empty()) {
      b = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  b.resize(bytes);  // the same size as last time: no allocation, no initialisation
  return b;
}

void WriteQueue::flush() {
  std::unique_lock lk(m_);
  const std::uint64_t ticket = ++commit_tickets_;
  cv_work_.notify_one();
  cv_idle_.wait(lk, [&] { return (queue_.empty() && !busy_ && commits_served_ >= ticket) || (error_ && !busy_); });
  rethrow_locked();
}

}  // namespace batchmd::sinks::detail
