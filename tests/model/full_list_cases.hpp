// SPDX-License-Identifier: Apache-2.0
// Test cases of the full neighbor lists (test_full_list_gpu.cpp on the GPU,
// test_full_list_device_cpu.cpp for the device list's logic run on the host): periodic cubic,
// triclinic, slab, cluster, a cell smaller than the cutoff, an empty system, with two species of
// different cutoffs and ignored atoms.
#pragma once
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "model_test_util.hpp"
#include "snap_test_util.hpp"

namespace batchmd::model::testing {

inline constexpr double kSkin = 1.0;
// Two species (z 29 -> 0, z 47 -> 1; z 1 ignored) with different pair cutoffs (Å).
inline const std::vector<double> kCut = {4.0, 4.5, 4.5, 5.0};

inline std::vector<std::int32_t> species_of(const std::vector<Sys>& systems) {
  std::vector<std::int32_t> sp;
  for (const Sys& s : systems)
    for (const std::int64_t z : s.z) sp.push_back(z == 29 ? 0 : (z == 47 ? 1 : -1));
  return sp;
}

// A cell given by fractional rows: positions carried from the cubic box of edge `edge`.
inline void to_cell(Sys& s, double edge, const std::vector<double>& cell) {
  s.cell = cell;
  for (std::int64_t i = 0; i < s.n(); ++i) {
    const double f[3] = {s.x[3 * i] / edge, s.x[3 * i + 1] / edge, s.x[3 * i + 2] / edge};
    for (int e = 0; e < 3; ++e) s.x[3 * i + e] = f[0] * cell[e] + f[1] * cell[3 + e] + f[2] * cell[6 + e];
  }
}

// A homogeneous strain of s: cell rows and positions (row vectors) times A (row-major [9]), as a
// barostat maps them: h -> h A, x -> x A.
inline void strain(Sys& s, const std::array<double, 9>& A) {
  auto times = [&](double* v) {
    const double u[3] = {v[0], v[1], v[2]};
    for (int c = 0; c < 3; ++c)
      v[c] = u[0] * A[static_cast<std::size_t>(c)] + u[1] * A[3 + static_cast<std::size_t>(c)] +
             u[2] * A[6 + static_cast<std::size_t>(c)];
  };
  for (int d = 0; d < 3; ++d) times(&s.cell[3 * static_cast<std::size_t>(d)]);
  for (std::int64_t i = 0; i < s.n(); ++i) times(&s.x[3 * static_cast<std::size_t>(i)]);
}

// The strain of step k of a barostat-like sequence: a steady deformation of Frobenius norm about
// `rate` per step (a per-seed mix of stretch and shear) plus a little noise.
inline std::array<double, 9> strain_step(double rate, std::uint64_t seed, int k) {
  return strain_matrix(rate, seed, seed * 7919 + static_cast<std::uint64_t>(k));
}

// Elements 29, 47 and (every seventh atom) the ignored 1.
inline void alloy(Sys& s) {
  for (std::size_t i = 0; i < s.z.size(); ++i) s.z[i] = i % 7 == 3 ? 1 : (i % 2 == 0 ? 29 : 47);
}

inline Sys cubic_crystal() {
  Sys s = fcc(3, 3.6, 29);  // 10.8 Å: 3 bins per direction, reach 2 (a bin seen through two shifts)
  jitter(s, 0.15, 1);
  alloy(s);
  return s;
}
inline Sys triclinic() {
  Sys s = fcc(3, 3.6, 29);
  to_cell(s, 10.8, {10.8, 0, 0, 2.5, 10.2, 0, -1.9, 1.4, 10.5});
  jitter(s, 0.15, 2);
  alloy(s);
  return s;
}
inline Sys slab() {
  Sys s = fcc(3, 3.6, 29);
  s.pbc = {true, true, false};
  s.cell[8] = 0;
  jitter(s, 0.15, 3);
  alloy(s);
  return s;
}
inline Sys cluster() {
  Sys s = fcc(2, 3.6, 29);
  s.pbc = {false, false, false};
  s.cell.assign(9, 0.0);
  jitter(s, 0.15, 4);
  alloy(s);
  return s;
}
inline Sys tiny() {  // a triclinic cell of ~2.6 Å for a 6 Å reach: every atom sees many images of all
  Sys s;
  s.x = {0.1, 0.2, 0.3, 1.4, 1.2, 1.1};
  s.z = {29, 47};
  s.cell = {2.6, 0, 0, 0.5, 2.5, 0, 0.3, -0.4, 2.7};
  return s;
}
inline Sys empty() {
  Sys s;
  s.cell = {10, 0, 0, 0, 10, 0, 0, 0, 10};
  return s;
}
inline std::vector<Sys> mixed() { return {cubic_crystal(), triclinic(), slab(), empty(), cluster(), tiny()}; }

}  // namespace batchmd::model::testing
