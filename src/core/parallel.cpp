// core/parallel: the CPU thread count used by parallel_for.
#include "batchmd/core/parallel.hpp"

#include <omp.h>

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

void set_num_threads(int n) {
  if (n < 1) throw InvalidArgument("number of threads must be >= 1, got " + std::to_string(n));
  g_threads.store(n);
}

}  // namespace batchmd
