// SPDX-License-Identifier: Apache-2.0
// S3Store's writer lock: a lease object at <prefix>/.batchmd-lock holding the holder's record.
//
// There are no file locks on an object store, and a dead holder cannot release anything, so
// the lock is a lease: its holder rewrites it every lease_s/4, and a lock that has not been
// rewritten for lease_s is stale. Its age is measured with the server's clock alone (the Date of
// the answer minus the object's Last-Modified), so clocks of different machines never meet. A
// lock whose holder is known to be dead (same machine, lock.hpp) is stale at once.
//
// Taking the lock:
//  1. GET the lock. A live, unexpired one: refuse, naming its holder.
//  2. PUT ours, conditional on what step 1 saw: If-None-Match: * when there was none, If-Match:
//     <etag> of the stale one (gs://: x-goog-if-generation-match). Refused (412/409): another
//     writer got there first; start again (step 1 then names it).
//  3. PUT ours once more with If-None-Match: *. A server that enforces conditional writes must
//     refuse it now that the object exists: then step 2 was exclusive and the lock is ours.
//  4. A server that accepted it ignores conditions (s3rver, which the tests use, does: see
//     docs/stores.md). Then: if steps 1-3 took longer than settle_s/2, start again (a step 1 that
//     finds our own record goes straight to the wait); else wait settle_s, GET the lock and hold
//     the store only if it still holds our token. Of writers that race, each one's writes fall
//     within settle_s/2 of a read that saw no fresh lock, so every racer's confirming read
//     (>= settle_s after its own last write) comes after all their writes: they all read the
//     same, last record, and exactly one of them finds its token. A request delayed by more than
//     settle_s/2 on its way to such a server can still replace a holder's record; the holder then
//     finds a foreign token at its next check() (at most settle_s after its last) and stops.
// While held, a renewal thread rewrites the lock (If-Match its last version) and notices when it
// was taken over; check() refuses to let the writer go on once the lease may have lapsed.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "batchmd/core/error.hpp"
#include "batchmd/zarr/s3_store.hpp"

namespace batchmd::zarr {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kAttempts = 6;

std::span<const std::byte> as_bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

class S3LeaseLock final : public WriterLock {
 public:
  S3LeaseLock(S3Store& store, const WriterLockOptions& o) : store_(store), opt_(o), key_(kWriterLockKey) {
    if (!(o.lease_s > 0) || !(o.settle_s > 0))
      throw InvalidArgument("S3 writer lock: lease_s and settle_s must be > 0");
    holder_ = LockHolder::self(o.tool, "lease", o.lease_s);
    acquire();
    renewer_ = std::thread([this] { renew_loop(); });
  }

  ~S3LeaseLock() override {
    {
      const std::lock_guard g(m_);
      stop_ = true;
    }
    cv_.notify_all();
    if (renewer_.joinable()) renewer_.join();
    if (lost_) return;
    try {
      const auto cur = store_.get_versioned(key_);
      const auto h = cur ? LockHolder::parse(cur->value) : std::nullopt;
      if (h && h->token == holder_.token) store_.erase(key_);
    } catch (const std::exception& e) {
      std::fprintf(stderr,
                   "batchmd: %s: could not remove the writer lock (%s); it expires %g s after its last renewal\n",
                   store_.url().c_str(), e.what(), opt_.lease_s);
    }
  }

  void check() override {
    std::unique_lock g(renew_m_);
    if (!lost_ && seconds_since(renewed_) > opt_.lease_s / 2) {
      renew_locked();
    } else if (!lost_ && !conditional_ && seconds_since(verified_) > opt_.settle_s) {
      verify_locked();
    }
    if (lost_)
      throw IOError(store_.url() + ": this writer lost the store's lock: " + lost_why_ +
                    "; stopping so that two writers never mix their data (docs/stores.md)");
  }

 private:
  std::string how_to_break() const {
    return "a lock expires " + format_s(opt_.lease_s) +
           " s after its holder stops renewing it; if that process no longer runs, delete " + store_.url() + "/" +
           std::string(kWriterLockKey) + " to break the lock at once (docs/stores.md)";
  }

  static std::string format_s(double s) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", s);
    return b;
  }

  std::optional<LockHolder> holder_at_key() const {
    const auto cur = store_.get_versioned(key_);
    return cur ? LockHolder::parse(cur->value) : std::nullopt;
  }

