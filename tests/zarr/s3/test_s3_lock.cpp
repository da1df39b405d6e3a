// SPDX-License-Identifier: Apache-2.0
// One writer per S3 store (s3_lock.cpp), against the local S3 server in two behaviours: s3rver as
// it is, which ignores If-None-Match/If-Match on PUT (the lock then confirms itself by reading
// back after settle_s), and with --conditional-writes, where the launcher enforces them as S3
// does. Real processes (kill_writer) race to create a store, a second appender meets a running
// writer, a killed writer's lock is taken over at once (same machine, dead pid), a lock of
// another machine only once its lease has expired, and a stalled writer whose lease lapsed stops
// without writing over its successor.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <thread>

#include "batchmd/core/error.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "batchmd/zarr/lock.hpp"
#include "batchmd/zarr/s3_store.hpp"
#include "lock_scenarios.hpp"
#include "s3_fixture.hpp"

using namespace batchmd;
using namespace batchmd::s3test;
using namespace batchmd::test_support;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kWriter = BATCHMD_KILL_WRITER;
constexpr const char* kSettle = "0.3";  // BATCHMD_LOCK_SETTLE_S for these tests (default 1 s)

/// One local S3 server per behaviour, started on first use.
class Server {
 public:
  explicit Server(bool conditional)
      : dir_(conditional ? "lock_cond" : "lock_plain"),
        process_("s3_server.mjs", conditional
                                      ? std::vector<std::string>{"--dir", dir_.path().string(), "--bucket", kBucket,
                                                                 "--conditional-writes"}
                                      : std::vector<std::string>{"--dir", dir_.path().string(), "--bucket", kBucket}) {}
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(process_.port()); }
  int port() const { return process_.port(); }
  /// The environment open_store reads, here and in the children.
  void export_environment() const {
    ::setenv("AWS_ENDPOINT_URL", endpoint().c_str(), 1);
    ::setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    ::setenv("AWS_REGION", "us-east-1", 1);
    ::unsetenv("AWS_SESSION_TOKEN");
    ::unsetenv("AWS_ENDPOINT_URL_S3");
    ::setenv("BATCHMD_LOCK_SETTLE_S", kSettle, 1);
    ::unsetenv("BATCHMD_LOCK_LEASE_S");
  }

 private:
  ScratchDir dir_;
  NodeProcess process_;
};

Server& server(bool conditional) {
  static std::unique_ptr<Server> plain, cond;
  auto& s = conditional ? cond : plain;
  if (!s) s = std::make_unique<Server>(conditional);
  s->export_environment();
  return *s;
}

std::string s3_url(const std::string& tag) { return "s3://" + kBucket + "/" + unique_name(tag) + "/traj.zarr"; }

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

std::string text_of(const zarr::Bytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

class S3Lock : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { server(GetParam()); }
  void TearDown() override {
    ::unsetenv("BATCHMD_LOCK_SETTLE_S");
    ::unsetenv("BATCHMD_LOCK_LEASE_S");
  }
  bool conditional() const { return GetParam(); }
};

class Scratch {
 public:
  Scratch() : dir_("lock_logs") {}
  std::string str() const { return dir_.path().string(); }

 private:
  ScratchDir dir_;
};

}  // namespace

// The finding behind the two behaviours: s3rver 3.7 writes over an existing object despite
// If-None-Match: * and despite a stale If-Match (it checks If-None-Match on GET only).
TEST_P(S3Lock, ConditionalWritesAreEnforcedOnlyWhereTheServerDoesIt) {
  zarr::S3Store store(s3_url("cond"));
  ASSERT_TRUE(store.set_if("k", bytes_of("first"), zarr::S3Store::Precondition::Absent));
  const auto v1 = store.get_versioned("k");
  ASSERT_TRUE(v1.has_value());
  EXPECT_FALSE(v1->version.empty());
  ASSERT_TRUE(v1->age_s.has_value()) << "the server reports Date and Last-Modified";
  EXPECT_GE(*v1->age_s, 0);
  EXPECT_LE(*v1->age_s, 5);
  const bool second_create = store.set_if("k", bytes_of("second"), zarr::S3Store::Precondition::Absent);
  const bool stale_replace = store.set_if("k", bytes_of("third"), zarr::S3Store::Precondition::Version, "\"0123\"");
  if (conditional()) {
    EXPECT_FALSE(second_create);
    EXPECT_FALSE(stale_replace);
    EXPECT_EQ(text_of(*store.get("k")), "first");
    EXPECT_TRUE(store.set_if("k", bytes_of("fourth"), zarr::S3Store::Precondition::Version, v1->version));
    EXPECT_EQ(text_of(*store.get("k")), "fourth");
    EXPECT_FALSE(store.set_if("missing", bytes_of("x"), zarr::S3Store::Precondition::Version, v1->version));
  } else {
    EXPECT_TRUE(second_create) << "s3rver now enforces If-None-Match: update docs/stores.md";
    EXPECT_TRUE(stale_replace);
    EXPECT_EQ(text_of(*store.get("k")), "third");
  }
}

