// SPDX-License-Identifier: Apache-2.0
// core/hd: BATCHMD_HD, the one marker for functions compiled for both the host and the GPU (the
// "one kernel source, two devices" of ARCHITECTURE.md), and the scalar math and int atomics such
// functions call.
//
// A header of host/device code includes this and nothing CUDA-specific: the host compiler sees
// plain inline functions (BATCHMD_HD expands to nothing), nvcc sees __host__ __device__ ones. The
// math below is <cmath> in the host pass and CUDA's math library in the device pass; both are
// IEEE: sqrt is correctly rounded, floor/ceil/fabs/lround are exact, so a function that uses only
// these and + - * / gives the same bits on both devices when the device code is compiled without
// FMA contraction (--fmad=false, as the dynamics and hooks kernels are).
//
// The int atomics below are CUDA's in the device pass and plain read-modify-writes in the host
// pass, where a host/device function runs items one at a time (the CPU tests of the device-built
// lists run their per-thread logic so); the results are the same either way.
#pragma once
#include <cfloat>
#include <cmath>

#if defined(__CUDACC__)
#define BATCHMD_HD __host__ __device__
#else
#define BATCHMD_HD
#endif

namespace batchmd::hd {

// BATCHMD_HD_MATH(f): the math library's f in the pass being compiled — CUDA's ::f in the device
// pass, std::f in the host pass (local to this header).
#ifdef __CUDA_ARCH__
#define BATCHMD_HD_MATH(f) ::f
#else
#define BATCHMD_HD_MATH(f) std::f
#endif
BATCHMD_HD inline double sqrt(double x) { return BATCHMD_HD_MATH(sqrt)(x); }
BATCHMD_HD inline double floor(double x) { return BATCHMD_HD_MATH(floor)(x); }
BATCHMD_HD inline double ceil(double x) { return BATCHMD_HD_MATH(ceil)(x); }
BATCHMD_HD inline double fabs(double x) { return BATCHMD_HD_MATH(fabs)(x); }
/// Nearest integer, halfway cases away from zero (std::lround).
BATCHMD_HD inline long lround(double x) { return BATCHMD_HD_MATH(lround)(x); }
#undef BATCHMD_HD_MATH
/// False for NaN and ±Inf.
BATCHMD_HD inline bool isfinite(double x) { return fabs(x) <= DBL_MAX; }
BATCHMD_HD inline bool isnan(double x) { return x != x; }

/// *p += v; returns the old *p.
BATCHMD_HD inline int atomic_add(int* p, int v) {
#ifdef __CUDA_ARCH__
  return atomicAdd(p, v);
#else
  const int old = *p;
  *p += v;
  return old;
#endif
}
/// *p |= v.
BATCHMD_HD inline void atomic_or(int* p, int v) {
#ifdef __CUDA_ARCH__
  atomicOr(p, v);
#else
  *p |= v;
#endif
}
/// *p = min(*p, v).
BATCHMD_HD inline void atomic_min(int* p, int v) {
#ifdef __CUDA_ARCH__
  atomicMin(p, v);
#else
  if (v < *p) *p = v;
#endif
}
/// *p = max(*p, v).
BATCHMD_HD inline void atomic_max(int* p, int v) {
#ifdef __CUDA_ARCH__
  atomicMax(p, v);
#else
  if (v > *p) *p = v;
#endif
}

}  // namespace batchmd::hd
