// SPDX-License-Identifier: Apache-2.0
// sinks/task_pool: a fixed pool of worker threads that runs a list of tasks and waits for all of
// them, or takes single tasks without waiting (the ZarrData writer's chunk encoders).
#pragma once
#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace batchmd::sinks::detail {

/// A fixed pool that runs a list of tasks and waits for all of them.
class TaskPool {
 public:
  explicit TaskPool(int n) {
    for (int i = 0; i < std::max(1, n); ++i) threads_.emplace_back([this] { loop(); });
  }
  ~TaskPool() {
    {
      std::lock_guard lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  /// Queues one task to run on a worker; returns at once. The task must not throw.
  void post(std::function<void()> task) {
    {
      std::lock_guard lk(m_);
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
  }
  /// Runs every task (in parallel) and rethrows the first exception any of them threw.
  void run_all(std::vector<std::function<void()>>& tasks) {
    std::exception_ptr first;
    std::size_t left = tasks.size();
    std::mutex done_m;
    std::condition_variable done_cv;
    {
      std::lock_guard lk(m_);
      for (auto& t : tasks)
        queue_.push_back([&, task = &t] {
          std::exception_ptr e;
          try {
            (*task)();
          } catch (...) {
            e = std::current_exception();
          }
          std::lock_guard dl(done_m);
          if (e && !first) first = e;
          if (--left == 0) done_cv.notify_all();
        });
    }
    cv_.notify_all();
    std::unique_lock dl(done_m);
    done_cv.wait(dl, [&] { return left == 0; });
    if (first) std::rethrow_exception(first);
  }

 private:
  void loop() {
    for (;;) {
      std::function<void()> f;
      {
        std::unique_lock lk(m_);
        cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
        if (stop_ && queue_.empty()) return;
        f = std::move(queue_.front());
        queue_.pop_front();
      }
      f();
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  bool stop_ = false;
};

}  // namespace batchmd::sinks::detail
