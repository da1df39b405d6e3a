// SPDX-License-Identifier: Apache-2.0
// Tests of core/frame.hpp, the cell geometry every neighbor list shares: frames of periodic,
// slab, wire and open systems against independent linear algebra (a Cramer inverse, explicit
// orthogonality), the rejected cells, wrapping into [0, 1), lattice vectors, and the displacement
// test that decides between "within the skin", "jumped by a lattice vector" and "rebuild".
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <random>

#include "batchmd/core/frame.hpp"

using namespace batchmd;

namespace {

using M3 = std::array<double, 9>;

double det(const M3& m) {
  return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
}
// Inverse by cofactors: x = s · M (rows) <=> s = x · M^-1; column d of M^-1 is recip[d].
M3 inverse(const M3& m) {
  const double D = det(m);
  M3 c{};
  for (int r = 0; r < 3; ++r)
    for (int k = 0; k < 3; ++k) {
      const int r1 = (r + 1) % 3, r2 = (r + 2) % 3, k1 = (k + 1) % 3, k2 = (k + 2) % 3;
      c[3 * k + r] = (m[3 * r1 + k1] * m[3 * r2 + k2] - m[3 * r1 + k2] * m[3 * r2 + k1]) / D;
    }
  return c;
}

// recip[d] · row[e] = δ_de and h[d] = 1 / |recip[d]| (the plane spacing), to rounding.
void expect_consistent(const Frame& f) {
  for (int d = 0; d < 3; ++d) {
    for (int e = 0; e < 3; ++e) EXPECT_NEAR(dot(f.recip[d], f.row[e]), d == e ? 1.0 : 0.0, 1e-14) << d << e;
    EXPECT_NEAR(f.h[d], 1.0 / norm(f.recip[d]), 1e-12 * f.h[d]);
  }
  EXPECT_GT(triple(f.row[0], f.row[1], f.row[2]), 0) << "frame not right-handed";
}

Frame frame(const M3& cell, std::array<bool, 3> pbc) {
  Frame f;
  const FrameStatus st = make_frame(cell.data(), pbc.data(), f);
  EXPECT_TRUE(st.ok()) << static_cast<int>(st.error);
  return f;
}

}  // namespace

TEST(Frame, PeriodicTriclinicCellIsItsOwnFrame) {
  const M3 cell = {20, 0, 0, 6, 19, 0, -4, 5, 18};
  const Frame f = frame(cell, {true, true, true});
  const M3 inv = inverse(cell);
  for (int d = 0; d < 3; ++d)
    for (int e = 0; e < 3; ++e) {
      EXPECT_EQ(f.row[d][e], cell[3 * d + e]);
      EXPECT_NEAR(f.recip[d][e], inv[3 * e + d], 1e-15);
    }
  // Plane spacing along c: volume over the area of the a-b face.
  const double area_ab = norm(cross(f.row[0], f.row[1]));
  EXPECT_NEAR(f.h[2], det(cell) / area_ab, 1e-12);
  EXPECT_TRUE(f.any_periodic);
  expect_consistent(f);
}

TEST(Frame, SlabIsCompletedByTheUnitNormalAndNeverReadsTheOpenRow) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const M3 cell = {17, 0, 0, 3, 16, 0, nan, nan, nan};  // the open row may hold anything
  const Frame f = frame(cell, {true, true, false});
  EXPECT_NEAR(norm(f.row[2]), 1.0, 1e-15);
  EXPECT_NEAR(dot(f.row[2], f.row[0]), 0.0, 1e-13);
  EXPECT_NEAR(dot(f.row[2], f.row[1]), 0.0, 1e-13);
  EXPECT_NEAR(f.h[2], 1.0, 1e-15);  // along the open direction s is a length in Å
  expect_consistent(f);
  // Periodic along b and c only: the completion goes into row a.
  const M3 bc = {0, 0, 0, 0.3, 14, 0, 0.2, 0.5, 13};
  const Frame g = frame(bc, {false, true, true});
  EXPECT_NEAR(norm(g.row[0]), 1.0, 1e-15);
  expect_consistent(g);
}

