// SPDX-License-Identifier: Apache-2.0
// Test helpers for the model kernels: small systems, flattening into a BatchGeometry,
// brute-force references (all images within the cutoff, written independently of the kernels),
// strained cells, and the array-by-array comparison of two neighbor lists.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <tuple>
#include <vector>

#include "batchmd/model/neighbor_list.hpp"

namespace batchmd::model::testing {

using Mat3 = std::array<double, 9>;  // rows a, b, c

struct TestSystem {
  std::vector<double> x;  // [n][3]
  Mat3 cell{};
  std::array<bool, 3> pbc{};
  std::vector<std::int64_t> z;
  std::int64_t n() const { return static_cast<std::int64_t>(x.size() / 3); }
};

// A batch laid out as the kernels want it, in precision T.
template <typename T>
struct FlatBatch {
  std::vector<T> x, cell;
  std::vector<std::int64_t> ptr, z;
  std::vector<std::array<bool, 3>> pbc;
  std::int64_t n_systems = 0;
  static_assert(sizeof(std::array<bool, 3>) == 3 * sizeof(bool));

  BatchGeometry<T> geometry() const {
    BatchGeometry<T> g;
    g.n_systems = n_systems;
    g.n_atoms = static_cast<std::int64_t>(x.size() / 3);
    g.positions = x.data();
    g.atoms_ptr = ptr.data();
    g.cell = cell.data();
    g.pbc = pbc.empty() ? nullptr : pbc.front().data();
    return g;
  }
};

template <typename T>
FlatBatch<T> flatten(const std::vector<TestSystem>& systems) {
  FlatBatch<T> b;
  b.n_systems = static_cast<std::int64_t>(systems.size());
  b.ptr.push_back(0);
  for (std::size_t s = 0; s < systems.size(); ++s) {
    for (double v : systems[s].x) b.x.push_back(static_cast<T>(v));
    for (double v : systems[s].cell) b.cell.push_back(static_cast<T>(v));
    b.pbc.push_back(systems[s].pbc);
    b.z.insert(b.z.end(), systems[s].z.begin(), systems[s].z.end());
    b.ptr.push_back(b.ptr.back() + systems[s].n());
  }
  return b;
}

inline double det3(const Mat3& c) {
  return c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) + c[2] * (c[3] * c[7] - c[4] * c[6]);
}

// Reciprocal vectors (columns of cell^-1) as rows: s_d = x . recip[d].
inline std::array<std::array<double, 3>, 3> reciprocal(const Mat3& c) {
  const double v = det3(c);
  std::array<std::array<double, 3>, 3> r{};
  for (int d = 0; d < 3; ++d) {
    const double* p = &c[3 * ((d + 1) % 3)];
    const double* q = &c[3 * ((d + 2) % 3)];
    r[d] = {(p[1] * q[2] - p[2] * q[1]) / v, (p[2] * q[0] - p[0] * q[2]) / v, (p[0] * q[1] - p[1] * q[0]) / v};
  }
  return r;
}

// Calls f(i, j, image, r_ij) for every ordered pair (i != j or image != 0) of system s with
// |r_ij| < rc, r_ij = x_j - x_i + image . cell. The cell must be non-degenerate when periodic.
inline void for_each_image_pair(
    const TestSystem& s, double rc,
    const std::function<void(std::int64_t, std::int64_t, std::array<int, 3>, std::array<double, 3>)>& f) {
  const bool periodic = s.pbc[0] || s.pbc[1] || s.pbc[2];
  const auto rec = periodic ? reciprocal(s.cell) : std::array<std::array<double, 3>, 3>{};
  for (std::int64_t i = 0; i < s.n(); ++i)
    for (std::int64_t j = 0; j < s.n(); ++j) {
      const double r0[3] = {s.x[3 * j] - s.x[3 * i], s.x[3 * j + 1] - s.x[3 * i + 1], s.x[3 * j + 2] - s.x[3 * i + 2]};
      int lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
      for (int d = 0; d < 3; ++d) {
        if (!s.pbc[d]) continue;
        const double fd = r0[0] * rec[d][0] + r0[1] * rec[d][1] + r0[2] * rec[d][2];
        const double reach = rc * std::sqrt(rec[d][0] * rec[d][0] + rec[d][1] * rec[d][1] + rec[d][2] * rec[d][2]);
        lo[d] = static_cast<int>(std::floor(-fd - reach)) - 1;
        hi[d] = static_cast<int>(std::ceil(-fd + reach)) + 1;
      }
      for (int a = lo[0]; a <= hi[0]; ++a)
        for (int b = lo[1]; b <= hi[1]; ++b)
          for (int c = lo[2]; c <= hi[2]; ++c) {
            if (i == j && a == 0 && b == 0 && c == 0) continue;
            std::array<double, 3> r{};
            for (int e = 0; e < 3; ++e) r[e] = r0[e] + a * s.cell[e] + b * s.cell[3 + e] + c * s.cell[6 + e];
            if (r[0] * r[0] + r[1] * r[1] + r[2] * r[2] < rc * rc) f(i, j, {a, b, c}, r);
          }
    }
}

