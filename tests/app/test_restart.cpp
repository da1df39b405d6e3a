// Restart checkpoints: a run of 2N steps equals, bitwise on the CPU, a run of N steps plus a
// restart for N from the trajectory it wrote; and restart errors are clear.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "batchmd/app/commands.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/sinks/zarr_data.hpp"

using namespace batchmd;
namespace fs = std::filesystem;

namespace {

std::string tmp(const std::string& name) {
  auto p = fs::path(::testing::TempDir()) / ("batchmd_restart_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  return p.string();
}

int run(app::RunOptions o) {
  o.quiet = true;
  std::FILE* devnull = std::fopen("/dev/null", "w");
  const int rc = app::run_command(o, devnull);
  std::fclose(devnull);
  return rc;
}

void expect_bitwise_equal_last_states(const std::string& a, const std::string& b, std::int64_t step) {
  sinks::TrajectoryReader ra(a), rb(b);
  Batch la = sinks::last_snapshot_per_system(ra), lb = sinks::last_snapshot_per_system(rb);
  ASSERT_EQ(la.n_systems(), lb.n_systems());
  for (std::int64_t s = 0; s < la.n_systems(); ++s) EXPECT_EQ(la.get("step").data<std::int64_t>()[s], step);
  for (const auto& [k, f] : la.fields()) {
    ASSERT_TRUE(lb.has(k)) << k;
    ASSERT_EQ(f.tensor.nbytes(), lb.get(k).nbytes()) << k;
    EXPECT_EQ(0, std::memcmp(f.tensor.raw(), lb.get(k).raw(), f.tensor.nbytes())) << "field " << k << " differs";
  }
}

}  // namespace

TEST(Restart, TwoNStepsEqualNPlusRestartForNBitwise) {
  const std::string job = tmp("job.toml");
  std::ofstream(job) << "[run]\nsteps = 400\ndt_fs = 4.0\nseed = 3\n"
                        "[[liquid]]\ncount = 2\ncells = 3\ntemperature_K = 120\n"
                        "[[cluster]]\ncount = 2\natoms = 38\ntemperature_K = 40\n"
                        "[output]\nsnapshot_every = 30\nprogress = false\n";
  const std::string whole = tmp("whole.zarr"), part = tmp("part.zarr");
  app::RunOptions o;
  o.config_path = job;
  o.output = whole;
  ASSERT_EQ(run(o), 0);
  o.output = part;
  o.steps = 200;
  ASSERT_EQ(run(o), 0);
  app::RunOptions r;
  r.restart = part;  // the job comes from the store
  r.steps = 200;
  ASSERT_EQ(run(r), 0);
  expect_bitwise_equal_last_states(whole, part, 400);
  // the restarted trajectory continued in the same store, in order
  sinks::TrajectoryReader rp(part);
  const auto steps = rp.read_range(0, rp.num_samples());
  const auto* st = steps.get("step").data<std::int64_t>();
  for (std::int64_t i = 1; i < rp.num_samples(); ++i) EXPECT_LE(st[i - 1], st[i]);
  fs::remove_all(whole);
  fs::remove_all(part);
  fs::remove(job);
}

TEST(Restart, BadRestartSourcesGiveClearErrors) {
  app::RunOptions r;
  r.restart = tmp("missing.zarr");
  EXPECT_THROW(run(r), FormatError);
  // a trajectory without a recorded job and without a job file
  const std::string foreign = tmp("foreign.zarr");
  {
    sinks::ZarrData sink(foreign, 10);
    std::vector<AtomicData> one;
    one.push_back(AtomicData::make(DType::Float64, {0, 0, 0}, {18}));
    sink.write(Batch::from_systems(one));
  }
  r.restart = foreign;
  try {
    run(r);
    FAIL() << "expected an error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("records no job"), std::string::npos) << e.what();
  }
  fs::remove_all(foreign);
}
