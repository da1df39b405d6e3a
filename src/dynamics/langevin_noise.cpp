// SPDX-License-Identifier: Apache-2.0
// dynamics/langevin_noise: gaussian4's first three deviates for a run of atoms, vectorised (see
// langevin_noise.hpp for the contract).
//
// Design notes.
// - A block of up to kBlock atoms goes through two loops over the atoms, both vectorised by GCC in
//   every ISA clone (BATCHMD_SIMD_CLONES): Philox4x32-10 on 32-bit lanes (the rounds outside, the
//   atoms inside; the 32×32→64-bit products are vpmuludq), then Box–Muller with the log and sin/cos
//   below, which use IEEE + − × ÷ and sqrt only, integer bit operations for the exponent split and
//   the quadrant, and selects in place of branches.
// - The same bits on every ISA: this file is compiled with -ffp-contract=off (no FMA contraction
//   in the AVX2/AVX-512 clones) and -fno-math-errno (sqrt is the vector instruction; results
//   unchanged); no int64→double conversion instruction is needed (AVX2 has none): integers below
//   2^52 become doubles exactly through the 2^52 exponent trick. A lane's result does not depend on
//   the lane, the block or the clone, so neither on the chunking nor on the thread count.
// - log: fdlibm's e_log.c (Sun Microsystems, 1993; freely distributable) for a positive normal x,
//   without its special cases (zero, negative, subnormal, inf/NaN never reach it: u1 is in
//   [2^-32, 1]) and with both of its final formulas computed and selected, < 1 ulp.
// - sin/cos of 2π r/2^32: the nearest quadrant q = round(4 r/2^32) and the remainder d = r − q 2^30
//   are exact integer operations, t = d · (2π/2^32) with |t| ≤ π/4 in two parts (Cody–Waite) is
//   within about half an ulp, then fdlibm's
//   k_sin.c/k_cos.c minimax polynomials (FreeBSD's form of k_cos) and a swap and sign flips by q.
//   This is more accurate than libm on the rounded argument fl(2π·u2) that gaussian4 passes, so the
//   two differ by up to about one ulp of that argument (≈ 9e-16 absolute at u2 near 1).
#include "batchmd/dynamics/langevin_noise.hpp"

#include <bit>
#include <cmath>

#include "batchmd/core/simd_clones.hpp"

namespace batchmd::dynamics {
namespace {

constexpr int kBlock = 64;

/// v as a double, exactly, for v < 2^52 (no conversion instruction: AVX2 has no int64→double).
[[gnu::always_inline]] inline double exact_double(std::uint64_t v) {
  constexpr std::uint64_t kTwo52Bits = 0x4330000000000000ull;
  return std::bit_cast<double>(kTwo52Bits | v) - 4503599627370496.0;
}

/// log(x) for a positive normal finite x: fdlibm's __ieee754_log.
[[gnu::always_inline]] inline double log_impl(double x) {
  constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kLg1 = 6.666666666666735130e-01, kLg2 = 3.999999999940941908e-01, kLg3 = 2.857142874366239149e-01,
                   kLg4 = 2.222219843214978396e-01, kLg5 = 1.818357216161805012e-01, kLg6 = 1.531383769920937332e-01,
                   kLg7 = 1.479819860511658591e-01;
  const auto bits = std::bit_cast<std::uint64_t>(x);
  const std::uint64_t hx = (bits >> 32) & 0x000fffffu;  // the high 20 bits of the mantissa
  const std::uint64_t i = (hx + 0x95f64u) & 0x100000u;  // set where the mantissa ≥ √2
  // m in [√2/2, √2): x's mantissa with exponent 0, or −1 where it is ≥ √2; x = 2^k m.
  const double m = std::bit_cast<double>(((hx | (i ^ 0x3ff00000u)) << 32) | (bits & 0xffffffffu));
  const std::uint64_t k_biased = (bits >> 52) + (i >> 20);  // k + 1023
  const double dk = exact_double(k_biased) - 1023.0;
  const double f = m - 1.0;
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double w = z * z;
  const double t1 = w * (kLg2 + w * (kLg4 + w * kLg6));
  const double t2 = z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7)));
  const double r = t2 + t1;
  const double hfsq = 0.5 * f * f;
  const double near_sqrt2 = dk * kLn2Hi - ((hfsq - (s * (hfsq + r) + dk * kLn2Lo)) - f);
  const double other = dk * kLn2Hi - ((s * (f - r) - dk * kLn2Lo) - f);
  return (hx >= 0x6147au && hx <= 0x6b851u) ? near_sqrt2 : other;
}

