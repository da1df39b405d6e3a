// SPDX-License-Identifier: Apache-2.0
// bench_clock: what a machine gives each core when more of them work (issue 18's thread targets).
// For N = 1, 2, 4, ... threads (std::thread, no OpenMP), every thread does the same fixed work
// and its own wall time is taken; the ratio to the one-thread time is the ceiling that the
// machine itself puts on a parallel efficiency measured against one thread:
//   fma4   four independent float64 multiply-add chains in registers: core clock only (turbo
//          frequency that drops as more cores are busy);
//   fma32  32 chains, enough to keep the floating-point units full: also halves where two
//          threads share one physical core (hyper-threads shown to a VM as cores);
//   cache  sums over a 256 KiB array per thread (L2-resident): clock and the core's caches;
//   stream sums over a 64 MiB array per thread: the memory bandwidth the threads share.
//   bench_clock [--threads 1,2,4,8,16] [--rounds 3]
// Prints one line per (kind, threads): the median over threads of the per-thread time (best of
// the rounds) and efficiency_ceiling = t(1 thread) / t(N threads).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// C independent multiply-add chains: C = 4 leaves the FP units mostly idle (latency-bound: the
// core clock alone), C = 32 keeps them full (a second hardware thread on the same core halves it).
template <int C>
double fma_work(double seed, long iters) {
  double a[C];
  for (int k = 0; k < C; ++k) a[k] = seed + k;
  const double m = 0.999999, c = 1e-7;
  for (long i = 0; i < iters; ++i)
    for (double& x : a) x = x * m + c;
  double s = 0;
  for (double x : a) s += x;
  return s;
}

double sum_work(const std::vector<double>& v, long passes) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const std::size_t n = v.size();
  for (long p = 0; p < passes; ++p)
    for (std::size_t i = 0; i + 3 < n; i += 4) {
      s0 += v[i];
      s1 += v[i + 1];
      s2 += v[i + 2];
      s3 += v[i + 3];
    }
  return s0 + s1 + s2 + s3;
}

// Median over threads of each thread's own time for one run of `work` on n threads.
template <typename F>
double per_thread_seconds(int n, F work) {
  std::vector<double> t(static_cast<std::size_t>(n));
  std::vector<double> sink(static_cast<std::size_t>(n));
  std::vector<std::thread> th;
  for (int i = 0; i < n; ++i)
    th.emplace_back([&, i] {
      const auto t0 = Clock::now();
      sink[static_cast<std::size_t>(i)] = work(i);
      t[static_cast<std::size_t>(i)] = std::chrono::duration<double>(Clock::now() - t0).count();
    });
  for (auto& x : th) x.join();
  double s = 0;
  for (double x : sink) s += x;
  if (s == 12345.678) std::puts("");  // keeps the work alive
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> threads{1, 2, 4, 8, 16};
  int rounds = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      threads.clear();
      std::string s = argv[++i];
      for (std::size_t p = 0; p < s.size();) {
        const std::size_t q = s.find(',', p);
        threads.push_back(std::atoi(s.substr(p, q - p).c_str()));
        if (q == std::string::npos) break;
        p = q + 1;
      }
    } else if (a == "--rounds" && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "bench_clock: unknown option \"%s\" (--threads 1,2,4 --rounds 3)\n", a.c_str());
      return 2;
    }
  }
  for (int n : threads)
    if (n < 1 || n > 1024) {
      std::fprintf(stderr, "bench_clock: --threads takes whole numbers from 1 to 1024\n");
      return 2;
    }
  if (rounds < 1) rounds = 1;
  std::printf("hardware_threads %u\n", std::thread::hardware_concurrency());
  const int most = *std::max_element(threads.begin(), threads.end());
  std::vector<std::vector<double>> small(static_cast<std::size_t>(most)), big(static_cast<std::size_t>(most));
  for (int i = 0; i < most; ++i) {
    small[static_cast<std::size_t>(i)].assign(32 * 1024, 1.0 + i);
    big[static_cast<std::size_t>(i)].assign(8 * 1024 * 1024, 1.0 + i);
  }
  struct Kind {
    const char* name;
    std::function<double(int)> work;
  };
  const Kind kinds[] = {
      {"fma4", [](int i) { return fma_work<4>(1.0 + i, 1'000'000'000); }},
      {"fma32", [](int i) { return fma_work<32>(1.0 + i, 200'000'000); }},
      {"cache", [&](int i) { return sum_work(small[static_cast<std::size_t>(i)], 100000); }},
      {"stream", [&](int i) { return sum_work(big[static_cast<std::size_t>(i)], 200); }},
  };
  for (const Kind& k : kinds) {
    double t1 = 0;
    for (int n : threads) {
      double best = 1e300;
      for (int r = 0; r < rounds; ++r) best = std::min(best, per_thread_seconds(n, k.work));
      if (n == 1) t1 = best;
      std::printf("%-6s threads %3d  per_thread_s %.3f  efficiency_ceiling %.3f\n", k.name, n, best,
                  t1 > 0 ? t1 / best : 0.0);
    }
  }
}
