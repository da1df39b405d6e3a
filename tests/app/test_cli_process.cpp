// SPDX-License-Identifier: Apache-2.0
// The real `batchmd` binary as a child process, for promises only a process can show: Ctrl-C
// (SIGINT) stops a run cleanly with exit code 130 and leaves a store that restarts bit for bit;
// the default store name batchmd-<date>-<time>.zarr in the working directory; the thread count
// from BATCHMD_NUM_THREADS (read when the process starts) and --threads over it.
#include <cstring>
#include <ctime>

#include "app_test_util.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/sinks/zarr_data.hpp"

using namespace batchmd;
using namespace batchmd::app_test;

namespace {

const char* const kTiny =
    "[run]\nsteps = 20\n[[cluster]]\ncount = 2\natoms = 13\n[output]\nsnapshot_every = 10\nprogress = false\n";

/// Samples committed in a store another process is writing (0 while it does not exist yet).
std::int64_t committed_samples(const std::string& url) {
  if (!fs::exists(url)) return 0;
  try {
    return sinks::TrajectoryReader(url).num_samples();
  } catch (const Error&) {  // not created far enough yet
    return 0;
  }
}

void expect_same_last_states(const std::string& a, const std::string& b) {
  sinks::TrajectoryReader ra(a), rb(b);
  const Batch la = sinks::last_snapshot_per_system(ra), lb = sinks::last_snapshot_per_system(rb);
  ASSERT_EQ(la.n_systems(), lb.n_systems());
  for (const auto& [k, f] : la.fields()) {
    ASSERT_TRUE(lb.has(k)) << k;
    ASSERT_EQ(f.tensor.nbytes(), lb.get(k).nbytes()) << k;
    EXPECT_EQ(0, std::memcmp(f.tensor.raw(), lb.get(k).raw(), f.tensor.nbytes())) << "field " << k << " differs";
  }
}

std::int64_t last_csv_step(const std::string& path) {
  std::istringstream in(read_text(path));
  std::int64_t last = -1;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line))
    if (!line.empty()) last = std::stoll(line.substr(0, line.find(',')));
  return last;
}

}  // namespace

TEST(Cli, CtrlCStopsCleanlyWithExit130AndARestartableStore) {
  // A run far too long to finish; SIGINT (what Ctrl-C sends) once its first samples are stored.
  const std::string dir = tmp_path("sigint");
  fs::create_directories(dir);
  const std::string job = dir + "/job.toml", store = dir + "/run.zarr", csv = dir + "/log.csv";
  std::ofstream(job) << "[run]\nsteps = 1000000\ndt_fs = 2.0\nseed = 11\n"
                        "[[liquid]]\ncount = 2\ncells = 3\n[[cluster]]\ncount = 1\natoms = 55\n"
                        "[hooks]\nlog_csv = \""
                     << csv << "\"\nlog_every = 1\n[output]\nsnapshot_every = 10\n";
  Child c = spawn({"run", job, "-o", store, "--device", "cpu"});  // bitwise restarts: a CPU promise
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (committed_samples(store) < 6 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_GE(committed_samples(store), 6) << "no samples after 60 s: " << c.err();
  ASSERT_EQ(::kill(c.pid, SIGINT), 0);
  const int rc = c.wait();
  const std::string out = c.out(), err = c.err();
  ASSERT_EQ(rc, 130) << "stdout:\n" << out << "\nstderr:\n" << err;

  // the stop is reported, and the summary still printed
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(err, m, std::regex(R"(interrupted after (\d+) steps; the trajectory holds everything)")))
      << err;
  const std::int64_t taken = std::stoll(m[1]);
  EXPECT_GT(taken, 0);
  EXPECT_LT(taken, 1000000);
  EXPECT_NE(out.find("steps: " + std::to_string(taken) + " in"), std::string::npos) << out;
  EXPECT_NE(out.find("continue with: batchmd run --restart " + store), std::string::npos) << out;
  // hooks were closed: the log is flushed up to the last step taken
  EXPECT_EQ(last_csv_step(csv), taken);
  // the end state was recorded for every system
  {
    sinks::TrajectoryReader r(store);
    const Batch last = sinks::last_snapshot_per_system(r);
    ASSERT_EQ(last.n_systems(), 3);
    for (std::int64_t s = 0; s < 3; ++s) EXPECT_EQ(last.get("step").data<std::int64_t>()[s], taken);
  }

  // The store is restartable: 20 more steps from it equal, bit for bit, an uninterrupted run of
  // taken + 20 steps of the same job.
  Child restarted = spawn({"run", "--restart", store, "--steps", "20", "-q", "--device", "cpu"});
  ASSERT_EQ(restarted.wait(), 0) << restarted.err();
  const std::string whole = dir + "/whole.zarr";
  Child reference = spawn({"run", job, "-o", whole, "--steps", std::to_string(taken + 20), "-q", "--device", "cpu"});
  ASSERT_EQ(reference.wait(), 0) << reference.err();
  {
    sinks::TrajectoryReader r(store);
    EXPECT_EQ(sinks::last_snapshot_per_system(r).get("step").data<std::int64_t>()[0], taken + 20);
  }
  expect_same_last_states(whole, store);
  fs::remove_all(dir);
}

