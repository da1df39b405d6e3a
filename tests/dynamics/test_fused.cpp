// SPDX-License-Identifier: Apache-2.0
// Tests for convergence criteria and FusedStage: composable criteria, status codes set before
// AFTER_STEP hooks, ON_CONVERGE with the newly converged systems, stage order, equivalence of a
// fused run with running each system's stages one after another alone, and one snapshot write
// holding systems of every status.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "../support/harmonic_model.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/fused.hpp"
#include "batchmd/dynamics/integrators.hpp"
#include "batchmd/hooks/snapshot.hpp"
#include "batchmd/sinks/data_sink.hpp"
#include "dyn_test_util.hpp"

using namespace batchmd;
using namespace batchmd::dynamics;

namespace {

/// Records, at AFTER_STEP, every system's status and max force, and at ON_CONVERGE the mask.
class StatusRecorder : public Hook {
 public:
  explicit StatusRecorder(Stage s = Stage::AFTER_STEP) : stage_(s) {}
  std::string name() const override { return "status_recorder"; }
  Stage stage() const override { return stage_; }
  void operator()(Context& ctx) override {
    if (stage_ == Stage::ON_CONVERGE) {
      newly.push_back(ctx.newly_converged);
      at.push_back(ctx.step);
      return;
    }
    const auto* st = ctx.batch.get("status").data<std::int32_t>();
    status.emplace_back(st, st + ctx.batch.n_systems());
    fmax.push_back(max_force(ctx.batch));
    active.push_back(ctx.active);
  }
  std::vector<std::vector<std::int32_t>> status;
  std::vector<std::vector<double>> fmax;
  std::vector<std::vector<std::uint8_t>> active;
  std::vector<std::vector<bool>> newly;
  std::vector<std::int64_t> at;

 private:
  Stage stage_;
};

constexpr double kFmax = 2e-3;     // eV/Å
constexpr std::int64_t kNvt = 40;  // steps per thermostat stage

std::vector<std::shared_ptr<Dynamics>> make_stages(std::shared_ptr<model::Model> m) {
  FIREConfig fc;
  fc.dt_max = 20;
  auto fire = std::make_shared<FIRE>(m, 2.0, fc);
  fire->set_convergence(Convergence::fmax(kFmax) | Convergence::steps(3000));
  auto lang = std::make_shared<Langevin>(m, 2.0, 30.0, 0.02, 77);
  lang->set_convergence(Convergence::steps(kNvt));
  auto nhc = std::make_shared<NoseHooverChain>(m, 1.0, 30.0, 50.0, 2);
  nhc->set_convergence(Convergence::steps(kNvt));
  return {fire, lang, nhc};
}

Batch clusters() {
  Batch b = dyn_test::argon(
      "[[cluster]]\ncount = 2\natoms = 13\ntemperature_K = 5\n[[cluster]]\ncount = 2\natoms = 19\n"
      "temperature_K = 5\n[[cluster]]\ncount = 1\natoms = 26\ntemperature_K = 5\n");
  auto* id = b.add_standard("system_id").data<std::int64_t>();
  for (std::int64_t s = 0; s < b.n_systems(); ++s) id[s] = 1000 + 7 * s;
  return b;
}

}  // namespace

TEST(Convergence, CriteriaComposeWithAllAndAny) {
  std::vector<AtomicData> sys;
  sys.push_back(AtomicData::make(DType::Float64, {0.001, 0, 0}, {18}));
  sys.push_back(AtomicData::make(DType::Float64, {1.0, 0, 0}, {18}));
  Batch b = Batch::from_systems(sys);
  test_support::HarmonicModel(1.0).compute(b, false);
  b.add_field("stage_step", Level::System, DType::Int64, {}).data<std::int64_t>()[1] = 10;
  auto& pe = b.add_field("prev_energy", Level::System, DType::Float64, {});
  pe.data<double>()[0] = b.get("energy").data<double>()[0] + 0.5;
  pe.data<double>()[1] = b.get("energy").data<double>()[1] + 1e-9;
  using C = Convergence;
  EXPECT_EQ(C::fmax(0.01).evaluate(b, {}), (std::vector<bool>{true, false}));
  EXPECT_EQ(C::steps(10).evaluate(b, {}), (std::vector<bool>{false, true}));
  EXPECT_EQ(C::energy_change(1e-6).evaluate(b, {}), (std::vector<bool>{false, true}));
  EXPECT_EQ((C::fmax(0.01) | C::steps(10)).evaluate(b, {}), (std::vector<bool>{true, true}));
  EXPECT_EQ((C::fmax(0.01) & C::steps(10)).evaluate(b, {}), (std::vector<bool>{false, false}));
  EXPECT_EQ(C::all_of({C::energy_change(1e-6), C::steps(5)}).evaluate(b, {}), (std::vector<bool>{false, true}));
  EXPECT_EQ((C::fmax(0.01) | C::steps(10)).evaluate(b, {0, 1}), (std::vector<bool>{false, true}));
  EXPECT_EQ((C::fmax(0.01) | C::steps(10)).describe(), "any(fmax<=0.01, steps>=10)");
}

