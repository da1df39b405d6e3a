// SPDX-License-Identifier: Apache-2.0
// Tests for inflight batching: every input structure comes out exactly once (from a list and
// from a Zarr trajectory store), relaxed, with the batch kept within its fixed capacity and
// full while input remains; each output equals relaxing that structure alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/fused.hpp"
#include "batchmd/dynamics/inflight.hpp"
#include "batchmd/dynamics/integrators.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "dyn_test_util.hpp"

using namespace batchmd;
using namespace batchmd::dynamics;

namespace {

constexpr double kFmax = 2e-3;

/// 23 argon clusters of 5..27 atoms (varied sizes so slots free up unevenly).
std::vector<AtomicData> inputs() {
  std::string toml;
  for (int n = 5; n <= 27; ++n)
    toml += "[[cluster]]\ncount = 1\natoms = " + std::to_string(n) + "\ntemperature_K = 5\n";
  return dyn_test::argon(toml).split();
}

/// Checks capacity and fullness after every step.
class CapacityHook : public Hook {
 public:
  CapacityHook(std::int64_t s, std::int64_t a) : max_s_(s), max_a_(a) {}
  std::string name() const override { return "capacity"; }
  Stage stage() const override { return Stage::BEFORE_STEP; }
  void operator()(Context& ctx) override {
    EXPECT_LE(ctx.batch.n_systems(), max_s_);
    EXPECT_LE(ctx.batch.n_atoms(), max_a_);
    max_seen = std::max(max_seen, ctx.batch.n_systems());
    systems_per_step.push_back(ctx.batch.n_systems());
  }
  std::int64_t max_seen = 0;
  std::vector<std::int64_t> systems_per_step;

 private:
  std::int64_t max_s_, max_a_;
};

std::shared_ptr<FIRE> make_fire() {
  FIREConfig fc;
  fc.dt_max = 20;
  auto f = std::make_shared<FIRE>(std::make_shared<model::LennardJones>(dyn_test::argon_lj()), 2.0, fc);
  f->set_convergence(Convergence::fmax(kFmax));
  return f;
}

void check_outputs(const Batch& out, const std::vector<AtomicData>& in, std::int32_t final_status) {
  ASSERT_EQ(out.n_systems(), static_cast<std::int64_t>(in.size()));
  std::map<std::int64_t, int> seen;
  const auto* idx = out.get("input_index").data<std::int64_t>();
  const auto* st = out.get("status").data<std::int32_t>();
  const auto* ap = out.atoms_ptr_data();
  const auto f = max_force(out);
  for (std::int64_t s = 0; s < out.n_systems(); ++s) {
    ++seen[idx[s]];
    ASSERT_GE(idx[s], 0);
    ASSERT_LT(idx[s], static_cast<std::int64_t>(in.size()));
    EXPECT_EQ(ap[s + 1] - ap[s], in[static_cast<std::size_t>(idx[s])].n_atoms()) << "input " << idx[s];
    EXPECT_EQ(st[s], final_status);
    if (final_status == 1) {
      EXPECT_LE(f[static_cast<std::size_t>(s)], kFmax);
    }
  }
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(in.size()); ++i) EXPECT_EQ(seen[i], 1) << "input " << i;
}

}  // namespace

TEST(Inflight, EveryInputComesOutExactlyOnceRelaxed) {
  auto in = inputs();
  auto fire = make_fire();
  auto cap = std::make_shared<CapacityHook>(5, 400);
  fire->register_hook(cap);
  auto sink = std::make_shared<sinks::HostMemory>(1000);
  InflightBatcher inflight(fire, std::make_shared<VectorSource>(inputs()), sink, 5, 400);
  const auto r = inflight.run(100000);
  EXPECT_EQ(r.finished, static_cast<std::int64_t>(in.size()));
  EXPECT_EQ(r.unfinished, 0);
  EXPECT_EQ(r.not_loaded, 0);
  EXPECT_EQ(cap->max_seen, 5);
  // Atoms never bind here (5 × 27 < 400): the batch holds 5 systems at every step until the
  // input is exhausted, then drains (the count never rises again).
  ASSERT_FALSE(cap->systems_per_step.empty());
  EXPECT_EQ(cap->systems_per_step.front(), 5);
  for (std::size_t t = 1; t < cap->systems_per_step.size(); ++t)
    EXPECT_LE(cap->systems_per_step[t], cap->systems_per_step[t - 1]) << "step " << t;
  EXPECT_GT(std::count(cap->systems_per_step.begin(), cap->systems_per_step.end(), 5), 20);
  check_outputs(sink->read(), in, 1);

  // Each output equals relaxing that structure alone (system ids are the input indices).
  Batch out = sink->read();
  const auto* idx = out.get("input_index").data<std::int64_t>();
  for (std::int64_t s : {std::int64_t{0}, out.n_systems() / 2, out.n_systems() - 1}) {
    std::vector<AtomicData> one;
    one.push_back(in[static_cast<std::size_t>(idx[s])].clone());
    Batch b = Batch::from_systems(one);
    auto alone = make_fire();
    alone->run(b, 100000);
    const double* x = b.get("positions").data<double>();
    const double* xo = out.get("positions").data<double>() + 3 * out.atoms_ptr_data()[s];
    for (std::int64_t i = 0; i < 3 * b.n_atoms(); ++i) ASSERT_NEAR(x[i], xo[i], 1e-6) << "input " << idx[s];
    EXPECT_EQ(b.get("step").data<std::int64_t>()[0], out.get("step").data<std::int64_t>()[s]);
  }
}

