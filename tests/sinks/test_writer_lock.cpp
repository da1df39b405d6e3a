// SPDX-License-Identifier: Apache-2.0
// One writer per file store, with real processes (kill_writer): creators racing for one path in
// both orders, a second appender while a writer runs, and a killed writer's stale lock; in the
// default flock mode and in lock file mode (BATCHMD_FILE_LOCK=lockfile). Also what a writer that
// died or failed early leaves: nothing that stops the next run.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "batchmd/core/error.hpp"
#include "batchmd/zarr/group.hpp"
#include "lock_scenarios.hpp"

using namespace batchmd;
using namespace batchmd::test_support;
namespace fs = std::filesystem;

namespace {

const std::string kWriter = BATCHMD_KILL_WRITER;

class Scratch {
 public:
  explicit Scratch(const std::string& tag)
      : path_(fs::path(::testing::TempDir()) / ("batchmd_wlock_" + tag + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~Scratch() {
    if (!::testing::Test::HasFailure()) fs::remove_all(path_);
  }
  std::string str() const { return path_.string(); }
  std::string store(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

class FileLockMode : public ::testing::TestWithParam<std::string> {
 protected:
  Env env() const { return {{"BATCHMD_FILE_LOCK", GetParam()}}; }
  void SetUp() override { ::setenv("BATCHMD_FILE_LOCK", GetParam().c_str(), 1); }
  void TearDown() override { ::unsetenv("BATCHMD_FILE_LOCK"); }
};

}  // namespace

// 16 races (x BATCHMD_KILL_STORM), alternating which writer goes first, 0-3 ms apart.
TEST_P(FileLockMode, ConcurrentCreatorsExactlyOneWins) {
  Scratch dir("race_" + GetParam());
  std::mt19937_64 rng(0x72616365);
  RaceTally tally;
  for (int trial = 0; trial < 16 * kill_storm(); ++trial) {
    const bool a_first = trial % 2 == 0;
    const int delay_us = static_cast<int>(rng() % 3000);
    SCOPED_TRACE("trial " + std::to_string(trial) + (a_first ? ": A first, " : ": B first, ") +
                 std::to_string(delay_us) + " us apart");
    const std::string url = dir.store("race" + std::to_string(trial) + ".zarr");
    race_two_creators(kWriter, url, dir.str(), env(), a_first, delay_us, tally);
    if (HasFatalFailure()) return;
    EXPECT_FALSE(fs::exists(fs::path(url) / ".batchmd-lock")) << "the winner left its lock behind";
  }
  std::printf("%s: %d races met the lock, %d came after the winner had finished\n", GetParam().c_str(), tally.locked,
              tally.exists);
  EXPECT_GT(tally.locked, 0) << "no race overlapped: the test did not exercise concurrent creation";
}

TEST_P(FileLockMode, SecondAppenderIsRefusedAndAKilledWritersLockIsTakenOver) {
  Scratch dir("append_" + GetParam());
  const std::string url = dir.store("traj.zarr");
  second_appender_then_stale_lock(kWriter, url, dir.str(), env());
  EXPECT_FALSE(fs::exists(fs::path(url) / ".batchmd-lock"));
}

INSTANTIATE_TEST_SUITE_P(Modes, FileLockMode, ::testing::Values("flock", "lockfile"),
                         [](const auto& p) { return p.param; });

// A lock record left by a killed writer stays in the store until the next writer; it names the
// dead process, and that writer replaces it without being told to.
TEST(WriterLock, KilledWritersLockRecordNamesItAndIsReplaced) {
  Scratch dir("stale");
  const std::string url = dir.store("traj.zarr");
  ReadySignal ready;
  Child w(writer_args(kWriter, url, dir.str() + "/w.log", {}, {}, {}, ready.write_fd(), 5));
  ASSERT_TRUE(ready.wait(60)) << w.output();
  const pid_t dead = w.pid();
  ASSERT_TRUE(w.kill());
  const fs::path lock = fs::path(url) / ".batchmd-lock";
  ASSERT_TRUE(fs::exists(lock));
  std::ifstream in(lock);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto rec = zarr::LockHolder::parse(std::as_bytes(std::span(text.data(), text.size())));
  ASSERT_TRUE(rec.has_value()) << text;
  EXPECT_EQ(rec->pid, dead);
  EXPECT_EQ(zarr::holder_liveness(*rec), zarr::Liveness::Dead);
  const std::int64_t n = sinks::TrajectoryReader(url).num_samples();
  {
    sinks::ZarrWriteConfig cfg;
    cfg.append = true;
    sinks::ZarrData sink(url, 1'000'000, cfg);
    sink.write(encoded_batch(n, 3));
  }
  expect_samples_from(url, 0, n + 3);
  EXPECT_FALSE(fs::exists(lock));
}

// A writer that fails before its first write leaves nothing; one that created the layout but
// never its root leaves nothing either.
TEST(WriterLock, AWriterThatStoresNothingLeavesNoDirectory) {
  Scratch dir("nothing");
  const std::string url = dir.store("deep/er/traj.zarr");
  { sinks::ZarrData sink(url, 10); }
  EXPECT_FALSE(fs::exists(url));
  {
    sinks::ZarrWriteConfig cfg;
    cfg.fields["no_such_field"].chunk_rows = 4;  // refused at the first write, before any store write
    sinks::ZarrData sink(url, 10, cfg);
    EXPECT_THROW(sink.write(encoded_batch(0, 2)), InvalidArgument);
  }
  EXPECT_FALSE(fs::exists(url));
}

// Foreign files are not written over; a batchmd store with 0 samples is.
TEST(WriterLock, ForeignFilesAreKeptAnEmptyTrajectoryIsReused) {
  Scratch dir("foreign");
  const std::string foreign = dir.store("notes");
  fs::create_directories(foreign);
  std::ofstream(fs::path(foreign) / "readme.txt") << "mine";
  try {
    sinks::ZarrData sink(foreign, 10);
    ADD_FAILURE() << "wrote into a directory of someone else's files";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("no Zarr store"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::exists(fs::path(foreign) / "readme.txt"));
  EXPECT_FALSE(fs::exists(fs::path(foreign) / ".batchmd-lock"));

  const std::string empty = dir.store("empty.zarr");
  { sinks::ZarrData(empty, 10).write(encoded_batch(0, 2)); }
  {  // as a writer killed between its layout and its first commit leaves it: a root with 0 samples
    auto root = zarr::Group::open(zarr::open_store(empty), "");
    auto attrs = root.attributes();
    attrs["num_samples"] = 0;
    root.set_attributes(attrs);
    ASSERT_EQ(sinks::TrajectoryReader(empty).num_samples(), 0);
  }
  {
    sinks::ZarrData sink(empty, 10);  // not append: still accepted, nothing is lost
    sink.write(encoded_batch(7, 3));
  }
  expect_samples_from(empty, 7, 3);
  EXPECT_THROW(sinks::ZarrData(empty, 10), InvalidArgument);  // now it holds samples
}
