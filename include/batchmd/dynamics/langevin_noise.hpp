// SPDX-License-Identifier: Apache-2.0
// dynamics/langevin_noise: the CPU's Langevin noise for a run of atoms at once. The deviates are
// gaussian4's (random.hpp: the same Philox4x32-10 counters and keys, the same Box–Muller mapping,
// the first three of the four), computed for many atoms per call in loops GCC vectorises, with
// batchmd's own log and sin/cos (IEEE + − × ÷ and sqrt only, no libm) in place of glibc's: they
// agree with gaussian4's libm deviates to a few units in the last place, and give the same bits on
// every CPU ISA (AVX-512, AVX2 and baseline clones, no FMA contraction), for any thread count and
// any chunking. A deviate stays a pure function of (seed, system id, step, local atom index).
// The GPU kernels keep calling gaussian4 (CUDA's libm); CPU and GPU noise differ in the last bits
// as they did before.
#pragma once
#include <algorithm>
#include <cstdint>

namespace batchmd::dynamics {

/// The three standard normal deviates of each local atom index first_local .. first_local + n − 1
/// of system system_id at step `step`: g3[3 j + k] is deviate k of atom first_local + j, equal to
/// gaussian4(seed, system_id, step, first_local + j)[k] up to the last bits of log/sqrt/sin/cos.
/// n >= 0; g3 holds 3 n doubles.
void langevin_noise(std::uint64_t seed, std::int64_t system_id, std::int64_t step, std::int64_t first_local,
                    std::int64_t n, double* g3);

/// The natural logarithm of langevin_noise, for a positive normal finite x (fdlibm's reduction
/// and polynomial, < 1 ulp; exposed for tests).
double noise_log(double x);

/// sin and cos of 2π r / 2^32 as langevin_noise computes them (exact quadrant reduction of the
/// 32-bit word, polynomials on |t| ≤ π/4; exposed for tests).
void noise_sincos_2pi(std::uint32_t r, double* s, double* c);

/// Atoms per langevin_noise call of the CPU loops (a 1.5 kB stack buffer of deviates).
inline constexpr std::int64_t kNoiseChunk = 64;

/// Calls body(i, g) for every atom i in [a0, a1) of a system, in order, with g the atom's three
/// deviates (local index i − a0), computed kNoiseChunk atoms at a time by langevin_noise.
template <typename Body>
void for_each_noise(std::uint64_t seed, std::int64_t system_id, std::int64_t step, std::int64_t a0, std::int64_t a1,
                    Body&& body) {
  double g[3 * kNoiseChunk];
  for (std::int64_t c0 = a0; c0 < a1; c0 += kNoiseChunk) {
    const std::int64_t c1 = std::min(a1, c0 + kNoiseChunk);
    langevin_noise(seed, system_id, step, c0 - a0, c1 - c0, g);
    for (std::int64_t i = c0; i < c1; ++i) body(i, g + 3 * (i - c0));
  }
}

}  // namespace batchmd::dynamics