TEST_P(S3Lock, RecordNamesThisProcessASecondWriterIsRefusedReleaseDeletesIt) {
  const std::string url = s3_url("record");
  zarr::S3Store store(url);
  const auto t0 = Clock::now();
  {
    const auto lock = store.lock_writer(zarr::WriterLockOptions::from_environment());
    const double took = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!conditional()) {
      EXPECT_GE(took, 0.3) << "without conditional writes the lock waits settle_s to confirm";
    }
    const auto rec = zarr::LockHolder::parse(*store.get(".batchmd-lock"));
    ASSERT_TRUE(rec.has_value());
    EXPECT_EQ(rec->pid, ::getpid());
    EXPECT_EQ(rec->mode, "lease");
    EXPECT_EQ(rec->lease_s, 60);
    EXPECT_EQ(rec->token, lock->holder().token);
    zarr::S3Store again(url);
    try {
      again.lock_writer(zarr::WriterLockOptions::from_environment());
      FAIL() << "a second writer got the lock";
    } catch (const zarr::StoreLockedError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(url + ": another writer holds this store: pid " + std::to_string(::getpid())),
                std::string::npos)
          << msg;
      EXPECT_NE(msg.find("delete " + url + "/.batchmd-lock"), std::string::npos) << msg;
    }
    lock->check();
  }
  EXPECT_FALSE(store.exists(".batchmd-lock")) << "release leaves the lock object";
}

// 8 races (x BATCHMD_KILL_STORM) per server behaviour, alternating which writer goes first, 0-3 ms apart.
TEST_P(S3Lock, ConcurrentCreatorsExactlyOneWins) {
  Scratch logs;
  std::mt19937_64 rng(conditional() ? 11 : 12);
  RaceTally tally;
  for (int trial = 0; trial < 8 * kill_storm(); ++trial) {
    const bool a_first = trial % 2 == 0;
    const int delay_us = trial % 4 < 2 ? 0 : static_cast<int>(rng() % 3000);  // half at the same moment
    SCOPED_TRACE("trial " + std::to_string(trial) + (a_first ? ": A first, " : ": B first, ") +
                 std::to_string(delay_us) + " us apart");
    race_two_creators(kWriter, s3_url("race"), logs.str(), {}, a_first, delay_us, tally, 10);
    if (HasFatalFailure()) return;
  }
  std::printf("%s server: %d races met the lock, %d came after the winner had finished\n",
              conditional() ? "conditional" : "plain", tally.locked, tally.exists);
  EXPECT_GT(tally.locked, 0) << "no race overlapped";
}

TEST_P(S3Lock, SecondAppenderIsRefusedAndAKilledWritersLockIsTakenOverAtOnce) {
  Scratch logs;
  const auto t0 = Clock::now();
  second_appender_then_stale_lock(kWriter, s3_url("append"), logs.str(), {});
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 50)
      << "a dead holder on this machine must not wait for its lease (60 s) to expire";
}

