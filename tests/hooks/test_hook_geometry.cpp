// SPDX-License-Identifier: Apache-2.0
// Tests for hooks that hold or move atoms: FreezeAtomsHook and WrapPeriodicHook.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "../support/harmonic_model.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/hooks/freeze_atoms.hpp"
#include "batchmd/hooks/wrap_periodic.hpp"
#include "hook_test_util.hpp"

using namespace batchmd;
using dynamics::Stage;
using test_support::fn_hook;

namespace {

Batch springs() {
  std::vector<AtomicData> sys;
  sys.push_back(AtomicData::make(DType::Float64, {1.0, 0.2, 0, -0.4, 0.9, 0.3, 0.2, -0.6, 0.5}, {18, 18, 18}));
  sys.push_back(AtomicData::make(DType::Float64, {0.7, 0.1, -0.2, 0.3, 0.3, 0.3}, {10, 18}));
  return Batch::from_systems(sys);
}

/// Registers an observer at every stage but ON_CONVERGE that checks the frozen atoms sit at x0
/// (bitwise) and counts how often it looked.
std::shared_ptr<int> watch_frozen(dynamics::Dynamics& dyn, const std::vector<bool>& frozen, std::vector<double> x0) {
  auto seen = std::make_shared<int>(0);
  for (int s = 0; s < dynamics::kNumStages - 1; ++s)
    dyn.register_hook(fn_hook(static_cast<Stage>(s), [=](dynamics::Context& ctx) {
      const double* x = ctx.batch.get("positions").data<double>();
      for (std::size_t i = 0; i < frozen.size(); ++i)
        if (frozen[i]) {
          for (std::size_t k = 0; k < 3; ++k) {
            EXPECT_EQ(x[3 * i + k], x0[3 * i + k])
                << "frozen atom " << i << " moved at " << dynamics::stage_name(static_cast<Stage>(s)) << ", step "
                << ctx.step;
          }
        }
      ++*seen;
    }));
  return seen;
}

void expect_free_atoms_moved(const Batch& b, const std::vector<bool>& frozen, const std::vector<double>& x0) {
  const double* x = b.get("positions").data<double>();
  for (std::size_t i = 0; i < frozen.size(); ++i) {
    double d = 0;
    for (std::size_t k = 0; k < 3; ++k) d += std::abs(x[3 * i + k] - x0[3 * i + k]);
    if (frozen[i])
      EXPECT_EQ(d, 0.0) << "atom " << i;
    else
      EXPECT_GT(d, 1e-3) << "atom " << i;
  }
}

}  // namespace

TEST(FreezeAtomsHook, FrozenAtomsNeverMoveUnderVelocityVerlet) {
  Batch b = springs();
  const std::vector<bool> frozen = {false, true, false, true, false};
  const auto x0 = test_support::values(b, "positions");
  dynamics::DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(1.0), 5.0);
  hooks::FreezeAtomsHook freeze(frozen);
  EXPECT_EQ(freeze.stage(), Stage::BEFORE_PRE_UPDATE);
  freeze.attach(dyn);
  EXPECT_EQ(dyn.hooks(Stage::BEFORE_PRE_UPDATE).size(), 1u);
  for (auto s : hooks::FreezeAtomsHook::kPinStages) EXPECT_EQ(dyn.hooks(s).size(), 1u);
  auto seen = watch_frozen(dyn, frozen, x0);
  dyn.run(b, 100);
  EXPECT_EQ(*seen, 800);
  EXPECT_EQ(freeze.n_frozen(), 2);
  expect_free_atoms_moved(b, frozen, x0);
  const double* v = b.get("velocities").data<double>();
  const double* f = b.get("forces").data<double>();
  for (std::size_t i = 0; i < frozen.size(); ++i)
    for (std::size_t k = 0; k < 3; ++k)
      if (frozen[i]) {
        EXPECT_EQ(v[3 * i + k], 0.0);
        EXPECT_EQ(f[3 * i + k], 0.0);
      }
}

