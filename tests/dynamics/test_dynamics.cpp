// SPDX-License-Identifier: Apache-2.0
// Tests for dynamics: stage order, registration order, frequency counts, hook close on error,
// argument validation and velocity Verlet against the analytic harmonic oscillator.
#include <gtest/gtest.h>

#include <cmath>
#include <type_traits>

#include "../support/harmonic_model.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/dynamics/units.hpp"

using namespace batchmd;
using namespace batchmd::dynamics;

namespace {

struct Log {
  std::vector<std::string> events;
};

class RecordingHook : public Hook {
 public:
  RecordingHook(Log& log, Stage s, std::string tag, std::int64_t freq = 1)
      : log_(log), stage_(s), tag_(std::move(tag)), freq_(freq) {}
  std::string name() const override { return tag_; }
  Stage stage() const override { return stage_; }
  std::int64_t frequency() const override { return freq_; }
  void open(Context&) override { log_.events.push_back("open:" + tag_); }
  void close(Context&) override { log_.events.push_back("close:" + tag_); }
  void operator()(Context& ctx) override {
    ++count;
    log_.events.push_back(tag_ + "@" + std::to_string(ctx.step));
    if (throw_at >= 0 && ctx.step == throw_at) throw NumericalError("boom at " + std::to_string(ctx.step));
  }
  int count = 0;
  std::int64_t throw_at = -1;

 private:
  Log& log_;
  Stage stage_;
  std::string tag_;
  std::int64_t freq_;
};

/// Velocity Verlet whose systems "converge" at a given step, to exercise ON_CONVERGE.
class ConvergingDynamics : public DemoDynamics {
 public:
  ConvergingDynamics(std::shared_ptr<model::Model> m, double dt, std::int64_t converge_at)
      : DemoDynamics(std::move(m), dt), at_(converge_at) {}
  std::vector<bool> check_convergence(Context& ctx) override {
    std::vector<bool> v(static_cast<std::size_t>(ctx.batch.n_systems()), false);
    if (ctx.step == at_) v[0] = true;
    return v;
  }

 private:
  std::int64_t at_;
};

Batch one_atom_batch(double x0) {
  std::vector<AtomicData> sys;
  sys.push_back(AtomicData::make(DType::Float64, {x0, 0, 0}, {18}));
  return Batch::from_systems(sys);
}

}  // namespace

TEST(Dynamics, StagesFireInOrderOncePerStep) {
  Log log;
  auto model = std::make_shared<test_support::HarmonicModel>(1.0);
  ConvergingDynamics dyn(model, 1.0, 0);
  // register in reverse stage order: firing order must follow stages, not registration
  for (int s = kNumStages - 1; s >= 0; --s)
    dyn.register_hook(
        std::make_shared<RecordingHook>(log, static_cast<Stage>(s), std::string(stage_name(static_cast<Stage>(s)))));
  Batch b = one_atom_batch(1.0);
  EXPECT_EQ(dyn.run(b, 1), 1);
  std::vector<std::string> fired;
  for (auto& e : log.events)
    if (e.find('@') != std::string::npos) fired.push_back(e.substr(0, e.find('@')));
  std::vector<std::string> expected;
  for (int s = 0; s < kNumStages; ++s) expected.emplace_back(stage_name(static_cast<Stage>(s)));
  EXPECT_EQ(fired, expected);
  EXPECT_EQ(log.events.front().rfind("open:", 0), 0u);
  EXPECT_EQ(log.events.back().rfind("close:", 0), 0u);
}

TEST(Dynamics, SameStageHooksFireInRegistrationOrder) {
  Log log;
  DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(1.0), 1.0);
  for (const char* t : {"c", "a", "b"}) dyn.register_hook(std::make_shared<RecordingHook>(log, Stage::AFTER_STEP, t));
  Batch b = one_atom_batch(1.0);
  dyn.run(b, 2);
  std::vector<std::string> fired;
  for (auto& e : log.events)
    if (e.find('@') != std::string::npos) fired.push_back(e);
  EXPECT_EQ(fired, (std::vector<std::string>{"c@0", "a@0", "b@0", "c@1", "a@1", "b@1"}));
}

TEST(Dynamics, FrequencyCountsAndStepCount) {
  Log log;
  DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(1.0), 1.0);
  auto h10 = std::make_shared<RecordingHook>(log, Stage::AFTER_STEP, "f10", 10);
  auto h7 = std::make_shared<RecordingHook>(log, Stage::BEFORE_STEP, "f7", 7);
  auto h1 = std::make_shared<RecordingHook>(log, Stage::AFTER_COMPUTE, "f1", 1);
  dyn.register_hook(h10);
  dyn.register_hook(h7);
  dyn.register_hook(h1);
  Batch b = one_atom_batch(0.1);
  EXPECT_EQ(dyn.run(b, 1000), 1000);
  EXPECT_EQ(h10->count, 100);
  EXPECT_EQ(h7->count, 143);  // steps 0, 7, ..., 994
  EXPECT_EQ(h1->count, 1000);
  EXPECT_EQ(dyn.step_count(), 1000);
  EXPECT_EQ(b.get("step").data<std::int64_t>()[0], 1000);
  // a second run continues the count
  dyn.run(b, 10);
  EXPECT_EQ(h10->count, 101);
}

