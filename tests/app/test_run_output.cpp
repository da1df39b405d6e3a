// SPDX-License-Identifier: Apache-2.0
// `[output]` keys that tune the trajectory writer reach it through `batchmd run`:
// commit_interval_s (the loss window of a kill) is the one the store records as
// batchmd.commit_interval_s, so a reader of the store can tell what a kill could have cost.
// (Its range and the exit-2 error naming the key are checked with every key in
// test_config_ranges.cpp.)
#include "app_test_util.hpp"
#include "batchmd/sinks/zarr_data.hpp"

using namespace batchmd;
using namespace batchmd::app_test;

namespace {

double stored_commit_interval(const std::string& name, const std::string& output_keys) {
  const std::string store = tmp_path(name + ".zarr");
  app::RunOptions o;
  o.config_path = write_file(name + ".toml",
                             "[run]\nsteps = 6\n[[cluster]]\ncount = 2\natoms = 13\n"
                             "[output]\nprogress = false\nsnapshot_every = 2\n" +
                                 output_keys);
  o.output = store;
  const RunResult r = run_captured(o);
  EXPECT_EQ(r.rc, 0) << r.out;
  sinks::TrajectoryReader traj(store);
  EXPECT_GT(traj.num_samples(), 0);
  return traj.batchmd_attributes().at("commit_interval_s").get<double>();
}

}  // namespace

TEST(RunOutput, CommitIntervalReachesTheStore) {
  EXPECT_EQ(stored_commit_interval("commit_default", ""), 1.0);  // ZarrWriteConfig's default
  EXPECT_EQ(stored_commit_interval("commit_quarter", "commit_interval_s = 0.25\n"), 0.25);
  EXPECT_EQ(stored_commit_interval("commit_every", "commit_interval_s = 0.0\n"), 0.0);
}