TEST(Convergence, StatusIsSetBeforeAfterStepHooksAndOnConvergeGetsNewlyConverged) {
  Batch b = clusters();
  auto m = std::make_shared<model::LennardJones>(dyn_test::argon_lj());
  FIRE fire(m, 2.0);
  fire.set_convergence(Convergence::fmax(kFmax));
  auto rec = std::make_shared<StatusRecorder>();
  auto conv = std::make_shared<StatusRecorder>(Stage::ON_CONVERGE);
  fire.register_hook(rec);
  fire.register_hook(conv);
  const auto steps = fire.run(b, 3000);
  ASSERT_LT(steps, 3000);
  ASSERT_EQ(rec->status.size(), static_cast<std::size_t>(steps));
  std::vector<bool> seen(static_cast<std::size_t>(b.n_systems()), false);
  std::size_t conv_events = 0;
  for (std::size_t t = 0; t < rec->status.size(); ++t) {
    std::vector<bool> newly(seen.size(), false);
    for (std::size_t s = 0; s < seen.size(); ++s) {
      // the hook already sees this step's status, consistent with this step's forces
      if (rec->status[t][s] == 1 && !seen[s]) {
        EXPECT_LE(rec->fmax[t][s], kFmax);
        EXPECT_TRUE(rec->active[t][s]) << "converged in a step in which it was updated";
        newly[s] = seen[s] = true;
      }
      if (rec->status[t][s] == 0) {
        EXPECT_GT(rec->fmax[t][s], kFmax) << "step " << t << " system " << s;
      }
    }
    bool any = false;
    for (bool n : newly) any = any || n;
    if (any) {
      ASSERT_LT(conv_events, conv->newly.size());
      EXPECT_EQ(conv->newly[conv_events], newly) << "step " << t;
      EXPECT_EQ(conv->at[conv_events], static_cast<std::int64_t>(t));
      ++conv_events;
    }
  }
  EXPECT_EQ(conv_events, conv->newly.size());
  for (bool s : seen) EXPECT_TRUE(s);
}

