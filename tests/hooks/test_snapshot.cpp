// Tests for hooks: SnapshotHook writes the whole batch at AFTER_STEP every N steps.
#include <gtest/gtest.h>

#include "../support/harmonic_model.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/hooks/snapshot.hpp"

using namespace batchmd;

TEST(SnapshotHook, WritesEveryFieldEveryNStepsAfterTheUpdate) {
  std::vector<AtomicData> sys;
  sys.push_back(AtomicData::make(DType::Float64, {0.5, 0, 0, -0.5, 0, 0}, {18, 18}));
  sys.push_back(AtomicData::make(DType::Float64, {0.2, 0.1, 0}, {10}));
  Batch b = Batch::from_systems(sys);
  auto sink = std::make_shared<sinks::HostMemory>(1000);
  auto hook = std::make_shared<hooks::SnapshotHook>(sink, 10);
  dynamics::DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(1.0), 1.0);
  dyn.register_hook(hook);
  dyn.run(b, 100);
  EXPECT_EQ(hook->snapshots(), 10);
  Batch r = sink->read();
  ASSERT_EQ(r.n_systems(), 20);
  for (const auto& [k, f] : b.fields()) EXPECT_TRUE(r.has(k)) << k;
  // the snapshot of step k was taken after the step's update: its "step" field counts
  // completed steps (1, 11, 21, ...) and the last snapshot at step 91 differs from the end state
  const auto* steps = r.get("step").data<std::int64_t>();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(steps[2 * i], 10 * i + 1);
    EXPECT_EQ(steps[2 * i + 1], 10 * i + 1);
  }
  EXPECT_EQ(r.get("system_id").data<std::int64_t>()[3], 1);
  EXPECT_THROW(hooks::SnapshotHook(sink, 0), InvalidArgument);
  EXPECT_THROW(hooks::SnapshotHook(nullptr, 1), InvalidArgument);
}

TEST(SnapshotHook, FullSinkStopsTheRunWithCapacityError) {
  std::vector<AtomicData> sys;
  sys.push_back(AtomicData::make(DType::Float64, {0.5, 0, 0}, {18}));
  Batch b = Batch::from_systems(sys);
  auto sink = std::make_shared<sinks::HostMemory>(3);
  dynamics::DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(1.0), 1.0);
  dyn.register_hook(std::make_shared<hooks::SnapshotHook>(sink, 1));
  EXPECT_THROW(dyn.run(b, 10), CapacityError);
  EXPECT_EQ(sink->size(), 3);  // what was stored stays
}
