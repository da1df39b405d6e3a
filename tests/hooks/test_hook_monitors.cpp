// SPDX-License-Identifier: Apache-2.0
// Tests for observing hooks: EnergyDriftMonitorHook, LoggingHook, ProfilerHook and
// ConvergedSnapshotHook.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "../support/harmonic_model.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/hooks/converged_snapshot.hpp"
#include "batchmd/hooks/energy_drift.hpp"
#include "batchmd/hooks/logging.hpp"
#include "batchmd/hooks/profiler.hpp"
#include "hook_test_util.hpp"

using namespace batchmd;
using dynamics::Stage;
using test_support::fn_hook;

namespace {

/// Two single-atom harmonic oscillators and one two-atom one, with system ids 7, 8, 9.
Batch oscillators() {
  std::vector<AtomicData> sys;
  sys.push_back(AtomicData::make(DType::Float64, {1.0, 0, 0}, {18}));
  sys.push_back(AtomicData::make(DType::Float64, {0, 0.5, 0}, {10}));
  sys.push_back(AtomicData::make(DType::Float64, {0.3, 0.2, 0.1, -0.7, 0, 0.4}, {18, 18}));
  Batch b = Batch::from_systems(sys);
  auto* id = b.add_standard("system_id").data<std::int64_t>();
  for (int s = 0; s < 3; ++s) id[s] = 7 + s;
  return b;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string c; std::getline(in, c, ',');) out.push_back(c);
  return out;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("batchmd_hooks_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

}  // namespace

TEST(EnergyDriftMonitorHook, WarnsOncePerSystemAboveTheThreshold) {
  // velocity Verlet's energy error on a harmonic well grows like (ω dt)²: at dt = 20 fs it is
  // a few percent, at dt = 0.5 fs ~1e-5.
  Batch b = oscillators();
  dynamics::DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(1.0), 20.0);
  auto mon = std::make_shared<hooks::EnergyDriftMonitorHook>(1e-3, hooks::DriftAction::Warn);
  EXPECT_EQ(mon->stage(), Stage::AFTER_STEP);
  dyn.register_hook(mon);
  testing::internal::CaptureStderr();
  dyn.run(b, 200);
  const std::string err = testing::internal::GetCapturedStderr();
  const auto lines = lines_of(err);
  ASSERT_EQ(lines.size(), 3u) << err;
  EXPECT_EQ(mon->warnings(), 3);
  for (int s = 0; s < 3; ++s) {
    EXPECT_NE(err.find("system " + std::to_string(s) + " (system_id " + std::to_string(7 + s) + ")"), std::string::npos)
        << err;
  }
  EXPECT_NE(err.find("relative energy drift"), std::string::npos);
  EXPECT_GT(mon->max_drift(), 1e-3);

  Batch c = oscillators();
  dynamics::DemoDynamics fine(std::make_shared<test_support::HarmonicModel>(1.0), 0.5);
  auto quiet = std::make_shared<hooks::EnergyDriftMonitorHook>(1e-3, hooks::DriftAction::Stop, 5);
  fine.register_hook(quiet);
  testing::internal::CaptureStderr();
  EXPECT_NO_THROW(fine.run(c, 400));
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_GT(quiet->max_drift(), 0.0);
  EXPECT_LT(quiet->max_drift(), 1e-4);
  ASSERT_EQ(quiet->drift().size(), 3u);
}

