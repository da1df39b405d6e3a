// SPDX-License-Identifier: Apache-2.0
// The neighbor list through a moving cell (model/neighbor_list.hpp): a fully periodic system keeps
// its list across homogeneous strains, the strain charged against the skin, instead of
// rebuilding at every barostat step. These tests fail if a pair within the cutoff is ever missing:
//  - the list against a brute-force search over periodic images, step by step, while a triclinic
//    cell is compressed, sheared and stretched and atoms jitter and are wrapped into the cell;
//  - MTK NPT trajectories (isotropic, and full cell in a triclinic box) whose LJ energies, forces
//    and virials are compared at every step with a fresh model (a list built from scratch);
//  - a restart checkpoint taken while the list is strained rebuilds the very same list.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <random>
#include <tuple>
#include <vector>

#include "../model/model_test_util.hpp"
#include "batchmd/dynamics/cell_math.hpp"
#include "batchmd/dynamics/npt.hpp"
#include "batchmd/dynamics/units.hpp"
#include "batchmd/model/lennard_jones.hpp"
#include "batchmd/model/neighbor_list.hpp"
#include "npt_test_util.hpp"

using namespace batchmd;
using namespace batchmd::dynamics;
using batchmd::npt_test::SeriesHook;

namespace {

using Pair = std::tuple<std::int64_t, std::int64_t, int, int, int>;  // i <= j, image

// (i, j, n) and (j, i, -n) are one pair: i <= j, and for i == j the lexicographically positive n.
Pair canonical(std::int64_t i, std::int64_t j, std::array<int, 3> n) {
  if (i > j || (i == j && n < std::array<int, 3>{0, 0, 0})) {
    std::swap(i, j);
    n = {-n[0], -n[1], -n[2]};
  }
  return {i, j, n[0], n[1], n[2]};
}

std::array<double, 3> separation(const std::vector<double>& x, const double* h, std::int64_t i, std::int64_t j,
                                 const std::array<int, 3>& n) {
  std::array<double, 3> r{};
  for (int e = 0; e < 3; ++e) r[e] = x[3 * j + e] - x[3 * i + e] + n[0] * h[e] + n[1] * h[3 + e] + n[2] * h[6 + e];
  return r;
}
double norm2(const std::array<double, 3>& r) { return r[0] * r[0] + r[1] * r[1] + r[2] * r[2]; }

// Every pair closer than rc, over the images n in [-K, K]^3.
std::vector<Pair> brute_force(const std::vector<double>& x, const double* h, double rc, int K) {
  const auto n_atoms = static_cast<std::int64_t>(x.size() / 3);
  std::vector<Pair> out;
  for (std::int64_t i = 0; i < n_atoms; ++i)
    for (std::int64_t j = i; j < n_atoms; ++j)
      for (int a = -K; a <= K; ++a)
        for (int b = -K; b <= K; ++b)
          for (int c = -K; c <= K; ++c) {
            const std::array<int, 3> n{a, b, c};
            if (i == j && !(n > std::array<int, 3>{0, 0, 0})) continue;
            if (norm2(separation(x, h, i, j, n)) < rc * rc) out.push_back({i, j, a, b, c});
          }
  std::sort(out.begin(), out.end());
  return out;
}

// The list's pairs closer than rc, for the positions and cell it was last updated with.
std::vector<Pair> listed(const model::NeighborList& nl, const std::vector<double>& x, const double* h, double rc) {
  std::vector<Pair> out;
  for (const auto& p : nl.pairs()) {
    const std::array<int, 3> n{p.image[0], p.image[1], p.image[2]};
    const auto r = separation(x, h, p.i, p.j, n);
    for (int e = 0; e < 3; ++e) EXPECT_NEAR(r[e], x[3 * p.j + e] - x[3 * p.i + e] + p.shift[e], 1e-9);
    if (norm2(r) < rc * rc) out.push_back(canonical(p.i, p.j, n));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// x -> x A, h -> h A (rows), for a 3x3 A.
void deform(std::vector<double>& x, double* h, const double* A) {
  auto apply = [&](double* v) {
    const double a = v[0], b = v[1], c = v[2];
    for (int e = 0; e < 3; ++e) v[e] = a * A[e] + b * A[3 + e] + c * A[6 + e];
  };
  for (std::size_t a = 0; a < x.size(); a += 3) apply(&x[a]);
  for (int d = 0; d < 3; ++d) apply(h + 3 * d);
}

// A triclinic box of random atoms is strained step by step (compression, shear, then expansion)
// while the atoms jitter and are now and then wrapped into the cell: at every step the list holds
// exactly the pairs within the cutoff that a search over all images finds, and it is rebuilt far
// less often than the cell changes.
TEST(StrainedNeighborList, HoldsEveryPairThroughStrainsOfATriclinicCell) {
  const double rc = 3.0, skin = 0.6;
  const int n_atoms = 48;
  std::vector<double> cell = {8.0, 0.0, 0.0, 1.6, 7.6, 0.0, -1.1, 1.3, 8.3};
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(0, 1), jitter(-0.015, 0.015), shake(-1, 1);
  std::vector<double> x(3 * n_atoms);
  for (int a = 0; a < n_atoms; ++a) {
    const double s[3] = {u(rng), u(rng), u(rng)};
    for (int e = 0; e < 3; ++e) x[3 * a + e] = s[0] * cell[e] + s[1] * cell[3 + e] + s[2] * cell[6 + e];
  }
  const std::int64_t ptr[2] = {0, n_atoms};
  const bool pbc[3] = {true, true, true};
  model::NeighborList nl(rc, skin);
  const int steps = 400;
  double v0 = 0, vmin = 1e300, vmax = 0;
  std::int64_t compared = 0;
  for (int step = 0; step < steps; ++step) {
    // Strain increment: compression, then shear, then expansion, each with some random part.
    double A[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    const double phase = static_cast<double>(step) / steps;
    const double iso = phase < 0.4 ? -9e-4 : (phase < 0.7 ? 0.0 : 8e-4);
    for (int d = 0; d < 3; ++d) A[4 * d] += iso;
    if (phase >= 0.4 && phase < 0.7) A[1] += 1.5e-3, A[5] -= 1e-3;
    for (double& a : A) a += 2e-4 * shake(rng);
    deform(x, cell.data(), A);
    for (double& c : x) c += jitter(rng);
    if (step % 37 == 5) {  // wrap every atom into the cell: lattice jumps, not moves
      // fractional coordinates by Cramer's rule
      const double* h = cell.data();
      const double det =
          h[0] * (h[4] * h[8] - h[5] * h[7]) - h[1] * (h[3] * h[8] - h[5] * h[6]) + h[2] * (h[3] * h[7] - h[4] * h[6]);
      for (int a = 0; a < n_atoms; ++a) {
        double* p = &x[3 * a];
        double s[3];
        for (int d = 0; d < 3; ++d) {
          const double* r1 = h + 3 * ((d + 1) % 3);
          const double* r2 = h + 3 * ((d + 2) % 3);
          const double cr[3] = {r1[1] * r2[2] - r1[2] * r2[1], r1[2] * r2[0] - r1[0] * r2[2],
                                r1[0] * r2[1] - r1[1] * r2[0]};
          s[d] = (p[0] * cr[0] + p[1] * cr[1] + p[2] * cr[2]) / det;
        }
        for (int d = 0; d < 3; ++d) {
          const double k = std::floor(s[d]);
          for (int e = 0; e < 3; ++e) p[e] -= k * h[3 * d + e];
        }
      }
    }
    const model::BatchGeometry<double> g{1, n_atoms, x.data(), ptr, cell.data(), pbc};
    nl.update(g);
    const double* h = cell.data();
    const double vol =
        h[0] * (h[4] * h[8] - h[5] * h[7]) - h[1] * (h[3] * h[8] - h[5] * h[6]) + h[2] * (h[3] * h[7] - h[4] * h[6]);
    if (step == 0) v0 = vol;
    vmin = std::min(vmin, vol);
    vmax = std::max(vmax, vol);
    const auto want = brute_force(x, h, rc, 2);
    const auto got = listed(nl, x, h, rc);
    ASSERT_EQ(got, want) << "step " << step << " (list builds so far " << nl.n_builds() << ")";
    compared += static_cast<std::int64_t>(want.size());
  }
  std::printf("%d strained steps, V from %.1f to [%.1f, %.1f] A^3, %lld list builds, %lld pairs compared\n", steps, v0,
              vmin, vmax, static_cast<long long>(nl.n_builds()), static_cast<long long>(compared));
  EXPECT_LT(vmin / v0, 0.7) << "the cell must change a lot for the test to mean anything";
  EXPECT_LT(nl.n_builds(), steps / 3) << "the list must be kept across strains";
  EXPECT_GT(nl.n_builds(), 5) << "the strain must use up the skin now and then";
}

// Energies, forces and virials of every step of an NPT run equal (to rounding) those of a model
// with a fresh list, in a run whose volume changes by several per cent.
struct NPTCase {
  const char* name;
  CellMode mode;
  bool triclinic;
};

class StrainedListNPT : public ::testing::TestWithParam<NPTCase> {};

TEST_P(StrainedListNPT, ForcesEqualAFreshListEveryStep) {
  const NPTCase c = GetParam();
  // A liquid below its density at 2 kbar: the barostat compresses it by several per cent.
  Batch b = dyn_test::argon("seed = 9\n[[liquid]]\ncount = 2\ncells = 3\ndensity_g_cm3 = 1.20\ntemperature_K = 120\n");
  if (c.triclinic) {  // shear the boxes: h -> h A, x -> x A
    const double A[9] = {1, 0, 0, 0.18, 1, 0, -0.12, 0.1, 1};
    for (std::int64_t s = 0; s < b.n_systems(); ++s) {
      double* h = b.get("cell").data<double>() + 9 * s;
      std::vector<double> dummy;
      deform(dummy, h, A);
    }
    std::vector<double> x(b.get("positions").data<double>(), b.get("positions").data<double>() + 3 * b.n_atoms());
    double unit[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
    deform(x, unit, A);
    std::copy(x.begin(), x.end(), b.get("positions").data<double>());
  }
  auto lj = std::make_shared<model::LennardJones>(dyn_test::argon_lj(1.0));
  MTKConfig mc;
  mc.temperature_K = 120;
  mc.pressure = 2000 * units::kBar;
  mc.tau_t_fs = 100;
  mc.tau_p_fs = 150;
  mc.mode = c.mode;
  MTKNPT npt(lj, 2.0, mc);
  double worst_f = 0, worst_e = 0, worst_w = 0;
  auto check = std::make_shared<SeriesHook>([&](const Batch& x) {
    Batch fresh = x.clone();
    model::LennardJones ref(dyn_test::argon_lj(1.0));  // a new list, built for this step's geometry
    ref.compute(fresh, true);
    const double* f0 = x.get("forces").data<double>();
    const double* f1 = fresh.get("forces").data<double>();
    for (std::int64_t k = 0; k < 3 * x.n_atoms(); ++k) worst_f = std::max(worst_f, std::abs(f0[k] - f1[k]));
    for (std::int64_t s = 0; s < x.n_systems(); ++s) {
      worst_e = std::max(worst_e, std::abs(x.get("energy").data<double>()[s] - fresh.get("energy").data<double>()[s]));
      for (int k = 0; k < 9; ++k)
        worst_w = std::max(worst_w, std::abs(x.get("virial").data<double>()[9 * s + k] -
                                             fresh.get("virial").data<double>()[9 * s + k]));
    }
    return cell_volume(x);
  });
  npt.register_hook(check);
  npt.prepare(b);
  const auto v0 = cell_volume(b);
  const std::int64_t builds0 = lj->neighbor_builds();
  const int steps = 300 / dyn_test::kSlow;
  npt.run(b, steps);
  const std::int64_t builds = lj->neighbor_builds() - builds0;
  double vmove = 0;
  for (const auto& row : check->rows)
    for (std::size_t s = 0; s < row.size(); ++s) vmove = std::max(vmove, std::abs(row[s] / v0[s] - 1));
  std::printf(
      "%s: %d steps, max |V/V0 - 1| = %.3f, %lld list builds; max |dF| = %.2e eV/A, |dE| = %.2e eV, "
      "|dW| = %.2e eV\n",
      c.name, steps, vmove, static_cast<long long>(builds), worst_f, worst_e, worst_w);
  EXPECT_GT(vmove, 0.03) << "the volume must change noticeably for the test to mean anything";
  EXPECT_LT(builds, steps / 2) << "the list must be kept across cell changes";
  // A missed pair near the 8.5 Å cutoff changes a force by ~1e-4 eV/Å and the energy by ~1e-5 eV
  // (energies shifted to zero at the cutoff, forces not); rounding differences are ~1e-13.
  EXPECT_LT(worst_f, 1e-9);
  EXPECT_LT(worst_e, 1e-9);
  EXPECT_LT(worst_w, 1e-8);
}

INSTANTIATE_TEST_SUITE_P(Cells, StrainedListNPT,
                         ::testing::Values(NPTCase{"isotropic", CellMode::Isotropic, false},
                                           NPTCase{"full_triclinic", CellMode::Full, true}),
                         [](const auto& p) { return std::string(p.param.name); });

// A list kept through a strain, saved with state() and rebuilt with build_from_reference in the
// strained cell, is the same list (the same slots, neighbors and images), so a restarted run sums
// forces in the same order as the run it continues.
TEST(StrainedNeighborList, StateRebuildsTheSameListAfterAStrain) {
  Batch b = dyn_test::argon("seed = 4\n[[liquid]]\ncount = 2\ncells = 3\ntemperature_K = 94\n");
  const std::int64_t na = b.n_atoms(), ns = b.n_systems();
  auto geometry = [&](const Batch& x) {
    return model::BatchGeometry<double>{ns,
                                        na,
                                        x.get("positions").data<double>(),
                                        x.atoms_ptr_data(),
                                        x.get("cell").data<double>(),
                                        x.get("pbc").data<bool>()};
  };
  model::NeighborList nl(8.5, 1.0);
  nl.update(geometry(b));
  // 1 % compression with a shear: kept (no rebuild).
  const double A[9] = {0.99, 0.004, 0, 0, 0.99, 0, 0, 0, 0.992};
  for (std::int64_t s = 0; s < ns; ++s) {
    std::vector<double> none;
    deform(none, b.get("cell").data<double>() + 9 * s, A);
  }
  std::vector<double> x(b.get("positions").data<double>(), b.get("positions").data<double>() + 3 * na);
  double unit[9] = {};
  deform(x, unit, A);
  std::copy(x.begin(), x.end(), b.get("positions").data<double>());
  ASSERT_FALSE(nl.update(geometry(b)));
  const std::vector<double> st = nl.state();
  ASSERT_EQ(st.size(), static_cast<std::size_t>(12 * na));
  model::NeighborList restored(8.5, 1.0);
  restored.build_from_reference(geometry(b), st);
  EXPECT_FALSE(restored.update(geometry(b)));
  model::testing::expect_same_list(nl, restored);
  auto same = [](auto a, auto c) { return std::equal(a.begin(), a.end(), c.begin(), c.end()); };
  // From positions alone (the old checkpoint form) the list is built in the strained cell: a
  // different list, which is why the state carries the build cells.
  model::NeighborList from_positions(8.5, 1.0);
  from_positions.build_from_reference(geometry(b), nl.reference_positions());
  EXPECT_FALSE(same(nl.neighbors(), from_positions.neighbors()) && same(nl.atom_order(), from_positions.atom_order()));
}

}  // namespace