/// sin and cos of 2π r/2^32.
[[gnu::always_inline]] inline void sincos_impl(std::uint32_t r32, double& sin_out, double& cos_out) {
  constexpr double kS1 = -1.66666666666666324348e-01, kS2 = 8.33333333332248946124e-03,
                   kS3 = -1.98412698298579493134e-04, kS4 = 2.75573137070700676789e-06,
                   kS5 = -2.50507602534068634195e-08, kS6 = 1.58969099521155010221e-10;
  constexpr double kC1 = 4.16666666666666019037e-02, kC2 = -1.38888888888741095749e-03,
                   kC3 = 2.48015872894767294178e-05, kC4 = -2.75573143513906633035e-07,
                   kC5 = 2.08757232129817482790e-09, kC6 = -1.13596475577881948265e-11;
  // 2π/2^32 in two parts (Cody–Waite): kHi keeps the top 23 bits of fl(2π), so d·kHi is exact
  // for |d| ≤ 2^29; kLo is the rest of 2π (fl(2π)'s low bits plus 2π − fl(2π)), one rounding.
  constexpr double k2pi = 6.283185307179586476925286766559, k2piTail = 2.4492935982947064e-16;
  constexpr double k2piHi = std::bit_cast<double>(std::bit_cast<std::uint64_t>(k2pi) & ~((1ull << 30) - 1));
  constexpr double kHi = k2piHi / 4294967296.0, kLo = ((k2pi - k2piHi) + k2piTail) / 4294967296.0;  // exact /2^32
  const std::uint64_t r = r32;
  const std::uint64_t nearest = (r + 0x20000000u) >> 30;  // round(4 r/2^32), 0..4
  const std::uint64_t q = nearest & 3u;
  // d = r − nearest·2^30 in [−2^29, 2^29), offset by 2^29 to stay unsigned; exact.
  const double d = exact_double(r + 0x20000000u - (nearest << 30)) - 536870912.0;
  const double t = d * kHi + d * kLo;  // |t| ≤ π/4, within about half an ulp
  const double z = t * t;
  const double w = z * z;
  const double rs = kS2 + z * (kS3 + z * kS4) + z * w * (kS5 + z * kS6);
  const double s = t + z * t * (kS1 + z * rs);
  const double rc = z * (kC1 + z * (kC2 + z * kC3)) + w * w * (kC4 + z * (kC5 + z * kC6));
  const double hz = 0.5 * z;
  const double one_hz = 1.0 - hz;
  const double c = one_hz + (((1.0 - one_hz) - hz) + z * rc);
  // θ = q π/2 + t: q odd swaps sin and cos; cos θ < 0 for q = 1, 2, sin θ < 0 for q = 2, 3.
  const bool odd = (q & 1u) != 0;
  const auto cos_sign = ((q + 1u) & 2u) << 62, sin_sign = (q & 2u) << 62;
  cos_out = std::bit_cast<double>(std::bit_cast<std::uint64_t>(odd ? s : c) ^ cos_sign);
  sin_out = std::bit_cast<double>(std::bit_cast<std::uint64_t>(odd ? c : s) ^ sin_sign);
}

/// (r + 1)/2^32 in (0, 1] and the Box–Muller radius √(−2 ln u1), as gaussian4 forms them.
[[gnu::always_inline]] inline double radius(std::uint32_t r) {
  constexpr double kInv = 1.0 / 4294967296.0;
  const double u1 = exact_double(std::uint64_t(r) + 1u) * kInv;
  return std::sqrt(-2.0 * log_impl(u1));
}

/// The deviates of local atoms first .. first + n − 1 (n ≤ kBlock) for the Philox counter words
/// (step_lo, step_hi, atom, sid) and key (key0, key1).
BATCHMD_SIMD_CLONES void noise_block(std::uint32_t step_lo, std::uint32_t step_hi, std::uint32_t sid,
                                     std::uint32_t key0, std::uint32_t key1, std::uint64_t first, int n, double* g3) {
  constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u, kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  alignas(64) std::uint32_t c0[kBlock], c1[kBlock], c2[kBlock], c3[kBlock];
  for (int j = 0; j < n; ++j) {
    c0[j] = step_lo;
    c1[j] = step_hi;
    c2[j] = static_cast<std::uint32_t>(first + static_cast<std::uint64_t>(j));
    c3[j] = sid;
  }
  for (int round = 0; round < 10; ++round) {
    for (int j = 0; j < n; ++j) {
      const std::uint64_t p0 = std::uint64_t(kM0) * c0[j];
      const std::uint64_t p1 = std::uint64_t(kM1) * c2[j];
      const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1[j] ^ key0;
      const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3[j] ^ key1;
      c0[j] = n0;
      c1[j] = static_cast<std::uint32_t>(p1);
      c2[j] = n2;
      c3[j] = static_cast<std::uint32_t>(p0);
    }
    key0 += kW0;
    key1 += kW1;
  }
  alignas(64) double g0[kBlock], g1[kBlock], g2[kBlock];
  for (int j = 0; j < n; ++j) {
    double s01, c01, s23, c23;
    sincos_impl(c1[j], s01, c01);
    sincos_impl(c3[j], s23, c23);
    const double rad01 = radius(c0[j]), rad23 = radius(c2[j]);
    g0[j] = rad01 * c01;
    g1[j] = rad01 * s01;
    g2[j] = rad23 * c23;
  }
  for (int j = 0; j < n; ++j) {
    g3[3 * j] = g0[j];
    g3[3 * j + 1] = g1[j];
    g3[3 * j + 2] = g2[j];
  }
}

}  // namespace

void langevin_noise(std::uint64_t seed, std::int64_t system_id, std::int64_t step, std::int64_t first_local,
                    std::int64_t n, double* g3) {
  // gaussian4's counter (step lo, step hi, atom, folded system id) and key (seed lo, seed hi).
  const auto sid = static_cast<std::uint64_t>(system_id);
  const auto st = static_cast<std::uint64_t>(step);
  const auto sid32 = static_cast<std::uint32_t>(sid ^ (sid >> 32));
  for (std::int64_t done = 0; done < n; done += kBlock) {
    const int len = static_cast<int>(n - done < kBlock ? n - done : kBlock);
    noise_block(static_cast<std::uint32_t>(st), static_cast<std::uint32_t>(st >> 32), sid32,
                static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                static_cast<std::uint64_t>(first_local + done), len, g3 + 3 * done);
  }
}

double noise_log(double x) { return log_impl(x); }

void noise_sincos_2pi(std::uint32_t r, double* s, double* c) { sincos_impl(r, *s, *c); }

}  // namespace batchmd::dynamics