TEST(EnergyDriftMonitorHook, StopRaisesNumericalError) {
  Batch b = oscillators();
  dynamics::DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(1.0), 20.0);
  dyn.register_hook(std::make_shared<hooks::EnergyDriftMonitorHook>(1e-3, hooks::drift_action_from_name("stop")));
  std::string msg;
  try {
    dyn.run(b, 200);
  } catch (const NumericalError& e) {
    msg = e.what();
  }
  ASSERT_FALSE(msg.empty());
  EXPECT_NE(msg.find("relative energy drift"), std::string::npos) << msg;
  EXPECT_NE(msg.find("system_id"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at step"), std::string::npos) << msg;
  EXPECT_LT(dyn.step_count(), 200);
  EXPECT_THROW(hooks::drift_action_from_name("panic"), InvalidArgument);
  EXPECT_THROW(hooks::EnergyDriftMonitorHook(0.0), InvalidArgument);
}

TEST(LoggingHook, WritesPerSystemScalarsThatParseBack) {
  const std::string path = temp_path("log.csv");
  Batch b = oscillators();
  b.add_field("status", Level::System, DType::Int32, {}).data<std::int32_t>()[2] = 3;
  dynamics::DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(1.0), 2.0);
  auto log = std::make_shared<hooks::LoggingHook>(path, 5);
  EXPECT_EQ(log->stage(), Stage::AFTER_STEP);
  dyn.register_hook(log);
  // what the rows must hold, computed independently after the logger ran
  struct Row {
    std::int64_t step, id;
    double e, ke, t, fmax;
  };
  std::vector<Row> expect;
  dyn.register_hook(std::make_shared<test_support::FnHook>(
      Stage::AFTER_STEP,
      [&](dynamics::Context& ctx) {
        const auto ke = dynamics::kinetic_energy(ctx.batch);
        const auto t = dynamics::temperature(ctx.batch);
        const double* f = ctx.batch.get("forces").data<double>();
        const auto* ap = ctx.batch.atoms_ptr_data();
        for (std::int64_t s = 0; s < ctx.batch.n_systems(); ++s) {
          double fm = 0;
          for (std::int64_t i = ap[s]; i < ap[s + 1]; ++i)
            fm = std::max(fm,
                          std::sqrt(f[3 * i] * f[3 * i] + f[3 * i + 1] * f[3 * i + 1] + f[3 * i + 2] * f[3 * i + 2]));
          const auto u = static_cast<std::size_t>(s);
          expect.push_back({ctx.step + 1, 7 + s, ctx.batch.get("energy").data<double>()[s], ke[u], t[u], fm});
        }
      },
      5));
  dyn.run(b, 12);  // rows at steps 1, 6, 11
  // flushed on close: readable while the hook is still alive
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  const auto lines = lines_of(ss.str());
  ASSERT_EQ(lines.size(), 1u + 9u) << ss.str();
  EXPECT_EQ(lines[0], "step,system_id,energy,kinetic_energy,temperature,fmax,status");
  ASSERT_EQ(expect.size(), 9u);
  for (std::size_t r = 0; r < 9; ++r) {
    const auto c = split_csv(lines[r + 1]);
    ASSERT_EQ(c.size(), 7u) << lines[r + 1];
    EXPECT_EQ(std::stoll(c[0]), expect[r].step);
    EXPECT_EQ(std::stoll(c[1]), expect[r].id);
    // shortest round-trip form: exact
    EXPECT_EQ(std::stod(c[2]), expect[r].e) << lines[r + 1];
    EXPECT_EQ(std::stod(c[3]), expect[r].ke);
    EXPECT_EQ(std::stod(c[4]), expect[r].t);
    EXPECT_NEAR(std::stod(c[5]), expect[r].fmax, 1e-15 * (1 + expect[r].fmax));
    EXPECT_EQ(c[6], r % 3 == 2 ? "3" : "0");
  }
  EXPECT_EQ(expect[3].step, 6);
  EXPECT_GT(expect[3].ke, 0.0);
  EXPECT_EQ(log->rows(), 9);
  // a second run appends to the same file
  dyn.run(b, 5);
  std::ifstream in2(path);
  std::stringstream ss2;
  ss2 << in2.rdbuf();
  EXPECT_EQ(lines_of(ss2.str()).size(), 1u + 12u);
  std::filesystem::remove(path);

  // no status field: no status column
  const std::string path2 = temp_path("log2.csv");
  {
    Batch c = oscillators();
    dynamics::DemoDynamics d2(std::make_shared<test_support::HarmonicModel>(1.0), 2.0);
    d2.register_hook(std::make_shared<hooks::LoggingHook>(path2));
    d2.run(c, 2);
  }
  std::ifstream in3(path2);
  std::string header;
  std::getline(in3, header);
  EXPECT_EQ(header, "step,system_id,energy,kinetic_energy,temperature,fmax");
  std::filesystem::remove(path2);
}