TEST(Inflight, FusedStagesFromAZarrStore) {
  auto in = inputs();
  const std::string url = "memory://inflight_inputs";
  {
    sinks::ZarrData store(url, 1000);
    store.write(Batch::from_systems(in));
    store.flush();
  }
  auto m = std::make_shared<model::LennardJones>(dyn_test::argon_lj());
  FIREConfig fc;
  fc.dt_max = 20;
  auto fire = std::make_shared<FIRE>(m, 2.0, fc);
  fire->set_convergence(Convergence::fmax(kFmax));
  auto nvt = std::make_shared<Langevin>(m, 2.0, 20.0, 0.02, 3);
  nvt->set_convergence(Convergence::steps(25));
  auto fused = std::make_shared<FusedStage>(std::vector<std::shared_ptr<Dynamics>>{fire, nvt});
  auto cap = std::make_shared<CapacityHook>(4, 70);
  fused->register_hook(cap);
  auto sink = std::make_shared<sinks::HostMemory>(1000);
  InflightBatcher inflight(fused, std::make_shared<TrajectorySource>(url), sink, 4, 70);
  const auto r = inflight.run(100000);
  EXPECT_EQ(r.finished, static_cast<std::int64_t>(in.size()));
  check_outputs(sink->read(), in, 2);
  Batch out = sink->read();
  const auto* stage_step = out.get("stage_step").data<std::int64_t>();
  for (std::int64_t s = 0; s < out.n_systems(); ++s) EXPECT_EQ(stage_step[s], 0);  // reset on finishing
}

TEST(Inflight, MaxStepsWritesTheUnfinishedOnceAndReportsTheRest) {
  auto in = inputs();
  auto sink = std::make_shared<sinks::HostMemory>(1000);
  InflightBatcher inflight(make_fire(), std::make_shared<VectorSource>(inputs()), sink, 3, 60);
  const auto r = inflight.run(30);
  EXPECT_EQ(r.steps, 30);
  EXPECT_GT(r.not_loaded, 0);
  EXPECT_EQ(sink->size(), r.finished + r.unfinished);
  EXPECT_EQ(r.finished + r.unfinished + r.not_loaded, static_cast<std::int64_t>(in.size()));
  Batch out = sink->read();
  std::map<std::int64_t, int> seen;
  for (std::int64_t s = 0; s < out.n_systems(); ++s) ++seen[out.get("input_index").data<std::int64_t>()[s]];
  for (auto& [k, c] : seen) EXPECT_EQ(c, 1) << k;
  EXPECT_EQ(static_cast<std::int64_t>(seen.size()), r.finished + r.unfinished);
}

TEST(Inflight, RejectsImpossibleInputs) {
  auto sink = std::make_shared<sinks::HostMemory>(1000);
  auto rev = inputs();
  std::reverse(rev.begin(), rev.end());
  InflightBatcher tiny(make_fire(), std::make_shared<VectorSource>(std::move(rev)), sink, 3, 20);
  EXPECT_THROW(tiny.run(10), InvalidArgument);  // a 27-atom input can never fit in 20 atoms
  auto vv = std::make_shared<DemoDynamics>(std::make_shared<model::LennardJones>(dyn_test::argon_lj()), 2.0);
  EXPECT_THROW(InflightBatcher(vv, std::make_shared<VectorSource>(inputs()), sink, 3, 100), InvalidArgument);
}