TEST(FreezeAtomsHook, FrozenAtomsNeverMoveUnderThermostatKicks) {
  // A Langevin-like thermostat: random velocity kicks at AFTER_PRE_UPDATE (before and after the
  // freeze hooks), a random position kick inside the "integrator" (AFTER_PRE_UPDATE, registered
  // first) and a velocity kick right after the integrator's second half (AFTER_POST_UPDATE,
  // registered first, as an integrator's own kick would be).
  Batch b = springs();
  b.add_field("frozen", Level::Atom, DType::Bool, {});
  bool* fr = b.get("frozen").data<bool>();
  fr[0] = true;
  fr[4] = true;
  const std::vector<bool> frozen = {true, false, false, false, true};
  const auto x0 = test_support::values(b, "positions");
  dynamics::DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(1.0), 2.0);
  auto rng = std::make_shared<std::mt19937_64>(42);
  auto kick = [rng](const char* field, double sd) {
    return [rng, field, sd](dynamics::Context& ctx) {
      std::normal_distribution<double> g(0.0, sd);
      for (double& v : ctx.batch.get(field).span<double>()) v += g(*rng);
    };
  };
  dyn.register_hook(fn_hook(Stage::AFTER_PRE_UPDATE, kick("positions", 0.01)));
  dyn.register_hook(fn_hook(Stage::AFTER_PRE_UPDATE, kick("velocities", 0.01)));
  dyn.register_hook(fn_hook(Stage::AFTER_POST_UPDATE, kick("velocities", 0.01)));
  hooks::FreezeAtomsHook("frozen").attach(dyn);
  dyn.register_hook(fn_hook(Stage::AFTER_PRE_UPDATE, kick("velocities", 0.01)));
  dyn.register_hook(fn_hook(Stage::AFTER_STEP, kick("velocities", 0.01)));
  // observers registered after the freeze hooks: AFTER_PRE_UPDATE onward sees the atoms in place;
  // BEFORE_STEP/BEFORE_PRE_UPDATE too, since the AFTER_STEP kick has not been integrated yet
  auto seen = watch_frozen(dyn, frozen, x0);
  dyn.run(b, 200);
  EXPECT_EQ(*seen, 1600);
  expect_free_atoms_moved(b, frozen, x0);
}

TEST(FreezeAtomsHook, CaptureAloneHoldsVelocityVerletAndBadInputIsRejected) {
  Batch b = springs();
  const std::vector<bool> frozen = {false, false, true, false, false};
  const auto x0 = test_support::values(b, "positions");
  dynamics::DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(1.0), 5.0);
  dyn.register_hook(std::make_shared<hooks::FreezeAtomsHook>(frozen));  // capture only, no pins
  dyn.run(b, 50);
  expect_free_atoms_moved(b, frozen, x0);

  dynamics::DemoDynamics d2(std::make_shared<test_support::HarmonicModel>(1.0), 5.0);
  hooks::FreezeAtomsHook(std::vector<bool>{true, false}).attach(d2);
  EXPECT_THROW(d2.run(b, 1), InvalidArgument);  // mask length != atoms
  dynamics::DemoDynamics d3(std::make_shared<test_support::HarmonicModel>(1.0), 5.0);
  hooks::FreezeAtomsHook("no_such_field").attach(d3);
  EXPECT_THROW(d3.run(b, 1), InvalidArgument);
  b.add_field("frozen_i", Level::Atom, DType::Int32, {});
  dynamics::DemoDynamics d4(std::make_shared<test_support::HarmonicModel>(1.0), 5.0);
  hooks::FreezeAtomsHook("frozen_i").attach(d4);
  EXPECT_THROW(d4.run(b, 1), InvalidArgument);  // not a bool field
}

namespace {

/// Fractional coordinates f = x · cell⁻¹ (cell rows a, b, c) by Cramer's rule.
std::array<double, 3> fractional(const double* x, const double* c) {
  const double det =
      c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) + c[2] * (c[3] * c[7] - c[4] * c[6]);
  // solve f0 a + f1 b + f2 c = x
  auto d3 = [](const double* r0, const double* r1, const double* r2) {
    return r0[0] * (r1[1] * r2[2] - r1[2] * r2[1]) - r0[1] * (r1[0] * r2[2] - r1[2] * r2[0]) +
           r0[2] * (r1[0] * r2[1] - r1[1] * r2[0]);
  };
  return {d3(x, c + 3, c + 6) / det, d3(c, x, c + 6) / det, d3(c, c + 3, x) / det};
}

}  // namespace