// Moves every atom into the cell along its periodic directions (what a wrap hook does).
inline TestSystem wrapped_into_cell(TestSystem s) {
  if (!(s.pbc[0] || s.pbc[1] || s.pbc[2])) return s;
  const auto rec = reciprocal(s.cell);
  for (std::int64_t i = 0; i < s.n(); ++i)
    for (int d = 0; d < 3; ++d) {
      if (!s.pbc[d]) continue;
      const double f = s.x[3 * i] * rec[d][0] + s.x[3 * i + 1] * rec[d][1] + s.x[3 * i + 2] * rec[d][2];
      const double n = std::floor(f);
      for (int e = 0; e < 3; ++e) s.x[3 * i + e] -= n * s.cell[3 * d + e];
    }
  return s;
}

// A pair as an unordered key: (i, j, image) with i < j, or i == j and image > 0 (lexicographic).
using PairKey = std::tuple<std::int64_t, std::int64_t, int, int, int>;
inline PairKey canonical(std::int64_t i, std::int64_t j, std::array<int, 3> im) {
  const bool flip = i > j || (i == j && im < std::array<int, 3>{0, 0, 0});
  if (flip) return {j, i, -im[0], -im[1], -im[2]};
  return {i, j, im[0], im[1], im[2]};
}

inline std::vector<PairKey> brute_force_pairs(const TestSystem& s, double rc) {
  std::vector<PairKey> out;
  for_each_image_pair(s, rc, [&](std::int64_t i, std::int64_t j, std::array<int, 3> im, auto) {
    const PairKey k = canonical(i, j, im);
    if (k == PairKey{i, j, im[0], im[1], im[2]}) out.push_back(k);
  });
  std::sort(out.begin(), out.end());
  return out;
}

// LJ parameters of a pair in the reference: epsilon (eV), sigma (Å), cutoff (Å), shifted.
struct RefLJ {
  double epsilon, sigma, cutoff;
  bool shift;
};

struct RefResult {
  double energy = 0;
  std::vector<double> forces;  // [n][3]
  Mat3 virial{};
};

// Direct sum over all ordered pairs and images: E = 1/2 sum phi, F_i = -dE/dx_i,
// W_ab = 1/2 sum r_a F_j,b.
inline RefResult brute_force_lj(const TestSystem& s, const std::function<RefLJ(std::int64_t, std::int64_t)>& params,
                                double max_cutoff) {
  RefResult out;
  out.forces.assign(3 * s.n(), 0.0);
  for_each_image_pair(s, max_cutoff, [&](std::int64_t i, std::int64_t j, std::array<int, 3>, std::array<double, 3> r) {
    const RefLJ p = params(s.z[i], s.z[j]);
    const double r2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
    if (r2 >= p.cutoff * p.cutoff) return;
    const double d = std::sqrt(r2);
    auto phi = [&](double x) { return 4 * p.epsilon * (std::pow(p.sigma / x, 12) - std::pow(p.sigma / x, 6)); };
    const double dphi = 4 * p.epsilon * (-12 * std::pow(p.sigma / d, 12) + 6 * std::pow(p.sigma / d, 6)) / d;
    out.energy += 0.5 * (phi(d) - (p.shift ? phi(p.cutoff) : 0.0));
    // Force on j from i: -dphi * r/|r|; this ordered pair adds it to j only.
    for (int e = 0; e < 3; ++e) out.forces[3 * j + e] += -dphi * r[e] / d;
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) out.virial[3 * a + b] += 0.5 * r[a] * (-dphi * r[b] / d);
  });
  return out;
}

