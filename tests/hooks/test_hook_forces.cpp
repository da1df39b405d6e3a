// SPDX-License-Identifier: Apache-2.0
// Tests for hooks that act on forces: MaxForceClampHook, NaNDetectorHook, BiasedPotentialHook.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "../support/harmonic_model.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/units.hpp"
#include "batchmd/hooks/biased_potential.hpp"
#include "batchmd/hooks/force_clamp.hpp"
#include "batchmd/hooks/nan_detector.hpp"
#include "hook_test_util.hpp"

using namespace batchmd;
using dynamics::Stage;
using test_support::fn_hook;

namespace {

Batch two_systems() {
  std::vector<AtomicData> sys;
  // |x| = 5, 0.5, 3 (forces -x with k = 1) and 0.2, 4
  sys.push_back(AtomicData::make(DType::Float64, {3, 4, 0, 0.3, 0, -0.4, 0, 0, 3}, {18, 18, 18}));
  sys.push_back(AtomicData::make(DType::Float64, {0.2, 0, 0, 0, -4, 0}, {10, 10}));
  return Batch::from_systems(sys);
}

double norm3(const double* v) { return std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]); }

}  // namespace

TEST(MaxForceClampHook, CapsEachAtomsForceKeepingItsDirection) {
  Batch b = two_systems();
  dynamics::DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(1.0), 1.0);
  auto clamp = std::make_shared<hooks::MaxForceClampHook>(1.0);
  EXPECT_EQ(clamp->stage(), Stage::AFTER_COMPUTE);
  dyn.register_hook(clamp);
  // a probe after the clamp sees the forces the integrator will use
  int checks = 0;
  dyn.register_hook(fn_hook(Stage::AFTER_COMPUTE, [&](dynamics::Context& ctx) {
    const double* x = ctx.batch.get("positions").data<double>();
    const double* f = ctx.batch.get("forces").data<double>();
    for (std::int64_t i = 0; i < ctx.batch.n_atoms(); ++i) {
      const double r = norm3(x + 3 * i);
      const double scale = r > 1.0 ? 1.0 / r : 1.0;  // |F| = k|x| = |x|
      for (int k = 0; k < 3; ++k) EXPECT_NEAR(f[3 * i + k], -x[3 * i + k] * scale, 1e-14) << "atom " << i;
      EXPECT_LE(norm3(f + 3 * i), 1.0 + 1e-14);
    }
    ++checks;
  }));
  // run(0): prepare computes the starting forces, open() clamps them
  dyn.run(b, 0);
  const double* f = b.get("forces").data<double>();
  EXPECT_NEAR(norm3(f), 1.0, 1e-14);  // |x| = 5 -> clamped to 1
  EXPECT_NEAR(f[0], -0.6, 1e-14);     // direction kept: -(3,4,0)/5
  EXPECT_NEAR(f[1], -0.8, 1e-14);
  EXPECT_EQ(f[3], -0.3);                // |x| = 0.5: untouched, bitwise
  EXPECT_EQ(clamp->last_clamped(), 3);  // atoms at 5, 3, 4
  // the first half kick already used the clamped forces: from rest, |v| <= dt·a_max after a step
  dyn.run(b, 1);
  const double* v = b.get("velocities").data<double>();
  const double* m = b.get("masses").data<double>();
  for (std::int64_t i = 0; i < b.n_atoms(); ++i)
    EXPECT_LE(norm3(v + 3 * i), 1.0 * units::kAccel / m[i] * (1 + 1e-12)) << "atom " << i;
  dyn.run(b, 20);
  EXPECT_EQ(checks, 21);
  EXPECT_GT(clamp->total_clamped(), 40);
  EXPECT_THROW(hooks::MaxForceClampHook(0.0), InvalidArgument);
  EXPECT_THROW(hooks::MaxForceClampHook(-1.0), InvalidArgument);
  EXPECT_THROW(hooks::MaxForceClampHook(std::nan("")), InvalidArgument);
}

TEST(MaxForceClampHook, Float32) {
  std::vector<AtomicData> sys;
  sys.push_back(AtomicData::make(DType::Float32, {10, 0, 0, 0.1, 0, 0}, {18, 18}));
  Batch b = Batch::from_systems(sys);
  dynamics::DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(1.0), 1.0);
  dyn.register_hook(std::make_shared<hooks::MaxForceClampHook>(2.0));
  dyn.run(b, 0);
  const float* f = b.get("forces").data<float>();
  EXPECT_FLOAT_EQ(f[0], -2.0f);
  EXPECT_FLOAT_EQ(f[3], -0.1f);
}

namespace {
/// The harmonic model, with a NaN put into one force at a chosen compute call.
class PoisonedModel : public test_support::HarmonicModel {
 public:
  PoisonedModel(int at_call, std::int64_t atom, int comp)
      : HarmonicModel(1.0), at_(at_call), atom_(atom), comp_(comp) {}
  void compute(Batch& b, bool stress) override {
    HarmonicModel::compute(b, stress);
    if (calls == at_) b.get("forces").data<double>()[3 * atom_ + comp_] = std::nan("");
  }