TEST(WrapPeriodicHook, TriclinicFreeFlightStaysInTheCellAndUnwrapsToStraightLines) {
  // Free flight (no forces): the true trajectory is x0 + v t. Three systems: fully periodic
  // triclinic, periodic in a and c only, and open.
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const std::vector<double> cell = {5.0, 0.0, 0.0, 2.0, 4.5, 0.0, -1.0, 1.5, 6.0};
  std::vector<AtomicData> sys;
  const std::array<std::array<bool, 3>, 3> pbcs = {{{true, true, true}, {true, false, true}, {false, false, false}}};
  for (int s = 0; s < 3; ++s) {
    std::vector<double> x;
    for (int i = 0; i < 12; ++i) {
      const double f0 = u(rng), f1 = u(rng), f2 = u(rng);
      for (int d = 0; d < 3; ++d)
        x.push_back(f0 * cell[static_cast<std::size_t>(d)] + f1 * cell[static_cast<std::size_t>(3 + d)] +
                    f2 * cell[static_cast<std::size_t>(6 + d)]);
    }
    sys.push_back(AtomicData::make(DType::Float64, x, std::vector<std::int64_t>(12, 18),
                                   s < 2 ? cell : std::vector<double>{}, pbcs[static_cast<std::size_t>(s)]));
  }
  Batch b = Batch::from_systems(sys);
  b.add_standard("velocities");
  std::normal_distribution<double> g(0.0, 0.05);  // Å/fs: ~15 Å in 300 fs, several cell crossings
  for (double& v : b.get("velocities").span<double>()) v = g(rng);
  const auto x0 = test_support::values(b, "positions");
  const auto v0 = test_support::values(b, "velocities");

  dynamics::DemoDynamics dyn(std::make_shared<test_support::ZeroModel>(), 1.0);
  auto wrap = std::make_shared<hooks::WrapPeriodicHook>();
  EXPECT_EQ(wrap->stage(), Stage::AFTER_POST_UPDATE);
  dyn.register_hook(wrap);
  std::int64_t moved = 0;
  double worst_inside = 0, worst_unwrap = 0;
  dyn.register_hook(fn_hook(Stage::AFTER_STEP, [&](dynamics::Context& ctx) {
    moved += wrap->last_moved();
    const Batch& bb = ctx.batch;
    const double* x = bb.get("positions").data<double>();
    const double* c = bb.get("cell").data<double>();
    const bool* pbc = bb.get("pbc").data<bool>();
    const auto* img = bb.get("images").data<std::int32_t>();
    const auto* si = bb.system_index().data<std::int64_t>();
    const auto uw = hooks::WrapPeriodicHook::unwrapped_positions(bb);
    const double t = double(ctx.step + 1);
    for (std::int64_t i = 0; i < bb.n_atoms(); ++i) {
      const std::int64_t s = si[i];
      const auto f = fractional(x + 3 * i, c + 9 * s);
      for (std::size_t k = 0; k < 3; ++k) {
        if (pbc[3 * s + static_cast<std::int64_t>(k)]) {
          worst_inside = std::max({worst_inside, -f[k], f[k] - 1.0});
        } else {
          EXPECT_EQ(img[3 * i + static_cast<std::int64_t>(k)], 0);
        }
      }
      for (std::int64_t d = 3 * i; d < 3 * i + 3; ++d) {
        const auto ud = static_cast<std::size_t>(d);
        worst_unwrap = std::max(worst_unwrap, std::abs(uw[ud] - (x0[ud] + v0[ud] * t)));
      }
    }
  }));
  dyn.run(b, 300);
  EXPECT_LT(worst_inside, 1e-12);
  EXPECT_LT(worst_unwrap, 1e-10);
  EXPECT_GT(moved, 30);  // plenty of wraps happened
  // the open system was never touched: exactly ballistic
  const auto* img = b.get("images").data<std::int32_t>();
  for (std::int64_t i = 24; i < 36; ++i)
    for (std::int64_t k = 0; k < 3; ++k) EXPECT_EQ(img[3 * i + k], 0);
  std::int64_t nonzero = 0;
  for (std::int64_t i = 0; i < 24 * 3; ++i) nonzero += img[i] != 0;
  EXPECT_GT(nonzero, 10);
}

TEST(WrapPeriodicHook, SingularCellAndBadImagesFieldAreRejected) {
  std::vector<AtomicData> sys;
  sys.push_back(AtomicData::make(DType::Float64, {1, 1, 1}, {18}, {5, 0, 0, 10, 0, 0, 0, 0, 5}, {true, true, true}));
  Batch b = Batch::from_systems(sys);
  EXPECT_THROW(hooks::WrapPeriodicHook::wrap(b), InvalidArgument);
  std::vector<AtomicData> sys2;
  sys2.push_back(AtomicData::make(DType::Float64, {-1, 6, 1}, {18}, {5, 0, 0, 0, 5, 0, 0, 0, 5}, {true, true, true}));
  Batch c = Batch::from_systems(sys2);
  EXPECT_EQ(hooks::WrapPeriodicHook::wrap(c), 1);
  EXPECT_EQ(c.get("positions").data<double>()[0], 4.0);
  EXPECT_EQ(c.get("positions").data<double>()[1], 1.0);
  EXPECT_EQ(c.get("images").data<std::int32_t>()[0], -1);
  EXPECT_EQ(c.get("images").data<std::int32_t>()[1], 1);
  c.erase("images");
  c.add_field("images", Level::Atom, DType::Int64, {3});
  EXPECT_THROW(hooks::WrapPeriodicHook::wrap(c), InvalidArgument);
  EXPECT_THROW(hooks::WrapPeriodicHook(0), InvalidArgument);
}
