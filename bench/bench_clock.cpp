// SPDX-License-Identifier: Apache-2.0
// bench_clock: what a machine gives each core when more of them work (issue 18's thread targets).
// For N = 1, 2, 4, ... threads (std::thread, no OpenMP), every thread does the same fixed work
// and its own wall time is taken; the ratio to the one-thread time is the ceiling that the
// machine itself puts on a parallel efficiency measured against one thread:
//   fma4   four independent float64 multiply-add chains in registers: core clock only (turbo
//          frequency that drops as more cores are busy);
//   fma32  32 chains, enough to keep the floating-point units full: also halves where two
//          threads share one physical core (hyper-threads shown to a VM as cores);
//   fma256, fma512  the fma32 work in AVX2 (4-wide) and AVX-512 (8-wide) fused multiply-adds, 16
//          chains of vectors: the clock a core keeps while its wide vector units are busy (many
//          x86 processors lower it further for AVX-512 as more cores use them); printed only
//          where the CPU has the instructions;
//   cache  sums over a 256 KiB array per thread (L2-resident): clock and the core's caches;
//   stream sums over a 64 MiB array per thread: the memory bandwidth the threads share.
//   bench_clock [--threads 1,2,4,8,16] [--rounds 3]
// Prints one line per (kind, threads): the median over threads of the per-thread time (best of
// the rounds) and efficiency_ceiling = t(1 thread) / t(N threads).
#include <immintrin.h>

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

#if defined(__x86_64__) && defined(__GNUC__)
#define BATCHMD_BENCH_WIDE_FMA 1
// 16 chains of 4-wide (AVX2) or 8-wide (AVX-512) multiply-adds.
__attribute__((target("avx2,fma"))) double fma256_work(double seed, long iters) {
  __m256d a[16];
  for (int k = 0; k < 16; ++k) a[k] = _mm256_set1_pd(seed + k);
  const __m256d m = _mm256_set1_pd(0.999999), c = _mm256_set1_pd(1e-7);
  for (long i = 0; i < iters; ++i)
    for (auto& x : a) x = _mm256_fmadd_pd(x, m, c);
  double s = 0, out[4];
  for (auto& x : a) {
    _mm256_storeu_pd(out, x);
    s += out[0] + out[1] + out[2] + out[3];
  }
  return s;
}
__attribute__((target("avx512f"))) double fma512_work(double seed, long iters) {
  __m512d a[16];
  for (int k = 0; k < 16; ++k) a[k] = _mm512_set1_pd(seed + k);
  const __m512d m = _mm512_set1_pd(0.999999), c = _mm512_set1_pd(1e-7);
  for (long i = 0; i < iters; ++i)
    for (auto& x : a) x = _mm512_fmadd_pd(x, m, c);
  double s = 0, out[8];
  for (auto& x : a) {
    _mm512_storeu_pd(out, x);
    for (double v : out) s += v;
  }
  return s;
}
#endif

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
  std::vector<Kind> all(std::begin(kinds), std::end(kinds));
#ifdef BATCHMD_BENCH_WIDE_FMA
  // The same number of multiply-adds per thread as fma32 (200 M x 32): 16 vectors x 4 or 8 lanes.
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    all.insert(all.begin() + 2, {"fma256", [](int i) { return fma256_work(1.0 + i, 100'000'000); }});
  if (__builtin_cpu_supports("avx512f"))
    all.insert(all.begin() + 3, {"fma512", [](int i) { return fma512_work(1.0 + i, 50'000'000); }});
#endif
  for (const Kind& k : all) {
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
