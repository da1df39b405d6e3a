// SPDX-License-Identifier: Apache-2.0
// core/parallel: parallel_for, the one loop every numerical kernel runs through.
// On the CPU it is an OpenMP loop (threads from BATCHMD_NUM_THREADS or OMP_NUM_THREADS);
// a CUDA build maps the same functor onto a kernel launch.
#pragma once
#include <cstdint>

namespace batchmd {

/// Number of CPU threads kernels use.
int num_threads();
/// Sets the number of CPU threads (>= 1).
void set_num_threads(int n);

namespace detail {
/// omp_get_thread_num() / omp_get_num_threads() (kept out of this header's includes).
int thread_index();
int team_size();
/// First item of part t of m in parallel_for_weighted: the first i with prefix[i] - prefix[0]
/// >= total * t / m (n for t = m).
std::int64_t weighted_split(std::int64_t n, const std::int64_t* prefix, std::int64_t t, std::int64_t m);
}  // namespace detail

/// Calls f(i) for i in [0, n). Iterations must be independent.
template <typename F>
void parallel_for(std::int64_t n, F&& f) {
#pragma omp parallel for schedule(static) num_threads(num_threads()) if (n > 256)
  for (std::int64_t i = 0; i < n; ++i) f(i);
}

/// Like parallel_for, but for uneven work items (e.g. systems of different sizes).
template <typename F>
void parallel_for_dynamic(std::int64_t n, F&& f) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(num_threads()) if (n > 1)
  for (std::int64_t i = 0; i < n; ++i) f(i);
}

/// Calls f(t) for t in [0, n), n at most num_threads(), item t on the team's thread t: the same
/// thread takes the same item in every call (with the same team), so what item t reads and
/// writes (a chunk of a split system's list, its private force buffer) stays in that thread's
/// core cache from one call to the next, which a dynamic schedule would hand to another core.
/// A team smaller than n (nested regions) takes the items t, t + m, ... Items must be independent.
template <typename F>
void parallel_for_threads(std::int64_t n, F&& f) {
  if (n <= 1) {
    for (std::int64_t t = 0; t < n; ++t) f(t);
    return;
  }
#pragma omp parallel num_threads(static_cast <int>(n))
  {
    const std::int64_t m = detail::team_size();
    for (std::int64_t t = detail::thread_index(); t < n; t += m) f(t);
  }
}

/// Calls f(i) for i in [0, n), items of uneven cost: prefix ([n + 1], non-decreasing, e.g. a
/// batch's atoms_ptr) holds the running total of the items' costs. Each thread takes one
/// contiguous range of items of about equal total cost (split points by binary search): no
/// per-item scheduling, neighbours in memory stay on one thread, and the split depends only on
/// prefix and the thread count. Items must be independent.
template <typename F>
void parallel_for_weighted(std::int64_t n, const std::int64_t* prefix, F&& f) {
  const int nt = num_threads();
  if (nt == 1 || n < 2 || prefix[n] - prefix[0] < 256) {
    for (std::int64_t i = 0; i < n; ++i) f(i);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    const std::int64_t t = detail::thread_index(), m = detail::team_size();
    const std::int64_t i0 = detail::weighted_split(n, prefix, t, m);
    const std::int64_t i1 = detail::weighted_split(n, prefix, t + 1, m);
    for (std::int64_t i = i0; i < i1; ++i) f(i);
  }
}

}  // namespace batchmd
