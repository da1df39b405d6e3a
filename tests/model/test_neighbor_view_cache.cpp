// SPDX-License-Identifier: Apache-2.0
// NeighborViewCache::update_inside against update(): over MD-like moves (some past skin/2, so the
// list rebuilds), atoms wrapped by lattice vectors between calls, the full lists' mixed batch
// (full_list_cases.hpp: periodic cubic and triclinic cells, a slab, a cluster, a cell smaller
// than the cutoff, an empty system; two species of different cutoffs and ignored atoms), in both
// precisions, the inside view holds exactly the full view's pairs that are inside their cutoff —
// in the same order, bit for bit — with reverse indices that point at the opposite pair.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "full_list_cases.hpp"
#include "model_fields.hpp"
#include "neighbor_view_cache.hpp"

namespace batchmd::model {
namespace {

using namespace testing;

template <typename T>
void check_inside_equals_filtered_full(DType dt) {
  const std::vector<Sys> systems = mixed();
  Batch batch = batch_of(systems, dt);
  const std::int64_t na = batch.n_atoms();
  const std::vector<std::int32_t> species = species_of(systems);
  // The view's species-pair cutoffs (kCut) and, shorter, the inside ones (the 47-47 pairs dropped).
  const std::vector<double> inside_cut = {3.0, 3.3, 3.3, 0.0};
  const detail::ViewRequest req{species.data(), 2, kCut.data()};
  const double list_cut = *std::max_element(kCut.begin(), kCut.end());
  NeighborList nl_full(list_cut, kSkin), nl_inside(list_cut, kSkin);
  detail::NeighborViewCache<T> full_cache, inside_cache;
  std::mt19937_64 rng(11);
  std::normal_distribution<double> step(0.0, 0.12);
  T* x = batch.get("positions").data<T>();
  std::int64_t rebuilds = 0, checked = 0;
  for (int call = 0; call < 30; ++call) {
    if (call > 0)
      for (std::int64_t k = 0; k < 3 * na; ++k) x[k] += static_cast<T>(step(rng));
    if (call % 7 == 3)  // wrap a few atoms of the cubic crystal (edge 10.8 Å) by a lattice vector
      for (std::int64_t a = 0; a < 10; ++a) x[3 * a] -= static_cast<T>(10.8);
    const BatchGeometry<T> g = detail::batch_geometry<T>(batch, "test");
    const std::int64_t before = nl_full.n_builds();
    const detail::NeighborView<T>& f = full_cache.update(nl_full, g, req);
    rebuilds += nl_full.n_builds() > before ? 1 : 0;
    const detail::NeighborView<T>& v = inside_cache.update_inside(nl_inside, g, req, inside_cut.data());
    ASSERT_EQ(v.n_atoms, na);
    for (std::int64_t i = 0; i < na; ++i) {
      std::int64_t q = v.offsets[i];
      for (std::int64_t p = f.offsets[i]; p < f.offsets[i + 1]; ++p) {
        const T* r = f.rij.data() + 3 * p;
        const T rsq = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
        const std::int32_t si = species[i], sj = f.species[p];
        const bool inside = si >= 0 && sj >= 0 && inside_cut[si * 2 + sj] > 0 &&
                            static_cast<double>(rsq) < inside_cut[si * 2 + sj] * inside_cut[si * 2 + sj];
        if (!inside) continue;
        ASSERT_LT(q, v.offsets[i + 1]) << "call " << call << ", atom " << i << ": a pair inside is missing";
        EXPECT_EQ(v.neighbor[q], f.neighbor[p]);
        EXPECT_EQ(v.species[q], sj);
        for (int d = 0; d < 3; ++d) EXPECT_EQ(v.rij[3 * q + d], r[d]) << "call " << call << ", atom " << i;
        ++q;
        ++checked;
      }
      EXPECT_EQ(q, v.offsets[i + 1]) << "call " << call << ", atom " << i << ": pairs that are not inside";
    }
    for (std::int64_t i = 0; i < na; ++i)
      for (std::int64_t q = v.offsets[i]; q < v.offsets[i + 1]; ++q) {
        const std::int64_t back = v.reverse[q];
        const std::int32_t j = v.neighbor[q];
        ASSERT_TRUE(back >= v.offsets[j] && back < v.offsets[j + 1]) << "call " << call;
        EXPECT_EQ(v.neighbor[back], i);
        EXPECT_EQ(v.reverse[back], q);
        for (int d = 0; d < 3; ++d) EXPECT_EQ(v.rij[3 * back + d], -v.rij[3 * q + d]);
      }
  }
  EXPECT_GE(rebuilds, 3);        // the moves rebuilt the list several times...
  EXPECT_GT(checked, 30 * 100);  // ...and each call had pairs inside
}

TEST(NeighborViewCache, InsideViewIsTheFullViewFilteredFloat64) {
  check_inside_equals_filtered_full<double>(DType::Float64);
}
TEST(NeighborViewCache, InsideViewIsTheFullViewFilteredFloat32) {
  check_inside_equals_filtered_full<float>(DType::Float32);
}

}  // namespace
}  // namespace batchmd::model
