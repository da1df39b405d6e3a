// SPDX-License-Identifier: Apache-2.0
// Tests of model/lennard_jones_kernels: finite differences, brute-force sums over all images,
// batching, parameters per element pair and error reporting.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/model/lennard_jones_kernels.hpp"
#include "model_test_util.hpp"

namespace batchmd::model {
namespace {

using testing::brute_force_lj;
using testing::FlatBatch;
using testing::flatten;
using testing::Mat3;
using testing::random_system;
using testing::RefLJ;
using testing::TestSystem;

// One species: sigma 2 Å, epsilon 0.5 eV, cutoff 5 Å (2.5 sigma).
constexpr LJPair kPair{0.5, 2.0, 5.0, false};
constexpr double kSkin = 0.6;

const Mat3 kOrtho = {12, 0, 0, 0, 13, 0, 0, 0, 14};
const Mat3 kTriclinic = {11, 0, 0, 3.5, 10, 0, -2.5, 3, 9.5};
const Mat3 kSmallTriclinic = {4.5, 0, 0, 1.2, 4.6, 0, 0.8, -1.1, 4.3};  // widths < cutoff

TestSystem make(std::uint64_t seed, const Mat3& cell, std::array<bool, 3> pbc, std::int64_t n, double extent = 0) {
  std::mt19937_64 rng(seed);
  return random_system(rng, cell, pbc, n, 1.8, extent);
}
TestSystem ortho_box(std::uint64_t seed) { return make(seed, kOrtho, {true, true, true}, 50); }
TestSystem triclinic_box(std::uint64_t seed) { return make(seed, kTriclinic, {true, true, true}, 40); }
TestSystem small_box(std::uint64_t seed) { return make(seed, kSmallTriclinic, {true, true, true}, 4); }
TestSystem cluster(std::uint64_t seed) { return make(seed, Mat3{}, {false, false, false}, 30, 8.0); }

TestSystem drifted(TestSystem s, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> k(-3, 3);
  for (std::int64_t i = 0; i < s.n(); ++i)
    for (int d = 0; d < 3; ++d) {
      const int n = s.pbc[d] ? k(rng) : 0;
      for (int e = 0; e < 3; ++e) s.x[3 * i + e] += n * s.cell[3 * d + e];
    }
  return s;
}

template <typename T>
struct LJResult {
  std::vector<T> energy, forces, virial;
};

template <typename T>
LJResult<T> compute(const FlatBatch<T>& b, const LJTable& table, NeighborList& nl, bool virial = true) {
  const auto g = b.geometry();
  nl.update(g);
  LJResult<T> r;
  r.energy.assign(g.n_systems, T(-999));
  r.forces.assign(3 * g.n_atoms, T(-999));
  if (virial) r.virial.assign(9 * g.n_systems, T(-999));
  lj_compute(g, b.z.data(), nl, table, r.energy.data(), r.forces.data(), virial ? r.virial.data() : nullptr);
  return r;
}

template <typename T>
LJResult<T> compute(const std::vector<TestSystem>& systems, const LJTable& table, double nl_cutoff = 5.0) {
  NeighborList nl(nl_cutoff, kSkin);
  return compute(flatten<T>(systems), table, nl);
}

RefLJ ref_single(std::int64_t, std::int64_t) { return {kPair.epsilon, kPair.sigma, kPair.cutoff, false}; }

bool has_substr(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

// ---------------------------------------------------------------------------------------------
// Forces are -dE/dx by central differences.

template <typename T>
class LJFiniteDifference : public ::testing::Test {};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(LJFiniteDifference, FloatTypes);

template <typename T>
void expect_forces_are_minus_gradient(const TestSystem& s) {
  // Shifted, so that a pair crossing the cutoff within a step does not make the energy jump.
  const LJTable table(LJPair{kPair.epsilon, kPair.sigma, kPair.cutoff, true});
  auto b = flatten<T>({s});
  NeighborList nl(kPair.cutoff, kSkin);
  const auto base = compute(b, table, nl);
  const bool f32 = sizeof(T) == 4;
  const T h = f32 ? T(2e-3) : T(1e-5);
  double max_f = 0;
  for (T f : base.forces) max_f = std::max(max_f, std::abs(double(f)));
  ASSERT_GT(max_f, 0.01);
  for (std::int64_t i = 0; i < s.n(); ++i)
    for (int d = 0; d < 3; ++d) {
      const T x0 = b.x[3 * i + d];
      b.x[3 * i + d] = x0 + h;
      const T xp = b.x[3 * i + d];
      const double ep = compute(b, table, nl).energy[0];
      b.x[3 * i + d] = x0 - h;
      const T xm = b.x[3 * i + d];
      const double em = compute(b, table, nl).energy[0];
      b.x[3 * i + d] = x0;
      const double fd = -(ep - em) / (double(xp) - double(xm));
      const double f = base.forces[3 * i + d];
      const double tol = f32 ? 3e-3 + 3e-3 * std::abs(f) : 1e-6 + 1e-6 * std::abs(f);
      EXPECT_NEAR(f, fd, tol) << "atom " << i << " component " << d;
    }
}

TYPED_TEST(LJFiniteDifference, OrthorhombicBox) { expect_forces_are_minus_gradient<TypeParam>(ortho_box(101)); }
TYPED_TEST(LJFiniteDifference, TriclinicBox) { expect_forces_are_minus_gradient<TypeParam>(triclinic_box(102)); }
TYPED_TEST(LJFiniteDifference, SmallTriclinicBox) { expect_forces_are_minus_gradient<TypeParam>(small_box(103)); }
TYPED_TEST(LJFiniteDifference, OpenCluster) { expect_forces_are_minus_gradient<TypeParam>(cluster(104)); }

// W_ab = -dE/d(eps_ab) for the homogeneous deformation x -> x (I + eps), cell -> cell (I + eps).
TEST(LJVirial, IsMinusStrainDerivativeOfEnergy) {
  const LJTable table(kPair);
  for (const TestSystem& s : {triclinic_box(111), small_box(112), ortho_box(113)}) {
    const auto base = compute<double>({s}, table);
    const double eps = 1e-6;
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) {
        double e[2];
        for (int sign = 0; sign < 2; ++sign) {
          TestSystem t = s;
          const double de = sign == 0 ? eps : -eps;
          for (std::int64_t i = 0; i < s.n(); ++i) t.x[3 * i + b] += de * s.x[3 * i + a];
          for (int r = 0; r < 3; ++r) t.cell[3 * r + b] += de * s.cell[3 * r + a];
          e[sign] = compute<double>({t}, table).energy[0];
        }
        const double w_fd = -(e[0] - e[1]) / (2 * eps);
        EXPECT_NEAR(base.virial[3 * a + b], w_fd, 1e-5 * (1 + std::abs(w_fd))) << "W[" << a << "][" << b << "]";
      }
  }
}

// ---------------------------------------------------------------------------------------------
// Direct sums over all images.

template <typename T>
void expect_matches_brute_force(const TestSystem& s, const LJTable& table, double nl_cutoff,
                                const std::function<RefLJ(std::int64_t, std::int64_t)>& params) {
  const auto ref = brute_force_lj(s, params, nl_cutoff);
  const auto got = compute<T>({s}, table, nl_cutoff);
  const bool f32 = sizeof(T) == 4;
  const double rel = f32 ? 2e-4 : 1e-10;
  double fscale = 0;
  for (double f : ref.forces) fscale = std::max(fscale, std::abs(f));
  EXPECT_NEAR(got.energy[0], ref.energy, rel * (1 + std::abs(ref.energy)));
  for (std::int64_t i = 0; i < 3 * s.n(); ++i) EXPECT_NEAR(got.forces[i], ref.forces[i], rel * (1 + fscale)) << i;
  double wscale = 0;
  for (double w : ref.virial) wscale = std::max(wscale, std::abs(w));
  for (int k = 0; k < 9; ++k) EXPECT_NEAR(got.virial[k], ref.virial[k], rel * (1 + wscale)) << "virial " << k;
}

TEST(LJBruteForce, PeriodicBoxesDouble) {
  const LJTable table(kPair);
  for (const TestSystem& s : {ortho_box(201), triclinic_box(202), small_box(203), cluster(204)})
    expect_matches_brute_force<double>(s, table, kPair.cutoff, ref_single);
}

TEST(LJBruteForce, PeriodicBoxesFloat) {
  const LJTable table(kPair);
  for (const TestSystem& s : {ortho_box(211), triclinic_box(212), small_box(213)})
    expect_matches_brute_force<float>(s, table, kPair.cutoff, ref_single);
}

TEST(LJBruteForce, CutoffLongerThanTheBoxSeesManyImages) {
  // A 3 Å cube with two atoms and a 7.5 Å cutoff: each atom feels ~hundreds of images.
  const LJPair p{0.5, 2.0, 7.5, true};
  const LJTable table(p);
  TestSystem s;
  s.cell = {3.1, 0, 0, 0.4, 3.0, 0, -0.3, 0.2, 3.2};
  s.pbc = {true, true, true};
  s.x = {0.1, 0.2, 0.3, 1.7, 1.3, 1.9};
  s.z = {1, 1};
  expect_matches_brute_force<double>(s, table, 7.5, [&](auto, auto) { return RefLJ{0.5, 2.0, 7.5, true}; });
}

TEST(LJBruteForce, MixedElementsUseTheirPairParameters) {
  // Z=1/Z=1 default, (1, 2) and (2, 2) overridden, Z=18 falls back to the default.
  LJTable table(kPair);
  table.set(2, 1, LJPair{0.3, 2.3, 5.5, true});
  table.set(2, 2, LJPair{0.2, 2.6, 6.0, true});
  auto params = [](std::int64_t za, std::int64_t zb) -> RefLJ {
    if (za > zb) std::swap(za, zb);
    if (za == 1 && zb == 2) return {0.3, 2.3, 5.5, true};
    if (za == 2 && zb == 2) return {0.2, 2.6, 6.0, true};
    return {0.5, 2.0, 5.0, false};
  };
  for (TestSystem s : {ortho_box(221), triclinic_box(222), cluster(223)}) {
    std::mt19937_64 rng(224);
    const std::int64_t zs[3] = {1, 2, 18};
    for (auto& z : s.z) z = zs[rng() % 3];
    expect_matches_brute_force<double>(s, table, 6.0, params);
    expect_matches_brute_force<float>(s, table, 6.0, params);
  }
}

// The one-type pass (explicit vectors, the virial from its registers) and the mixed-type pass
// (omp simd and a separate virial pass) are two codings of one pair function: the same systems,
// once with one species and once with a second species of identical parameters mixed in, agree
// to rounding.
template <typename T>
void expect_one_type_equals_mixed_types() {
  LJTable mixed(kPair);
  mixed.set(18, 54, kPair);
  mixed.set(54, 54, kPair);
  for (const std::vector<TestSystem>& systems :
       {std::vector<TestSystem>{ortho_box(231), triclinic_box(232)}, {small_box(233), cluster(234)}}) {
    std::vector<TestSystem> one = systems, two = systems;
    for (auto& s : one) std::fill(s.z.begin(), s.z.end(), 18);
    for (auto& s : two)
      for (std::size_t i = 0; i < s.z.size(); ++i) s.z[i] = i % 3 == 0 ? 54 : 18;
    const auto a = compute<T>(one, mixed), b = compute<T>(two, mixed);
    const double tol = sizeof(T) == 4 ? 2e-5 : 1e-12;
    double fscale = 0, wscale = 0;
    for (T f : a.forces) fscale = std::max(fscale, std::abs(double(f)));
    for (T w : a.virial) wscale = std::max(wscale, std::abs(double(w)));
    ASSERT_GT(fscale, 0.01);
    for (std::size_t k = 0; k < a.forces.size(); ++k) EXPECT_NEAR(a.forces[k], b.forces[k], tol * fscale) << k;
    for (std::size_t s = 0; s < a.energy.size(); ++s)
      EXPECT_NEAR(a.energy[s], b.energy[s], tol * (1 + std::abs(double(a.energy[s])))) << s;
    for (std::size_t k = 0; k < a.virial.size(); ++k) EXPECT_NEAR(a.virial[k], b.virial[k], tol * wscale) << k;
  }
}
TEST(LJKernelPasses, OneTypeEqualsMixedTypesDouble) { expect_one_type_equals_mixed_types<double>(); }
TEST(LJKernelPasses, OneTypeEqualsMixedTypesFloat) { expect_one_type_equals_mixed_types<float>(); }

// Asking for the virial changes no bit of the forces or energies (a stage with a barostat in a
// FusedStage makes the model compute the stress for every system), one species or several.
template <typename T>
void expect_virial_changes_no_force_bit() {
  LJTable table(kPair);
  table.set(1, 2, LJPair{0.3, 2.3, 5.0, true});
  for (bool mixed : {false, true}) {
    std::vector<TestSystem> systems = {ortho_box(241), triclinic_box(242), small_box(243)};
    if (mixed)
      for (auto& s : systems)
        for (std::size_t i = 0; i < s.z.size(); ++i) s.z[i] = 1 + static_cast<std::int64_t>(i % 2);
    const auto b = flatten<T>(systems);
    NeighborList nl(5.0, kSkin);
    const auto with = compute(b, table, nl, true), without = compute(b, table, nl, false);
    for (std::size_t k = 0; k < with.forces.size(); ++k)
      ASSERT_EQ(with.forces[k], without.forces[k]) << (mixed ? "mixed" : "one type") << ", force " << k;
    for (std::size_t s = 0; s < with.energy.size(); ++s)
      ASSERT_EQ(with.energy[s], without.energy[s]) << (mixed ? "mixed" : "one type") << ", energy " << s;
  }
}
TEST(LJKernelPasses, VirialChangesNoForceBitDouble) { expect_virial_changes_no_force_bit<double>(); }
TEST(LJKernelPasses, VirialChangesNoForceBitFloat) { expect_virial_changes_no_force_bit<float>(); }

TEST(LJBruteForce, AtomsOutsideTheBoxGiveIdenticalResults) {
  const LJTable table(kPair);
  for (const TestSystem& s : {triclinic_box(231), small_box(232), ortho_box(233)}) {
    const TestSystem moved = drifted(s, 234);
    const auto a = compute<double>({s}, table);
    const auto b = compute<double>({moved}, table);
    EXPECT_NEAR(a.energy[0], b.energy[0], 1e-11 * (1 + std::abs(a.energy[0])));
    for (std::size_t i = 0; i < a.forces.size(); ++i) EXPECT_NEAR(a.forces[i], b.forces[i], 1e-9) << i;
    for (int k = 0; k < 9; ++k) EXPECT_NEAR(a.virial[k], b.virial[k], 1e-9);
    const auto af = compute<float>({s}, table);
    const auto bf = compute<float>({moved}, table);
    EXPECT_NEAR(af.energy[0], bf.energy[0], 1e-4 * (1 + std::abs(a.energy[0])));
  }
}

TEST(LJBruteForce, WrappingAtomsWithoutRebuildKeepsResults) {
  // The list built for drifted positions serves the wrapped ones (image offsets follow).
  const LJTable table(kPair);
  const std::vector<TestSystem> drift = {drifted(triclinic_box(241), 242), drifted(small_box(243), 244), cluster(245)};
  std::vector<TestSystem> wrapped;
  for (const auto& s : drift) wrapped.push_back(testing::wrapped_into_cell(s));
  NeighborList nl(kPair.cutoff, kSkin);
  const auto a = compute(flatten<double>(drift), table, nl);
  const auto bw = flatten<double>(wrapped);
  EXPECT_FALSE(nl.update(bw.geometry()));
  const auto b = compute(bw, table, nl);
  EXPECT_EQ(nl.n_builds(), 1);
  for (std::size_t s = 0; s < a.energy.size(); ++s) EXPECT_NEAR(a.energy[s], b.energy[s], 1e-10);
  for (std::size_t i = 0; i < a.forces.size(); ++i) EXPECT_NEAR(a.forces[i], b.forces[i], 1e-9) << i;
  for (std::size_t k = 0; k < a.virial.size(); ++k) EXPECT_NEAR(a.virial[k], b.virial[k], 1e-9) << k;
}

// ---------------------------------------------------------------------------------------------
// Batching.

template <typename T>
void expect_batch_equals_separate() {
  const LJTable table(kPair);
  const std::vector<TestSystem> systems = {ortho_box(301), cluster(302), TestSystem{}, triclinic_box(303),
                                           small_box(304)};
  const auto batch = compute<T>(systems, table);
  std::int64_t atom = 0;
  for (std::size_t s = 0; s < systems.size(); ++s) {
    SCOPED_TRACE("system " + std::to_string(s));
    const auto alone = compute<T>({systems[s]}, table);
    const double tol = sizeof(T) == 4 ? 1e-5 : 1e-12;
    EXPECT_NEAR(batch.energy[s], alone.energy[0], tol * (1 + std::abs(double(alone.energy[0]))));
    for (std::int64_t i = 0; i < 3 * systems[s].n(); ++i)
      EXPECT_NEAR(batch.forces[3 * atom + i], alone.forces[i], tol * 10);
    for (int k = 0; k < 9; ++k) EXPECT_NEAR(batch.virial[9 * s + k], alone.virial[k], tol * 10);
    atom += systems[s].n();
  }
}

TEST(LJBatch, BatchEqualsSeparateDouble) { expect_batch_equals_separate<double>(); }
TEST(LJBatch, BatchEqualsSeparateFloat) { expect_batch_equals_separate<float>(); }

// A jittered fcc crystal of 4 * 11^3 = 5324 atoms (a = 3.2 Å): large enough that lj_compute
// splits it over threads.
TestSystem big_crystal(std::mt19937_64& rng) {
  TestSystem big;
  big.pbc = {true, true, true};
  const double a = 3.2;
  const int nc = 11;
  std::uniform_real_distribution<double> jitter(-0.1, 0.1);
  const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
  for (int i = 0; i < nc; ++i)
    for (int j = 0; j < nc; ++j)
      for (int k = 0; k < nc; ++k)
        for (const auto& bb : basis) {
          big.x.push_back((i + bb[0]) * a + jitter(rng));
          big.x.push_back((j + bb[1]) * a + jitter(rng));
          big.x.push_back((k + bb[2]) * a + jitter(rng));
        }
  big.cell = {nc * a, 0, 0, 0, nc * a, 0, 0, 0, nc * a};
  big.z.assign(big.n(), 1);
  return big;
}

TEST(LJBatch, ThreadCountDoesNotChangeResults) {
  // A batch (one system per thread) and one large system (split over threads).
  const LJTable table(kPair);
  std::vector<TestSystem> batch = {ortho_box(311), cluster(312), triclinic_box(313), small_box(314)};
  std::mt19937_64 rng(315);
  const TestSystem big = big_crystal(rng);
  // The same crystal with its atoms in random order: a split system's chunks then touch slots
  // all over the list, not only a window near their own (lj_compute sums per-chunk windows).
  TestSystem shuffled = big;
  std::vector<int> perm(static_cast<std::size_t>(big.n()));
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  for (std::size_t i = 0; i < perm.size(); ++i)
    for (int e = 0; e < 3; ++e) shuffled.x[3 * i + e] = big.x[3 * static_cast<std::size_t>(perm[i]) + e];
  const int saved = num_threads();
  for (const auto& systems : {batch, std::vector<TestSystem>{big}, std::vector<TestSystem>{shuffled}}) {
    set_num_threads(1);
    const auto one = compute<double>(systems, table);
    for (const int n : {2, 3, 16}) {
      set_num_threads(n);
      const auto many = compute<double>(systems, table);
      set_num_threads(saved);
      for (std::size_t s = 0; s < one.energy.size(); ++s)
        EXPECT_NEAR(one.energy[s], many.energy[s], 1e-9 * std::abs(one.energy[s])) << n << " threads";
      for (std::size_t i = 0; i < one.forces.size(); ++i)
        ASSERT_NEAR(one.forces[i], many.forces[i], 1e-9) << n << " threads, component " << i;
      for (std::size_t k = 0; k < one.virial.size(); ++k)
        EXPECT_NEAR(one.virial[k], many.virial[k], 1e-7) << n << " threads";
    }
  }
}

TEST(LJBatch, SplitSystemFollowsItsListThroughRebuilds) {
  // A large system on 3 threads keeps its chunk bounds and windows while its list holds the same
  // pairs (NeighborList::pairs_id). Through kept and rebuilt lists, with a second list of another
  // crystal computed in between on the same thread (the same cached workspace), its results stay
  // those of one thread with a fresh list.
  const LJTable table(kPair);
  std::mt19937_64 rng(331);
  TestSystem big = big_crystal(rng);
  const TestSystem other = big_crystal(rng);
  NeighborList kept(kPair.cutoff, kSkin), other_list(kPair.cutoff, kSkin);
  std::uniform_real_distribution<double> move(-1.0, 1.0);
  const int saved = num_threads();
  std::int64_t kept_steps = 0;
  for (int t = 0; t < 8; ++t) {
    // Small moves keep the list (skin/2 = 0.3 Å); every third step some atoms move past it.
    const double amp = t % 3 == 2 ? 0.3 : 0.02;
    for (double& v : big.x) v += amp * move(rng);
    const auto b = flatten<double>({big});
    set_num_threads(3);
    const std::int64_t builds = kept.n_builds();
    const auto many = compute(b, table, kept);
    kept_steps += kept.n_builds() == builds ? 1 : 0;
    const auto o = compute(flatten<double>({other}), table, other_list);
    set_num_threads(1);
    const auto one = compute<double>({big}, table);
    set_num_threads(saved);
    ASSERT_FALSE(o.forces.empty());
    EXPECT_NEAR(one.energy[0], many.energy[0], 1e-9 * std::abs(one.energy[0])) << "step " << t;
    for (std::size_t i = 0; i < one.forces.size(); ++i)
      ASSERT_NEAR(one.forces[i], many.forces[i], 1e-9 * std::max(1.0, std::abs(one.forces[i])))
          << "step " << t << ", component " << i;
    for (std::size_t k = 0; k < 9; ++k)
      EXPECT_NEAR(one.virial[k], many.virial[k], 1e-9 * std::max(1.0, std::abs(one.virial[k]))) << "step " << t;
  }
  // Both kinds of steps happened: lists kept and lists rebuilt.
  EXPECT_GT(kept_steps, 0);
  EXPECT_GT(kept.n_builds(), 2);
}

TEST(LJBatch, PersistentListFollowsATrajectory) {
  // Random walk of a batch with a drift (atoms leave their boxes) and, every few steps, a wrap
  // back into the cell; a list kept across steps (skin logic, image jumps, occasional rebuilds)
  // gives the same results as a fresh list every step.
  const LJTable table(kPair);
  std::vector<TestSystem> systems = {ortho_box(321), triclinic_box(322), cluster(323), small_box(324)};
  NeighborList kept(kPair.cutoff, kSkin);
  std::mt19937_64 rng(325);
  std::normal_distribution<double> step(0.0, 0.05);
  std::int64_t rebuilds = 0;
  for (int t = 0; t < 40; ++t) {
    for (auto& sys : systems) {
      for (double& v : sys.x) v += step(rng) + 0.02;
      if (t % 5 == 4) sys = testing::wrapped_into_cell(sys);
    }
    const auto b = flatten<double>(systems);
    const auto g = b.geometry();
    rebuilds += kept.update(g) ? 1 : 0;
    std::vector<double> e1(g.n_systems), f1(3 * g.n_atoms), w1(9 * g.n_systems);
    lj_compute(g, b.z.data(), kept, table, e1.data(), f1.data(), w1.data());
    NeighborList fresh(kPair.cutoff, kSkin);
    const auto ref = compute(b, table, fresh);
    for (std::int64_t s = 0; s < g.n_systems; ++s)
      ASSERT_NEAR(e1[s], ref.energy[s], 1e-10 * (1 + std::abs(ref.energy[s]))) << "step " << t;
    for (std::size_t i = 0; i < f1.size(); ++i) ASSERT_NEAR(f1[i], ref.forces[i], 1e-9) << "step " << t;
    for (std::size_t k = 0; k < w1.size(); ++k) ASSERT_NEAR(w1[k], ref.virial[k], 1e-9) << "step " << t;
  }
  EXPECT_GT(rebuilds, 2);
  EXPECT_LT(rebuilds, 40);
}

// ---------------------------------------------------------------------------------------------
// The pair function itself.

TEST(LJPairFunction, DimerMatchesClosedForm) {
  const LJTable table(kPair);
  const double rmin = std::pow(2.0, 1.0 / 6.0) * kPair.sigma;
  for (double r : {0.9 * kPair.sigma, kPair.sigma, rmin, 3.0, 4.9}) {
    TestSystem s;
    s.x = {1.0, 2.0, 3.0, 1.0 + r * 0.6, 2.0 + r * 0.8, 3.0};
    s.z = {1, 1};
    const auto got = compute<double>({s}, table);
    const double sr6 = std::pow(kPair.sigma / r, 6);
    const double e = 4 * kPair.epsilon * (sr6 * sr6 - sr6);
    const double f = 24 * kPair.epsilon * (2 * sr6 * sr6 - sr6) / r;  // along +r_ij on j
    EXPECT_NEAR(got.energy[0], e, 1e-12);
    EXPECT_NEAR(got.forces[3], f * 0.6, 1e-10);
    EXPECT_NEAR(got.forces[4], f * 0.8, 1e-10);
    EXPECT_NEAR(got.forces[0], -f * 0.6, 1e-10);
    EXPECT_NEAR(got.virial[0] + got.virial[4] + got.virial[8], f * r, 1e-10);  // > 0 when repulsive
    if (r < rmin) {
      EXPECT_GT(got.virial[0] + got.virial[4] + got.virial[8], 0);
    }
  }
}

TEST(LJPairFunction, ShiftedEnergyVanishesAtTheCutoff) {
  LJPair shifted = kPair;
  shifted.shift_energy = true;
  const double rc = kPair.cutoff;
  auto energy_at = [&](const LJPair& p, double r) {
    TestSystem s;
    s.x = {0, 0, 0, r, 0, 0};
    s.z = {1, 1};
    return compute<double>({s}, LJTable(p)).energy[0];
  };
  const double sr6 = std::pow(kPair.sigma / rc, 6);
  const double e_rc = 4 * kPair.epsilon * (sr6 * sr6 - sr6);
  EXPECT_LT(e_rc, -1e-3);
  EXPECT_NEAR(energy_at(kPair, rc * (1 - 1e-9)), e_rc, 1e-9);
  EXPECT_NEAR(energy_at(shifted, rc * (1 - 1e-9)), 0.0, 1e-9);
  EXPECT_NEAR(energy_at(shifted, rc * 0.9), energy_at(kPair, rc * 0.9) - e_rc, 1e-12);
  EXPECT_EQ(energy_at(shifted, rc * (1 + 1e-9)), 0.0);
  EXPECT_EQ(energy_at(kPair, rc * (1 + 1e-9)), 0.0);
  // Float too.
  TestSystem s;
  s.x = {0, 0, 0, rc * (1 - 1e-6), 0, 0};
  s.z = {1, 1};
  EXPECT_NEAR(compute<float>({s}, LJTable(shifted)).energy[0], 0.0f, 1e-6f);
}

// ---------------------------------------------------------------------------------------------
// Errors.

TEST(LJErrors, BadParametersAreRejectedWithTheirName) {
  auto expect_msg = [](auto&& f, const std::string& sub) {
    try {
      f();
      ADD_FAILURE() << "expected InvalidArgument mentioning " << sub;
    } catch (const InvalidArgument& e) {
      EXPECT_TRUE(has_substr(e.what(), sub)) << e.what();
    }
  };
  expect_msg([] { LJTable t(LJPair{0.5, -2.0, 5.0, false}); }, "sigma");
  expect_msg([] { LJTable t(LJPair{0.5, 0.0, 5.0, false}); }, "sigma");
  expect_msg([] { LJTable t(LJPair{-0.5, 2.0, 5.0, false}); }, "epsilon");
  expect_msg([] { LJTable t(LJPair{std::nan(""), 2.0, 5.0, false}); }, "epsilon");
  expect_msg([] { LJTable t(LJPair{0.5, 2.0, 0.0, false}); }, "cutoff");
  LJTable table(kPair);
  expect_msg([&] { table.set(1, 2, LJPair{0.5, -1.0, 5.0, false}); }, "Z 1, Z 2");
  expect_msg([&] { table.set(-1, 2, kPair); }, "atomic number");
  expect_msg([&] { table.set(1, 119, kPair); }, "atomic number");
  EXPECT_EQ(table.get(2, 1).sigma, kPair.sigma);  // a rejected set leaves the table unchanged

  // Kernel-side checks: species, cutoff vs list, list/batch mismatch.
  const TestSystem s = cluster(401);
  auto b = flatten<double>({s});
  NeighborList nl(5.0, kSkin);
  std::vector<double> e(1), f(3 * s.n());
  expect_msg([&] { lj_compute(b.geometry(), b.z.data(), nl, table, e.data(), f.data(), nullptr); }, "update");
  nl.update(b.geometry());
  b.z[7] = 200;
  expect_msg([&] { lj_compute(b.geometry(), b.z.data(), nl, table, e.data(), f.data(), nullptr); }, "atom 7");
  b.z[7] = 2;
  LJTable longer(kPair);
  longer.set(1, 2, LJPair{0.5, 2.0, 6.0, false});
  expect_msg([&] { lj_compute(b.geometry(), b.z.data(), nl, longer, e.data(), f.data(), nullptr); }, "exceeds");
  b.z[7] = 1;
  auto two = flatten<double>({cluster(402), cluster(403)});
  expect_msg([&] { lj_compute(two.geometry(), two.z.data(), nl, table, e.data(), f.data(), nullptr); }, "update");
}

TEST(LJErrors, NonFinitePositionsAreNumericalErrors) {
  const LJTable table(kPair);
  auto b = flatten<float>({ortho_box(411)});
  b.x[3 * 5 + 1] = std::numeric_limits<float>::quiet_NaN();
  NeighborList nl(5.0, kSkin);
  try {
    compute(b, table, nl);
    FAIL() << "expected NumericalError";
  } catch (const NumericalError& e) {
    EXPECT_TRUE(has_substr(e.what(), "system 0")) << e.what();
    EXPECT_TRUE(has_substr(e.what(), "atom 5")) << e.what();
  }
}

}  // namespace
}  // namespace batchmd::model
