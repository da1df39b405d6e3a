// SPDX-License-Identifier: Apache-2.0
// The writer lock of file and memory stores (zarr/lock.hpp): its record names this process; a
// second writer is refused with the holder's identity, in this process and from another one
// (lock_holder), in both file lock modes and across them; a lock of a dead process is taken over,
// one of another machine is not (until removed by hand); pid reuse and zombies count as dead; a
// holder notices when its lock file is removed under it.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "../support/child_process.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/zarr/file_store.hpp"
#include "batchmd/zarr/lock.hpp"
#include "batchmd/zarr/memory_store.hpp"
#include "test_util.hpp"

using namespace batchmd;
using namespace batchmd::zarr;
using batchmd::test_support::Child;
using batchmd::test_support::ReadySignal;
using batchmd::test_support::SpawnOptions;
using batchmd::zarr::testing::TempDir;
namespace fs = std::filesystem;

namespace {

WriterLockOptions mode(WriterLockOptions::FileMode m) {
  WriterLockOptions o;
  o.file_mode = m;
  return o;
}
const WriterLockOptions kFlock = mode(WriterLockOptions::FileMode::Flock);
const WriterLockOptions kLockFile = mode(WriterLockOptions::FileMode::LockFile);

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<LockHolder> record_at(const fs::path& p) {
  const std::string t = read_text(p);
  return LockHolder::parse(std::as_bytes(std::span(t.data(), t.size())));
}

std::string hostname() {
  char h[256] = {};
  ::gethostname(h, sizeof h - 1);
  return h;
}

/// A process (lock_holder) holding the store's lock in the given mode until killed.
class Holder {
 public:
  Holder(const fs::path& store, const std::string& file_mode)
      : child_([&] {
          SpawnOptions o;
          o.argv = {BATCHMD_LOCK_HOLDER, store.string(), std::to_string(ready_.write_fd())};
          o.env = {{"BATCHMD_FILE_LOCK", file_mode}};
          o.output_file = store.string() + ".holder.log";
          o.keep_fds = {ready_.write_fd()};
          return o;
        }()) {
    ok_ = ready_.wait(30);
  }
  bool ok() const { return ok_; }
  pid_t pid() const { return child_.pid(); }
  std::string output() const { return child_.output(); }
  bool kill() { return child_.kill(); }

 private:
  ReadySignal ready_;
  Child child_;
  bool ok_ = false;
};

/// A pid that no process has: a child that exited and was reaped.
pid_t dead_pid() {
  const pid_t p = ::fork();
  if (p == 0) ::_exit(0);
  ::waitpid(p, nullptr, 0);
  return p;
}

void write_record(const fs::path& store, const LockHolder& h) {
  fs::create_directories(store);
  std::ofstream(store / ".batchmd-lock") << h.to_json();
}

class FileLock : public ::testing::TestWithParam<WriterLockOptions::FileMode> {
 protected:
  WriterLockOptions opts() const { return mode(GetParam()); }
  std::string mode_name() const { return GetParam() == WriterLockOptions::FileMode::Flock ? "flock" : "lockfile"; }
};

}  // namespace

TEST_P(FileLock, RecordNamesThisProcessAndASecondWriterIsRefused) {
  TempDir dir;
  FileStore store(dir.path() / "s.zarr");
  const auto lock = store.lock_writer(opts());
  const auto rec = record_at(dir.path() / "s.zarr" / ".batchmd-lock");
  ASSERT_TRUE(rec.has_value()) << read_text(dir.path() / "s.zarr" / ".batchmd-lock");
  EXPECT_EQ(rec->pid, ::getpid());
  EXPECT_EQ(rec->host, hostname());
  EXPECT_EQ(rec->mode, mode_name());
  EXPECT_FALSE(rec->process_started.empty());
  EXPECT_EQ(rec->token, lock->holder().token);
  EXPECT_EQ(rec->token.size(), 32u);
  EXPECT_FALSE(lock->took_over());
  EXPECT_EQ(holder_liveness(*rec), Liveness::Alive);
  FileStore again(dir.path() / "s.zarr");
  try {
    again.lock_writer(opts());
    FAIL() << "a second writer got the lock";
  } catch (const StoreLockedError& e) {
    const std::string msg = e.what();
    ASSERT_TRUE(e.holder().has_value()) << msg;
    EXPECT_EQ(e.holder()->token, lock->holder().token);
    EXPECT_NE(msg.find((dir.path() / "s.zarr").string() + ": another writer holds this store: pid " +
                       std::to_string(::getpid()) + " on host " + hostname()),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("process started " + rec->process_started), std::string::npos) << msg;
    EXPECT_NE(msg.find("remove " + (dir.path() / "s.zarr" / ".batchmd-lock").string()), std::string::npos) << msg;
  }
  lock->check();  // still ours
}

