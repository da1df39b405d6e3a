// SPDX-License-Identifier: Apache-2.0
// Tests for the CPU's vectorised Langevin noise (dynamics/langevin_noise): its log and sin/cos
// against long double libm (edge words included: r = 0, 0xFFFFFFFF, the quadrant and octant
// boundaries), its deviates against gaussian4's libm deviates over 10^6 atoms, the same bits for
// any chunking and for the vector clone and the scalar functions, and the moments of a standard
// normal distribution.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "batchmd/dynamics/langevin_noise.hpp"
#include "batchmd/dynamics/random.hpp"

using namespace batchmd::dynamics;

namespace {

constexpr double kInv32 = 1.0 / 4294967296.0;
constexpr long double k2piL = 6.283185307179586476925286766559005768L;

std::uint64_t splitmix64(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// The 32-bit words where the reductions change branch: the ends, the quadrant points q·2^30 and
/// the octant points (2q+1)·2^29 where the nearest quadrant switches, each with neighbours; the
/// words whose u1 = (r+1)/2^32 has a mantissa at log's √2 split and its near-√2 formula's bounds.
std::vector<std::uint32_t> edge_words() {
  std::vector<std::uint32_t> w;
  for (std::int64_t base = 0; base <= (std::int64_t(1) << 32); base += std::int64_t(1) << 29)
    for (std::int64_t d = -3; d <= 3; ++d) {
      const std::int64_t r = base + d;
      if (r >= 0 && r <= 0xFFFFFFFFll) w.push_back(static_cast<std::uint32_t>(r));
    }
  for (int e = 0; e < 32; ++e)  // (r + 1) = 2^e m for m at √2, 1.38 and 1.42 (hx = 0x6147a, 0x6b851)
    for (const double m : {1.4142135623730951, 1.0 + double(0x6147a) / 1048576.0, 1.0 + double(0x6b851) / 1048576.0})
      for (std::int64_t d = -2; d <= 2; ++d) {
        const std::int64_t r = std::llround(std::ldexp(m, e)) - 1 + d;
        if (r >= 0 && r <= 0xFFFFFFFFll) w.push_back(static_cast<std::uint32_t>(r));
      }
  return w;
}

/// |a − ref| in units of the last place of ref as a double.
double ulps(double a, long double ref) {
  const double r = static_cast<double>(ref);
  const double ulp = std::nextafter(std::fabs(r), std::numeric_limits<double>::infinity()) - std::fabs(r);
  return static_cast<double>(std::fabs(static_cast<long double>(a) - ref) / ulp);
}

/// sin(2π u) in long double, to ~1e-19 relative also near its zeros: u = v + k/2 with k the
/// nearest integer to 2u (exact), sin(2π u) = (−1)^k sin(2π v), |v| ≤ 1/4. cos(2π u) is
/// sin(2π (1/4 − u)). (The plain sinl(2π u) carries 2π's rounding, ~1e-19 absolute, which near a
/// zero such as cos at u ≈ 1/4 is thousands of double ulps of the result.)
long double sin_2pi_ref(long double u) {
  const long double k = std::nearbyint(2 * u);
  const long double v = u - k / 2;
  const long double sv = std::sin(k2piL * v);
  return (std::fmod(k, 2.0L) != 0) ? -sv : sv;
}

/// gaussian4's Box–Muller of one pair of words with libm, the reference the deviates follow.
void libm_pair(std::uint32_t r0, std::uint32_t r1, double& g0, double& g1) {
  constexpr double k2pi = 6.283185307179586476925286766559;
  const double u1 = (double(r0) + 1.0) * kInv32, u2 = double(r1) * kInv32;
  const double rad = std::sqrt(-2.0 * std::log(u1));
  g0 = rad * std::cos(k2pi * u2);
  g1 = rad * std::sin(k2pi * u2);
}

/// The same pair from the scalar noise_log / noise_sincos_2pi (the baseline ISA).
void scalar_pair(std::uint32_t r0, std::uint32_t r1, double& g0, double& g1) {
  const double rad = std::sqrt(-2.0 * noise_log((double(r0) + 1.0) * kInv32));
  double s, c;
  noise_sincos_2pi(r1, &s, &c);
  g0 = rad * c;
  g1 = rad * s;
}

double rel_to_one(double a, double ref) { return std::fabs(a - ref) / std::fmax(1.0, std::fabs(ref)); }

}  // namespace

TEST(LangevinNoise, LogWithinOneUlpOfLongDouble) {
  std::vector<double> xs;
  for (const std::uint32_t r : edge_words()) xs.push_back((double(r) + 1.0) * kInv32);
  std::uint64_t state = 1;
  for (int i = 0; i < 1000000; ++i)
    xs.push_back((double(static_cast<std::uint32_t>(splitmix64(state))) + 1.0) * kInv32);
  for (int i = 0; i < 100000; ++i) {  // any positive normal double, not only Box–Muller's u1
    const std::uint64_t bits = splitmix64(state) >> 1;
    const double x = std::bit_cast<double>(bits);
    if (std::isnormal(x)) xs.push_back(x);
  }
  for (const double x :
       {std::numeric_limits<double>::min(), std::numeric_limits<double>::max(), 0.5, 2.0, 1.0 - 0x1p-53, 1.0 + 0x1p-52})
    xs.push_back(x);
  double worst = 0;
  for (const double x : xs) {
    const double got = noise_log(x);
    if (x == 1.0) {
      EXPECT_EQ(got, 0.0);
      continue;
    }
    const double e = ulps(got, std::log(static_cast<long double>(x)));
    worst = std::fmax(worst, e);
    ASSERT_LE(e, 1.0) << "x = " << x;
  }
  std::printf("noise_log: worst %.3f ulp over %zu arguments\n", worst, xs.size());
}

TEST(LangevinNoise, SinCosWithinTwoUlpsOfLongDouble) {
  std::vector<std::uint32_t> rs = edge_words();
  std::uint64_t state = 2;
  for (int i = 0; i < 1000000; ++i) rs.push_back(static_cast<std::uint32_t>(splitmix64(state)));
  double worst = 0;
  for (const std::uint32_t r : rs) {
    double s, c;
    noise_sincos_2pi(r, &s, &c);
    if ((r & 0x3FFFFFFFu) == 0) {  // a quadrant point: exact
      const double cs[4] = {1, 0, -1, 0}, ss[4] = {0, 1, 0, -1};
      EXPECT_EQ(c, cs[r >> 30]) << "r = " << r;
      EXPECT_EQ(s, ss[r >> 30]) << "r = " << r;
      continue;
    }
    const long double u = static_cast<long double>(r) / 4294967296.0L;  // exact
    const double es = ulps(s, sin_2pi_ref(u)), ec = ulps(c, sin_2pi_ref(0.25L - u));
    worst = std::fmax(worst, std::fmax(es, ec));
    ASSERT_LE(es, 2.0) << "sin, r = " << r;
    ASSERT_LE(ec, 2.0) << "cos, r = " << r;
  }
  std::printf("noise_sincos_2pi: worst %.3f ulp over %zu words\n", worst, rs.size());
}

TEST(LangevinNoise, EdgeWordsMatchLibmBoxMuller) {
  // Every pair of edge words through Box–Muller: batchmd's log/sincos against libm's on the same
  // words. The libm side evaluates cos/sin at fl(2π u2), off the exact angle by up to an ulp of it
  // (≈ 9e-16 for u2 near 1), times a radius up to 6.7: hence 8e-15 relative to max(1, |g|).
  const auto w = edge_words();
  double worst = 0;
  for (const std::uint32_t r0 : w)
    for (const std::uint32_t r1 : w) {
      double a0, a1, b0, b1;
      scalar_pair(r0, r1, a0, a1);
      libm_pair(r0, r1, b0, b1);
      worst = std::fmax(worst, std::fmax(rel_to_one(a0, b0), rel_to_one(a1, b1)));
      ASSERT_LE(rel_to_one(a0, b0), 8e-15) << r0 << " " << r1;
      ASSERT_LE(rel_to_one(a1, b1), 8e-15) << r0 << " " << r1;
    }
  std::printf("edge words: worst %.3g relative to max(1, |g|)\n", worst);
}

TEST(LangevinNoise, DeviatesMatchGaussian4) {
  // 10^6 atoms: systems, steps and seeds spanning the words of the Philox counter and key,
  // including a run of local indices across 2^32 (gaussian4 folds the index to 32 bits).
  struct Run {
    std::uint64_t seed;
    std::int64_t sid, step, first, n;
  };
  const Run runs[] = {{0, 0, 0, 0, 250000},
                      {42, 7, 1, 1000, 250000},
                      {0xDEADBEEFCAFEF00Dull, (std::int64_t(1) << 40) + 3, (std::int64_t(1) << 33) + 5, 17, 249900},
                      {123456789, -1, 999999, (std::int64_t(1) << 32) - 50, 100},
                      {0xFFFFFFFFFFFFFFFFull, 2, 77, 5, 249999},
                      {9, 3, 2, 0, 1}};
  double worst = 0;
  std::int64_t count = 0;
  std::vector<double> g;
  for (const Run& run : runs) {
    g.assign(static_cast<std::size_t>(3 * run.n), 0.0);
    langevin_noise(run.seed, run.sid, run.step, run.first, run.n, g.data());
    for (std::int64_t j = 0; j < run.n; ++j) {
      const auto ref = gaussian4(run.seed, run.sid, run.step, run.first + j);
      for (int k = 0; k < 3; ++k) {
        const double e = rel_to_one(g[static_cast<std::size_t>(3 * j + k)], ref[static_cast<std::size_t>(k)]);
        worst = std::fmax(worst, e);
        ASSERT_LE(e, 8e-15) << "seed " << run.seed << " system " << run.sid << " step " << run.step << " atom "
                            << run.first + j << " deviate " << k;
      }
      ++count;
    }
  }
  EXPECT_GE(count, 1000000);
  std::printf("deviates vs gaussian4: worst %.3g relative to max(1, |g|) over %lld atoms\n", worst,
              static_cast<long long>(count));
}

TEST(LangevinNoise, SameBitsForAnyChunkingAndAsTheScalarFunctions) {
  constexpr std::uint64_t seed = 2024;
  constexpr std::int64_t sid = 11, step = 345, n = 1000;
  std::vector<double> whole(3 * n);
  langevin_noise(seed, sid, step, 0, n, whole.data());
  // Chunked calls: the vector bodies, their scalar remainders and single atoms give the same bits.
  for (const std::int64_t chunk : {1, 3, 7, 8, 63, 64, 65, 127, 200, 999}) {
    std::vector<double> parts(3 * n, -99.0);
    for (std::int64_t a = 0; a < n; a += chunk)
      langevin_noise(seed, sid, step, a, std::min(chunk, n - a), parts.data() + 3 * a);
    EXPECT_EQ(std::memcmp(parts.data(), whole.data(), sizeof(double) * parts.size()), 0) << "chunk " << chunk;
  }
  std::vector<double> tail(3 * 500);
  langevin_noise(seed, sid, step, 137, 500, tail.data());
  EXPECT_EQ(std::memcmp(tail.data(), whole.data() + 3 * 137, sizeof(double) * tail.size()), 0);
  langevin_noise(seed, sid, step, 0, 0, nullptr);  // n = 0: nothing written
  // The clone the loader picked on this CPU (AVX-512, AVX2 or baseline) against the scalar
  // functions, compiled for the baseline ISA: every step of the arithmetic agrees to the bit.
  for (std::int64_t j = 0; j < n; ++j) {
    const auto sidu = static_cast<std::uint64_t>(sid);
    const auto r = philox4x32_10({static_cast<std::uint32_t>(step), 0, static_cast<std::uint32_t>(j),
                                  static_cast<std::uint32_t>(sidu ^ (sidu >> 32))},
                                 {static_cast<std::uint32_t>(seed), 0});
    double g0, g1, g2, unused;
    scalar_pair(r[0], r[1], g0, g1);
    scalar_pair(r[2], r[3], g2, unused);
    const double* got = whole.data() + 3 * j;
    ASSERT_EQ(std::memcmp(got, &g0, sizeof g0), 0) << "atom " << j;
    ASSERT_EQ(std::memcmp(got + 1, &g1, sizeof g1), 0) << "atom " << j;
    ASSERT_EQ(std::memcmp(got + 2, &g2, sizeof g2), 0) << "atom " << j;
  }
}

TEST(LangevinNoise, ForEachNoiseVisitsEveryAtomWithItsDeviates) {
  // for_each_noise over atoms [a0, a1) of a system: local index i − a0, in order, chunk by chunk.
  constexpr std::int64_t a0 = 40, a1 = 40 + 3 * kNoiseChunk + 5;
  std::vector<double> ref(3 * (a1 - a0));
  langevin_noise(5, 6, 7, 0, a1 - a0, ref.data());
  std::int64_t next = a0;
  for_each_noise(5, 6, 7, a0, a1, [&](std::int64_t i, const double* g) {
    ASSERT_EQ(i, next++);
    EXPECT_EQ(std::memcmp(g, ref.data() + 3 * (i - a0), 3 * sizeof(double)), 0) << "atom " << i;
  });
  EXPECT_EQ(next, a1);
}

TEST(LangevinNoise, MomentsOfAStandardNormal) {
  // 10^6 atoms' three deviates: mean 0, variance 1, fourth moment 3 (kurtosis), no correlation
  // between an atom's components; bounds at 5 standard errors (σ² = 1, 2, 96, 1 per draw).
  constexpr std::int64_t n = 1000000;
  std::vector<double> g(3 * n);
  langevin_noise(31337, 4, 10, 0, n, g.data());
  const double nd = double(n);
  for (int k = 0; k < 3; ++k) {
    double m1 = 0, m2 = 0, m4 = 0, cross = 0;
    for (std::int64_t j = 0; j < n; ++j) {
      const double x = g[static_cast<std::size_t>(3 * j + k)];
      m1 += x;
      m2 += x * x;
      m4 += x * x * x * x;
      cross += x * g[static_cast<std::size_t>(3 * j + (k + 1) % 3)];
    }
    m1 /= nd;
    m2 /= nd;
    m4 /= nd;
    cross /= nd;
    EXPECT_LE(std::fabs(m1), 5 * std::sqrt(1 / nd)) << "component " << k;
    EXPECT_LE(std::fabs(m2 - 1), 5 * std::sqrt(2 / nd)) << "component " << k;
    EXPECT_LE(std::fabs(m4 - 3), 5 * std::sqrt(96 / nd)) << "component " << k;
    EXPECT_LE(std::fabs(cross), 5 * std::sqrt(1 / nd)) << "component " << k;
  }
}