TEST(Dynamics, HooksClosedAfterException) {
  Log log;
  DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(1.0), 1.0);
  auto bad = std::make_shared<RecordingHook>(log, Stage::AFTER_COMPUTE, "bad");
  bad->throw_at = 5;
  auto other = std::make_shared<RecordingHook>(log, Stage::AFTER_STEP, "other");
  dyn.register_hook(bad);
  dyn.register_hook(other);
  Batch b = one_atom_batch(1.0);
  EXPECT_THROW(dyn.run(b, 100), NumericalError);
  int closes = 0;
  for (auto& e : log.events) closes += e.rfind("close:", 0) == 0;
  EXPECT_EQ(closes, 2);
  EXPECT_EQ(other->count, 5);
}

TEST(Dynamics, RejectsInvalidArguments) {
  auto m = std::make_shared<test_support::HarmonicModel>(1.0);
  EXPECT_THROW(DemoDynamics(m, 0.0), InvalidArgument);
  EXPECT_THROW(DemoDynamics(m, -1.0), InvalidArgument);
  EXPECT_THROW(DemoDynamics(m, std::nan("")), InvalidArgument);
  EXPECT_THROW(DemoDynamics(nullptr, 1.0), InvalidArgument);
  DemoDynamics dyn(m, 1.0);
  Log log;
  EXPECT_THROW(dyn.register_hook(std::make_shared<RecordingHook>(log, Stage::AFTER_STEP, "z", 0)), InvalidArgument);
  EXPECT_THROW(dyn.register_hook(std::make_shared<RecordingHook>(log, Stage::AFTER_STEP, "n", -3)), InvalidArgument);
  Batch b = one_atom_batch(1.0);
  EXPECT_THROW(dyn.run(b, -1), InvalidArgument);
  EXPECT_THROW(stage_from_name("AFTER_LUNCH"), InvalidArgument);
  EXPECT_EQ(stage_from_name("after_step"), Stage::AFTER_STEP);
}

TEST(Dynamics, VelocityVerletFollowsAnalyticHarmonicOscillator) {
  // x(t) = A cos(ωt), ω = sqrt(k·kAccel/m) in 1/fs. Verlet's phase error is O((ω dt)²).
  const double k = 2.0, A = 0.3, dt = 0.5;
  VelocityVerlet dyn(std::make_shared<test_support::HarmonicModel>(k), dt);
  static_assert(std::is_base_of_v<VelocityVerlet, DemoDynamics>, "DemoDynamics is nvalchemi's name for it");
  EXPECT_EQ(dyn.name(), "velocity_verlet");
  Batch b = one_atom_batch(A);
  const double m = b.get("masses").data<double>()[0];
  const double omega = std::sqrt(k * units::kAccel / m);
  const std::int64_t n = 2000;
  dyn.run(b, n);
  const double t = dt * static_cast<double>(n);
  const double x = b.get("positions").data<double>()[0];
  EXPECT_NEAR(x, A * std::cos(omega * t), 2e-3 * A);
  // energy conserved to O(dt²)
  const double v = b.get("velocities").data<double>()[0];
  const double e = 0.5 * k * x * x + 0.5 * m * v * v * units::kMv2ToEv;
  EXPECT_NEAR(e, 0.5 * k * A * A, 1e-3 * 0.5 * k * A * A);
}

TEST(Dynamics, MaxwellBoltzmannHitsTemperatureWithZeroMomentum) {
  std::vector<double> pos;
  std::vector<std::int64_t> z;
  for (int i = 0; i < 50; ++i) {
    pos.insert(pos.end(), {double(i), 0, 0});
    z.push_back(18);
  }
  std::vector<AtomicData> sys;
  sys.push_back(AtomicData::make(DType::Float64, pos, z));
  Batch b = Batch::from_systems(sys);
  maxwell_boltzmann(b, 120.0, 7);
  EXPECT_NEAR(temperature(b)[0], 120.0, 1e-9);
  double p[3] = {0, 0, 0};
  for (int i = 0; i < 50; ++i)
    for (int k = 0; k < 3; ++k) p[k] += b.get("velocities").data<double>()[3 * i + k];
  for (double pk : p) EXPECT_NEAR(pk, 0.0, 1e-12);
  EXPECT_THROW(maxwell_boltzmann(b, -1, 1), InvalidArgument);
}
