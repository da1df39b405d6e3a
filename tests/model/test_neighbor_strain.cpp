// SPDX-License-Identifier: Apache-2.0
// The CPU neighbor list through a barostat-like sequence of cells (a random strain at every step,
// a slow compression then expansion, now and then a larger jump), against lists built from scratch:
//  - rebuilt at every step with warm caches (the bin stencil selected again from the minima of an
//    earlier metric, see select_stencil in src/model/neighbor_cells.cpp), the list is the one a new
//    NeighborList builds for the same geometry, array for array and bit for bit;
//  - the bin stencil itself, selected through its cache along a strained sequence of metrics, is
//    the stencil computed afresh for each, offset for offset;
//  - updated as a barostat updates it (only the systems that need it rebuilt, concatenated in
//    place), each system's part of the batch list is the list of that system alone;
//  - kept through a strain near the bound it is kept to (isotropic, uniaxial, shear, rotated),
//    with atoms moved by up to the threshold, the list still holds every pair within the cutoff
//    (a search over all images), and is kept where it must be to within a hundredth of an Å.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "batchmd/model/neighbor_list.hpp"
#include "model_test_util.hpp"
#include "neighbor_cells.hpp"
#include "neighbor_list_strain.hpp"

namespace batchmd::model {
namespace {

using testing::brute_force_pairs;
using testing::canonical;
using testing::expect_same_list;
using testing::flatten;
using testing::Mat3;
using testing::PairKey;
using testing::random_system;
using testing::TestSystem;

constexpr double kCutoff = 5.0;
constexpr double kSkin = 0.6;

std::vector<TestSystem> strain_systems(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return {
      random_system(rng, {11, 0, 0, 3.5, 10, 0, -2.5, 3, 9.5}, {true, true, true}, 50, 1.6),     // triclinic
      random_system(rng, {12, 0, 0, 0, 13, 0, 0, 0, 14}, {true, true, true}, 60, 1.6),           // orthorhombic
      random_system(rng, {4, 0, 0, 1.2, 4.2, 0, 0.8, -1.1, 3.9}, {true, true, true}, 5, 1.6),    // widths < rc
      random_system(rng, {9, 0, 0, 2, 8.5, 0, 0.5, 0.5, 20}, {true, true, false}, 40, 1.6),      // slab
      random_system(rng, Mat3{}, {false, false, false}, 40, 1.6, 9.0),                           // cluster
      random_system(rng, {15, 0, 0, 0, 15, 0, 0, 0, 4.5}, {false, false, true}, 20, 1.6),        // wire
      random_system(rng, {16, 0, 0, -4.0, 15, 0, 3.0, 2.5, 11.5}, {true, true, true}, 120, 1.6)  // skewed
  };
}

// One barostat-like step of system s: h <- h (I + eps) and x <- x (I + eps) + jitter, with eps
// symmetric, mostly small, a drift (compression for the first half of the run, then expansion)
// and now and then a jump of a few percent.
void strain_step(TestSystem& sys, std::mt19937_64& rng, int step, int n_steps, double jitter) {
  std::normal_distribution<double> gauss(0, 1);
  std::uniform_real_distribution<double> u(0, 1);
  const double sigma = u(rng) < 0.05 ? 0.02 : (u(rng) < 0.3 ? 3e-3 : 2e-4);
  const double drift = step < n_steps / 2 ? -2e-3 : 2e-3;
  double eps[3][3];
  for (int a = 0; a < 3; ++a)
    for (int b = a; b < 3; ++b) eps[a][b] = eps[b][a] = sigma * gauss(rng) + (a == b ? drift : 0.0);
  auto apply = [&](double* v) {
    double w[3];
    for (int e = 0; e < 3; ++e) w[e] = v[e] + v[0] * eps[0][e] + v[1] * eps[1][e] + v[2] * eps[2][e];
    std::copy(w, w + 3, v);
  };
  for (int d = 0; d < 3; ++d) apply(&sys.cell[3 * d]);
  for (std::int64_t i = 0; i < sys.n(); ++i) {
    apply(&sys.x[3 * i]);
    for (int e = 0; e < 3; ++e) sys.x[3 * i + e] += jitter * gauss(rng);
  }
}

TEST(StrainedNeighborList, CachedStencilEqualsFreshStencil) {
  // Bin metrics G = W H H^T W of a cell h strained step by step, for several bin shapes; each
  // step's stencil through the cache (the candidates' minima of an earlier metric, a few
  // recomputed) must be the one computed from scratch. Counted: the steps where the cache's
  // reference metric stayed and the stencil still changed (decided by the bound or recomputed).
  struct Shape {
    std::int64_t m[3], nb[3];
    bool periodic[3];
    double rc_bins;  // rc in units of the thinnest bin height
  };
  const Shape shapes[] = {{{2, 2, 2}, {3, 3, 3}, {true, true, true}, 1.7},
                          {{3, 2, 4}, {5, 4, 6}, {true, true, true}, 2.6},
                          {{2, 2, 2}, {4, 4, 2}, {true, true, false}, 1.9},
                          {{1, 1, 1}, {2, 2, 2}, {true, true, true}, 0.95},
                          {{2, 3, 2}, {3, 3, 1}, {false, true, false}, 1.8}};
  std::mt19937_64 rng(77);
  std::normal_distribution<double> gauss(0, 1);
  std::uniform_real_distribution<double> u(0, 1);
  int changed_on_cache = 0, steps = 0;
  for (const Shape& sh : shapes)
    for (const Mat3& h0 : {Mat3{11, 0, 0, 3.5, 10, 0, -2.5, 3, 9.5}, Mat3{12, 0, 0, 0, 13, 0, 0, 0, 14},
                           Mat3{16, 0, 0, -4.0, 15, 0, 3.0, 2.5, 11.5}}) {
      Mat3 h = h0;
      std::vector<std::array<std::int32_t, 3>> cached, fresh, last;
      std::vector<double> q, q_fresh;
      std::array<double, 10> ref{}, ref_fresh{};
      double rc2 = 0;
      for (int step = 0; step < 400; ++step, ++steps) {
        SCOPED_TRACE("step " + std::to_string(step));
        const double sigma = u(rng) < 0.03 ? 0.03 : (u(rng) < 0.3 ? 4e-3 : 5e-4);
        const double drift = step < 200 ? -1.5e-3 : 1.5e-3;
        double eps[3][3];
        for (int a = 0; a < 3; ++a)
          for (int b = a; b < 3; ++b) eps[a][b] = eps[b][a] = sigma * gauss(rng) + (a == b ? drift : 0.0);
        Mat3 next{};
        for (int d = 0; d < 3; ++d)
          for (int e = 0; e < 3; ++e)
            next[3 * d + e] = h[3 * d + e] + h[3 * d] * eps[0][e] + h[3 * d + 1] * eps[1][e] + h[3 * d + 2] * eps[2][e];
        h = next;
        double G[3][3];
        double w[3];
        for (int d = 0; d < 3; ++d) w[d] = 1.0 / static_cast<double>(sh.nb[d]);
        for (int a = 0; a < 3; ++a)
          for (int b = 0; b < 3; ++b)
            G[a][b] = w[a] * w[b] * (h[3 * a] * h[3 * b] + h[3 * a + 1] * h[3 * b + 1] + h[3 * a + 2] * h[3 * b + 2]);
        if (step == 0) rc2 = sh.rc_bins * sh.rc_bins * std::min({G[0][0], G[1][1], G[2][2]});
        const std::array<double, 10> ref_before = ref;
        detail::select_stencil(G, sh.m, sh.nb, sh.periodic, rc2, step > 0, cached, q, ref);
        detail::select_stencil(G, sh.m, sh.nb, sh.periodic, rc2, false, fresh, q_fresh, ref_fresh);
        ASSERT_EQ(cached, fresh);
        if (step > 0 && ref == ref_before && cached != last) ++changed_on_cache;
        last = cached;
      }
    }
  EXPECT_EQ(steps, 15 * 400);
  EXPECT_GT(changed_on_cache, 20);
}

template <typename T>
void rebuilt_each_step_equals_fresh(std::vector<TestSystem> systems, std::uint64_t seed) {
  constexpr int kSteps = 160;
  std::mt19937_64 rng(seed);
  NeighborList warm(kCutoff, kSkin);
  std::int64_t pairs_min = -1, pairs_max = -1;
  for (int step = 0; step < kSteps; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    for (TestSystem& s : systems) strain_step(s, rng, step, kSteps, 0.02);
    const auto b = flatten<T>(systems);
    warm.request_rebuild();
    warm.update(b.geometry());
    NeighborList fresh(kCutoff, kSkin);
    fresh.update(b.geometry());
    expect_same_list(warm, fresh);
    if (::testing::Test::HasFailure()) return;
    pairs_min = pairs_min < 0 ? fresh.n_pairs() : std::min(pairs_min, fresh.n_pairs());
    pairs_max = std::max(pairs_max, fresh.n_pairs());
  }
  EXPECT_GT(pairs_max, pairs_min);  // the cells did move
}

TEST(StrainedNeighborList, WarmRebuildEqualsFreshListEachSystemAlone) {
  const auto systems = strain_systems(101);
  for (std::size_t s = 0; s < systems.size(); ++s) {
    SCOPED_TRACE("system " + std::to_string(s));
    rebuilt_each_step_equals_fresh<double>({systems[s]}, 200 + s);
  }
}

TEST(StrainedNeighborList, WarmRebuildEqualsFreshListBatch) {
  rebuilt_each_step_equals_fresh<double>(strain_systems(102), 301);
  rebuilt_each_step_equals_fresh<float>(strain_systems(103), 302);
}

// The list of system s's part of a batch list, in that system's own slots and pairs.
struct Part {
  std::vector<std::int64_t> order, offsets, shifted_begin;
  std::vector<std::int32_t> image, neighbors, shift_index, shifts;
};
Part part_of(const NeighborList& nl, std::int64_t s) {
  Part p;
  const auto ptr = nl.atoms_ptr();
  const std::int64_t k0 = ptr[s], k1 = ptr[s + 1];
  const auto off = nl.neighbor_offsets();
  const std::int64_t p0 = off[k0], p1 = off[k1];
  for (std::int64_t k = k0; k < k1; ++k) {
    p.order.push_back(nl.atom_order()[k] - k0);
    p.offsets.push_back(off[k] - p0);
    p.shifted_begin.push_back(nl.shifted_begin()[k] - p0);
    for (int d = 0; d < 3; ++d) p.image.push_back(nl.image_offsets()[3 * k + d]);
  }
  p.offsets.push_back(p1 - p0);
  for (std::int64_t q = p0; q < p1; ++q) {
    p.neighbors.push_back(static_cast<std::int32_t>(nl.neighbors()[q] - k0));
    p.shift_index.push_back(nl.shift_index()[q]);
  }
  const auto sp = nl.shift_ptr();
  for (std::int64_t q = 3 * sp[s]; q < 3 * sp[s + 1]; ++q) p.shifts.push_back(nl.shifts()[q]);
  return p;
}

TEST(StrainedNeighborList, PartialRebuildsEqualEachSystemAlone) {
  // Systems strained on their own (a barostat per system); the batch list rebuilds only the
  // systems that need it and moves the others' pairs only where their base moved.
  constexpr int kSteps = 240;
  auto systems = strain_systems(104);
  std::vector<std::mt19937_64> rng;
  for (std::size_t s = 0; s < systems.size(); ++s) rng.emplace_back(400 + s);
  NeighborList batch(kCutoff, kSkin);
  std::vector<NeighborList> alone(systems.size(), NeighborList(kCutoff, kSkin));
  std::int64_t partial = 0;
  for (int step = 0; step < kSteps; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    int rebuilt_alone = 0;
    for (std::size_t s = 0; s < systems.size(); ++s) {
      strain_step(systems[s], rng[s], step, kSteps, 0.03);
      const auto one = flatten<double>({systems[s]});
      rebuilt_alone += alone[s].update(one.geometry()) ? 1 : 0;
    }
    const auto b = flatten<double>(systems);
    const bool rebuilt = batch.update(b.geometry());
    EXPECT_EQ(rebuilt, rebuilt_alone > 0);
    if (rebuilt && rebuilt_alone < static_cast<int>(systems.size())) ++partial;
    for (std::size_t s = 0; s < systems.size(); ++s) {
      SCOPED_TRACE("system " + std::to_string(s));
      const Part x = part_of(batch, static_cast<std::int64_t>(s)), y = part_of(alone[s], 0);
      EXPECT_EQ(x.order, y.order);
      EXPECT_EQ(x.image, y.image);
      EXPECT_EQ(x.offsets, y.offsets);
      EXPECT_EQ(x.shifted_begin, y.shifted_begin);
      EXPECT_EQ(x.neighbors, y.neighbors);
      EXPECT_EQ(x.shift_index, y.shift_index);
      EXPECT_EQ(x.shifts, y.shifts);
    }
    if (HasFailure()) return;
  }
  EXPECT_GT(partial, 20);
}

std::vector<PairKey> listed_pairs(const NeighborList& nl) {
  std::vector<PairKey> out;
  for (const NeighborPair& p : nl.pairs()) out.push_back(canonical(p.i, p.j, {p.image[0], p.image[1], p.image[2]}));
  std::sort(out.begin(), out.end());
  return out;
}

// u A (u a row vector) and its length.
std::array<double, 3> times(const double* u, const Mat3& A) {
  std::array<double, 3> w{};
  for (int c = 0; c < 3; ++c) w[static_cast<std::size_t>(c)] = u[0] * A[c] + u[1] * A[3 + c] + u[2] * A[6 + c];
  return w;
}
double norm(const std::array<double, 3>& v) { return std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]); }

