// SPDX-License-Identifier: Apache-2.0
// core/simd_clones: BATCHMD_SIMD_CLONES, the one spelling of the CPU kernels' function
// multi-versioning. A function marked with it is compiled for AVX-512 (x86-64-v4) and AVX2+FMA
// (x86-64-v3) besides the baseline ISA, and the loader picks the best the CPU has through an ifunc
// resolver (GCC target_clones).
// Off under ThreadSanitizer: the dynamic loader runs ifunc resolvers while relocating the program,
// before the TSan runtime is initialised, and an instrumented resolver then crashes the program
// before main (seen with lld, which binds these through the GOT at load time). The TSan build
// tests threading, not the vector code paths, so it runs the baseline ones.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#if defined(BATCHMD_SIMD_WIDEST_V3)  // CMake BATCHMD_SIMD_WIDEST=x86-64-v3: no AVX-512 clone
#define BATCHMD_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define BATCHMD_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
#else
#define BATCHMD_SIMD_CLONES
#endif
