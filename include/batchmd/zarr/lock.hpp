// SPDX-License-Identifier: Apache-2.0
// zarr/lock: one writer at a time per store. A writer takes the store's writer lock before it
// creates or appends anything and holds it until it is done; readers never take it. The lock is a
// record under the key kWriterLockKey naming its holder (host, pid, process start time), so a
// refused writer can say who holds the store, and a lock left behind by a killed process can be
// recognised: on the same machine by a dead pid, on remote stores also by an expired lease. How
// each store enforces it (flock, an exclusively created file, conditional writes or a lease with
// read-after-write confirmation) is in file_lock.cpp, memory_store.cpp and s3_lock.cpp; the
// protocol and how a user breaks a lock by hand are in docs/stores.md.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "batchmd/core/error.hpp"

namespace batchmd::zarr {

/// The store key of the writer lock record (a hidden file at the root of a file store).
inline constexpr std::string_view kWriterLockKey = ".batchmd-lock";

/// Who holds (or held) a store's writer lock, as recorded in the lock record (JSON).
struct LockHolder {
  std::string host;             ///< host name
  std::int64_t pid = 0;         ///< process id on that host
  std::string process_started;  ///< when that process started (UTC, "2026-01-05 10:22:03 UTC")
  std::string acquired;         ///< when it took the lock (UTC)
  std::string tool;             ///< e.g. "batchmd 0.1.0"
  std::string mode;             ///< how the lock is held: flock, lockfile, lease, memory
  std::string token;            ///< random; unique per acquisition
  double lease_s = 0;           ///< lease mode: stale once not renewed for this long
  // Same-machine liveness checks: a pid means the same process only on the same boot of the same
  // host, in the same PID namespace, with the same start time (pids are reused).
  std::string boot_id;
  std::string pid_namespace;
  std::uint64_t start_ticks = 0;

  /// This process, with a fresh token.
  static LockHolder self(const std::string& tool, const std::string& mode, double lease_s = 0);
  std::string to_json() const;
  /// nullopt when `bytes` is not a lock record (empty, truncated, foreign).
  static std::optional<LockHolder> parse(std::span<const std::byte> bytes);
  /// "pid 4242 on host node17 (batchmd 0.1.0, process started ..., holding the store since ...)".
  std::string describe() const;
};

enum class Liveness {
  Alive,    ///< the holder's process runs (same machine)
  Dead,     ///< the holder's process is gone (same machine: no such pid, a zombie, or a reused pid)
  Unknown,  ///< another machine (or PID namespace): cannot tell from here
};
/// Whether the holder's process still runs, as far as this machine can tell.
Liveness holder_liveness(const LockHolder& holder);

/// A writer was refused because another one holds the store. what() names the store, the holder
/// (when its record is readable) and how to proceed.
class StoreLockedError : public IOError {
 public:
  StoreLockedError(const std::string& message, std::optional<LockHolder> holder)
      : IOError(message), holder_(std::move(holder)) {}
  const std::optional<LockHolder>& holder() const { return holder_; }

 private:
  std::optional<LockHolder> holder_;
};

struct WriterLockOptions {
  enum class FileMode {
    Flock,     ///< default: flock(2) on the lock file, released by the kernel when the holder dies
    LockFile,  ///< the lock file is created exclusively (link(2)); for file systems whose flock
               ///< is missing or only node-local (e.g. Lustre with localflock)
  };
  std::string tool = "batchmd 0.1.0";
  FileMode file_mode = FileMode::Flock;
  /// Remote stores: the holder renews its lease every lease_s/4; a lock not renewed for lease_s
  /// (measured with the server's clock) is stale.
  double lease_s = 60.0;
  /// Remote stores whose server ignores conditional writes: how long a new holder waits before
  /// reading its lock back to confirm that no concurrent writer replaced it.
  double settle_s = 1.0;
  /// Overrides from BATCHMD_FILE_LOCK (flock|lockfile), BATCHMD_LOCK_LEASE_S and
  /// BATCHMD_LOCK_SETTLE_S; InvalidArgument for a malformed value.
  static WriterLockOptions from_environment();
};

/// A held writer lock; released by the destructor. Not copyable; the store it came from must
/// outlive it.
class WriterLock {
 public:
  WriterLock() = default;
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;
  virtual ~WriterLock() = default;

  /// Throws IOError when this writer no longer holds the store (its lock record was removed or
  /// taken over, e.g. after its lease expired while it was stalled). A writer calls it before it
  /// writes, so that two writers never mix their data. Cheap: I/O only when a remote lease has not
  /// been confirmed for a while.
  virtual void check() = 0;
  /// The record this writer holds the lock with.
  const LockHolder& holder() const { return holder_; }
  /// True when a lock record of a writer that had died was found and replaced: the store may hold
  /// what that writer left before its first commit.
  bool took_over() const { return took_over_; }
  /// The dead writer's record, when it was readable.
  const std::optional<LockHolder>& previous() const { return previous_; }

 protected:
  LockHolder holder_;
  bool took_over_ = false;
  std::optional<LockHolder> previous_;
};

/// The message of a StoreLockedError: the store, who holds it and what to do.
std::string locked_message(const std::string& store_url, const std::optional<LockHolder>& holder,
                           const std::string& how_to_break);

}  // namespace batchmd::zarr
