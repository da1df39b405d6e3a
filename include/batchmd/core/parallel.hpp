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

}  // namespace batchmd
