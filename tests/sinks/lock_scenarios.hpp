// SPDX-License-Identifier: Apache-2.0
// Writer-lock scenarios with real processes (kill_writer), shared by the file-store tests
// (tests/sinks/test_writer_lock.cpp) and the S3 tests (tests/zarr/s3/test_s3_lock.cpp): two
// creators racing for one store, a second appender while a writer runs, and a killed writer's
// stale lock. Each takes the store URL and the environment the children run with.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "../support/child_process.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "batchmd/zarr/lock.hpp"
#include "trajectory_fixture.hpp"

namespace batchmd::test_support {

using Env = std::vector<std::pair<std::string, std::string>>;

/// kill_writer's exit codes.
inline constexpr int kWriterLocked = 3, kWriterStoreExists = 4;

inline SpawnOptions writer_args(const std::string& program, const std::string& url, const std::string& log,
                                const Env& env, std::vector<std::string> extra, std::vector<int> keep = {},
                                int ready_fd = -1, std::uint64_t seed = 1) {
  SpawnOptions o;
  o.argv = {program, url, "v3", "zstd", "4", "0", std::to_string(seed), std::to_string(ready_fd)};
  o.argv.insert(o.argv.end(), extra.begin(), extra.end());
  o.env = env;
  o.output_file = log;
  o.keep_fds = std::move(keep);
  if (ready_fd >= 0) o.keep_fds.push_back(ready_fd);
  return o;
}

/// Every sample s of the store is sample first_id + s of encoded_batch; returns the count.
inline std::int64_t expect_samples_from(const std::string& url, std::int64_t first_id, std::int64_t expected_n) {
  sinks::TrajectoryReader r(url);
  const std::int64_t n = r.num_samples();
  EXPECT_EQ(n, expected_n) << url;
  if (n <= 0) return n;
  const Batch all = r.read_range(0, n);
  for (std::int64_t s = 0; s < n; ++s) {
    const std::string why = check_encoded(all, s, first_id + s);
    if (!why.empty()) {
      ADD_FAILURE() << url << ": sample " << s << " is not sample " << first_id + s << " of the winner: " << why;
      break;
    }
  }
  return n;
}

struct RaceTally {
  int locked = 0;  // the loser met the winner's lock
  int exists = 0;  // the loser came after the winner had finished
};

/// Two writers create `url` at (nearly) the same moment: `first` is released, then the other after
/// delay_us. Exactly one must write all its samples; the other must be refused, with a message
/// naming the store (and the winner's pid when it met the lock), and nothing of it may be stored.
inline void race_two_creators(const std::string& program, const std::string& url, const std::string& scratch,
                              const Env& env, bool a_first, int delay_us, RaceTally& tally, std::int64_t samples = 24) {
  const std::int64_t kSamples = samples, kBaseB = 100000;
  StartBarrier go_a, go_b;
  Child a(
      writer_args(program, url, scratch + "/a.log", env,
                  {"--first-id", "0", "--samples", std::to_string(kSamples), "--go-fd", std::to_string(go_a.read_fd())},
                  {go_a.read_fd()}, -1, 11));
  Child b(writer_args(program, url, scratch + "/b.log", env,
                      {"--first-id", std::to_string(kBaseB), "--samples", std::to_string(kSamples), "--go-fd",
                       std::to_string(go_b.read_fd())},
                      {go_b.read_fd()}, -1, 12));
  go_a.close_read_end();
  go_b.close_read_end();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));  // both are past loading, at the barrier
  (a_first ? go_a : go_b).release();
  std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
  (a_first ? go_b : go_a).release();
  const int ra = a.wait(), rb = b.wait();
  const bool a_won = ra == 0;
  ASSERT_NE(ra == 0, rb == 0) << "exactly one creator must succeed; exit codes " << ra << " and " << rb
                              << "\nA: " << a.output() << "\nB: " << b.output();
  Child& loser = a_won ? b : a;
  const int rl = a_won ? rb : ra;
  const pid_t winner_pid = a_won ? a.pid() : b.pid();
  const std::string msg = loser.output();
  ASSERT_TRUE(rl == kWriterLocked || rl == kWriterStoreExists) << "the loser failed otherwise (" << rl << "): " << msg;
  EXPECT_NE(msg.find(url), std::string::npos) << "the refusal should name the store: " << msg;
  if (rl == kWriterLocked) {
    ++tally.locked;
    EXPECT_NE(msg.find("another writer holds this store: pid " + std::to_string(winner_pid)), std::string::npos)
        << "the refusal should name the holder: " << msg;
  } else {
    ++tally.exists;
    EXPECT_NE(msg.find("already holds a Zarr store"), std::string::npos) << msg;
  }
  expect_samples_from(url, a_won ? 0 : kBaseB, kSamples);
}

/// A writer runs; a second writer appending to the same store is refused with the first one's
/// identity and changes nothing; once the first is killed, its stale lock is taken over and the
/// append continues the survivors.
inline void second_appender_then_stale_lock(const std::string& program, const std::string& url,
                                            const std::string& scratch, const Env& env) {
  ReadySignal ready;
  Child first(writer_args(program, url, scratch + "/first.log", env, {}, {}, ready.write_fd(), 21));
  ASSERT_TRUE(ready.wait(60)) << "the first writer did not commit: " << first.output();
  Child second(writer_args(program, url, scratch + "/second.log", env, {"--append", "--samples", "5"}, {}, -1, 22));
  ASSERT_EQ(second.wait(), kWriterLocked) << second.output();
  const std::string msg = second.output();
  EXPECT_NE(msg.find("another writer holds this store: pid " + std::to_string(first.pid())), std::string::npos) << msg;
  EXPECT_NE(msg.find("process started"), std::string::npos) << msg;
  // In this process too: refused, with the holder's record.
  {
    sinks::ZarrWriteConfig cfg;
    cfg.append = true;
    try {
      sinks::ZarrData again(url, 1000, cfg);
      ADD_FAILURE() << "a second appender was let in while the first writer runs";
    } catch (const zarr::StoreLockedError& e) {
      ASSERT_TRUE(e.holder().has_value()) << e.what();
      EXPECT_EQ(e.holder()->pid, first.pid());
      EXPECT_FALSE(e.holder()->host.empty());
      EXPECT_FALSE(e.holder()->process_started.empty());
    }
  }
  ASSERT_TRUE(first.kill()) << "the first writer ended on its own: " << first.output();
  const std::int64_t survivors = sinks::TrajectoryReader(url).num_samples();
  ASSERT_GE(survivors, 1);
  Child third(writer_args(program, url, scratch + "/third.log", env, {"--append", "--samples", "9"}, {}, -1, 23));
  ASSERT_EQ(third.wait(), 0) << "appending after the writer was killed: " << third.output();
  expect_samples_from(url, 0, survivors + 9);
}

}  // namespace batchmd::test_support
