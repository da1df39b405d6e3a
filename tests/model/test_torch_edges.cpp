// SPDX-License-Identifier: Apache-2.0
// The TorchScript model's edges across calls. The model keeps its full neighbour view between
// neighbour-list rebuilds and only selects the pairs inside the cutoff per call
// (torch_model.cpp); these tests walk one model through what a run does to a batch — atoms that
// move without a rebuild while pairs cross the cutoff, atoms wrapped by a lattice vector, a new
// geometry, a new batch composition, a strained cell — and after every change compare it with a
// model built afresh and with batchmd's native Lennard-Jones (an independent code path). The
// module is Lennard-Jones without a cutoff of its own (tests/model/torch_models.py, "lj"), so a
// stale edge list — a pair missing or one too many — changes its energy.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "batchmd/model/lennard_jones.hpp"
#include "batchmd/model/neighbor_list.hpp"
#include "batchmd/model/torch_model.hpp"
#include "lj_model_support.hpp"
#include "torch_test_support.hpp"

namespace batchmd::model {
namespace {

using namespace torch_tests;
using Pair = std::tuple<std::int64_t, std::int64_t, std::int32_t, std::int32_t, std::int32_t>;

// A liquid, a sheared triclinic box, a slab and an open cluster (order given by `order`).
Batch systems(std::uint64_t seed, std::vector<int> order = {0, 1, 2, 3}) {
  std::mt19937_64 rng(seed);
  const DType d = DType::Float64;
  std::vector<AtomicData> all;
  all.push_back(lj_cases::liquid(d, rng));
  all.push_back(lj_cases::triclinic(d, rng));
  all.push_back(lj_cases::slab(d, rng));
  all.push_back(lj_cases::cluster(d, rng, 40));
  std::vector<AtomicData> v;
  for (int k : order) v.push_back(all[static_cast<std::size_t>(k)].clone());
  return Batch::from_systems(v);
}

// Every ordered pair (i, j, image) with 0 < |r| < cutoff, from a list without skin (a
// brute-force check that the graph changed, independent of the model's view).
std::set<Pair> pairs_within(const Batch& b, double cutoff) {
  BatchGeometry<double> g;
  g.n_systems = b.n_systems();
  g.n_atoms = b.n_atoms();
  g.positions = b.get("positions").data<double>();
  g.atoms_ptr = b.atoms_ptr_data();
  g.cell = b.get("cell").data<double>();
  g.pbc = b.get("pbc").data<bool>();
  NeighborList nl(cutoff, 0.0);
  nl.update(g);
  std::set<Pair> out;
  for (const NeighborPair& p : nl.pairs()) {
    const double* xi = g.positions + 3 * p.i;
    const double* xj = g.positions + 3 * p.j;
    double r2 = 0;
    for (int e = 0; e < 3; ++e) r2 += (xj[e] - xi[e] + p.shift[e]) * (xj[e] - xi[e] + p.shift[e]);
    if (r2 >= cutoff * cutoff || r2 <= 0) continue;
    out.emplace(p.i, p.j, p.image[0], p.image[1], p.image[2]);
    out.emplace(p.j, p.i, -p.image[0], -p.image[1], -p.image[2]);
  }
  return out;
}

class TorchEdges : public Torch {
 protected:
  // `kept` on b against a fresh model and native Lennard-Jones: energies, forces, virials.
  void expect_current(TorchScriptModel& kept, const Batch& b, const std::string& what) {
    Batch a = b.clone(), f = b.clone(), n = b.clone();
    kept.compute(a, true);
    TorchScriptModel fresh(config("lj"));
    fresh.compute(f, true);
    LennardJones(LJConfig{}).compute(n, true);
    for (const char* field : {"energy", "forces", "virial"}) {
      expect_close(values(a, field), values(f, field), 1e-12, what + ": " + field + " vs a fresh model");
      expect_close(values(a, field), values(n, field), 1e-12, what + ": " + field + " vs native Lennard-Jones");
    }
  }
};

TEST_F(TorchEdges, FollowTheGeometryBetweenAndAcrossNeighbourListRebuilds) {
  TorchScriptModel m(config("lj"));  // skin 1 Å: the list is rebuilt after a move > 0.5 Å
  Batch b = systems(3);
  expect_current(m, b, "first call");
  EXPECT_EQ(m.neighbor_builds(), 1);

  // 1. Every atom moves by up to 0.45 Å: no rebuild, but pairs cross the 8.5 Å cutoff both ways.
  const auto before = pairs_within(b, m.cutoff());
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> u(-0.25, 0.25);  // |d| <= 0.25 sqrt(3) = 0.43 Å
  double* x = b.get("positions").data<double>();
  for (std::int64_t k = 0; k < 3 * b.n_atoms(); ++k) x[k] += u(rng);
  const auto after = pairs_within(b, m.cutoff());
  std::vector<Pair> gone, came;
  std::set_difference(before.begin(), before.end(), after.begin(), after.end(), std::back_inserter(gone));
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(), std::back_inserter(came));
  ASSERT_FALSE(gone.empty());
  ASSERT_FALSE(came.empty());
  expect_current(m, b, "moved within the skin");
  EXPECT_EQ(m.neighbor_builds(), 1) << "the move should not rebuild the list (else this step tests nothing)";

  // 2. Atoms wrapped by whole lattice vectors (as a wrap hook does): same pairs, new images.
  const double* cell = b.get("cell").data<double>();
  for (int e = 0; e < 3; ++e) {
    x[3 * 0 + e] += cell[3 * 0 + e];  // liquid atom 0 by +a
    x[3 * 7 + e] -= cell[3 * 2 + e];  // liquid atom 7 by -c
  }
  expect_current(m, b, "wrapped atoms");
  EXPECT_EQ(m.neighbor_builds(), 1);

  // 3. A new geometry, same sizes: a rebuild with different pairs.
  Batch other = systems(4);
  ASSERT_NE(pairs_within(other, m.cutoff()), pairs_within(b, m.cutoff()));
  expect_current(m, other, "new geometry");
  EXPECT_EQ(m.neighbor_builds(), 2);

  // 4. A new batch composition: the same systems in another order (same atom count).
  Batch reordered = systems(4, {3, 2, 0, 1});
  expect_current(m, reordered, "systems reordered");
  EXPECT_EQ(m.neighbor_builds(), 3);

  // 5. The cells (and atoms with them) strained by 2%: new shifts.
  double* xr = reordered.get("positions").data<double>();
  double* cr = reordered.get("cell").data<double>();
  for (std::int64_t k = 0; k < 3 * reordered.n_atoms(); ++k) xr[k] *= 1.02;
  for (std::int64_t k = 0; k < 9 * reordered.n_systems(); ++k) cr[k] *= 1.02;
  expect_current(m, reordered, "strained cells");
  EXPECT_EQ(m.neighbor_builds(), 4);

  // 6. Fewer systems: a smaller batch after a larger one, then the larger one again.
  std::vector<AtomicData> two;
  two.push_back(lj_cases::slab(DType::Float64, rng));
  two.push_back(lj_cases::tiny_box(DType::Float64, rng));
  expect_current(m, Batch::from_systems(two), "two other systems");
  expect_current(m, other, "the first new geometry again");
}

}  // namespace
}  // namespace batchmd::model
