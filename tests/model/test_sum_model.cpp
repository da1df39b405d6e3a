// SPDX-License-Identifier: Apache-2.0
// SumModel: the sum equals its terms computed one by one (energies, forces, virials, stresses;
// float64 and float32); element restrictions act like LAMMPS hybrid/overlay (a many-body term
// restricted to some elements ignores the other atoms entirely); states of stateful terms survive
// a round trip; bad arguments are rejected.
#include <gtest/gtest.h>

#include "batchmd/core/error.hpp"
#include "batchmd/model/lennard_jones.hpp"
#include "batchmd/model/snap.hpp"
#include "batchmd/model/snap_potential.hpp"
#include "batchmd/model/sum_model.hpp"
#include "batchmd/model/zbl.hpp"
#include "snap_test_util.hpp"

namespace batchmd::model {
namespace {

using namespace testing;

ZBLConfig zbl_config(double inner, double outer, ElementPairs pairs = {}) {
  ZBLConfig c;
  c.inner = inner;
  c.outer = outer;
  c.pairs = std::move(pairs);
  return c;
}

TEST(SumModel, EqualsTheSumOfItsTerms) {
  for (DType dt : {DType::Float64, DType::Float32}) {
    SCOPED_TRACE(dtype_name(dt));
    SNAPPotentialFile f = read_snap_potential(kPotentials + "WBe_Wood_PRB2019.snap");
    auto zbl = std::make_shared<ZBL>(*f.zbl);
    auto snap = std::make_shared<SNAP>(f.snap);
    SumModel sum({zbl, snap});
    EXPECT_EQ(sum.name(), "zbl+snap");
    EXPECT_DOUBLE_EQ(sum.cutoff(), std::max(zbl->cutoff(), snap->cutoff()));
    Sys a = bcc(3, 3.1803, 74), b = bcc(2, 3.1803, 74);
    a.z[4] = a.z[9] = 4;
    jitter(a, 0.3, 1);
    jitter(b, 0.3, 2);
    Batch both = batch_of({a, b}, dt), z_only = batch_of({a, b}, dt), s_only = batch_of({a, b}, dt);
    sum.compute(both, true);
    zbl->compute(z_only, true);
    snap->compute(s_only, true);
    for (const char* field : {"energy", "forces", "virial", "stress"}) {
      const auto t = doubles(both.get(field)), x = doubles(z_only.get(field)), y = doubles(s_only.get(field));
      ASSERT_EQ(t.size(), x.size());
      for (std::size_t k = 0; k < t.size(); ++k) {
        const double want = dt == DType::Float32 ? double(float(x[k]) + float(y[k])) : x[k] + y[k];
        EXPECT_EQ(t[k], want) << field << " " << k;  // one addition per element, in term order
      }
    }
  }
}

TEST(SumModel, TheSnapFileOverlayIsZblOnItsPairsPlusSnap) {
  auto file = load_snap_potential(kPotentials + "Ta06A.snap");
  SNAPPotentialFile f = read_snap_potential(kPotentials + "Ta06A.snap");
  ZBL zbl(zbl_config(4.0, 4.8, ElementPairs({{73, 73}})));
  SNAP snap(f.snap);
  Sys s = bcc(3, 3.316, 73);
  jitter(s, 0.4, 3);
  const Result r = evaluate(*file, s), rz = evaluate(zbl, s), rs = evaluate(snap, s);
  EXPECT_DOUBLE_EQ(r.energy[0], rz.energy[0] + rs.energy[0]);
  EXPECT_GT(std::abs(rz.energy[0]), 1e-3);  // the overlay contributes
  for (std::size_t k = 0; k < r.forces.size(); ++k) EXPECT_DOUBLE_EQ(r.forces[k], rz.forces[k] + rs.forces[k]);
}

TEST(SumModel, RestrictedManyBodyTermIgnoresOtherElements) {
  // LAMMPS `pair_coeff * * snap W.snapcoeff W.snapparam W NULL`: SNAP on W only; He atoms (and
  // their pairs) are invisible to it, so its energy is that of the W atoms alone.
  SNAPPotentialFile f = read_snap_potential(kPotentials + "W_2940_2017_2.snap");
  f.snap.pairs = ElementPairs::among({74});
  SNAP w_only(f.snap);
  Sys with_he = bcc(3, 3.1803, 74);
  jitter(with_he, 0.2, 4);
  Sys without = with_he;
  for (int i : {7, 13}) with_he.z[static_cast<std::size_t>(i)] = 2;
  // the same W atoms, He removed
  without.x.clear();
  without.z.clear();
  for (std::int64_t i = 0; i < with_he.n(); ++i)
    if (with_he.z[static_cast<std::size_t>(i)] == 74) {
      without.x.insert(without.x.end(), with_he.x.begin() + 3 * i, with_he.x.begin() + 3 * i + 3);
      without.z.push_back(74);
    }
  const Result a = evaluate(w_only, with_he), b = evaluate(w_only, without);
  EXPECT_NEAR(a.energy[0], b.energy[0], 1e-10 * std::abs(b.energy[0]));
  std::size_t k = 0;
  for (std::int64_t i = 0; i < with_he.n(); ++i) {
    if (with_he.z[static_cast<std::size_t>(i)] != 74) {
      for (int d = 0; d < 3; ++d) EXPECT_EQ(a.forces[3 * i + d], 0.0) << "He atom " << i;
      continue;
    }
    for (int d = 0; d < 3; ++d) EXPECT_NEAR(a.forces[3 * i + d], b.forces[3 * k + d], 1e-10) << "W atom " << i;
    ++k;
  }
}

TEST(SumModel, StatesOfStatefulTermsRoundTrip) {
  // LennardJones keeps its neighbor list's reference positions as state; the sum keeps each
  // term's state with its length.
  auto lj = std::make_shared<LennardJones>(LJConfig{});
  auto zbl = std::make_shared<ZBL>(zbl_config(1.0, 2.0));
  SumModel sum({zbl, lj});
  Sys s = fcc(3, 5.26, 18);
  jitter(s, 0.1, 5);
  Batch b = batch_of({s});
  sum.compute(b);
  const auto st = sum.state();
  // LJ: per atom its list's reference position and build cell (NeighborList::state).
  ASSERT_EQ(st.size(), 1 + 2 + 12 * static_cast<std::size_t>(s.n()));
  EXPECT_EQ(st[0], 2.0);
  EXPECT_EQ(st[1], 0.0);  // ZBL: stateless
  SumModel again({std::make_shared<ZBL>(zbl_config(1.0, 2.0)), std::make_shared<LennardJones>(LJConfig{})});
  again.restore_state(b, st);
  Batch c = batch_of({s});
  again.compute(c);
  EXPECT_EQ(doubles(c.get("energy"))[0], doubles(b.get("energy"))[0]);
  EXPECT_THROW(again.restore_state(b, std::vector<double>{3, 0, 0, 0}), InvalidArgument);
  EXPECT_TRUE(SumModel({zbl}).state().empty());
}

TEST(SumModel, RejectsEmptyAndNullTerms) {
  EXPECT_THROW(SumModel({}), InvalidArgument);
  EXPECT_THROW(SumModel({nullptr}), InvalidArgument);
}

}  // namespace
}  // namespace batchmd::model