 private:
  int at_;
  std::int64_t atom_;
  int comp_;
};

Batch three_systems_with_ids() {
  std::vector<AtomicData> sys;
  for (int s = 0; s < 3; ++s)
    sys.push_back(AtomicData::make(DType::Float64, {0.5, 0.1 * s, 0, -0.5, 0, 0.2}, {18, 18}));
  Batch b = Batch::from_systems(sys);
  auto* id = b.add_standard("system_id").data<std::int64_t>();
  for (int s = 0; s < 3; ++s) id[s] = 10 + s;
  return b;
}

std::string run_until_error(dynamics::Dynamics& dyn, Batch& b, std::int64_t steps) {
  try {
    dyn.run(b, steps);
  } catch (const NumericalError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(NaNDetectorHook, NamesSystemStepAndFieldOfABadForce) {
  Batch b = three_systems_with_ids();
  // compute call 1 is prepare(); call 6 is the model evaluation of step 4 (ctx.step == 4)
  dynamics::DemoDynamics dyn(std::make_shared<PoisonedModel>(6, 3, 1), 1.0);
  auto det = std::make_shared<hooks::NaNDetectorHook>();
  EXPECT_EQ(det->stage(), Stage::AFTER_COMPUTE);
  dyn.register_hook(det);
  std::int64_t post_updates = 0;
  dyn.register_hook(fn_hook(Stage::AFTER_POST_UPDATE, [&](dynamics::Context&) { ++post_updates; }));
  const std::string msg = run_until_error(dyn, b, 20);
  ASSERT_FALSE(msg.empty()) << "no NumericalError";
  EXPECT_NE(msg.find("forces"), std::string::npos) << msg;
  EXPECT_NE(msg.find("system 1 (system_id 11)"), std::string::npos) << msg;  // atom 3 = system 1, atom 1
  EXPECT_NE(msg.find("atom 1 of the system"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at step 4"), std::string::npos) << msg;
  EXPECT_EQ(post_updates, 4);  // stopped before the integrator used the NaN
  // the velocities never saw it
  for (double v : b.get("velocities").span<double>()) EXPECT_TRUE(std::isfinite(v));
}

TEST(NaNDetectorHook, NamesPositionsAndEnergyAndTheStartingState) {
  {
    Batch b = three_systems_with_ids();
    dynamics::DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(1.0), 1.0);
    // an Inf position appears at the end of step 6; detected at step 7's AFTER_COMPUTE
    dyn.register_hook(fn_hook(Stage::AFTER_STEP, [&](dynamics::Context& ctx) {
      if (ctx.step == 6) ctx.batch.get("positions").data<double>()[3 * 5 + 2] = INFINITY;
    }));
    dyn.register_hook(std::make_shared<hooks::NaNDetectorHook>());
    const std::string msg = run_until_error(dyn, b, 20);
    EXPECT_NE(msg.find("non-finite positions (inf) in system 2 (system_id 12), atom 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("at step 7"), std::string::npos) << msg;
  }
  {
    Batch b = three_systems_with_ids();
    dynamics::DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(1.0), 1.0);
    dyn.register_hook(fn_hook(Stage::AFTER_COMPUTE, [&](dynamics::Context& ctx) {
      if (ctx.step == 2) {
        ctx.batch.get("energy").data<double>()[0] = std::nan("");
        ctx.batch.get("energy").data<double>()[2] = std::nan("");
      }
    }));
    dyn.register_hook(std::make_shared<hooks::NaNDetectorHook>(1, Stage::BEFORE_POST_UPDATE));
    const std::string msg = run_until_error(dyn, b, 20);
    EXPECT_NE(msg.find("non-finite energy"), std::string::npos) << msg;
    EXPECT_NE(msg.find("system 0 (system_id 10)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("at step 2 (BEFORE_POST_UPDATE)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2 systems affected"), std::string::npos) << msg;
  }
  {
    Batch b = three_systems_with_ids();
    b.get("positions").data<double>()[0] = std::nan("");
    dynamics::DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(1.0), 1.0);
    dyn.register_hook(std::make_shared<hooks::NaNDetectorHook>());
    const std::string msg = run_until_error(dyn, b, 5);
    EXPECT_NE(msg.find("starting state"), std::string::npos) << msg;
    EXPECT_EQ(dyn.step_count(), 0);
  }
  // a clean run raises nothing
  Batch b = three_systems_with_ids();
  dynamics::DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(1.0), 1.0);
  dyn.register_hook(std::make_shared<hooks::NaNDetectorHook>(3));
  EXPECT_NO_THROW(dyn.run(b, 30));
  EXPECT_THROW(hooks::NaNDetectorHook(0), InvalidArgument);
}

TEST(BiasedPotentialHook, HarmonicRestraintMatchesTheAnalyticEnergyAndForces) {
  // model: E = ½ k1 |x|²; bias: ½ k2 |x − r|². Sum: ½ (k1+k2) |x − c|² + const, c = k2 r / (k1+k2).
  const double k1 = 1.0, k2 = 3.0;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<AtomicData> sys;
  for (int s = 0; s < 3; ++s) {
    std::vector<double> x;
    for (int i = 0; i < 3 * (s + 2); ++i) x.push_back(u(rng));
    sys.push_back(AtomicData::make(DType::Float64, x, std::vector<std::int64_t>(static_cast<std::size_t>(s + 2), 18)));
  }
  Batch b = Batch::from_systems(sys);
  std::vector<double> ref;
  for (std::int64_t i = 0; i < 3 * b.n_atoms(); ++i) ref.push_back(u(rng));
  const auto x0 = test_support::values(b, "positions");

  dynamics::DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(k1), 1.0);
  auto bias = std::make_shared<hooks::BiasedPotentialHook>(hooks::BiasedPotentialHook::harmonic_restraint(k2, ref),
                                                           "restraint");
  EXPECT_EQ(bias->stage(), Stage::AFTER_COMPUTE);
  dyn.register_hook(bias);
  dyn.run(b, 25);

  // energy and forces at the final positions
  const double* x = b.get("positions").data<double>();
  const double* f = b.get("forces").data<double>();
  const double* e = b.get("energy").data<double>();
  const auto* ap = b.atoms_ptr_data();
  for (std::int64_t s = 0; s < b.n_systems(); ++s) {
    double em = 0, eb = 0;
    for (std::int64_t d = 3 * ap[s]; d < 3 * ap[s + 1]; ++d) {
      em += 0.5 * k1 * x[d] * x[d];
      eb += 0.5 * k2 * (x[d] - ref[static_cast<std::size_t>(d)]) * (x[d] - ref[static_cast<std::size_t>(d)]);
      EXPECT_NEAR(f[d], -k1 * x[d] - k2 * (x[d] - ref[static_cast<std::size_t>(d)]), 1e-13);
    }
    EXPECT_NEAR(e[s], em + eb, 1e-13);
    EXPECT_NEAR(bias->last_bias_energy()[static_cast<std::size_t>(s)], eb, 1e-13);
    EXPECT_GT(eb, 0.01);
  }

  // the whole trajectory (first step included) is that of the combined harmonic well
  Batch c = Batch::from_systems(sys);
  double* xc = c.get("positions").data<double>();
  for (std::int64_t d = 0; d < 3 * c.n_atoms(); ++d)
    xc[d] = x0[static_cast<std::size_t>(d)] - k2 * ref[static_cast<std::size_t>(d)] / (k1 + k2);
  dynamics::DemoDynamics ref_dyn(std::make_shared<test_support::HarmonicModel>(k1 + k2), 1.0);
  ref_dyn.run(c, 25);
  for (std::int64_t d = 0; d < 3 * c.n_atoms(); ++d)
    EXPECT_NEAR(x[d], xc[d] + k2 * ref[static_cast<std::size_t>(d)] / (k1 + k2), 1e-12) << d;
}

TEST(BiasedPotentialHook, MaskedRestraintAndBadResults) {
  Batch b = two_systems();
  std::vector<double> ref(static_cast<std::size_t>(3 * b.n_atoms()), 0.0);
  // restrain only atom 4 (second atom of system 1, at (0,-4,0)) to the origin with k = 2
  std::vector<bool> mask = {false, false, false, false, true};
  dynamics::DemoDynamics dyn(std::make_shared<test_support::ZeroModel>(), 1.0);
  auto bias =
      std::make_shared<hooks::BiasedPotentialHook>(hooks::BiasedPotentialHook::harmonic_restraint(2.0, ref, mask));
  dyn.register_hook(bias);
  dyn.run(b, 0);
  const double* f = b.get("forces").data<double>();
  EXPECT_DOUBLE_EQ(f[13], 8.0);
  for (int d = 0; d < 12; ++d) EXPECT_EQ(f[d], 0.0);
  EXPECT_DOUBLE_EQ(b.get("energy").data<double>()[1], 16.0);
  EXPECT_EQ(b.get("energy").data<double>()[0], 0.0);

  dynamics::DemoDynamics dyn2(std::make_shared<test_support::ZeroModel>(), 1.0);
  dyn2.register_hook(std::make_shared<hooks::BiasedPotentialHook>([](Batch&) { return std::vector<double>{1.0}; }));
  EXPECT_THROW(dyn2.run(b, 1), InvalidArgument);
  dynamics::DemoDynamics dyn3(std::make_shared<test_support::ZeroModel>(), 1.0);
  dyn3.register_hook(
      std::make_shared<hooks::BiasedPotentialHook>(hooks::BiasedPotentialHook::harmonic_restraint(1.0, {0, 0, 0})));
  EXPECT_THROW(dyn3.run(b, 1), InvalidArgument);
  EXPECT_THROW(hooks::BiasedPotentialHook(nullptr), InvalidArgument);
  EXPECT_THROW(hooks::BiasedPotentialHook::harmonic_restraint(-1.0, ref), InvalidArgument);
}