  void acquire() {
    const std::string text = holder_.to_json();
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      const auto t0 = Clock::now();
      const auto cur = store_.get_versioned(key_);
      const auto prev = cur ? LockHolder::parse(cur->value) : std::nullopt;
      const bool ours = prev && prev->token == holder_.token;  // written by a slow earlier attempt
      if (cur && !ours) {
        const double lease = prev && prev->lease_s > 0 ? prev->lease_s : opt_.lease_s;
        const bool dead = prev && holder_liveness(*prev) == Liveness::Dead;
        const bool expired = cur->age_s && *cur->age_s > lease;
        if (!dead && !expired) {
          std::string msg = locked_message(store_.url(), prev, how_to_break());
          if (cur->age_s) msg += " (lock last renewed " + format_s(*cur->age_s) + " s ago)";
          throw StoreLockedError(msg, prev);
        }
        took_over_ = true;
        previous_ = prev;
      }
      if (!ours) {
        const auto cond = cur ? S3Store::Precondition::Version : S3Store::Precondition::Absent;
        if (!store_.set_if(key_, as_bytes(text), cond, cur ? cur->version : "")) {
          const auto now_there = holder_at_key();  // a retried PUT may have been refused by its own success
          if (!now_there || now_there->token != holder_.token) continue;
        }
        conditional_ = !store_.set_if(key_, as_bytes(text), S3Store::Precondition::Absent);
        if (!conditional_ && seconds_since(t0) > opt_.settle_s / 2) continue;  // too slow to rule out a racer
      }
      if (!conditional_) std::this_thread::sleep_for(std::chrono::duration<double>(opt_.settle_s));
      const auto confirm_start = Clock::now();
      const auto back = store_.get_versioned(key_);
      const auto h = back ? LockHolder::parse(back->value) : std::nullopt;
      if (!h || h->token != holder_.token) {
        if (h) throw StoreLockedError(locked_message(store_.url(), h, how_to_break()), h);
        continue;
      }
      renewed_ = t0;  // our last write was sent after t0: the lease runs from no earlier
      verified_ = confirm_start;
      return;
    }
    throw IOError(store_.url() + ": could not take the writer lock in " + std::to_string(kAttempts) +
                  " attempts (the server answered too slowly to confirm it, or other writers kept racing for it)");
  }

  /// Marks the lock lost unless `h` is our record.
  bool still_ours(const std::optional<LockHolder>& h) {
    if (h && h->token == holder_.token) return true;
    lost_why_ = h ? "it was taken over by " + h->describe() : "its lock object was deleted";
    lost_ = true;
    return false;
  }

  /// Reads our lock back. Requires renew_m_.
  void verify_locked() {
    const auto t = Clock::now();
    if (still_ours(holder_at_key())) verified_ = t;
  }

  /// Rewrites our lock (a new Last-Modified restarts the lease); marks the lock lost when another
  /// record replaced ours. Requires renew_m_.
  void renew_locked() {
    if (lost_) return;
    const auto t = Clock::now();
    const auto cur = store_.get_versioned(key_);
    if (!still_ours(cur ? LockHolder::parse(cur->value) : std::nullopt)) return;
    const std::string text = holder_.to_json();
    if (!store_.set_if(key_, as_bytes(text), S3Store::Precondition::Version, cur->version) &&
        !still_ours(holder_at_key()))
      return;
    renewed_ = verified_ = t;  // the lease runs from no earlier than this request's start
  }

  void renew_loop() {
    const auto period = std::chrono::duration<double>(opt_.lease_s / 4);
    std::unique_lock g(m_);
    while (!cv_.wait_for(g, period, [&] { return stop_; })) {
      g.unlock();
      try {
        const std::lock_guard r(renew_m_);
        renew_locked();
      } catch (const std::exception& e) {  // the server is away: try again next period
        std::fprintf(stderr, "batchmd: %s: could not renew the writer lock: %s\n", store_.url().c_str(), e.what());
      }
      g.lock();
      if (lost_) return;
    }
  }

  S3Store& store_;
  WriterLockOptions opt_;
  std::string key_;
  std::mutex renew_m_;          // one renewal at a time (the thread or check())
  Clock::time_point renewed_;   // when the last write of our record that the server took was sent
  Clock::time_point verified_;  // when the last read that found our record was sent
  bool conditional_ = false;    // the server enforces conditional writes
  std::atomic<bool> lost_{false};
  std::string lost_why_;
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread renewer_;
};

}  // namespace

std::unique_ptr<WriterLock> S3Store::lock_writer(const WriterLockOptions& options) {
  return std::make_unique<S3LeaseLock>(*this, options);
}

}  // namespace batchmd::zarr
