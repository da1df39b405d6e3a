// SPDX-License-Identifier: Apache-2.0
// Hooks with Lennard-Jones argon: wrapping into a cubic and a triclinic cell leaves the
// (unwrapped) trajectory of a liquid unchanged; frozen atoms stay put in a liquid.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "batchmd/hooks/freeze_atoms.hpp"
#include "batchmd/hooks/nan_detector.hpp"
#include "batchmd/hooks/wrap_periodic.hpp"
#include "batchmd/model/lennard_jones.hpp"

using namespace batchmd;

namespace {

/// 108-atom fcc argon at 1.40 g/cm³, jittered, Maxwell–Boltzmann at 94 K; the cell given as
/// (a, b, c) or, for `triclinic`, as the same lattice spanned by (a, b + a, c − b).
Batch argon_liquid(bool triclinic, std::uint64_t seed) {
  const double a = std::cbrt(4 * 39.948 / (1.40 * 0.602214076));  // Å
  const double L = 3 * a;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> jitter(0.0, 0.05);
  std::vector<double> x;
  const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k)
        for (const auto& p : basis) {
          x.push_back((i + p[0]) * a + jitter(rng));
          x.push_back((j + p[1]) * a + jitter(rng));
          x.push_back((k + p[2]) * a + jitter(rng));
        }
  std::vector<double> cell = {L, 0, 0, 0, L, 0, 0, 0, L};
  if (triclinic) cell = {L, 0, 0, L, L, 0, 0, -L, L};
  std::vector<AtomicData> sys;
  sys.push_back(AtomicData::make(DType::Float64, x, std::vector<std::int64_t>(108, 18), cell, {true, true, true}));
  Batch b = Batch::from_systems(sys);
  dynamics::maxwell_boltzmann(b, 94.0, seed);
  return b;
}

model::LJConfig argon_lj() {
  model::LJConfig c;
  c.shift_energy = true;
  return c;
}

Batch two_liquids() {
  Batch cubic = argon_liquid(false, 11);
  Batch tri = argon_liquid(true, 12);
  const Batch* parts[] = {&cubic, &tri};
  return Batch::concat(parts);
}

}  // namespace

TEST(WrapPeriodicHookLJ, UnwrappedTrajectoryEqualsTheUnwrappedRun) {
  Batch wrapped = two_liquids();
  Batch plain = wrapped.clone();
  dynamics::DemoDynamics dw(std::make_shared<model::LennardJones>(argon_lj()), 2.0);
  dynamics::DemoDynamics dp(std::make_shared<model::LennardJones>(argon_lj()), 2.0);
  auto wrap = std::make_shared<hooks::WrapPeriodicHook>();
  dw.register_hook(wrap);
  dw.register_hook(std::make_shared<hooks::NaNDetectorHook>());
  double worst = 0;
  for (int block = 0; block < 10; ++block) {
    dw.run(wrapped, 25);
    dp.run(plain, 25);
    const auto uw = hooks::WrapPeriodicHook::unwrapped_positions(wrapped);
    const double* xp = plain.get("positions").data<double>();
    for (std::size_t d = 0; d < uw.size(); ++d) worst = std::max(worst, std::abs(uw[d] - xp[d]));
    // every position inside its cell (fractional coordinates in [0, 1))
    const double* x = wrapped.get("positions").data<double>();
    const double* cell = wrapped.get("cell").data<double>();
    const auto* si = wrapped.system_index().data<std::int64_t>();
    for (std::int64_t i = 0; i < wrapped.n_atoms(); ++i) {
      const double* c = cell + 9 * si[i];
      // the cells are upper-triangular in columns: solve f·C = x by back substitution
      const double f2 = x[3 * i + 2] / c[8];
      const double f1 = (x[3 * i + 1] - f2 * c[7]) / c[4];
      const double f0 = (x[3 * i] - f1 * c[3] - f2 * c[6]) / c[0];
      for (double f : {f0, f1, f2}) {
        EXPECT_GE(f, -1e-12) << "atom " << i;
        EXPECT_LT(f, 1.0 + 1e-12) << "atom " << i;
      }
    }
  }
  EXPECT_LT(worst, 1e-8) << "unwrapped trajectory departs from the unwrapped run";
  // the triclinic system started mostly outside its cell and atoms crossed faces since
  std::int64_t nonzero = 0;
  for (std::int32_t n : wrapped.get("images").span<std::int32_t>()) nonzero += n != 0;
  EXPECT_GT(nonzero, 50);
  const double* vw = wrapped.get("velocities").data<double>();
  const double* vp = plain.get("velocities").data<double>();
  for (std::int64_t d = 0; d < 3 * wrapped.n_atoms(); ++d) EXPECT_NEAR(vw[d], vp[d], 1e-9);
}

TEST(FreezeAtomsHookLJ, FrozenAtomsStayInALiquid) {
  Batch b = two_liquids();
  std::vector<bool> frozen(static_cast<std::size_t>(b.n_atoms()), false);
  for (std::size_t i = 0; i < frozen.size(); i += 7) frozen[i] = true;
  const std::vector<double> x0(b.get("positions").span<double>().begin(), b.get("positions").span<double>().end());
  dynamics::DemoDynamics md(std::make_shared<model::LennardJones>(argon_lj()), 2.0);
  hooks::FreezeAtomsHook(frozen).attach(md);
  md.run(b, 200);
  const double* x = b.get("positions").data<double>();
  std::int64_t moved_free = 0;
  for (std::size_t i = 0; i < frozen.size(); ++i) {
    double d = 0;
    for (std::size_t k = 0; k < 3; ++k) d += std::abs(x[3 * i + k] - x0[3 * i + k]);
    if (frozen[i])
      EXPECT_EQ(d, 0.0) << "frozen atom " << i;
    else
      moved_free += d > 0.05;
  }
  EXPECT_GT(moved_free, 150);
}