// Random non-overlapping positions: n atoms uniform in the cell (periodic) or in a cube of side
// `extent` (open), at least dmin apart over all periodic images.
inline TestSystem random_system(std::mt19937_64& rng, const Mat3& cell, std::array<bool, 3> pbc, std::int64_t n,
                                double dmin, double extent = 0) {
  TestSystem s;
  s.cell = cell;
  s.pbc = pbc;
  std::uniform_real_distribution<double> u(0, 1);
  const bool periodic = pbc[0] || pbc[1] || pbc[2];
  int tries = 0;
  while (s.n() < n) {
    if (++tries > 200000) throw std::runtime_error("random_system: could not place atoms");
    std::array<double, 3> p{};
    if (periodic) {
      const double f[3] = {u(rng), u(rng), u(rng)};
      for (int e = 0; e < 3; ++e) p[e] = f[0] * cell[e] + f[1] * cell[3 + e] + f[2] * cell[6 + e];
    } else {
      for (int e = 0; e < 3; ++e) p[e] = extent * u(rng);
    }
    // Distance from p to every atom placed so far (and to p's own images), all images.
    TestSystem probe;
    probe.cell = cell;
    probe.pbc = pbc;
    probe.x.assign(p.begin(), p.end());
    bool ok = true;
    for (std::int64_t j = 0; j <= s.n() && ok; ++j) {
      if (j < s.n())
        probe.x.assign({p[0], p[1], p[2], s.x[3 * j], s.x[3 * j + 1], s.x[3 * j + 2]});
      else
        probe.x.assign(p.begin(), p.end());
      for_each_image_pair(probe, dmin, [&](std::int64_t, std::int64_t, auto, auto) { ok = false; });
    }
    if (ok) s.x.insert(s.x.end(), p.begin(), p.end());
  }
  s.z.assign(s.n(), 1);
  return s;
}

/// A deformation I + D for strained-cell tests: D a fixed direction (from fixed_seed) of Frobenius
/// norm `rate` (a mix of stretch, shear and rotation) plus noise of 0.1 rate per component (from
/// noise_seed), row-major.
inline std::array<double, 9> strain_matrix(double rate, std::uint64_t fixed_seed, std::uint64_t noise_seed) {
  std::mt19937_64 fixed(fixed_seed), noise(noise_seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::array<double, 9> A{};
  double n2 = 0;
  for (double& a : A) {
    a = u(fixed);
    n2 += a * a;
  }
  for (std::size_t e = 0; e < 9; ++e)
    A[e] = A[e] * rate / std::sqrt(n2) + 0.1 * rate * u(noise) + (e % 4 == 0 ? 1.0 : 0.0);
  return A;
}

/// Two lists equal array for array (slot order, images, offsets, pairs, shifts), bit for bit.
inline void expect_same_list(const NeighborList& a, const NeighborList& b) {
  const auto same = [](const auto& x, const auto& y) { return std::equal(x.begin(), x.end(), y.begin(), y.end()); };
  EXPECT_EQ(a.n_pairs(), b.n_pairs());
  EXPECT_TRUE(same(a.atom_order(), b.atom_order()));
  EXPECT_TRUE(same(a.image_offsets(), b.image_offsets()));
  EXPECT_TRUE(same(a.neighbor_offsets(), b.neighbor_offsets()));
  EXPECT_TRUE(same(a.shifted_begin(), b.shifted_begin()));
  EXPECT_TRUE(same(a.neighbors(), b.neighbors()));
  EXPECT_TRUE(same(a.shift_index(), b.shift_index()));
  EXPECT_TRUE(same(a.shift_ptr(), b.shift_ptr()));
  EXPECT_TRUE(same(a.shifts(), b.shifts()));
}

}  // namespace batchmd::model::testing