TEST(Frame, WireIsCompletedByTwoOrthonormalRows) {
  const M3 cell = {11, 0.5, 0.3, 0, 0, 0, 0, 0, 0};
  const Frame f = frame(cell, {true, false, false});
  for (int d : {1, 2}) {
    EXPECT_NEAR(norm(f.row[d]), 1.0, 1e-15);
    EXPECT_NEAR(dot(f.row[d], f.row[0]), 0.0, 1e-13);
  }
  EXPECT_NEAR(dot(f.row[1], f.row[2]), 0.0, 1e-15);
  expect_consistent(f);
  // Whichever row is periodic, and whatever its direction.
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(-9, 9);
  for (int p = 0; p < 3; ++p)
    for (int trial = 0; trial < 20; ++trial) {
      M3 c{};
      for (int e = 0; e < 3; ++e) c[3 * p + e] = u(rng);
      std::array<bool, 3> pbc{false, false, false};
      pbc[p] = true;
      const Frame g = frame(c, pbc);
      for (int e = 0; e < 3; ++e) EXPECT_EQ(g.row[p][e], c[3 * p + e]);
      expect_consistent(g);
    }
}

TEST(Frame, OpenSystemHasTheIdentityFrame) {
  Frame f;
  const bool open[3] = {false, false, false};
  ASSERT_TRUE(make_frame(nullptr, open, f).ok());  // no cell needed
  EXPECT_FALSE(f.any_periodic);
  for (int d = 0; d < 3; ++d) {
    EXPECT_EQ(f.h[d], 1.0);
    for (int e = 0; e < 3; ++e) {
      EXPECT_EQ(f.row[d][e], d == e ? 1.0 : 0.0);
      EXPECT_EQ(f.recip[d][e], d == e ? 1.0 : 0.0);
    }
  }
}

TEST(Frame, DegenerateCellsAreRejectedWithTheReason) {
  const double inf = std::numeric_limits<double>::infinity();
  Frame f;
  const bool all[3] = {true, true, true}, ab[3] = {true, true, false}, c_only[3] = {false, false, true};
  M3 cell = {10, 0, 0, 0, 10, 0, 0, inf, 10};
  FrameStatus st = make_frame(cell.data(), all, f);
  EXPECT_EQ(st.error, FrameError::kNonFinite);
  EXPECT_EQ(st.row, 2);
  cell = {10, 0, 0, 0, 0, 10, 0, 10, 0};  // left-handed
  st = make_frame(cell.data(), all, f);
  EXPECT_EQ(st.error, FrameError::kNonPositiveVolume);
  EXPECT_DOUBLE_EQ(st.volume, -1000.0);
  cell = {10, 0, 0, 0, 10, 0, 5, 5, 1e-12};  // flat
  EXPECT_EQ(make_frame(cell.data(), all, f).error, FrameError::kNonPositiveVolume);
  cell = {10, 0, 0, -20, 0, 0, 0, 0, 10};  // a, b parallel in a slab
  EXPECT_EQ(make_frame(cell.data(), ab, f).error, FrameError::kParallelRows);
  cell = {10, 0, 0, 0, 10, 0, 0, 0, 0};  // wire along a zero c
  EXPECT_EQ(make_frame(cell.data(), c_only, f).error, FrameError::kZeroRow);
}

TEST(Frame, WrapUnitLandsInTheHalfOpenUnitInterval) {
  for (double s : {-2.5, -1e-17, -0.0, 0.0, 0.25, 0.9999999999999999, 1.0, 3.0, 7.75, -1e8 - 0.5}) {
    double w = s;
    const double n = wrap_unit(w);
    EXPECT_GE(w, 0.0) << s;
    EXPECT_LT(w, 1.0) << s;
    EXPECT_EQ(n, std::floor(n)) << s;
    EXPECT_NEAR(n + w, s, 1e-16 * (1 + std::abs(s)) + 1e-16) << s;
  }
  double tiny = -1e-17;  // -1e-17 + 1 rounds to 1: the value moves to 0 of the next cell
  EXPECT_EQ(wrap_unit(tiny), 0.0);
  EXPECT_EQ(tiny, 0.0);
}

