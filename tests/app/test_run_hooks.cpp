// SPDX-License-Identifier: Apache-2.0
// The outputs `[hooks]` turns on in a job, end to end through `batchmd run`: the CSV log holds,
// for every logged step and system, the values of the state the trajectory recorded at that step
// (recomputed here from the stored velocities, masses and forces), and the profiler's table
// counts every stage of every step and its times add up within the run's wall time.
#include <set>

#include "app_test_util.hpp"
#include "batchmd/sinks/zarr_data.hpp"

using namespace batchmd;
using namespace batchmd::app_test;

namespace {

struct CsvRow {
  std::int64_t step, system_id, status;
  double energy, kinetic_energy, temperature, fmax;
};

std::vector<CsvRow> read_csv(const std::string& path, std::string* header) {
  std::istringstream in(read_text(path));
  std::getline(in, *header);
  std::vector<CsvRow> rows;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> c;
    std::stringstream ls(line);
    for (std::string cell; std::getline(ls, cell, ',');) c.push_back(cell);
    EXPECT_EQ(c.size(), 7u) << line;
    if (c.size() != 7) continue;
    rows.push_back({std::stoll(c[0]), std::stoll(c[1]), std::stoll(c[6]), std::stod(c[2]), std::stod(c[3]),
                    std::stod(c[4]), std::stod(c[5])});
  }
  return rows;
}

}  // namespace