TEST_P(FileLock, ReleaseRemovesTheLockAndADirectoryItCreated) {
  TempDir dir;
  FileStore fresh(dir.path() / "new.zarr");
  EXPECT_FALSE(fs::exists(dir.path() / "new.zarr")) << "opening a file store created its directory";
  { const auto lock = fresh.lock_writer(opts()); }
  EXPECT_FALSE(fs::exists(dir.path() / "new.zarr")) << "the lock's directory stayed behind";
  fs::create_directories(dir.path() / "old.zarr");
  FileStore old(dir.path() / "old.zarr");
  {
    const auto lock = old.lock_writer(opts());
    old.set("a/b", std::as_bytes(std::span("x", 1)));
  }
  EXPECT_TRUE(fs::exists(dir.path() / "old.zarr" / "a" / "b"));
  EXPECT_FALSE(fs::exists(dir.path() / "old.zarr" / ".batchmd-lock"));
  const auto again = old.lock_writer(opts());  // free again
  EXPECT_FALSE(again->took_over());
}

// Another process holds it, in either mode: refused with that process's pid; once it is killed,
// its record is taken over. 2 x 2 mode combinations.
TEST_P(FileLock, AnotherProcessHoldsItThenDies) {
  for (const std::string other : {"flock", "lockfile"}) {
    SCOPED_TRACE("holder in " + other + " mode, this writer in " + mode_name() + " mode");
    TempDir dir;
    const fs::path path = dir.path() / "s.zarr";
    Holder holder(path, other);
    ASSERT_TRUE(holder.ok()) << holder.output();
    FileStore store(path);
    try {
      store.lock_writer(opts());
      FAIL() << "got a lock another process holds";
    } catch (const StoreLockedError& e) {
      ASSERT_TRUE(e.holder().has_value()) << e.what();
      EXPECT_EQ(e.holder()->pid, holder.pid()) << e.what();
      EXPECT_EQ(e.holder()->mode, other);
    }
    ASSERT_TRUE(holder.kill());
    const auto lock = store.lock_writer(opts());
    EXPECT_TRUE(lock->took_over());
    ASSERT_TRUE(lock->previous().has_value());
    EXPECT_EQ(lock->previous()->pid, holder.pid());
  }
}

TEST_P(FileLock, ARecordOfADeadProcessHereIsTakenOver) {
  TempDir dir;
  LockHolder dead = LockHolder::self("batchmd test", "lockfile");
  dead.pid = dead_pid();
  ASSERT_EQ(holder_liveness(dead), Liveness::Dead);
  write_record(dir.path() / "s.zarr", dead);
  FileStore store(dir.path() / "s.zarr");
  const auto lock = store.lock_writer(opts());
  EXPECT_TRUE(lock->took_over());
  ASSERT_TRUE(lock->previous().has_value());
  EXPECT_EQ(lock->previous()->pid, dead.pid);
  EXPECT_EQ(record_at(dir.path() / "s.zarr" / ".batchmd-lock")->token, lock->holder().token);
}

// A lock file mode record from another machine cannot be judged from here: refused until a user
// removes it (after checking that its process is gone), as the message says.
TEST_P(FileLock, ARecordOfAnotherMachineIsBrokenOnlyByHand) {
  TempDir dir;
  LockHolder remote = LockHolder::self("batchmd 0.1.0", "lockfile");
  remote.host = "compute-node-17";
  remote.boot_id = "another-boot";
  write_record(dir.path() / "s.zarr", remote);
  ASSERT_EQ(holder_liveness(remote), Liveness::Unknown);
  FileStore store(dir.path() / "s.zarr");
  try {
    store.lock_writer(opts());
    FAIL() << "took over a lock of another machine";
  } catch (const StoreLockedError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("on host compute-node-17"), std::string::npos) << msg;
    EXPECT_NE(msg.find("remove " + (dir.path() / "s.zarr" / ".batchmd-lock").string()), std::string::npos) << msg;
  }
  fs::remove(dir.path() / "s.zarr" / ".batchmd-lock");  // by hand
  const auto lock = store.lock_writer(opts());
  EXPECT_FALSE(lock->took_over());
}

TEST_P(FileLock, AHolderNoticesWhenItsLockIsRemoved) {
  TempDir dir;
  FileStore store(dir.path() / "s.zarr");
  const auto lock = store.lock_writer(opts());
  lock->check();
  fs::remove(dir.path() / "s.zarr" / ".batchmd-lock");
  try {
    lock->check();
    FAIL() << "check() did not notice";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("was removed or replaced"), std::string::npos) << e.what();
  }
  const auto other = store.lock_writer(opts());  // someone else now holds it
  EXPECT_THROW(lock->check(), IOError);
}

INSTANTIATE_TEST_SUITE_P(Modes, FileLock,
                         ::testing::Values(WriterLockOptions::FileMode::Flock, WriterLockOptions::FileMode::LockFile),
                         [](const auto& p) {
                           return p.param == WriterLockOptions::FileMode::Flock ? std::string("flock")
                                                                                : std::string("lockfile");
                         });

