// SPDX-License-Identifier: Apache-2.0
// The CPU neighbor list through a barostat-like sequence of cells (a random strain at every step,
// a slow compression then expansion, now and then a larger jump), against lists built from scratch:
//  - rebuilt at every step with warm caches (the bin stencil selected again from the minima of an
//    earlier metric, see select_stencil in src/model/neighbor_cells.cpp), the list is the one a new
//    NeighborList builds for the same geometry, array for array and bit for bit;
//  - the bin stencil itself, selected through its cache along a strained sequence of metrics, is
//    the stencil computed afresh for each, offset for offset;
//  - updated as a barostat updates it (only the systems that need it rebuilt, concatenated in
//    place), each system's part of the batch list is the list of that system alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "batchmd/model/neighbor_list.hpp"
#include "model_test_util.hpp"
#include "neighbor_cells.hpp"

namespace batchmd::model {
namespace {

using testing::expect_same_list;
using testing::flatten;
using testing::Mat3;
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

}  // namespace
}  // namespace batchmd::model