TEST(LoggingHook, BadPathRaisesIOErrorNamingIt) {
  const std::string bad = "/nonexistent_batchmd_dir/sub/log.csv";
  try {
    hooks::LoggingHook h(bad);
    FAIL() << "no IOError";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
  EXPECT_THROW(hooks::LoggingHook(temp_path("x.csv"), 0), InvalidArgument);
}

TEST(ProfilerHook, CountsEveryStageAndTimesTheSlowOne) {
  Batch b = oscillators();
  dynamics::DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(1.0), 1.0);
  hooks::ProfilerHook prof;
  prof.attach(dyn);
  for (int s = 0; s < dynamics::kNumStages; ++s) EXPECT_EQ(dyn.hooks(static_cast<Stage>(s)).size(), 1u);
  // a slow hook at BEFORE_COMPUTE (registered after the profiler): 2 ms a step
  dyn.register_hook(fn_hook(Stage::BEFORE_COMPUTE,
                            [](dynamics::Context&) { std::this_thread::sleep_for(std::chrono::milliseconds(2)); }));
  dyn.run(b, 20);
  for (int s = 0; s < dynamics::kNumStages - 1; ++s) EXPECT_EQ(prof.calls(static_cast<Stage>(s)), 20) << s;
  EXPECT_EQ(prof.calls(Stage::ON_CONVERGE), 0);
  EXPECT_GE(prof.seconds(Stage::BEFORE_COMPUTE), 20 * 0.002);
  for (int s = 0; s < dynamics::kNumStages; ++s) {
    const auto st = static_cast<Stage>(s);
    EXPECT_GE(prof.seconds(st), 0.0);
    if (st != Stage::BEFORE_COMPUTE) {
      EXPECT_LT(prof.seconds(st), prof.seconds(Stage::BEFORE_COMPUTE)) << s;
    }
  }
  EXPECT_NEAR(
      prof.total_seconds(),
      [&] {
        double t = 0;
        for (int s = 0; s < dynamics::kNumStages; ++s) t += prof.seconds(static_cast<Stage>(s));
        return t;
      }(),
      1e-12);
  const std::string rep = prof.report();
  EXPECT_NE(rep.find("BEFORE_COMPUTE"), std::string::npos) << rep;
  EXPECT_NE(rep.find("ON_CONVERGE"), std::string::npos) << rep;
  EXPECT_NE(rep.find("total"), std::string::npos) << rep;
  // accumulates across runs until reset
  dyn.run(b, 5);
  EXPECT_EQ(prof.calls(Stage::AFTER_STEP), 25);
  prof.reset();
  EXPECT_EQ(prof.calls(Stage::AFTER_STEP), 0);
  EXPECT_EQ(prof.total_seconds(), 0.0);
}

namespace {
/// Velocity Verlet where system s "converges" at the end of step conv_step[s] (status 1).
class ScriptedConvergence : public dynamics::DemoDynamics {
 public:
  ScriptedConvergence(std::vector<std::int64_t> conv_step)
      : DemoDynamics(std::make_shared<test_support::HarmonicModel>(1.0), 1.0), conv_(std::move(conv_step)) {}

 protected:
  std::vector<bool> check_convergence(dynamics::Context& ctx) override {
    auto* st = ctx.batch.add_field("status", Level::System, DType::Int32, {}).data<std::int32_t>();
    std::vector<bool> now(conv_.size(), false);
    for (std::size_t s = 0; s < conv_.size(); ++s)
      if (st[s] == 0 && conv_[s] == ctx.step) {
        st[s] = 1;
        now[s] = true;
      }
    return now;
  }
  bool all_converged(const Batch& b) const override {
    if (!b.has("status")) return false;
    for (std::int32_t v : b.get("status").span<std::int32_t>())
      if (v == 0) return false;
    return true;
  }

 private:
  std::vector<std::int64_t> conv_;
};
}  // namespace

TEST(ConvergedSnapshotHook, WritesOnlyTheNewlyConvergedSystems) {
  std::vector<AtomicData> sys;
  for (int s = 0; s < 4; ++s) sys.push_back(AtomicData::make(DType::Float64, {0.1 * (s + 1), 0, 0}, {18}));
  Batch b = Batch::from_systems(sys);
  b.add_field("status", Level::System, DType::Int32, {});
  ScriptedConvergence dyn({2, 5, 5, 9});  // converge at the end of steps 3, 6, 6, 10
  auto sink = std::make_shared<sinks::HostMemory>(100);
  auto hook = std::make_shared<hooks::ConvergedSnapshotHook>(sink);
  EXPECT_EQ(hook->stage(), Stage::ON_CONVERGE);
  dyn.register_hook(hook);
  hooks::ProfilerHook prof;
  prof.attach(dyn);
  const auto taken = dyn.run(b, 50);
  EXPECT_EQ(taken, 10);  // stops when all have converged
  EXPECT_EQ(hook->written(), 4);
  EXPECT_EQ(prof.calls(Stage::ON_CONVERGE), 3);
  Batch r = sink->read();
  ASSERT_EQ(r.n_systems(), 4);
  const auto* id = r.get("system_id").data<std::int64_t>();
  const auto* steps = r.get("step").data<std::int64_t>();
  const auto* status = r.get("status").data<std::int32_t>();
  const std::int64_t want_id[] = {0, 1, 2, 3}, want_step[] = {3, 6, 6, 10};
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(id[k], want_id[k]);
    EXPECT_EQ(steps[k], want_step[k]);
    EXPECT_EQ(status[k], 1);
  }
  EXPECT_THROW(hooks::ConvergedSnapshotHook(nullptr), InvalidArgument);
}
