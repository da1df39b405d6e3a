// SPDX-License-Identifier: Apache-2.0
// Tests of model/neighbor_list against brute-force enumeration of all periodic images.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/model/neighbor_list.hpp"
#include "model_test_util.hpp"

namespace batchmd::model {
namespace {

using testing::brute_force_pairs;
using testing::canonical;
using testing::flatten;
using testing::Mat3;
using testing::PairKey;
using testing::random_system;
using testing::TestSystem;

constexpr double kCutoff = 5.0;
constexpr double kSkin = 0.6;

const Mat3 kOrtho = {12, 0, 0, 0, 13, 0, 0, 0, 14};
const Mat3 kTriclinic = {11, 0, 0, 3.5, 10, 0, -2.5, 3, 9.5};
const Mat3 kSmallTriclinic = {4, 0, 0, 1.2, 4.2, 0, 0.8, -1.1, 3.9};  // every width < rc

TestSystem ortho_box(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return random_system(rng, kOrtho, {true, true, true}, 60, 1.6);
}
TestSystem triclinic_box(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return random_system(rng, kTriclinic, {true, true, true}, 50, 1.6);
}
TestSystem small_box(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return random_system(rng, kSmallTriclinic, {true, true, true}, 5, 1.6);
}
TestSystem cluster(std::uint64_t seed, std::int64_t n = 40) {
  std::mt19937_64 rng(seed);
  return random_system(rng, Mat3{}, {false, false, false}, n, 1.6, 9.0);
}
TestSystem slab(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return random_system(rng, {9, 0, 0, 2, 8.5, 0, 0.5, 0.5, 20}, {true, true, false}, 40, 1.6);
}
TestSystem wire(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return random_system(rng, {15, 0, 0, 0, 15, 0, 0, 0, 4.5}, {false, false, true}, 20, 1.6);
}
// Moves every atom by a random lattice vector (periodic directions only): same physics.
TestSystem drifted(TestSystem s, std::uint64_t seed, int max_cells = 3) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> k(-max_cells, max_cells);
  for (std::int64_t i = 0; i < s.n(); ++i)
    for (int d = 0; d < 3; ++d) {
      if (!s.pbc[d]) continue;
      const int n = k(rng);
      for (int e = 0; e < 3; ++e) s.x[3 * i + e] += n * s.cell[3 * d + e];
    }
  return s;
}

std::vector<PairKey> list_pairs(const NeighborList& nl, std::int64_t first = 0, std::int64_t last = -1) {
  std::vector<PairKey> out;
  for (const NeighborPair& p : nl.pairs()) {
    if (p.i < first || (last >= 0 && p.i >= last)) continue;
    out.push_back(canonical(p.i - first, p.j - first, {p.image[0], p.image[1], p.image[2]}));
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool has_substr(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

struct GeometryCase {
  const char* name;
  TestSystem (*make)();
};

class NeighborListPairs : public ::testing::TestWithParam<GeometryCase> {};

template <typename T>
void expect_pairs_match_brute_force(TestSystem s) {
  // The reference sees exactly the positions the list sees.
  for (double& v : s.x) v = static_cast<double>(static_cast<T>(v));
  for (double& v : s.cell) v = static_cast<double>(static_cast<T>(v));
  const auto batch = flatten<T>({s});
  NeighborList nl(kCutoff, kSkin);
  ASSERT_TRUE(nl.update(batch.geometry()));
  const auto got = list_pairs(nl);
  EXPECT_EQ(std::adjacent_find(got.begin(), got.end()), got.end()) << "a pair is listed twice";
  const auto want = brute_force_pairs(s, kCutoff + kSkin);
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(got, want);
  EXPECT_EQ(nl.n_pairs(), static_cast<std::int64_t>(want.size()));
  // Shift vectors are image . cell, and the separation they give is within cutoff + skin.
  for (const NeighborPair& p : nl.pairs()) {
    double r2 = 0;
    for (int e = 0; e < 3; ++e) {
      double sh = 0;
      for (int d = 0; d < 3; ++d) sh += p.image[d] * s.cell[3 * d + e];
      EXPECT_NEAR(p.shift[e], sh, 1e-9);
      const double r = s.x[3 * p.j + e] - s.x[3 * p.i + e] + p.shift[e];
      r2 += r * r;
    }
    EXPECT_LT(r2, (kCutoff + kSkin) * (kCutoff + kSkin));
  }
}

TEST_P(NeighborListPairs, SameSetAsBruteForceDouble) { expect_pairs_match_brute_force<double>(GetParam().make()); }
TEST_P(NeighborListPairs, SameSetAsBruteForceFloat) { expect_pairs_match_brute_force<float>(GetParam().make()); }

INSTANTIATE_TEST_SUITE_P(
    Geometries, NeighborListPairs,
    ::testing::Values(GeometryCase{"orthorhombic", [] { return ortho_box(1); }},
                      GeometryCase{"triclinic", [] { return triclinic_box(2); }},
                      GeometryCase{"small_triclinic_box", [] { return small_box(3); }},
                      GeometryCase{"open_cluster", [] { return cluster(4); }},
                      GeometryCase{"slab_pbc_TTF", [] { return slab(5); }},
                      GeometryCase{"wire_pbc_FFT", [] { return wire(6); }},
                      GeometryCase{"drifted_triclinic", [] { return drifted(triclinic_box(7), 70); }},
                      GeometryCase{"drifted_small_box", [] { return drifted(small_box(8), 80, 5); }},
                      GeometryCase{"drifted_slab", [] { return drifted(slab(9), 90); }}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(NeighborList, SingleAtomInTinyBoxSeesItsOwnImages) {
  TestSystem s;
  s.cell = {2.0, 0, 0, 0, 2.5, 0, 0, 0, 3.0};
  s.pbc = {true, true, true};
  s.x = {0.3, -0.2, 7.1};
  s.z = {1};
  const auto b = flatten<double>({s});
  NeighborList nl(kCutoff, kSkin);
  nl.update(b.geometry());
  const auto want = brute_force_pairs(s, kCutoff + kSkin);
  EXPECT_GT(want.size(), 20u);
  EXPECT_EQ(list_pairs(nl), want);
}

TEST(NeighborList, SlabWithZeroOpenCellVectorEqualsSlabWithVacuumVector) {
  TestSystem a = slab(11);
  TestSystem b = a;
  for (int e = 6; e < 9; ++e) b.cell[e] = 0;  // ASE-style 2D cell
  NeighborList na(kCutoff, kSkin), nb(kCutoff, kSkin);
  const auto fa = flatten<double>({a});
  const auto fb = flatten<double>({b});
  na.update(fa.geometry());
  nb.update(fb.geometry());
  EXPECT_EQ(list_pairs(na), list_pairs(nb));
}

TEST(NeighborList, BatchEqualsSystemsAlone) {
  const std::vector<TestSystem> systems = {ortho_box(21),     cluster(22),   TestSystem{},
                                           triclinic_box(23), small_box(24), slab(25)};
  const auto batch = flatten<double>(systems);
  NeighborList nl(kCutoff, kSkin);
  nl.update(batch.geometry());
  std::int64_t total = 0;
  for (std::size_t s = 0; s < systems.size(); ++s) {
    SCOPED_TRACE("system " + std::to_string(s));
    const auto alone = flatten<double>({systems[s]});
    NeighborList one(kCutoff, kSkin);
    one.update(alone.geometry());
    EXPECT_EQ(list_pairs(nl, batch.ptr[s], batch.ptr[s + 1]), list_pairs(one));
    total += one.n_pairs();
  }
  EXPECT_EQ(nl.n_pairs(), total);
  // Structural invariants of the CSR.
  const auto off = nl.neighbor_offsets();
  const auto sb = nl.shifted_begin();
  ASSERT_EQ(off.size(), static_cast<std::size_t>(nl.n_atoms() + 1));
  for (std::int64_t k = 0; k < nl.n_atoms(); ++k) {
    EXPECT_LE(off[k], sb[k]);
    EXPECT_LE(sb[k], off[k + 1]);
  }
}

// 5,324 atoms (fcc 11^3, jittered) in a triclinic cell: large enough that several threads build
// its list and check its displacements.
TestSystem big_triclinic_crystal() {
  const double a = 3.2;
  const int nc = 11;
  std::mt19937_64 rng(316);
  std::uniform_real_distribution<double> jitter(-0.3, 0.3);
  const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
  TestSystem big;
  for (int i = 0; i < nc; ++i)
    for (int j = 0; j < nc; ++j)
      for (int k = 0; k < nc; ++k)
        for (const auto& bb : basis) {
          big.x.push_back((i + bb[0]) * a + jitter(rng));
          big.x.push_back((j + bb[1]) * a + jitter(rng));
          big.x.push_back((k + bb[2]) * a + jitter(rng));
        }
  big.cell = {nc * a, 0, 0, 0.7, nc * a, 0, -0.4, 0.3, nc * a};
  big.pbc = {true, true, true};
  big.z.assign(big.n(), 1);
  return big;
}

TEST(NeighborList, ThreadCountDoesNotChangeTheList) {
  // A single system large enough that several threads find its pairs (ranges of bin rows,
  // concatenated; 16 threads cut planes into parts too): the list is exactly the one-thread list,
  // element by element (the one-thread list is the brute-force set, NeighborListPairs). The batch
  // (systems spread over threads) is checked the same way.
  const TestSystem big = big_triclinic_crystal();
  const int saved = num_threads();
  for (const auto& systems : {std::vector<TestSystem>{big}, {ortho_box(31), cluster(32), big, small_box(33)}}) {
    const auto b = flatten<double>(systems);
    set_num_threads(1);
    NeighborList one(kCutoff, kSkin);
    one.update(b.geometry());
    for (int threads : {2, 3, 16}) {
      SCOPED_TRACE(std::to_string(threads) + " threads, " + std::to_string(systems.size()) + " systems");
      set_num_threads(threads);
      NeighborList many(kCutoff, kSkin);
      many.update(b.geometry());
      many.request_rebuild();
      many.update(b.geometry());  // a rebuild into warm buffers as well
      testing::expect_same_list(one, many);
    }
    set_num_threads(saved);
    EXPECT_GT(one.n_pairs(), 100000);
  }
}

TEST(NeighborList, LargeSystemSkinCheckOnAnyThreadCount) {
  // The displacement check splits a large system into chunks of atoms over the threads; a move
  // past skin/2 or a lattice jump in any chunk (here in the second, atom 5000) must still count.
  const TestSystem big = big_triclinic_crystal();
  ASSERT_GT(big.n(), 5000);
  const int saved = num_threads();
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    set_num_threads(threads);
    for (const auto& systems : {std::vector<TestSystem>{big}, {cluster(34), big}}) {
      const std::int64_t atom = (systems.size() == 1 ? 0 : systems[0].n()) + 5000;
      auto b = flatten<double>(systems);
      NeighborList nl(kCutoff, kSkin);
      ASSERT_TRUE(nl.update(b.geometry()));
      // A lattice jump (one cell vector): kept, and the list follows the image.
      auto jumped = b;
      for (int e = 0; e < 3; ++e) jumped.x[3 * atom + e] += big.cell[3 + e];
      EXPECT_FALSE(nl.update(jumped.geometry()));
      EXPECT_EQ(list_pairs(nl), list_pairs([&] {
                  NeighborList fresh(kCutoff, kSkin);
                  fresh.update(jumped.geometry());
                  return fresh;
                }()));
      // Past skin/2 from the build position: rebuild.
      auto moved = jumped;
      moved.x[3 * atom] += 0.51 * kSkin;
      EXPECT_TRUE(nl.update(moved.geometry()));
      EXPECT_EQ(nl.n_builds(), 2);
    }
  }
  set_num_threads(saved);
}

TEST(NeighborList, RebuildCriterion) {
  TestSystem s = ortho_box(31);
  auto b = flatten<double>({s});
  NeighborList nl(kCutoff, kSkin);
  EXPECT_TRUE(nl.update(b.geometry()));
  EXPECT_FALSE(nl.update(b.geometry()));
  EXPECT_EQ(nl.n_builds(), 1);

  // Every atom moves just under skin/2: no rebuild, and the list still holds every pair within
  // the cutoff of the moved positions.
  std::mt19937_64 rng(32);
  std::normal_distribution<double> gauss;
  TestSystem moved = s;
  for (std::int64_t i = 0; i < s.n(); ++i) {
    double d[3] = {gauss(rng), gauss(rng), gauss(rng)};
    const double len = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    for (int e = 0; e < 3; ++e) moved.x[3 * i + e] += 0.49 * kSkin * d[e] / len;
  }
  auto bm = flatten<double>({moved});
  EXPECT_FALSE(nl.update(bm.geometry()));
  const auto listed = list_pairs(nl);
  for (const PairKey& k : brute_force_pairs(moved, kCutoff))
    EXPECT_TRUE(std::binary_search(listed.begin(), listed.end(), k)) << "pair within cutoff missing";

  // One atom past skin/2 (measured from the build positions): rebuild.
  auto b1 = b;
  b1.x[3 * 17 + 1] += 0.51 * kSkin;
  EXPECT_TRUE(nl.update(b1.geometry()));
  EXPECT_EQ(nl.n_builds(), 2);
  EXPECT_FALSE(nl.update(b1.geometry()));

  // A tiny strain of a fully periodic cell keeps the list (charged against the skin: see
  // tests/dynamics/test_npt_neighbor.cpp); a pbc change rebuilds; so does a changed cell of a
  // partly periodic system.
  auto b2 = b1;
  b2.cell[4] *= 1.0001;
  for (std::int64_t i = b2.ptr[0]; i < b2.ptr[1]; ++i) b2.x[3 * i + 1] *= 1.0001;
  EXPECT_FALSE(nl.update(b2.geometry()));
  b2.pbc[0][2] = false;
  EXPECT_TRUE(nl.update(b2.geometry()));
  EXPECT_FALSE(nl.update(b2.geometry()));
  b2.cell[0] *= 1.0001;
  EXPECT_TRUE(nl.update(b2.geometry()));
  EXPECT_EQ(nl.n_builds(), 4);

  nl.request_rebuild();
  EXPECT_TRUE(nl.update(b2.geometry()));
}

TEST(NeighborList, WrappingAtomsIntoTheCellNeedsNoRebuild) {
  for (const TestSystem& s : {drifted(triclinic_box(35), 36), drifted(small_box(37), 38, 5), drifted(slab(39), 40)}) {
    NeighborList nl(kCutoff, kSkin);
    ASSERT_TRUE(nl.update(flatten<double>({s}).geometry()));
    const TestSystem w = testing::wrapped_into_cell(s);
    ASSERT_NE(w.x, s.x);
    EXPECT_FALSE(nl.update(flatten<double>({w}).geometry()));
    EXPECT_EQ(list_pairs(nl), brute_force_pairs(w, kCutoff + kSkin)) << "images relabeled for the new positions";
    // A lattice jump plus a move: only the move counts.
    TestSystem moved = w;
    for (int e = 0; e < 3; ++e) moved.x[3 * 2 + e] += w.cell[e] + (e == 0 ? 0.2 * kSkin : 0.0);
    EXPECT_FALSE(nl.update(flatten<double>({moved}).geometry()));
    moved.x[3 * 2] += 0.35 * kSkin;
    EXPECT_TRUE(nl.update(flatten<double>({moved}).geometry()));
    EXPECT_EQ(nl.n_builds(), 2);
  }
}

TEST(NeighborList, RebuildsWhenAtomsPtrChanges) {
  auto b = flatten<double>({cluster(41, 10), cluster(42, 10)});
  NeighborList nl(kCutoff, kSkin);
  EXPECT_TRUE(nl.update(b.geometry()));
  EXPECT_FALSE(nl.update(b.geometry()));
  b.ptr[1] = 5;  // same atoms, different split
  EXPECT_TRUE(nl.update(b.geometry()));
  for (const NeighborPair& p : nl.pairs()) EXPECT_EQ(p.i < 5, p.j < 5) << "pair across systems";
  EXPECT_FALSE(nl.update(b.geometry()));
  // One more atom.
  b.x.insert(b.x.end(), {30.0, 30.0, 30.0});
  b.z.push_back(1);
  b.ptr[2] += 1;
  EXPECT_TRUE(nl.update(b.geometry()));
  EXPECT_EQ(nl.n_builds(), 3);
}

TEST(NeighborList, NonFinitePositionNamesSystemAndAtom) {
  auto b = flatten<double>({cluster(51, 10), cluster(52, 10)});
  NeighborList nl(kCutoff, kSkin);
  nl.update(b.geometry());
  const auto before = list_pairs(nl);
  for (double bad : {std::nan(""), std::numeric_limits<double>::infinity()}) {
    auto broken = b;
    broken.x[3 * (10 + 3) + 2] = bad;
    try {
      nl.update(broken.geometry());
      FAIL() << "expected NumericalError";
    } catch (const NumericalError& e) {
      EXPECT_TRUE(has_substr(e.what(), "system 1")) << e.what();
      EXPECT_TRUE(has_substr(e.what(), "atom 3")) << e.what();
    }
  }
  // The list kept its state.
  EXPECT_EQ(nl.n_builds(), 1);
  EXPECT_EQ(list_pairs(nl), before);
  EXPECT_FALSE(nl.update(b.geometry()));
  // Also on the very first update.
  auto broken = b;
  broken.x[0] = std::nan("");
  NeighborList fresh(kCutoff, kSkin);
  EXPECT_THROW(fresh.update(broken.geometry()), NumericalError);
  auto fbroken = flatten<float>({cluster(53, 4)});
  fbroken.x[5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(fresh.update(fbroken.geometry()), NumericalError);
}

TEST(NeighborList, RejectsDegeneratePeriodicCells) {
  TestSystem s = ortho_box(61);
  NeighborList nl(kCutoff, kSkin);
  auto flat = s;
  flat.cell = {5, 0, 0, 0, 5, 0, 5, 5, 0};  // coplanar: zero volume
  EXPECT_THROW(nl.update(flatten<double>({flat}).geometry()), InvalidArgument);
  auto left = s;
  left.cell = {0, 13, 0, 12, 0, 0, 0, 0, 14};  // left-handed: negative volume
  try {
    nl.update(flatten<double>({left}).geometry());
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_TRUE(has_substr(e.what(), "volume")) << e.what();
  }
  auto slab2 = slab(62);
  slab2.cell = {9, 0, 0, 18, 0, 0, 0, 0, 0};  // parallel periodic vectors
  EXPECT_THROW(nl.update(flatten<double>({slab2}).geometry()), InvalidArgument);
  // pbc without a cell.
  auto b = flatten<double>({s});
  auto g = b.geometry();
  g.cell = nullptr;
  EXPECT_THROW(nl.update(g), InvalidArgument);
  EXPECT_EQ(nl.n_builds(), 0);
}

TEST(NeighborList, RejectsMalformedLayoutAndParameters) {
  EXPECT_THROW(NeighborList(0.0, 1.0), InvalidArgument);
  EXPECT_THROW(NeighborList(-1.0, 1.0), InvalidArgument);
  EXPECT_THROW(NeighborList(5.0, -0.1), InvalidArgument);
  EXPECT_THROW(NeighborList(std::nan(""), 1.0), InvalidArgument);
  EXPECT_THROW(NeighborList(5.0, std::numeric_limits<double>::infinity()), InvalidArgument);
  EXPECT_NO_THROW(NeighborList(5.0, 0.0));

  auto b = flatten<double>({cluster(71, 6), cluster(72, 6)});
  NeighborList nl(kCutoff, kSkin);
  auto bad = b;
  bad.ptr[2] = 11;  // does not end at n_atoms
  EXPECT_THROW(nl.update(bad.geometry()), InvalidArgument);
  bad = b;
  bad.ptr[1] = 13;  // decreasing
  EXPECT_THROW(nl.update(bad.geometry()), InvalidArgument);
  // An empty batch is fine.
  BatchGeometry<double> empty;
  std::int64_t zero = 0;
  empty.atoms_ptr = &zero;
  EXPECT_NO_THROW(nl.update(empty));
  EXPECT_EQ(nl.n_pairs(), 0);
}

TEST(NeighborList, SlotLayoutReproducesSeparations) {
  // w_k = x[order[k]] - image[k] . cell; neighbors' separations from slots equal pairs().
  TestSystem s = drifted(triclinic_box(81), 82);
  const auto b = flatten<double>({s});
  NeighborList nl(kCutoff, kSkin);
  nl.update(b.geometry());
  const auto order = nl.atom_order();
  const auto image = nl.image_offsets();
  auto wrapped = [&](std::int64_t k, int e) {
    double v = s.x[3 * order[k] + e];
    for (int d = 0; d < 3; ++d) v -= image[3 * k + d] * s.cell[3 * d + e];
    return v;
  };
  std::vector<bool> seen(s.n(), false);
  for (std::int64_t k = 0; k < s.n(); ++k) seen[order[k]] = true;
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), s.n()) << "atom_order is not a permutation";
  const auto off = nl.neighbor_offsets();
  const auto sb = nl.shifted_begin();
  const auto nbr = nl.neighbors();
  const auto sidx = nl.shift_index();
  const auto shifts = nl.shifts();
  for (std::int64_t k = 0; k < s.n(); ++k)
    for (std::int64_t p = off[k]; p < off[k + 1]; ++p) {
      double r2 = 0;
      for (int e = 0; e < 3; ++e) {
        double sh = 0;
        if (p >= sb[k])
          for (int d = 0; d < 3; ++d) sh += shifts[3 * sidx[p] + d] * s.cell[3 * d + e];
        const double r = wrapped(nbr[p], e) - wrapped(k, e) + sh;
        r2 += r * r;
      }
      EXPECT_LT(r2, (kCutoff + kSkin) * (kCutoff + kSkin));
    }
}

}  // namespace
}  // namespace batchmd::model
