// SPDX-License-Identifier: Apache-2.0
// bench/thread_cpu: CPU time of each OpenMP worker thread, for parallel efficiency on a shared
// machine. With OMP_WAIT_POLICY=passive a thread waiting at a barrier sleeps, so a thread's CPU
// time is the work it did; the busiest thread's time is the run's critical path as if it had the
// cores to itself, and  CPU time of the 1-thread run / (N × busiest thread's time)  is the
// parallel efficiency less only the barriers' wake-up latency — a figure that other processes
// on the machine do not change, unlike wall time.
#pragma once
#include <omp.h>
#include <time.h>

#include <vector>

#include "batchmd/core/parallel.hpp"

namespace batchmd::bench {

/// CPU seconds of each of the num_threads() pool threads so far (GOMP keeps the pool's threads
/// across parallel regions of the same size, so the clocks accumulate).
inline std::vector<double> thread_cpu_seconds() {
  const int n = num_threads();
  std::vector<double> out(static_cast<std::size_t>(n), 0.0);
#pragma omp parallel num_threads(n)
  {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    out[static_cast<std::size_t>(omp_get_thread_num())] =
        static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
  return out;
}

}  // namespace batchmd::bench
