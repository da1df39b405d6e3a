// SPDX-License-Identifier: Apache-2.0
// core/parallel: the CPU thread count used by parallel_for, and the split of weighted loops.
#include "batchmd/core/parallel.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

#include "batchmd/core/error.hpp"

namespace batchmd {

namespace {
int initial_threads() {
  for (const char* var : {"BATCHMD_NUM_THREADS", "OMP_NUM_THREADS"}) {
    if (const char* v = std::getenv(var)) {
      int n = std::atoi(v);
      if (n >= 1) return n;
    }
  }
  return omp_get_num_procs();
}
std::atomic<int> g_threads{initial_threads()};
}  // namespace

int num_threads() { return g_threads.load(std::memory_order_relaxed); }

namespace detail {
int thread_index() { return omp_get_thread_num(); }
int team_size() { return omp_get_num_threads(); }
std::int64_t weighted_split(std::int64_t n, const std::int64_t* prefix, std::int64_t t, std::int64_t m) {
  if (t <= 0) return 0;
  if (t >= m) return n;
  const std::int64_t total = prefix[n] - prefix[0];
  // total * t / m without overflow (t < m, so (total % m) * t < m^2).
  const std::int64_t target = total / m * t + total % m * t / m + prefix[0];
  return std::lower_bound(prefix, prefix + n, target) - prefix;
}
}  // namespace detail

void set_num_threads(int n) {
  if (n < 1) throw InvalidArgument("number of threads must be >= 1, got " + std::to_string(n));
  g_threads.store(n);
}

}  // namespace batchmd
