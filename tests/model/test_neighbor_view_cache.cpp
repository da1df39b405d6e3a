// SPDX-License-Identifier: Apache-2.0
// NeighborViewCache::update_inside against update(): over MD-like moves (some past skin/2, so the
// list rebuilds), atoms wrapped by lattice vectors between calls, several kinds of system in one
// batch (periodic crystal, triclinic cell, open cluster), two species with different cutoffs and
// an excluded atom, in both precisions, the inside view holds exactly the full view's pairs that
// are inside their cutoff — in the same order, bit for bit — with reverse indices that point at
// the opposite pair.
#include <gtest/gtest.h>

#include <random>

#include "lammps_compare.hpp"
#include "model_fields.hpp"
#include "neighbor_view_cache.hpp"

namespace batchmd::model {
namespace {

using namespace testing;

template <typename T>
void check_inside_equals_filtered_full(DType dt) {
  Sys crystal = zincblende(3, 3, 3, 5.431, 14, 6);  // two species
  jitter(crystal, 0.15, 3);
  Sys tri = zincblende(2, 2, 2, 5.431, 14, 14);
  tri.cell = {10.862, 0, 0, 2.0, 10.862, 0, 1.0, -1.5, 10.862};
  jitter(tri, 0.2, 4);
  Sys cluster = zincblende(2, 2, 2, 5.431, 6, 14);
  cluster.pbc = {false, false, false};
  cluster.cell.assign(9, 0.0);
  Batch batch = batch_of({crystal, tri, cluster}, dt);
  const std::int64_t na = batch.n_atoms();
  std::vector<std::int32_t> species(static_cast<std::size_t>(na));
  const std::int64_t* z = batch.get("atomic_numbers").data<std::int64_t>();
  for (std::int64_t a = 0; a < na; ++a) species[a] = z[a] == 14 ? 0 : 1;
  species[5] = -1;  // excluded by the model
  // Species-pair cutoffs of the view (<= the list's cutoff) and, shorter, the inside cutoffs.
  const std::vector<double> view_cut = {3.8, 3.2, 3.2, 3.0};
  const std::vector<double> inside_cut = {3.0, 2.5, 2.5, 0.0};  // C-C pairs dropped
  const detail::ViewRequest req{species.data(), 2, view_cut.data()};
  NeighborList nl_full(3.8, 1.0), nl_inside(3.8, 1.0);
  detail::NeighborViewCache<T> full_cache, inside_cache;
  std::mt19937_64 rng(11);
  std::normal_distribution<double> step(0.0, 0.12);
  T* x = batch.get("positions").data<T>();
  std::int64_t rebuilds = 0, checked = 0;
  for (int call = 0; call < 30; ++call) {
    if (call > 0)
      for (std::int64_t k = 0; k < 3 * na; ++k) x[k] += static_cast<T>(step(rng));
    if (call % 7 == 3)  // wrap a few atoms of the crystal by a lattice vector
      for (std::int64_t a = 0; a < 10; ++a) x[3 * a] -= static_cast<T>(16.293);
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
