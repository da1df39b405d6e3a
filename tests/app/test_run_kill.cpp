// SPDX-License-Identifier: Apache-2.0
// `batchmd run` itself, as a process (label crash): SIGKILLed at random moments — half of them in
// the first 200 ms, while it starts, takes the store and creates the layout — after which the
// path must open (`inspect`, `convert`) and continue (`--restart`, then a further append), or hold
// no store and take a new run. SIGTERM and SIGINT stop it cleanly (exit 143 / 130, end state
// recorded, restartable), a second signal at once. Two runs to one path: one wins, the other is
// refused before it computes anything. Mistyped paths create nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "../support/child_process.hpp"
#include "batchmd/sinks/zarr_data.hpp"

using namespace batchmd;
using namespace batchmd::test_support;
namespace fs = std::filesystem;

namespace {

const std::string kCli = BATCHMD_CLI;

class Scratch {
 public:
  explicit Scratch(const std::string& tag)
      : path_(fs::path(::testing::TempDir()) / ("batchmd_runkill_" + tag + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~Scratch() {
    if (!::testing::Test::HasFailure()) fs::remove_all(path_);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

/// prefix + n + suffix (built without `"literal" + std::string`, which GCC 12 warns about wrongly).
std::string numbered(const std::string& prefix, long long n, const std::string& suffix) {
  std::string s = prefix;
  s += std::to_string(n);
  s += suffix;
  return s;
}

/// A small NVE job (3 systems, 58 atoms) that snapshots every 10 steps.
std::string write_job(const Scratch& dir, const std::string& format, int clusters = 2, const std::string& extra = "") {
  const std::string path = dir / numbered("job_" + format, clusters, ".toml");
  std::ofstream(path) << "[run]\nsteps = 1000000\ndt_fs = 2.0\nseed = 5\nthreads = 1\n"
                      << "[[cluster]]\ncount = " << clusters << "\natoms = 13\ntemperature_K = 30\n"
                      << "[[liquid]]\ncount = 1\ncells = 2\ntemperature_K = 90\n"
                      << "[output]\nsnapshot_every = 10\nprogress = false\nformat = \"" << format << "\"\n"
                      << extra;
  return path;
}

struct Result {
  int rc = -1;
  std::string output;
};

Result cli(const Scratch& dir, std::vector<std::string> args) {
  static int counter = 0;
  args.insert(args.begin(), kCli);
  SpawnOptions o;
  o.argv = args;
  o.output_file = dir / numbered("cli", counter++, ".log");
  Child c(o);
  const int rc = c.wait();
  return {rc, c.output()};
}

/// The integer right after `label` (spaces skipped) in `text`; -1 when there is none. (No
/// std::regex: GCC 12 warns about its internals under the sanitizers.)
std::int64_t number_after(const std::string& text, const std::string& label) {
  std::size_t at = text.find(label);
  if (at == std::string::npos) return -1;
  at += label.size();
  while (at < text.size() && text[at] == ' ') ++at;
  std::size_t end = at;
  while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
  return end == at ? -1 : std::stoll(text.substr(at, end - at));
}

/// The integer right before `label` in `text`; -1 when there is none.
std::int64_t number_before(const std::string& text, const std::string& label) {
  const std::size_t end = text.find(label);
  if (end == std::string::npos) return -1;
  std::size_t at = end;
  while (at > 0 && std::isdigit(static_cast<unsigned char>(text[at - 1]))) --at;
  return at == end ? -1 : std::stoll(text.substr(at, end - at));
}

/// The sample count `batchmd inspect` reports; -1 when it reports none.
std::int64_t inspected_samples(const std::string& text) { return number_after(text, "samples:"); }

struct Tally {
  int kills = 0, with_samples = 0, empty = 0, no_store = 0;
};

/// After a kill: inspect, convert, --restart and a further append, or (no samples yet) a new
/// run to the same path.
void check_after_kill(const Scratch& dir, const std::string& job, const std::string& store, Tally& tally) {
  ++tally.kills;
  const Result inspect = cli(dir, {"inspect", store});
  if (inspect.rc != 0) {  // no store (killed before its root document): the path takes a new run
    ASSERT_EQ(inspect.rc, 2) << inspect.output;
    EXPECT_NE(inspect.output.find("no Zarr store here"), std::string::npos) << inspect.output;
    ++tally.no_store;
  } else {
    const std::int64_t n = inspected_samples(inspect.output);
    ASSERT_GE(n, 0) << inspect.output;
    if (n > 0) {
      ++tally.with_samples;
      const Result convert = cli(dir, {"convert", store, dir / "out.xyz"});
      ASSERT_EQ(convert.rc, 0) << convert.output;
      EXPECT_NE(convert.output.find("wrote " + std::to_string(n) + " frames"), std::string::npos) << convert.output;
      const Result restart = cli(dir, {"run", "--restart", store, "--steps", "20", "-q"});
      ASSERT_EQ(restart.rc, 0) << "--restart after the kill: " << restart.output;
      const std::int64_t n1 = inspected_samples(cli(dir, {"inspect", store}).output);
      EXPECT_EQ(n1, n + 2 * 3) << "20 steps, a snapshot every 10, 3 systems";
      const Result again = cli(dir, {"run", "--restart", store, "--steps", "10", "-q"});
      ASSERT_EQ(again.rc, 0) << "a further append: " << again.output;
      EXPECT_EQ(inspected_samples(cli(dir, {"inspect", store}).output), n1 + 3);
      sinks::TrajectoryReader r(store);  // whole samples, every system at the last step
      const Batch last = sinks::last_snapshot_per_system(r);
      for (std::int64_t s = 0; s < last.n_systems(); ++s)
        EXPECT_EQ(last.get("step").data<std::int64_t>()[s], last.get("step").data<std::int64_t>()[0]);
      return;
    }
    ++tally.empty;  // a root with 0 samples: nothing to convert or restart, but the path is usable
    const Result convert = cli(dir, {"convert", store, dir / "out.xyz"});
    EXPECT_EQ(convert.rc, 2) << convert.output;
    const Result restart = cli(dir, {"run", "--restart", store, "--steps", "10", "-q"});
    EXPECT_EQ(restart.rc, 2) << restart.output;
  }
  const Result fresh = cli(dir, {"run", job, "--steps", "20", "-q", "-o", store});
  ASSERT_EQ(fresh.rc, 0) << "a new run to the path a killed run left: " << fresh.output;
  EXPECT_EQ(inspected_samples(cli(dir, {"inspect", store}).output), 3 * 3) << "steps 0, 10, 20";
  const Result restart = cli(dir, {"run", "--restart", store, "--steps", "10", "-q"});
  EXPECT_EQ(restart.rc, 0) << restart.output;
}

/// `kills` runs of `job`, each SIGKILLed after a random delay: the even ones within 200 ms of
/// the start, the odd ones within 1.5 s.
void kill_runs(const std::string& format, int kills, std::uint64_t seed) {
  Scratch dir("kill_" + format);
  const std::string job = write_job(dir, format);
  std::mt19937_64 rng(seed);
  Tally tally;
  for (int k = 0; k < kills; ++k) {
    const int delay_ms = static_cast<int>(k % 2 == 0 ? rng() % 200 : 200 + rng() % 1300);
    SCOPED_TRACE(format + " kill " + std::to_string(k) + " at " + std::to_string(delay_ms) + " ms");
    const std::string store = dir / numbered("k", k, ".zarr");
    {
      SpawnOptions o;
      o.argv = {kCli, "run", job, "-q", "-o", store};
      o.output_file = dir / "victim.log";
      Child run(o);
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      ASSERT_TRUE(run.kill()) << "the run ended before it was killed: " << run.output();
    }
    check_after_kill(dir, job, store, tally);
    if (::testing::Test::HasFailure()) return;
    fs::remove_all(store);
  }
  std::printf("batchmd run (%s) SIGKILLed %d times: %d left samples, %d an empty store, %d no store\n", format.c_str(),
              tally.kills, tally.with_samples, tally.empty, tally.no_store);
}

}  // namespace

// 12 kills each (x BATCHMD_KILL_STORM for a longer storm by hand).
TEST(RunKill, KilledAtRandomMomentsV3) { kill_runs("v3", 12 * kill_storm(), 0x6b696c6c33); }
TEST(RunKill, KilledAtRandomMomentsV2) { kill_runs("v2", 12 * kill_storm(), 0x6b696c6c32); }

// SIGTERM and SIGINT: the step loop stops after the current step, hooks are closed (the final
// snapshot and the model state record the end state, the CSV log is complete), exit 128 + signal;
// the store continues bit for bit as if the run had been asked for that many steps.
TEST(RunSignals, SigtermAndSigintStopCleanlyAndTheStoreRestarts) {
  Scratch dir("signals");
  for (const int sig : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(sig == SIGTERM ? "SIGTERM" : "SIGINT");
    const std::string log = dir / numbered("log", sig, ".csv");
    const std::string job = write_job(dir, "v3", 2, "[hooks]\nlog_csv = \"" + log + "\"\nlog_every = 7\n");
    const std::string store = dir / numbered("sig", sig, ".zarr");
    SpawnOptions o;
    o.argv = {kCli, "run", job, "-q", "-o", store};
    o.output_file = dir / "sig.log";
    Child run(o);
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    run.signal(sig);
    const auto rc = run.wait_for(30);
    ASSERT_TRUE(rc.has_value()) << "the run did not stop";
    ASSERT_EQ(*rc, 128 + sig) << run.output();
    EXPECT_FALSE(run.signaled()) << "it should exit, not die of the signal";
    const std::string out = run.output();
    const std::string said = sig == SIGTERM ? "terminated (SIGTERM) after" : "interrupted after";
    const std::int64_t taken = number_after(out, said);
    ASSERT_GT(taken, 0) << out;
    EXPECT_FALSE(fs::exists(fs::path(store) / ".batchmd-lock")) << "the lock was not released";
    sinks::TrajectoryReader r(store);
    const Batch last = sinks::last_snapshot_per_system(r);
    for (std::int64_t s = 0; s < last.n_systems(); ++s)
      EXPECT_EQ(last.get("step").data<std::int64_t>()[s], taken) << "the end state is recorded";
    EXPECT_TRUE(r.model_state(taken).has_value()) << "the model state for a bitwise restart";
    std::ifstream csv(log);
    std::string line, last_line;
    while (std::getline(csv, line)) last_line = line;
    EXPECT_FALSE(last_line.empty()) << "the CSV log was not flushed at close";
    const Result restart = cli(dir, {"run", "--restart", store, "--steps", "10", "-q"});
    EXPECT_EQ(restart.rc, 0) << restart.output;
  }
}

/// Waits until no `sig` is pending for `pid` (its handler has run), for at most 10 s.
bool signal_delivered(pid_t pid, int sig) {
  const unsigned long long bit = 1ULL << (sig - 1);
  for (int i = 0; i < 10000; ++i) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    bool pending = false;
    for (std::string line; std::getline(status, line);)
      if (line.rfind("SigPnd:", 0) == 0 || line.rfind("ShdPnd:", 0) == 0)
        pending = pending || (std::stoull(line.substr(7), nullptr, 16) & bit) != 0;
    if (!pending) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TEST(RunSignals, ASecondSignalStopsAtOnce) {
  Scratch dir("twice");
  // 55,296 atoms: a step and the final snapshot take long enough for a second signal to arrive
  // while the run is still stopping.
  const std::string job = dir / "big.toml";
  std::ofstream(job) << "[run]\nsteps = 1000000\nthreads = 1\n[[liquid]]\ncount = 1\ncells = 24\n"
                     << "[output]\nsnapshot_every = 1000\nprogress = false\n";
  SpawnOptions o;
  o.argv = {kCli, "run", job, "-q", "-o", dir / "twice.zarr"};
  o.output_file = dir / "twice.log";
  Child run(o);
  for (int i = 0; i < 6000 && inspected_samples(cli(dir, {"inspect", dir / "twice.zarr"}).output) < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // in the step loop: the first snapshot is in
  run.signal(SIGINT);
  ASSERT_TRUE(signal_delivered(run.pid(), SIGINT));
  run.signal(SIGINT);
  const auto rc = run.wait_for(30);
  ASSERT_TRUE(rc.has_value());
  EXPECT_TRUE(run.signaled()) << "exit " << *rc << ": " << run.output();
  EXPECT_EQ(*rc, 128 + SIGINT);
  sinks::TrajectoryReader r(dir / "twice.zarr");  // still a store of whole samples
  EXPECT_GE(r.num_samples(), 1);
}

// Two runs to one path at the same time (issue 22): one writes, the other exits 2 naming the
// path and the holder, having computed nothing; the store holds exactly the winner's samples.
TEST(RunRace, TwoRunsToOnePathOneIsRefused) {
  Scratch dir("race");
  const std::string job3 = write_job(dir, "v3", 2), job4 = write_job(dir, "v3", 3);  // 3 and 4 systems
  int refused_by_lock = 0;
  for (int trial = 0; trial < 6; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const std::string store = dir / numbered("race", trial, ".zarr");
    const bool three_first = trial % 2 == 0;
    SpawnOptions a, b;
    a.argv = {kCli, "run", three_first ? job3 : job4, "--steps", "300", "-q", "-o", store};
    b.argv = {kCli, "run", three_first ? job4 : job3, "--steps", "300", "-q", "-o", store};
    a.output_file = dir / "a.log";
    b.output_file = dir / "b.log";
    Child first(a), second(b);
    const int ra = first.wait(), rb = second.wait();
    ASSERT_NE(ra == 0, rb == 0) << "exit codes " << ra << " and " << rb << "\n" << first.output() << second.output();
    const Child& winner = ra == 0 ? first : second;
    const Child& loser = ra == 0 ? second : first;
    ASSERT_EQ(ra == 0 ? rb : ra, 2) << loser.output();
    // Named either way: "batchmd: error: <store>: another writer holds ..." when the runs overlapped,
    // "batchmd: error: ZarrData: '<store>' already holds a Zarr store ..." when the loser started
    // after the winner had finished (a loaded machine, e.g. under ASan).
    const std::string msg = loser.output();
    EXPECT_NE(msg.find("batchmd: error: "), std::string::npos) << msg;
    EXPECT_NE(msg.find(store), std::string::npos) << msg;
    if (msg.find("another writer holds this store: pid " + std::to_string(winner.pid())) != std::string::npos) {
      ++refused_by_lock;
      EXPECT_EQ(msg.find("Summary"), std::string::npos) << "the loser ran: " << msg;
    } else {
      EXPECT_NE(msg.find("already holds a Zarr store"), std::string::npos) << msg;
    }
    const std::string wout = winner.output();
    const std::int64_t written = number_before(wout, " samples in");
    ASSERT_GT(written, 0) << wout;
    EXPECT_EQ(inspected_samples(cli(dir, {"inspect", store}).output), written);
  }
  EXPECT_GT(refused_by_lock, 0) << "no two runs overlapped";
}

// --restart onto a store that another run still writes is refused (it would append); reading
// it, to continue into another store, is not.
TEST(RunRace, RestartOntoAStoreBeingWrittenIsRefusedReadingItIsNot) {
  Scratch dir("live");
  const std::string job = write_job(dir, "v3");
  const std::string store = dir / "live.zarr";
  SpawnOptions o;
  o.argv = {kCli, "run", job, "-q", "-o", store};
  o.output_file = dir / "live.log";
  Child writer(o);
  for (int i = 0; i < 3000 && inspected_samples(cli(dir, {"inspect", store}).output) < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const Result append = cli(dir, {"run", "--restart", store, "--steps", "10", "-q"});
  EXPECT_EQ(append.rc, 2) << append.output;
  EXPECT_NE(append.output.find(store + ": another writer holds this store: pid " + std::to_string(writer.pid())),
            std::string::npos)
      << append.output;
  const Result branch = cli(dir, {"run", "--restart", store, "--steps", "10", "-q", "-o", dir / "branch.zarr"});
  EXPECT_EQ(branch.rc, 0) << "a reader must not be blocked: " << branch.output;
  writer.signal(SIGTERM);
  EXPECT_EQ(writer.wait(), 128 + SIGTERM) << writer.output();
  const Result after = cli(dir, {"run", "--restart", store, "--steps", "10", "-q"});
  EXPECT_EQ(after.rc, 0) << "once the writer has stopped: " << after.output;
}

TEST(RunPaths, MistypedRestartAndEmptyOutputCreateNothing) {
  Scratch dir("paths");
  const std::string missing = dir / "typo/traj.zarr";
  const Result r = cli(dir, {"run", "--restart", missing, "-q"});
  EXPECT_EQ(r.rc, 2) << r.output;
  EXPECT_NE(r.output.find(missing), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "typo")) << "--restart on a mistyped path created it";
  const Result e = cli(dir, {"run", "-q", "-o", ""});
  EXPECT_EQ(e.rc, 2) << e.output;
  EXPECT_NE(e.output.find("-o/--output: empty store path"), std::string::npos) << e.output;
  // A run that fails after taking its store, before its first snapshot, leaves no directory.
  const std::string job = write_job(dir, "v3");
  const std::string good = dir / "good.zarr";
  ASSERT_EQ(cli(dir, {"run", job, "--steps", "10", "-q", "-o", good}).rc, 0);
  const Result bad = cli(dir, {"run", "--restart", good, "--dtype", "float32", "-q", "-o", dir / "new.zarr"});
  EXPECT_EQ(bad.rc, 2) << bad.output;
  EXPECT_NE(bad.output.find("float32"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(dir / "new.zarr")) << "a failed run left a half-made store";
}
