// SPDX-License-Identifier: Apache-2.0
// Restart checkpoints: a run of 2N steps equals, bitwise on the CPU, a run of N steps plus a
// restart for N from the trajectory it wrote — for plain NVE, FIRE, FIRE2, Langevin, Nosé–Hoover
// and the default fused relax-then-NVT pipeline, appending to the store or into --output; and
// restart errors are clear.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <utility>

#include "batchmd/app/commands.hpp"
#include "batchmd/app/config.hpp"
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

/// run_command quietly, on the CPU (bit-for-bit restarts are a promise of the CPU backend).
int run(app::RunOptions o) {
  o.quiet = true;
  o.device = "cpu";
  std::FILE* devnull = std::fopen("/dev/null", "w");
  const int rc = app::run_command(o, devnull);
  std::fclose(devnull);
  return rc;
}

void expect_bitwise_equal_last_states(const std::string& a, const std::string& b, std::int64_t step) {
  sinks::TrajectoryReader ra(a), rb(b);
  Batch la = sinks::last_snapshot_per_system(ra), lb = sinks::last_snapshot_per_system(rb);
  ASSERT_EQ(la.n_systems(), lb.n_systems());
  // (a system that finished its last stage early is last recorded when it finished)
  const auto* st = la.get("step").data<std::int64_t>();
  EXPECT_EQ(*std::max_element(st, st + la.n_systems()), step);
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

namespace {

/// Every sample of `part` taken after `after` equals, bit for bit, the sample of the same system
/// and step in `whole` (samples present in both; at least `min_common` of them).
void expect_continuation_equals_whole(const std::string& whole, const std::string& part, std::int64_t after,
                                      std::int64_t min_common) {
  sinks::TrajectoryReader rw(whole), rp(part);
  const Batch bw = rw.read_range(0, rw.num_samples()), bp = rp.read_range(0, rp.num_samples());
  std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> at;  // (system_id, step) -> sample of whole
  for (std::int64_t i = 0; i < bw.n_systems(); ++i)
    at[{bw.get("system_id").data<std::int64_t>()[i], bw.get("step").data<std::int64_t>()[i]}] = i;
  std::int64_t common = 0;
  for (std::int64_t i = 0; i < bp.n_systems(); ++i) {
    const std::int64_t id = bp.get("system_id").data<std::int64_t>()[i], step = bp.get("step").data<std::int64_t>()[i];
    if (step <= after) continue;
    const auto it = at.find({id, step});
    if (it == at.end()) continue;
    ++common;
    const AtomicData a = bw.system(it->second), b = bp.system(i);
    for (const auto& [k, t] : a.fields()) {
      ASSERT_TRUE(b.has(k)) << k;
      ASSERT_EQ(t.tensor.nbytes(), b.get(k).nbytes()) << k;
      EXPECT_EQ(0, std::memcmp(t.tensor.raw(), b.get(k).raw(), t.tensor.nbytes()))
          << "field " << k << " of system " << id << " at step " << step;
    }
  }
  EXPECT_GE(common, min_common);
}

struct RestartCase {
  const char* name;
  const char* stages;  // [[stage]] tables
  std::int64_t half;   // N: a run of 2N steps vs N + a restart for N
};

void PrintTo(const RestartCase& c, std::ostream* os) { *os << c.name; }  // readable CTest names

class RestartStages : public ::testing::TestWithParam<RestartCase> {};

}  // namespace

// Every integrator keeps its state (FIRE's dt, alpha and step counter, the thermostat chain,
// the Langevin stream's position, FusedStage's statuses) in the batch or the model state, so
// a restart from the stored end state continues bit for bit.
TEST_P(RestartStages, TwoNStepsEqualNPlusRestartForNBitwise) {
  const RestartCase& c = GetParam();
  const std::string job = tmp(std::string(c.name) + ".toml");
  std::ofstream(job) << "[run]\nsteps = " << 2 * c.half
                     << "\ndt_fs = 2.0\nseed = 5\n"
                        "[model]\nshift_energy = true\n"
                        "[[liquid]]\ncount = 1\ncells = 3\ntemperature_K = 94\n"
                        "[[cluster]]\ncount = 2\natoms = 13\ntemperature_K = 20\n"
                        "[[cluster]]\ncount = 1\natoms = 55\ntemperature_K = 20\n"
                     << c.stages << "[output]\nsnapshot_every = 7\nprogress = false\n";
  const std::string whole = tmp(std::string(c.name) + "_whole.zarr"), part = tmp(std::string(c.name) + "_part.zarr");
  app::RunOptions o;
  o.config_path = job;
  o.output = whole;
  ASSERT_EQ(run(o), 0);
  o.output = part;
  o.steps = c.half;
  ASSERT_EQ(run(o), 0);
  app::RunOptions r;
  r.restart = part;  // the job comes from the store; appends to it
  r.steps = c.half;
  ASSERT_EQ(run(r), 0);
  expect_bitwise_equal_last_states(whole, part, 2 * c.half);
  expect_continuation_equals_whole(whole, part, c.half, 4 * (c.half / 7));
  for (const auto& s : {whole, part}) {
    fs::remove_all(s);
    fs::remove_all(s.substr(0, s.size() - 5) + ".relaxed.zarr");
  }
  fs::remove(job);
}

INSTANTIATE_TEST_SUITE_P(
    Stages, RestartStages,
    ::testing::Values(
        RestartCase{"fire", "[[stage]]\ntype = \"fire\"\nfmax = 1e-9\n", 60},
        RestartCase{"fire2", "[[stage]]\ntype = \"fire2\"\nfmax = 1e-9\n", 60},
        RestartCase{"langevin", "[[stage]]\ntype = \"nvt_langevin\"\ntemperature_K = 60\nfriction_per_fs = 0.02\n", 60},
        RestartCase{"nose_hoover", "[[stage]]\ntype = \"nvt_nose_hoover\"\ntemperature_K = 60\ntau_fs = 50\n", 60},
        // the default job's pipeline, cut while some systems still relax (FIRE converges them
        // between steps ~10 and ~50) and others already run Langevin
        RestartCase{"fused_default",
                    "[[stage]]\ntype = \"fire\"\nfmax = 0.005\nmax_steps = 1000\n"
                    "[[stage]]\ntype = \"nvt_langevin\"\ntemperature_K = 40.0\nfriction_per_fs = 0.01\n",
                    25}),
    [](const ::testing::TestParamInfo<RestartCase>& i) { return std::string(i.param.name); });

TEST(Restart, FusedDefaultPipelineRestartsIntoAnotherOutput) {
  // --restart A -o B: the continuation (and its relaxed structures) go to B; A is left as it was.
  const std::string job = tmp("fused_out.toml");
  std::ofstream(job) << "[run]\nsteps = 50\ndt_fs = 2.0\nseed = 9\n"
                        "[model]\nshift_energy = true\n"
                        "[[liquid]]\ncount = 1\ncells = 3\n[[cluster]]\ncount = 2\natoms = 13\n"
                        "[[stage]]\ntype = \"fire\"\nfmax = 0.005\nmax_steps = 1000\n"
                        "[[stage]]\ntype = \"nvt_langevin\"\ntemperature_K = 40.0\n"
                        "[hooks]\nconverged_snapshots = true\n"
                        "[output]\nsnapshot_every = 5\nprogress = false\n";
  const std::string whole = tmp("fo_whole.zarr"), part = tmp("fo_part.zarr"), next = tmp("fo_next.zarr");
  auto relaxed_of = [](const std::string& s) { return s.substr(0, s.size() - 5) + ".relaxed.zarr"; };
  app::RunOptions o;
  o.config_path = job;
  o.output = whole;
  ASSERT_EQ(run(o), 0);
  o.output = part;
  o.steps = 15;  // FIRE converges these systems at steps 13, 16 and 19
  ASSERT_EQ(run(o), 0);
  const std::int64_t part_samples = sinks::TrajectoryReader(part).num_samples();
  const std::int64_t part_relaxed = sinks::TrajectoryReader(relaxed_of(part)).num_samples();
  app::RunOptions r;
  r.restart = part;
  r.output = next;
  r.steps = 35;
  ASSERT_EQ(run(r), 0);
  EXPECT_EQ(sinks::TrajectoryReader(part).num_samples(), part_samples) << "the restart source was appended to";
  EXPECT_EQ(sinks::TrajectoryReader(relaxed_of(part)).num_samples(), part_relaxed);
  sinks::TrajectoryReader rn(next);
  const Batch all = rn.read_range(0, rn.num_samples());
  for (std::int64_t i = 0; i < all.n_systems(); ++i) EXPECT_GT(all.get("step").data<std::int64_t>()[i], 15);
  expect_bitwise_equal_last_states(whole, next, 50);
  expect_continuation_equals_whole(whole, next, 15, 10);
  // every system converged exactly once, before or after the cut: the relaxed structures of
  // part + next are those of the whole run
  const std::int64_t n_relaxed = sinks::TrajectoryReader(relaxed_of(whole)).num_samples();
  EXPECT_EQ(n_relaxed, 3);
  EXPECT_GT(part_relaxed, 0) << "the cut should fall after some system converged";
  EXPECT_LT(part_relaxed, n_relaxed) << "the cut should fall before every system converged";
  EXPECT_EQ(part_relaxed + sinks::TrajectoryReader(relaxed_of(next)).num_samples(), n_relaxed);
  for (const auto& s : {whole, part, next}) {
    fs::remove_all(s);
    fs::remove_all(relaxed_of(s));
  }
  fs::remove(job);
}

// Pressure control: the barostat state (npt_* fields, the cell, FIRECell's reference cell) is
// recorded with every snapshot, so a restart continues MTK, stochastic cell rescaling and a
// variable-cell relaxation bit for bit (periodic systems only: these stages refuse clusters).
TEST(Restart, PressureStagesContinueBitwise) {
  const std::pair<const char*, const char*> cases[] = {
      {"npt_mtk",
       "[[stage]]\ntype = \"npt_mtk\"\ntemperature_K = 94\npressure_bar = 200\ncell = \"full\"\n"
       "tau_p_fs = 500\n"},
      {"fire_cell_csr",
       "[[stage]]\ntype = \"fire_cell\"\nfmax = 0.01\nstress_tol_bar = 50\nmax_steps = 20\n"
       "[[stage]]\ntype = \"npt_csr\"\ntemperature_K = 60\npressure_bar = 100\n"},
      {"npt_csr_full", "[[stage]]\ntype = \"npt_csr\"\ntemperature_K = 60\npressure_bar = 100\ncell = \"full\"\n"},
      // stress targets: MTK's deviatoric work (npt_stress_work) travels with the snapshots
      {"npt_mtk_stress",
       "[[stage]]\ntype = \"npt_mtk\"\ntemperature_K = 94\nstress_bar = [-300, -100, -200, 50, 0, -80]\n"
       "cell = \"full\"\ntau_p_fs = 500\n"},
      {"fire_cell_csr_stress",
       "[[stage]]\ntype = \"fire_cell\"\ncell = \"full\"\nfmax = 0.01\nstress_tol_bar = 50\nmax_steps = 20\n"
       "stress_bar = [200, -100, 0, 0, 30, 0]\n"
       "[[stage]]\ntype = \"npt_csr\"\ntemperature_K = 60\nstress_bar = [100, -200, -300, 0, 0, 40]\n"
       "cell = \"full\"\n"}};
  for (const auto& [name, stages] : cases) {
    const std::string job = tmp(std::string(name) + ".toml");
    std::ofstream(job) << "[run]\nsteps = 60\ndt_fs = 2.0\nseed = 5\n[model]\nshift_energy = true\n"
                          "[[liquid]]\ncount = 2\ncells = 3\ntemperature_K = 94\n"
                       << stages << "[output]\nsnapshot_every = 7\nprogress = false\n";
    const std::string whole = tmp(std::string(name) + "_whole.zarr"), part = tmp(std::string(name) + "_part.zarr");
    app::RunOptions o;
    o.config_path = job;
    o.output = whole;
    ASSERT_EQ(run(o), 0) << name;
    o.output = part;
    o.steps = 30;
    ASSERT_EQ(run(o), 0) << name;
    app::RunOptions r;
    r.restart = part;
    r.steps = 30;
    ASSERT_EQ(run(r), 0) << name;
    expect_bitwise_equal_last_states(whole, part, 60);
    expect_continuation_equals_whole(whole, part, 30, 4);
    for (const auto& s : {whole, part}) {
      fs::remove_all(s);
      fs::remove_all(s.substr(0, s.size() - 5) + ".relaxed.zarr");
    }
    fs::remove(job);
  }
}

// [output] precision: the run stores those fields at that precision (within half of it), and a
// restart from such a trajectory is refused naming the field — its positions are not exact.
TEST(Restart, AFixedPrecisionTrajectoryRunsAndRefusesToRestart) {
  const std::string job = tmp("q.toml");
  std::ofstream(job) << "[run]\nsteps = 60\ndt_fs = 4.0\nseed = 3\n"
                        "[[liquid]]\ncount = 2\ncells = 3\ntemperature_K = 120\n"
                        "[output]\nsnapshot_every = 30\nprogress = false\n"
                        "precision = { positions = 1e-3, velocities = 1e-5 }\n";
  const std::string out = tmp("q.zarr");
  app::RunOptions o;
  o.config_path = job;
  o.output = out;
  ASSERT_EQ(run(o), 0);
  sinks::TrajectoryReader r(out);
  ASSERT_GT(r.num_samples(), 0);
  bool seen = false;
  for (const auto& f : r.fields())
    if (f.name == "positions") {
      EXPECT_EQ(f.codecs, "fixedscaleoffset+zstd");
      seen = true;
    }
  EXPECT_TRUE(seen);
  const Batch b = r.read_range(0, r.num_samples());
  const double* x = b.get("positions").data<double>();
  for (std::int64_t i = 0; i < 3 * b.n_atoms(); ++i) EXPECT_EQ(x[i], std::nearbyint(x[i] * 1000.0) / 1000.0) << i;
  app::RunOptions rr;
  rr.restart = out;
  try {
    run(rr);
    FAIL() << "a fixed-precision trajectory restarted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("field 'positions' is stored at a fixed precision"), std::string::npos)
        << e.what();
  }
  try {
    app::parse_config("[[liquid]]\ncount = 1\ncells = 3\n[output]\nprecision = { positions = -1 }\n", "job.toml");
    FAIL() << "a negative precision was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("'output.precision' entry 'positions' must be a number > 0"),
              std::string::npos)
        << e.what();
  }
  fs::remove_all(out);
  fs::remove(job);
}