// The unit row vector u that A shortens most, and |u A| (σ_min(A), to ~1e-4), by a search over
// 40,000 directions spread over the sphere: the test's own reference, no linear algebra shared
// with the list.
std::array<double, 3> most_compressed(const Mat3& A, double& sigma) {
  constexpr int kN = 40000;
  std::array<double, 3> best{};
  sigma = 1e300;
  for (int k = 0; k < kN; ++k) {
    const double z = 1 - (2 * k + 1.0) / kN, r = std::sqrt(1 - z * z), phi = 2.399963229728653 * k;
    const double u[3] = {r * std::cos(phi), r * std::sin(phi), z};
    const double l = norm(times(u, A));
    if (l < sigma) {
      sigma = l;
      best = {u[0], u[1], u[2]};
    }
  }
  return best;
}

TEST(StrainedNeighborList, KeptListHoldsEveryPairNearTheStrainBound) {
  // A triclinic box of random atoms plus a pair placed just beyond cutoff + skin along the
  // direction the strain shortens most. The list is built, then the cell and the positions are
  // strained by A (h = h0 A, x = x0 A) and every atom moved by t: the random ones in random
  // directions, the pair's two towards each other. For t in steps of 0.0025 Å up to skin/2: a
  // kept list must hold every pair within the cutoff, so it must rebuild before the pair comes
  // inside it (at t ≈ δ/2 with δ = σ_min(A) rc − cutoff). Each case also says how close to that
  // the list keeps (exact for isotropic and axial strains) and that it keeps where the earlier
  // rule, δ = skin − ‖A − I‖_F rc, rebuilt.
  constexpr double rc = kCutoff + kSkin;
  const double c = std::cos(0.05), sn = std::sin(0.05), n3 = 1 / std::sqrt(3.0);
  struct Case {
    const char* name;
    Mat3 A;
    double slack;          // how far below t_inside the list may stop keeping (Å)
    bool beats_frobenius;  // the earlier rule rebuilds at some t this one keeps
  };
  const Case cases[] = {
      {"isotropic compression", {0.93, 0, 0, 0, 0.93, 0, 0, 0, 0.93}, 0.005, true},
      {"isotropic expansion", {1.04, 0, 0, 0, 1.04, 0, 0, 0, 1.04}, 0.005, true},
      {"uniaxial, transverse expansion", {0.95, 0, 0, 0, 1.03, 0, 0, 0, 1.03}, 0.005, true},
      {"uniaxial along (1,1,1)",
       {1 - 0.05 * n3 * n3, -0.05 * n3 * n3, -0.05 * n3 * n3, -0.05 * n3 * n3, 1 - 0.05 * n3 * n3, -0.05 * n3 * n3,
        -0.05 * n3 * n3, -0.05 * n3 * n3, 1 - 0.05 * n3 * n3},
       0.005,
       false},
      {"shear", {1, 0.12, 0, 0, 1, 0, 0, 0, 1}, 0.015, true},
      // S R: a compression with shears, then a rotation by 0.05 rad about z (which the bound
      // does not charge).
      {"compression, shear, rotation",
       {0.97 * c - 0.03 * sn, 0.97 * sn + 0.03 * c, 0, 0.02 * c - 0.99 * sn, 0.02 * sn + 0.99 * c, 0.01, 0, 0, 1.01},
       0.03,
       true},
  };
  const Mat3 h0 = {14, 0, 0, 2, 13.5, 0, -1.5, 1, 14.5};
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    std::mt19937_64 rng(77);
    TestSystem s0 = testing::random_system(rng, h0, {true, true, true}, 60, 1.6);
    double sigma = 0;
    const auto u = most_compressed(k.A, sigma);
    const double p[3] = {6, 7, 7};
    for (int e = 0; e < 3; ++e) s0.x.push_back(p[e]);
    for (int e = 0; e < 3; ++e) s0.x.push_back(p[e] + (rc + 0.002) * u[static_cast<std::size_t>(e)]);
    s0.z.assign(static_cast<std::size_t>(s0.n()), 1);
    const std::int64_t pa = s0.n() - 2, pb = s0.n() - 1;
    NeighborList built(kCutoff, kSkin);
    ASSERT_TRUE(built.update(flatten<double>({s0}).geometry()));
    const auto at_build = listed_pairs(built);
    ASSERT_FALSE(std::binary_search(at_build.begin(), at_build.end(), canonical(pa, pb, {0, 0, 0})));
    // The strained system, and unit directions: random ones, and the pair's axis after the strain.
    TestSystem strained = s0;
    for (int d = 0; d < 3; ++d) {
      const auto row = times(&s0.cell[3 * static_cast<std::size_t>(d)], k.A);
      std::copy(row.begin(), row.end(), strained.cell.begin() + 3 * d);
    }
    for (std::int64_t i = 0; i < s0.n(); ++i) {
      const auto x = times(&s0.x[3 * static_cast<std::size_t>(i)], k.A);
      std::copy(x.begin(), x.end(), strained.x.begin() + 3 * i);
    }
    std::vector<double> dir(s0.x.size());
    std::normal_distribution<double> gauss;
    for (std::int64_t i = 0; i < s0.n(); ++i) {
      double v[3] = {gauss(rng), gauss(rng), gauss(rng)};
      if (i == pa || i == pb)
        for (int e = 0; e < 3; ++e) v[e] = (i == pa ? 1 : -1) * (strained.x[3 * pb + e] - strained.x[3 * pa + e]);
      const double l = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
      for (int e = 0; e < 3; ++e) dir[static_cast<std::size_t>(3 * i + e)] = v[e] / l;
    }
    double t_kept = -1, t_inside = -1;
    bool rebuilt = false;
    for (int step = 0; step <= 120; ++step) {
      const double t = 0.0025 * step;
      SCOPED_TRACE("t = " + std::to_string(t));
      TestSystem moved = strained;
      for (std::size_t q = 0; q < moved.x.size(); ++q) moved.x[q] += t * dir[q];
      const auto inside = brute_force_pairs(moved, kCutoff);
      const bool pair_inside = std::binary_search(inside.begin(), inside.end(), canonical(pa, pb, {0, 0, 0}));
      if (pair_inside && t_inside < 0) t_inside = t;
      NeighborList nl = built;
      if (nl.update(flatten<double>({moved}).geometry())) {
        rebuilt = true;
        continue;
      }
      EXPECT_FALSE(rebuilt) << "kept again after a rebuild";
      t_kept = t;
      const auto listed = listed_pairs(nl);
      for (const PairKey& q : inside)
        EXPECT_TRUE(std::binary_search(listed.begin(), listed.end(), q)) << "a pair within the cutoff is missing";
      if (HasFailure()) return;
    }
    // δ of the earlier rule, and where the pair comes inside the cutoff (beyond skin/2: never).
    double dev2 = 0;
    for (std::size_t e = 0; e < 9; ++e) dev2 += (k.A[e] - (e % 4 == 0 ? 1 : 0)) * (k.A[e] - (e % 4 == 0 ? 1 : 0));
    const double delta_frobenius = kSkin - std::sqrt(dev2) * rc;
    const double t_must = t_inside < 0 ? 0.5 * kSkin : t_inside - 0.0025;
    std::printf("%-32s sigma_min %.5f: kept to t = %.4f, pair inside from t = %.4f, Frobenius delta/2 = %.4f\n", k.name,
                sigma, t_kept, t_inside, 0.5 * delta_frobenius);
    ASSERT_GE(t_kept, 0) << "not even kept unmoved";
    EXPECT_LT(t_kept, t_inside < 0 ? 1e300 : t_inside);
    EXPECT_GE(t_kept, t_must - k.slack) << "the bound is looser than it needs to be";
    if (k.beats_frobenius) {
      EXPECT_GT(t_kept, 0.5 * delta_frobenius + 0.005) << "no better than ‖A − I‖_F";
    }
    if (t_inside >= 0) {
      EXPECT_NEAR(t_inside, 0.5 * (sigma * (rc + 0.002) - kCutoff), 0.003) << "the pair is not tight";
    }
  }
}