// A lock of another machine is stale only once it has not been renewed for its lease (by the
// server's clock).
TEST_P(S3Lock, AnotherMachinesLockIsTakenOverOnlyAfterItsLeaseExpired) {
  const std::string url = s3_url("expire");
  zarr::S3Store store(url);
  zarr::LockHolder remote = zarr::LockHolder::self("batchmd 0.1.0", "lease", 2.0);
  remote.host = "compute-node-17";
  remote.boot_id = "elsewhere";
  store.set(".batchmd-lock", bytes_of(remote.to_json()));
  const auto written = Clock::now();
  try {
    store.lock_writer(zarr::WriterLockOptions::from_environment());
    FAIL() << "took over a lease that had not expired";
  } catch (const zarr::StoreLockedError& e) {
    EXPECT_NE(std::string(e.what()).find("on host compute-node-17"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("renewed"), std::string::npos) << e.what();
  }
  std::this_thread::sleep_until(written + std::chrono::milliseconds(4000));  // 2 s lease, 1 s clock resolution
  const auto lock = store.lock_writer(zarr::WriterLockOptions::from_environment());
  EXPECT_TRUE(lock->took_over());
  ASSERT_TRUE(lock->previous().has_value());
  EXPECT_EQ(lock->previous()->host, "compute-node-17");
}

// A holder renews its lease: after several lease periods a second writer is still refused.
TEST_P(S3Lock, ALiveHolderRenewsItsLease) {
  ::setenv("BATCHMD_LOCK_LEASE_S", "2", 1);
  const std::string url = s3_url("renew");
  zarr::S3Store store(url);
  const auto lock = store.lock_writer(zarr::WriterLockOptions::from_environment());
  std::this_thread::sleep_for(std::chrono::milliseconds(4500));
  zarr::S3Store other(url);
  EXPECT_THROW(other.lock_writer(zarr::WriterLockOptions::from_environment()), zarr::StoreLockedError);
  lock->check();
}

// A writer stalled (SIGSTOP) past its lease loses the store to a second writer; resumed, it
// stops with an error instead of writing over what the second one appended.
TEST_P(S3Lock, AStalledWriterWhoseLeaseLapsedStopsWithoutWriting) {
  Scratch logs;
  const std::string url = s3_url("stall");
  const Env env = {{"BATCHMD_LOCK_LEASE_S", "2"}};
  Child first(writer_args(kWriter, url, logs.str() + "/first.log", env, {"--stop-after-first"}, {}, -1, 31));
  ASSERT_TRUE(first.wait_stopped()) << "the first writer ended instead of stopping: " << first.output();
  const std::int64_t n1 = sinks::TrajectoryReader(url).num_samples();
  ASSERT_GE(n1, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  Child second(writer_args(kWriter, url, logs.str() + "/second.log", env, {"--append", "--samples", "6"}, {}, -1, 32));
  ASSERT_EQ(second.wait(), 0) << "the second writer could not take the expired lease: " << second.output();
  first.signal(SIGCONT);
  const auto rc = first.wait_for(60);
  ASSERT_TRUE(rc.has_value()) << "the resumed writer went on writing";
  EXPECT_EQ(*rc, 1) << first.output();
  EXPECT_NE(first.output().find("lost the store's lock"), std::string::npos) << first.output();
  expect_samples_from(url, 0, n1 + 6);
}

INSTANTIATE_TEST_SUITE_P(Servers, S3Lock, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? std::string("conditional") : std::string("plain"); });

// The lock's writes reach the server 150 ms late (fault_proxy.mjs), so two racers both read "no
// lock" before either write lands: on s3rver, which ignores If-None-Match, only the read-back
// after settle_s can tell them apart. Exactly one must win.
TEST(S3LockSlowNetwork, RacersWhoseWritesArriveLateStillGetOneWinner) {
  Server& s = server(false);
  NodeProcess proxy("fault_proxy.mjs", {"--target", std::to_string(s.port())});
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(proxy.port());
  http_get(endpoint + "/__fault?delay_ms=150&count=1000000&method=PUT&path_suffix=/.batchmd-lock");
  ::setenv("AWS_ENDPOINT_URL", endpoint.c_str(), 1);
  ::setenv("BATCHMD_LOCK_SETTLE_S", "1.0", 1);
  Scratch logs;
  RaceTally tally;
  for (int trial = 0; trial < 4 * kill_storm(); ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    race_two_creators(kWriter, s3_url("slow"), logs.str(), {}, trial % 2 == 0, 0, tally, 6);
    if (::testing::Test::HasFatalFailure()) break;
  }
  ::unsetenv("BATCHMD_LOCK_SETTLE_S");
  EXPECT_EQ(tally.locked, 4 * kill_storm()) << "every race should have met the lock";
}