TEST(Cli, DefaultStoreIsANewDatedFolderInTheWorkingDirectory) {
  const std::string dir = tmp_path("default_name");
  fs::create_directories(dir);
  const std::string job = write_file("tiny.toml", kTiny);
  // Folders already named for the next seconds must be left alone: the run makes a new one.
  const std::time_t t0 = std::time(nullptr);
  std::vector<std::string> taken_names;
  for (int k = 0; k < 30; ++k) {
    const std::time_t t = t0 + k;
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&t));
    taken_names.push_back(std::string("batchmd-") + stamp + ".zarr");
    fs::create_directory(dir + "/" + taken_names.back());
  }
  Child first = spawn({"run", job, "-q"}, dir);
  ASSERT_EQ(first.wait(), 0) << first.err();
  Child second = spawn({"run", job, "-q"}, dir);  // one after the other (concurrent runs: store locking)
  ASSERT_EQ(second.wait(), 0) << second.err();
  const std::time_t t1 = std::time(nullptr);
  for (const auto& n : taken_names) EXPECT_TRUE(fs::is_empty(dir + "/" + n)) << n << " was written into";

  const std::regex name(R"(batchmd-(\d{8}-\d{6})(-\d+)?\.zarr)");
  std::vector<std::string> made;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (std::find(taken_names.begin(), taken_names.end(), n) != taken_names.end()) continue;
    made.push_back(n);
    std::smatch m;
    ASSERT_TRUE(std::regex_match(n, m, name)) << n;
    std::tm tm{};
    ASSERT_NE(strptime(m[1].str().c_str(), "%Y%m%d-%H%M%S", &tm), nullptr);
    tm.tm_isdst = -1;
    const std::time_t stamp = std::mktime(&tm);  // local time, as the name is written
    EXPECT_GE(stamp, t0 - 1) << n;
    EXPECT_LE(stamp, t1 + 1) << n;
    sinks::TrajectoryReader r(dir + "/" + n);
    EXPECT_EQ(r.num_samples(), 6) << n;  // steps 1, 11 and the final state, 2 systems
  }
  std::sort(made.begin(), made.end());
  ASSERT_EQ(made.size(), 2u) << "two runs, two new stores";
  // each run names its store in the summary
  for (Child* c : {&first, &second}) {
    const std::string out = c->out();
    EXPECT_TRUE(out.find("samples in " + made[0]) != std::string::npos ||
                out.find("samples in " + made[1]) != std::string::npos)
        << out;
  }
  fs::remove_all(dir);
}

TEST(Cli, ThreadsFromBatchmdNumThreadsAndTheThreadsFlag) {
  const std::string job = write_file("threads.toml", kTiny);
  const std::string dir = tmp_path("threads");
  fs::create_directories(dir);
  struct Case {
    std::vector<std::string> args, env;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {{}, {"BATCHMD_NUM_THREADS=3"}, "on cpu (3 threads"},
      {{}, {"BATCHMD_NUM_THREADS=1"}, "on cpu (1 threads"},
      {{"--threads", "2"}, {"BATCHMD_NUM_THREADS=3"}, "on cpu (2 threads"},  // the flag wins
      {{"--threads", "1"}, {}, "on cpu (1 threads"},
  };
  int k = 0;
  for (const auto& c : cases) {
    std::vector<std::string> args = {
        "run", job, "-q", "--device", "cpu", "-o", dir + "/t" + std::to_string(k++) + ".zarr"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    Child p = spawn(args, dir, c.env);
    ASSERT_EQ(p.wait(), 0) << p.err();
    EXPECT_NE(p.out().find(c.expect), std::string::npos) << p.out();
  }
  fs::remove_all(dir);
}