// The smallest eigenvalue of a symmetric 3×3 matrix by cyclic Jacobi rotations (the test's own
// reference, to ~1e-15 relative).
double smallest_eigenvalue(double a[3][3]) {
  for (int sweep = 0; sweep < 60; ++sweep) {
    double off = 0;
    for (int p = 0; p < 3; ++p)
      for (int q = p + 1; q < 3; ++q) off += a[p][q] * a[p][q];
    if (off < 1e-40) break;
    for (int p = 0; p < 3; ++p)
      for (int q = p + 1; q < 3; ++q) {
        if (a[p][q] == 0) continue;
        const double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const double t = (theta >= 0 ? 1 : -1) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < 3; ++k) {  // columns p, q
          const double kp = a[k][p], kq = a[k][q];
          a[k][p] = c * kp - s * kq;
          a[k][q] = s * kp + c * kq;
        }
        for (int k = 0; k < 3; ++k) {  // rows p, q
          const double pk = a[p][k], qk = a[q][k];
          a[p][k] = c * pk - s * qk;
          a[q][k] = s * pk + c * qk;
        }
      }
  }
  return std::min({a[0][0], a[1][1], a[2][2]});
}

TEST(StrainedNeighborList, StrainedSkinBoundsTheSmallestSingularValueFromBelow) {
  // δ = strained_skin(A) implies σ = 1 - (skin - δ)/rc; that σ must not exceed σ_min(A) (from the
  // eigenvalues of A Aᵀ by Jacobi), for random strains of every size (some past the skin), with
  // rotations; it must be exact (to the 1e-12 margin) for diagonal A, never below the earlier
  // rule 1 - ‖A - I‖_F, capped at the skin, and ≤ 0 for a NaN.
  constexpr double skin = 1.0, rc = 6.0;
  std::mt19937_64 rng(91);
  std::uniform_real_distribution<double> u(-1, 1);
  int kept = 0, beats = 0;
  for (int k = 0; k < 4000; ++k) {
    const double size = std::array<double, 4>{0.005, 0.03, 0.1, 0.4}[static_cast<std::size_t>(k % 4)];
    Mat3 A{};
    for (std::size_t e = 0; e < 9; ++e) A[e] = (e % 4 == 0 ? 1.0 : 0.0) + size * u(rng);
    if (k % 3 == 0) {  // then a rotation about a random axis
      double n[3] = {u(rng), u(rng), u(rng)};
      const double ln = std::sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
      for (double& v : n) v /= ln;
      const double th = u(rng), c = std::cos(th), s = std::sin(th);
      double R[3][3];
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
          R[i][j] = (i == j ? c : 0.0) + (1 - c) * n[i] * n[j] +
                    s * (i == j ? 0.0 : (((j - i + 3) % 3 == 1) ? -1.0 : 1.0) * n[3 - i - j]);
      Mat3 AR{};
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
          for (int l = 0; l < 3; ++l)
            AR[static_cast<std::size_t>(3 * i + j)] += A[static_cast<std::size_t>(3 * i + l)] * R[l][j];
      A = AR;
    }
    if (k % 7 == 1)  // diagonal
      for (std::size_t e = 0; e < 9; ++e)
        if (e % 4 != 0) A[e] = 0;
    double B[3][3];
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        B[i][j] = 0;
        for (int l = 0; l < 3; ++l)
          B[i][j] += A[static_cast<std::size_t>(3 * i + l)] * A[static_cast<std::size_t>(3 * j + l)];
      }
    const double sigma_min = std::sqrt(std::max(0.0, smallest_eigenvalue(B)));
    const double delta = detail::strained_skin(A.data(), skin, rc);
    SCOPED_TRACE("k " + std::to_string(k) + ", size " + std::to_string(size));
    ASSERT_LE(delta, skin);
    double dev2 = 0;
    for (std::size_t e = 0; e < 9; ++e) dev2 += (A[e] - (e % 4 == 0 ? 1 : 0)) * (A[e] - (e % 4 == 0 ? 1 : 0));
    EXPECT_GE(delta, std::min(skin, skin - std::sqrt(dev2) * rc) - 1e-9) << "below the earlier rule";
    if (!(delta > 0)) continue;
    ++kept;
    const double sigma = 1 - (skin - delta) / rc;
    if (delta < skin) {
      ASSERT_LE(sigma, sigma_min * (1 + 1e-13)) << "not a lower bound of sigma_min " << sigma_min;
    } else {
      ASSERT_GE(sigma_min, 1 - 1e-12) << "the whole skin for a strain that shortens some vector";
    }
    if (k % 7 == 1) {
      EXPECT_NEAR(std::min(sigma, 1.0), std::min(sigma_min, 1.0), 1e-11) << "diagonal: exact";
    }
    if (delta > skin - std::sqrt(dev2) * rc + 1e-6) ++beats;
  }
  EXPECT_GT(kept, 1000);
  EXPECT_GT(beats, 500);  // the Gershgorin bound is the better one for most strains
  const double nan_strain[9] = {1, 0, 0, 0, std::nan(""), 0, 0, 0, 1};
  EXPECT_FALSE(detail::strained_skin(nan_strain, skin, rc) > 0);
}

}  // namespace
}  // namespace batchmd::model