TEST(RunHooks, CsvLogAndProfilerReportDescribeTheRun) {
  // The default job's pipeline on a few systems: FIRE, then Langevin; log and snapshot every 4
  // steps, so every logged state is also in the trajectory.
  const std::string store = tmp_path("hooks.zarr"), csv = tmp_path("hooks.csv");
  const std::int64_t steps = 60, every = 4;
  app::RunOptions o;
  o.config_path = write_file("hooks.toml", "[run]\nsteps = " + std::to_string(steps) +
                                               "\ndt_fs = 2.0\n[model]\nshift_energy = true\n"
                                               "[[liquid]]\ncount = 1\ncells = 3\n[[cluster]]\ncount = 2\natoms = 13\n"
                                               "[[stage]]\ntype = \"fire\"\nfmax = 0.005\n"
                                               "[[stage]]\ntype = \"nvt_langevin\"\ntemperature_K = 40.0\n"
                                               "[hooks]\nlog_csv = \"" +
                                               csv + "\"\nlog_every = " + std::to_string(every) +
                                               "\nprofile = true\nconverged_snapshots = true\n"
                                               "[output]\nprogress = false\nsnapshot_every = " +
                                               std::to_string(every) + "\n");
  o.output = store;
  const RunResult r = run_captured(o);
  ASSERT_EQ(r.rc, 0) << r.out;

  // ---- the CSV log: one row per system at steps 1, 5, 9, ... (hooks fire at step % 4 == 0 and
  // the logged state is the one after that step's update)
  std::string header;
  const auto rows = read_csv(csv, &header);
  EXPECT_EQ(header, "step,system_id,energy,kinetic_energy,temperature,fmax,status");
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(3 * steps / every)) << read_text(csv);
  sinks::TrajectoryReader traj(store);
  const Batch all = traj.read_range(0, traj.num_samples());
  std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> sample;  // (system_id, step) -> sample
  for (std::int64_t i = 0; i < all.n_systems(); ++i)
    sample[{all.get("system_id").data<std::int64_t>()[i], all.get("step").data<std::int64_t>()[i]}] = i;
  std::set<std::int64_t> statuses;
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const CsvRow& row = rows[k];
    EXPECT_EQ(row.step, 1 + every * static_cast<std::int64_t>(k / 3));
    EXPECT_EQ(row.system_id, static_cast<std::int64_t>(k % 3));
    const auto it = sample.find({row.system_id, row.step});
    ASSERT_NE(it, sample.end()) << "no snapshot of system " << row.system_id << " at step " << row.step;
    const std::int64_t s = it->second;
    const std::int64_t n = all.atoms_ptr_data()[s + 1] - all.atoms_ptr_data()[s];
    // energy is written in shortest round-trip form: it parses back to the stored double exactly
    EXPECT_EQ(row.energy, all.get("energy").data<double>()[s]) << "row " << k;
    // kinetic energy and temperature recomputed with CODATA constants (batchmd carries its own
    // amu·Å²/fs² -> eV factor, equal to ~1e-9): 3N - 3 degrees of freedom, as documented
    const double ke = kinetic_energy(all, s), t = 2 * ke / (static_cast<double>(3 * n - 3) * kBoltzmannEvPerK);
    EXPECT_NEAR(row.kinetic_energy, ke, 1e-8 * ke) << "row " << k;
    EXPECT_NEAR(row.temperature, t, 1e-8 * t) << "row " << k;
    const auto f = doubles(all, "forces");
    double fmax = 0;
    for (std::int64_t i = all.atoms_ptr_data()[s]; i < all.atoms_ptr_data()[s + 1]; ++i)
      fmax = std::max(fmax, std::sqrt(f[3 * i] * f[3 * i] + f[3 * i + 1] * f[3 * i + 1] + f[3 * i + 2] * f[3 * i + 2]));
    EXPECT_NEAR(row.fmax, fmax, 1e-12 * fmax) << "row " << k;
    EXPECT_EQ(row.status, all.get("status").data<std::int32_t>()[s]) << "row " << k;
    statuses.insert(row.status);
  }
  EXPECT_EQ(statuses, (std::set<std::int64_t>{0, 1})) << "the log should see systems in both stages";

  // ---- the profiler: a row per stage with its calls, seconds, us/call and share, then the total
  std::map<std::string, std::pair<std::int64_t, double>> prof;
  double total = -1, share_sum = 0;
  std::istringstream in(r.out);
  const std::regex stage_row(R"(^([A-Z_]+)\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)%$)"),
      total_row(R"(^total\s+([0-9.]+)$)");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, stage_row)) {
      prof[m[1]] = {std::stoll(m[2]), std::stod(m[3])};
      share_sum += std::stod(m[5]);
      // us/call = seconds / calls (seconds printed to 1 us, us/call to 1 ns)
      const auto calls = static_cast<double>(std::stoll(m[2]));
      if (calls > 0) {
        EXPECT_NEAR(std::stod(m[4]), 1e6 * std::stod(m[3]) / calls, 0.5 / calls + 1e-3) << line;
      }
    } else if (std::regex_match(line, m, total_row)) {
      total = std::stod(m[1]);
    }
  }
  ASSERT_EQ(prof.size(), 9u) << r.out;
  for (const char* s : {"BEFORE_STEP", "BEFORE_PRE_UPDATE", "AFTER_PRE_UPDATE", "BEFORE_COMPUTE", "AFTER_COMPUTE",
                        "BEFORE_POST_UPDATE", "AFTER_POST_UPDATE", "AFTER_STEP"})
    EXPECT_EQ(prof[s].first, steps) << s;
  // ON_CONVERGE fires in the steps where some system converged: the steps of the relaxed structures
  sinks::TrajectoryReader relaxed(store.substr(0, store.size() - 5) + ".relaxed.zarr");
  const Batch rel = relaxed.read_range(0, relaxed.num_samples());
  std::set<std::int64_t> converge_steps(rel.get("step").data<std::int64_t>(),
                                        rel.get("step").data<std::int64_t>() + rel.n_systems());
  EXPECT_EQ(rel.n_systems(), 3);
  EXPECT_EQ(prof["ON_CONVERGE"].first, static_cast<std::int64_t>(converge_steps.size()));
  double sum = 0;
  for (const auto& [name, v] : prof) sum += v.second;
  EXPECT_NEAR(total, sum, 1e-5 * 10);  // each printed with 6 decimals
  EXPECT_NEAR(share_sum, 100.0, 0.1 * 9);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(steps: (\d+) in ([0-9.]+) s)"))) << r.out;
  EXPECT_EQ(std::stoll(m[1]), steps);
  EXPECT_GT(total, 0.0);
  EXPECT_LE(total, std::stod(m[2]) + 0.01) << "the stages cannot take longer than the run";
  fs::remove_all(store);
  fs::remove_all(store.substr(0, store.size() - 5) + ".relaxed.zarr");
  fs::remove(csv);
}