TEST(FusedStage, SystemsMoveThroughStagesInOrderAndMatchSequentialRuns) {
  Batch fused_batch = clusters();
  const Batch start = fused_batch.clone();
  auto m = std::make_shared<model::LennardJones>(dyn_test::argon_lj());
  FusedStage fused(make_stages(m));
  EXPECT_EQ(fused.name(), "fused(fire+nvt_langevin+nvt_nose_hoover)");
  auto rec = std::make_shared<StatusRecorder>();
  fused.register_hook(rec);
  const auto steps = fused.run(fused_batch, 10000);
  ASSERT_LT(steps, 10000) << "every system should have finished";
  const auto n = static_cast<std::size_t>(fused_batch.n_systems());
  EXPECT_EQ(fused.status_counts(fused_batch), (std::vector<std::int64_t>{0, 0, 0, static_cast<std::int64_t>(n)}));

  // Status per system: starts at 0, never decreases, rises by at most 1 per step, and spends
  // exactly kNvt steps in each thermostat stage.
  bool mixed = false;
  for (std::size_t s = 0; s < n; ++s) {
    std::vector<std::int64_t> steps_in(4, 0);
    std::int32_t prev = 0;
    for (std::size_t t = 0; t < rec->status.size(); ++t) {
      const std::int32_t cur = rec->status[t][s];
      ASSERT_GE(cur, prev);
      ASSERT_LE(cur - prev, 1);
      if (rec->active[t][s]) ++steps_in[static_cast<std::size_t>(prev)];
      EXPECT_EQ(bool(rec->active[t][s]), prev < 3) << "finished systems are not updated";
      prev = cur;
    }
    EXPECT_EQ(prev, 3);
    EXPECT_GT(steps_in[0], 5);
    EXPECT_EQ(steps_in[1], kNvt);
    EXPECT_EQ(steps_in[2], kNvt);
    EXPECT_EQ(fused_batch.get("step").data<std::int64_t>()[s], steps_in[0] + 2 * kNvt);
  }
  for (const auto& row : rec->status) {
    int kinds = 0;
    for (std::int32_t k = 0; k < 4; ++k)
      if (std::find(row.begin(), row.end(), k) != row.end()) ++kinds;
    mixed = mixed || kinds >= 2;
  }
  EXPECT_TRUE(mixed) << "systems should be in different stages at the same time";

  // Reference: each system alone, FIRE to convergence, then Langevin, then NHC.
  for (std::size_t s = 0; s < n; ++s) {
    std::vector<std::int64_t> one{static_cast<std::int64_t>(s)};
    Batch b = start.index_select(one);
    auto m1 = std::make_shared<model::LennardJones>(dyn_test::argon_lj());
    auto stages = make_stages(m1);
    std::int64_t fire_steps = 0;
    for (std::size_t k = 0; k < stages.size(); ++k) {
      if (k > 0) {
        stages[k]->prepare(b);
        stages[k]->start_systems(b, {true});
      }
      const auto taken = stages[k]->run(b, 10000);
      if (k == 0) fire_steps = taken;
      ASSERT_EQ(b.get("status").data<std::int32_t>()[0], 1) << "stage " << k;
    }
    EXPECT_EQ(b.get("step").data<std::int64_t>()[0], fused_batch.get("step").data<std::int64_t>()[s]);
    EXPECT_EQ(fire_steps + 2 * kNvt, b.get("step").data<std::int64_t>()[0]);
    const auto a0 = fused_batch.atoms_ptr_data()[s];
    for (const char* field : {"positions", "velocities"}) {
      const double* x = b.get(field).data<double>();
      const double* xf = fused_batch.get(field).data<double>() + 3 * a0;
      for (std::int64_t i = 0; i < 3 * b.n_atoms(); ++i) ASSERT_NEAR(x[i], xf[i], 1e-8) << field << " system " << s;
    }
    const double* xi = b.get("nhc_xi").data<double>();
    const double* xif = fused_batch.get("nhc_xi").data<double>() + 2 * s;
    EXPECT_NEAR(xi[0], xif[0], 1e-8);
    EXPECT_NEAR(xi[1], xif[1], 1e-8);
  }
}

TEST(FusedStage, SnapshotHookWritesAllStatusesInOneWrite) {
  Batch b = clusters();
  auto m = std::make_shared<model::LennardJones>(dyn_test::argon_lj());
  FusedStage fused(make_stages(m));
  auto sink = std::make_shared<sinks::HostMemory>(100000);
  auto snap = std::make_shared<hooks::SnapshotHook>(sink, 1);
  fused.register_hook(snap);
  const auto steps = fused.run(b, 10000);
  const Batch all = sink->read();
  const auto n = b.n_systems();
  ASSERT_EQ(all.n_systems(), steps * n) << "one write per step, every system in it";
  const auto* st = all.get("status").data<std::int32_t>();
  const auto* id = all.get("system_id").data<std::int64_t>();
  bool mixed_write = false;
  for (std::int64_t w = 0; w < steps; ++w) {
    std::set<std::int32_t> kinds;
    for (std::int64_t s = 0; s < n; ++s) {
      EXPECT_EQ(id[w * n + s], 1000 + 7 * s);
      kinds.insert(st[w * n + s]);
    }
    mixed_write = mixed_write || kinds.size() >= 2;
  }
  EXPECT_TRUE(mixed_write);
  for (std::int64_t s = 0; s < n; ++s) EXPECT_EQ(st[(steps - 1) * n + s], 3);
}

TEST(FusedStage, RejectsBadStageLists) {
  auto m = std::make_shared<test_support::HarmonicModel>(1.0);
  EXPECT_THROW(FusedStage({}), InvalidArgument);
  auto f = std::make_shared<FIRE>(m, 1.0);
  EXPECT_THROW(FusedStage({f, f}), InvalidArgument);
}