TEST(Frame, LatticeVectorsAndUnwrapping) {
  const M3 cell = {20, 0, 0, 6, 19, 0, -4, 5, 18};
  const Frame f = frame(cell, {true, true, true});
  const int S[3] = {1, -2, 3};
  const Vec3 a = lattice_vector(S, cell.data());
  const Vec3 b = lattice_vector(S, f.row);
  for (int e = 0; e < 3; ++e) {
    const double want = 1 * cell[e] - 2 * cell[3 + e] + 3 * cell[6 + e];
    EXPECT_DOUBLE_EQ(a[e], want);
    EXPECT_EQ(a[e], b[e]);
    // x = w + S · cell  =>  unwrapping x by S gives w back.
    const double w = 0.5 + e;
    EXPECT_NEAR(unwrap_component(w + want, S, cell.data(), e), w, 1e-13);
    EXPECT_EQ(unwrap_component(w + want, S, cell.data(), e), unwrap_component(w + want, S, f.row, e));
  }
}

TEST(Frame, DisplacementIsWithinTheSkinALatticeJumpOrARebuild) {
  const M3 cell = {20, 0, 0, 6, 19, 0, -4, 5, 18};
  const Frame f = frame(cell, {true, true, true});
  double recip[9];
  for (int d = 0; d < 3; ++d)
    for (int e = 0; e < 3; ++e) recip[3 * d + e] = f.recip[d][e];
  const bool all[3] = {true, true, true}, slab[3] = {true, true, false};
  const double thr2 = 0.5 * 0.5;  // skin 1 Å
  int k[3];
  auto classify = [&](std::array<double, 3> dl, const bool* pbc) {
    return classify_displacement(dl.data(), cell.data(), recip, pbc, thr2, k);
  };
  EXPECT_EQ(classify({0.3, -0.2, 0.1}, all), Displacement::kWithinSkin);
  EXPECT_EQ(k[0] | k[1] | k[2], 0);
  // -2a + 3b + a small move: the image count moves by (-2, 3, 0), no rebuild.
  std::array<double, 3> jump{};
  for (int e = 0; e < 3; ++e) jump[e] = -2 * cell[e] + 3 * cell[3 + e] + (e == 0 ? 0.3 : 0.1);
  EXPECT_EQ(classify(jump, all), Displacement::kLatticeJump);
  EXPECT_EQ(k[0], -2);
  EXPECT_EQ(k[1], 3);
  EXPECT_EQ(k[2], 0);
  // The same jump plus more than the skin allows: rebuild, and no jump reported.
  jump[1] += 0.6;
  EXPECT_EQ(classify(jump, all), Displacement::kRebuild);
  EXPECT_EQ(k[0] | k[1] | k[2], 0);
  // A jump by c where c is open is a real move.
  std::array<double, 3> along_c{cell[6], cell[7], cell[8]};
  EXPECT_EQ(classify(along_c, all), Displacement::kLatticeJump);
  EXPECT_EQ(classify(along_c, slab), Displacement::kRebuild);
  // Half a cell is no lattice jump; NaN and absurd moves always rebuild.
  EXPECT_EQ(classify({10, 0, 0}, all), Displacement::kRebuild);
  EXPECT_EQ(classify({std::nan(""), 0, 0}, all), Displacement::kRebuild);
  EXPECT_EQ(classify({1e12, 0, 0}, all), Displacement::kRebuild);
  const bool open[3] = {false, false, false};
  EXPECT_EQ(classify({0.6, 0, 0}, open), Displacement::kRebuild);
}
