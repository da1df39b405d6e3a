// SPDX-License-Identifier: Apache-2.0
// Tests for hooks: SnapshotHook writes the whole batch at AFTER_STEP every N steps: every field,
// with the values of the state after the step (checked bitwise and against velocity Verlet worked
// out in the test).
#include <gtest/gtest.h>

#include <cstring>

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

TEST(SnapshotHook, RecordsTheValuesOfTheStateAfterEachSnapshotStep) {
  // Two systems of atoms on springs (k = 1 eV/Å² to the origin), velocity Verlet with dt = 1 fs,
  // a snapshot every 10 steps. The recorded values must be the state after steps 1, 11, ..., 91:
  //  - bitwise equal to the same dynamics advanced one step at a time and read directly, and
  //  - equal to velocity Verlet for x'' = -(k/m) x worked out here, coordinate by coordinate.
  auto make = [] {
    std::vector<AtomicData> sys;
    sys.push_back(AtomicData::make(DType::Float64, {0.5, 0, 0.1, -0.5, 0.2, 0}, {18, 18}));
    sys.push_back(AtomicData::make(DType::Float64, {0.2, 0.1, -0.3}, {10}));
    Batch b = Batch::from_systems(sys);
    auto* v = b.add_standard("velocities").data<double>();
    for (std::int64_t i = 0; i < 3 * b.n_atoms(); ++i) v[i] = 1e-3 * static_cast<double>(i % 5) - 2e-3;
    return b;
  };
  const double k = 1.0, dt = 1.0;
  Batch b = make();
  auto sink = std::make_shared<sinks::HostMemory>(1000);
  dynamics::DemoDynamics dyn(std::make_shared<test_support::HarmonicModel>(k), dt);
  dyn.register_hook(std::make_shared<hooks::SnapshotHook>(sink, 10));
  dyn.run(b, 100);
  const Batch r = sink->read();
  ASSERT_EQ(r.n_systems(), 20);

  Batch ref = make();
  dynamics::DemoDynamics one(std::make_shared<test_support::HarmonicModel>(k), dt);
  // Independent velocity Verlet: a = -k x / m in Å/fs² (1 eV/(Å amu) = 9.648533e-3 Å/fs², from
  // CODATA: (e / 1 Å) / u in m/s², times 1e-20 Å/fs² per m/s²); forces and energy follow from x.
  const double accel = 1.602176634e-19 / 1e-10 / 1.66053906660e-27 * 1e-20;
  const double* m0 = nullptr;
  std::vector<double> x(ref.get("positions").data<double>(), ref.get("positions").data<double>() + 9);
  std::vector<double> v(ref.get("velocities").data<double>(), ref.get("velocities").data<double>() + 9);
  for (int step = 1; step <= 91; ++step) {
    one.run(ref, 1);
    if (!m0) m0 = ref.get("masses").data<double>();
    for (int c = 0; c < 9; ++c) {
      const double w2 = k / m0[c / 3] * accel;
      const double a0 = -w2 * x[c];
      x[c] += v[c] * dt + 0.5 * a0 * dt * dt;
      v[c] += 0.5 * (a0 - w2 * x[c]) * dt;
    }
    if ((step - 1) % 10 != 0) continue;
    const std::int64_t snap = (step - 1) / 10;
    for (std::int64_t s = 0; s < 2; ++s) {
      const AtomicData got = r.system(2 * snap + s), want = ref.system(s);
      for (const auto& [name, f] : want.fields()) {  // every field, bitwise
        ASSERT_TRUE(got.has(name)) << name;
        ASSERT_EQ(got.get(name).nbytes(), f.tensor.nbytes()) << name;
        EXPECT_EQ(0, std::memcmp(got.get(name).raw(), f.tensor.raw(), f.tensor.nbytes()))
            << name << " of system " << s << " at step " << step;
      }
      EXPECT_EQ(got.get("step").data<std::int64_t>()[0], step);
      EXPECT_EQ(got.get("system_id").data<std::int64_t>()[0], s);
      const std::int64_t first = s == 0 ? 0 : 2, n = s == 0 ? 2 : 1;
      double e = 0;
      for (std::int64_t i = 0; i < 3 * n; ++i) {
        const auto c = static_cast<std::size_t>(3 * first + i);
        EXPECT_NEAR(got.get("positions").data<double>()[i], x[c], 1e-9) << "step " << step;
        EXPECT_NEAR(got.get("velocities").data<double>()[i], v[c], 1e-11) << "step " << step;
        EXPECT_NEAR(got.get("forces").data<double>()[i], -k * x[c], 1e-9) << "step " << step;
        e += 0.5 * k * x[c] * x[c];
      }
      EXPECT_NEAR(got.get("energy").data<double>()[0], e, 1e-9) << "step " << step;
    }
  }
  // and the motion is real: the last snapshot (step 91) is not the end state (step 100)
  EXPECT_NE(r.get("positions").data<double>()[0], b.get("positions").data<double>()[0]);
}