// In flock mode the kernel's lock decides: a record without flock is a dead writer's, even one
// of another machine (a live flock holder there would hold the flock, on NFS too).
TEST(FileLockFlock, AFlockRecordWithoutTheFlockIsTakenOver) {
  TempDir dir;
  LockHolder remote = LockHolder::self("batchmd 0.1.0", "flock");
  remote.host = "compute-node-17";
  write_record(dir.path() / "s.zarr", remote);
  FileStore store(dir.path() / "s.zarr");
  const auto lock = store.lock_writer(kFlock);
  EXPECT_TRUE(lock->took_over());
}

TEST(FileLockLockFile, AnUnreadableRecordIsNotBroken) {
  TempDir dir;
  fs::create_directories(dir.path() / "s.zarr");
  std::ofstream(dir.path() / "s.zarr" / ".batchmd-lock") << "{ not json";
  FileStore store(dir.path() / "s.zarr");
  try {
    store.lock_writer(kLockFile);
    FAIL() << "broke an unreadable lock";
  } catch (const StoreLockedError& e) {
    EXPECT_NE(std::string(e.what()).find("its lock record is unreadable"), std::string::npos) << e.what();
  }
}

TEST(LockHolderLiveness, PidReuseAndZombiesCountAsDead) {
  LockHolder me = LockHolder::self("t", "lockfile");
  EXPECT_EQ(holder_liveness(me), Liveness::Alive);
  LockHolder reused = me;
  reused.start_ticks += 1;  // our pid, another start time: the pid was reused
  EXPECT_EQ(holder_liveness(reused), Liveness::Dead);
  LockHolder parent = me;  // a live process
  parent.pid = ::getppid();
  parent.start_ticks = 0;  // start time unknown: a live pid counts as alive
  EXPECT_EQ(holder_liveness(parent), Liveness::Alive);
  parent.start_ticks = 1;  // not when it started
  EXPECT_EQ(holder_liveness(parent), Liveness::Dead);
  const pid_t zombie = ::fork();
  if (zombie == 0) ::_exit(0);
  LockHolder z = me;
  z.pid = zombie;
  z.start_ticks = 0;
  for (int i = 0; i < 500 && holder_liveness(z) != Liveness::Dead; ++i) ::usleep(2000);  // until it has exited
  EXPECT_EQ(holder_liveness(z), Liveness::Dead) << "a killed, not yet reaped process";
  ::waitpid(zombie, nullptr, 0);
  EXPECT_EQ(holder_liveness(z), Liveness::Dead);
  LockHolder elsewhere = me;
  elsewhere.host = "another-host";
  EXPECT_EQ(holder_liveness(elsewhere), Liveness::Unknown);
  LockHolder other_ns = me;
  other_ns.pid_namespace = "pid:[1]";
  EXPECT_EQ(holder_liveness(other_ns), Liveness::Unknown);
}

TEST(LockHolderRecord, RoundTripsAndRejectsForeignJson) {
  const LockHolder h = LockHolder::self("batchmd 0.1.0", "lease", 30);
  const std::string text = h.to_json();
  const auto back = LockHolder::parse(std::as_bytes(std::span(text.data(), text.size())));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->token, h.token);
  EXPECT_EQ(back->pid, h.pid);
  EXPECT_EQ(back->lease_s, 30);
  EXPECT_EQ(back->start_ticks, h.start_ticks);
  for (const std::string bad : {"", "{}", "[1,2]", "{\"batchmd_writer_lock\":1,\"pid\":\"x\"}", "\xff\xfe"})
    EXPECT_FALSE(LockHolder::parse(std::as_bytes(std::span(bad.data(), bad.size()))).has_value()) << bad;
}

TEST(MemoryStoreLock, OneWriterPerStoreInAProcess) {
  MemoryStore store("locktest");
  {
    const auto lock = store.lock_writer({});
    EXPECT_THROW(store.lock_writer({}), StoreLockedError);
    lock->check();
  }
  const auto again = store.lock_writer({});
  again->check();
}

TEST(WriterLockOptions, FromTheEnvironment) {
  ::setenv("BATCHMD_FILE_LOCK", "lockfile", 1);
  ::setenv("BATCHMD_LOCK_LEASE_S", "12.5", 1);
  auto o = WriterLockOptions::from_environment();
  EXPECT_EQ(o.file_mode, WriterLockOptions::FileMode::LockFile);
  EXPECT_EQ(o.lease_s, 12.5);
  ::setenv("BATCHMD_FILE_LOCK", "fcntl", 1);
  EXPECT_THROW(WriterLockOptions::from_environment(), InvalidArgument);
  ::setenv("BATCHMD_FILE_LOCK", "flock", 1);
  ::setenv("BATCHMD_LOCK_LEASE_S", "-3", 1);
  EXPECT_THROW(WriterLockOptions::from_environment(), InvalidArgument);
  ::unsetenv("BATCHMD_FILE_LOCK");
  ::unsetenv("BATCHMD_LOCK_LEASE_S");
  o = WriterLockOptions::from_environment();
  EXPECT_EQ(o.file_mode, WriterLockOptions::FileMode::Flock);
  EXPECT_EQ(o.lease_s, 60);
}
