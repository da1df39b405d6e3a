// SPDX-License-Identifier: Apache-2.0
// dynamics/random: Philox4x32-10, the counter-based generator behind the stochastic integrators.
// A draw is a pure function of (seed, system_id, system step, atom index within the system), so
// a system's noise does not depend on where it sits in a batch, on the batch's other systems,
// on the thread count or on the device. Host/device code (GPU kernels call it too).
#pragma once
#include <array>
#include <cmath>
#include <cstdint>

#include "batchmd/core/hd.hpp"

namespace batchmd::dynamics {

/// Philox4x32 with 10 rounds (Salmon et al., SC'11; constants of Random123).
BATCHMD_HD inline std::array<std::uint32_t, 4> philox4x32_10(std::array<std::uint32_t, 4> ctr,
                                                             std::array<std::uint32_t, 2> key) {
  constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u, kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    const std::uint64_t p0 = std::uint64_t(kM0) * ctr[0];
    const std::uint64_t p1 = std::uint64_t(kM1) * ctr[2];
    const auto hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
    const auto hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
    ctr = {hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0};
    key[0] += kW0;
    key[1] += kW1;
  }
  return ctr;
}

/// Four independent standard normal deviates for (seed, system_id, step, atom), by Box–Muller
/// on the four 32-bit words of one Philox block. system_id is folded to 32 bits.
BATCHMD_HD inline std::array<double, 4> gaussian4(std::uint64_t seed, std::int64_t system_id, std::int64_t step,
                                                  std::int64_t atom) {
  const auto sid = static_cast<std::uint64_t>(system_id);
  const auto st = static_cast<std::uint64_t>(step);
  const auto r = philox4x32_10({static_cast<std::uint32_t>(st), static_cast<std::uint32_t>(st >> 32),
                                static_cast<std::uint32_t>(atom), static_cast<std::uint32_t>(sid ^ (sid >> 32))},
                               {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)});
  constexpr double k2pi = 6.283185307179586476925286766559;
  constexpr double kInv = 1.0 / 4294967296.0;
  std::array<double, 4> g{};
  for (int i = 0; i < 2; ++i) {
    const double u1 = (double(r[2 * i]) + 1.0) * kInv;  // (0, 1]
    const double u2 = double(r[2 * i + 1]) * kInv;      // [0, 1)
    const double rad = std::sqrt(-2.0 * std::log(u1));
    g[2 * i] = rad * std::cos(k2pi * u2);
    g[2 * i + 1] = rad * std::sin(k2pi * u2);
  }
  return g;
}

}  // namespace batchmd::dynamics
