// SPDX-License-Identifier: Apache-2.0
// FileStore's writer lock: the file <root>/.batchmd-lock holds the holder's record (lock.hpp).
//
// Default (flock): the holder keeps flock(LOCK_EX) on the file. The kernel drops the lock when
// the holder dies, however it dies, so a lock file left by a killed writer is free again at once
// and is taken over with no guessing about pids; the file system arbitrates concurrent creators
// (flock works across NFS clients too). The file is removed on release; because another writer
// may have opened it just before, a new holder checks after flock() that the path still names the
// file it locked, and starts again when it does not.
//
// LockFile mode (BATCHMD_FILE_LOCK=lockfile, or automatically where flock is not supported): the
// record is written to a temporary file and link(2)ed to the lock path, which fails when the path
// exists, on local file systems and NFS alike. A lock left by a process that is known to be dead
// (same machine, see holder_liveness) is moved aside and, if what was moved is that same stale
// record, deleted; a lock of another machine is broken by hand (docs/stores.md).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <system_error>
#include <thread>

#include "batchmd/core/error.hpp"
#include "batchmd/zarr/file_store.hpp"

namespace batchmd::zarr {

namespace fs = std::filesystem;

namespace {

constexpr int kAttempts = 50;  // a path replaced this often under us means something is wrong

[[noreturn]] void throw_io(const fs::path& path, const char* what, int err) {
  throw IOError(path.string() + ": " + what + " failed: " + std::system_category().message(err));
}

bool flock_unsupported(int err) {
  return err == ENOLCK || err == EOPNOTSUPP || err == ENOSYS || err == EINVAL || err == ENOTSUP;
}

Bytes read_fd(int fd) {
  Bytes out;
  std::byte buf[4096];
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.insert(out.end(), buf, buf + n);
    at += n;
  }
  return out;
}

std::optional<Bytes> read_path(const fs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  Bytes b = read_fd(fd);
  ::close(fd);
  return b;
}

void write_file(const fs::path& p, const std::string& text) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw_io(p, "create", errno);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(p.c_str());
    throw_io(p, "write", err);
  }
}

bool same_file(int fd, const fs::path& p) {
  struct stat a {
  }, b{};
  return ::fstat(fd, &a) == 0 && ::stat(p.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

fs::path temp_beside(const fs::path& dir, const std::string& what) {
  static std::atomic<std::uint64_t> counter{0};
  return dir / (".batchmd-tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) + "-" + what);
}

class FileWriterLock final : public WriterLock {
 public:
  FileWriterLock(fs::path root, const WriterLockOptions& o) : root_(std::move(root)), path_(root_ / kWriterLockKey) {
    ensure_root();
    if (o.file_mode == WriterLockOptions::FileMode::Flock && acquire_flock(o)) return;
    acquire_lockfile(o);
  }

  ~FileWriterLock() override {
    if (fd_ >= 0) {  // flock: remove the file while still holding it, then let go
      if (same_file(fd_, path_)) ::unlink(path_.c_str());
      ::close(fd_);
    } else if (const auto b = read_path(path_)) {
      const auto h = LockHolder::parse(*b);
      if (h && h->token == holder_.token) ::unlink(path_.c_str());
    }
    if (created_root_) prune_empty_dirs();
  }

  void check() override {
    bool ours = false;
    if (fd_ >= 0) {
      ours = same_file(fd_, path_);
    } else if (const auto b = read_path(path_)) {
      const auto h = LockHolder::parse(*b);
      ours = h && h->token == holder_.token;
    }
    if (!ours)
      throw IOError(root_.string() + ": this writer's lock " + path_.string() +
                    " was removed or replaced while it was writing; stopping so that two writers never mix "
                    "their data (docs/stores.md)");
  }

 private:
  std::string how_to_break() const {
    return "if that process no longer runs (e.g. its machine went down), remove " + path_.string() +
           " and try again (docs/stores.md)";
  }

  void ensure_root() {
    std::error_code ec;
    if (root_.has_parent_path()) fs::create_directories(root_.parent_path(), ec);
    if (::mkdir(root_.c_str(), 0755) == 0) {
      created_root_ = true;
    } else if (errno != EEXIST) {
      throw_io(root_, "create directory", errno);
    }
    struct stat st {};
    if (::stat(root_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      throw IOError(root_.string() + ": not a directory; a file store needs a directory here");
  }

  /// The holder's record, read from `fd`; a holder writes it right after flock(), so wait a moment
  /// for it to appear.
  static std::optional<LockHolder> read_holder(int fd) {
    for (int i = 0; i < 50; ++i) {
      if (auto h = LockHolder::parse(read_fd(fd))) return h;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
  }

  /// False when the file system does not support flock (then the lock file mode is used).
  bool acquire_flock(const WriterLockOptions& o) {
    holder_ = LockHolder::self(o.tool, "flock");
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      bool created = true;
      int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0 && errno == EEXIST) {
        created = false;
        fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
      }
      if (fd < 0 && errno == ENOENT) {  // removed meanwhile (with the root by a writer giving up)
        ensure_root();
        continue;
      }
      if (fd < 0) throw_io(path_, "open", errno);
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        if (err == EWOULDBLOCK) {
          const auto h = read_holder(fd);
          ::close(fd);
          throw StoreLockedError(locked_message(root_.string(), h, how_to_break()), h);
        }
        ::close(fd);
        if (created) ::unlink(path_.c_str());
        if (flock_unsupported(err)) return false;
        throw_io(path_, "flock", err);
      }
      if (!same_file(fd, path_)) {  // its holder removed it while we waited: start again
        ::close(fd);
        continue;
      }
      if (!created) {
        // A record without flock: a writer that died (the kernel dropped its flock), or a live
        // writer in lock file mode, which holds the store without flock.
        const auto prev = LockHolder::parse(read_fd(fd));
        if (prev && prev->mode == "lockfile" && holder_liveness(*prev) != Liveness::Dead) {
          ::close(fd);
          throw StoreLockedError(locked_message(root_.string(), prev, how_to_break()), prev);
        }
        took_over_ = true;
        previous_ = prev;
      }
      const std::string text = holder_.to_json();
      if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
        const int err = errno;
        ::close(fd);
        throw_io(path_, "write", err);
      }
      fd_ = fd;
      return true;
    }
    throw IOError(path_.string() + ": could not take the writer lock: the lock file kept being replaced");
  }

  /// Whether a writer holds flock on the lock file now (nullopt: flock unsupported here).
  std::optional<bool> flock_held() const {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool locked = ::flock(fd, LOCK_SH | LOCK_NB) != 0;
    const int err = errno;
    ::close(fd);
    if (locked && err != EWOULDBLOCK) return std::nullopt;
    return locked;
  }

  void acquire_lockfile(const WriterLockOptions& o) {
    holder_ = LockHolder::self(o.tool, "lockfile");
    const std::string text = holder_.to_json();
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      const fs::path temp = temp_beside(root_, "lock");
      write_file(temp, text);
      const int rc = ::link(temp.c_str(), path_.c_str());
      const int err = errno;
      ::unlink(temp.c_str());
      if (rc == 0) return;
      if (err == ENOENT) {
        ensure_root();
        continue;
      }
      if (err != EEXIST) throw_io(path_, "link", err);
      const auto bytes = read_path(path_);
      if (!bytes) continue;  // released meanwhile
      const auto prev = LockHolder::parse(*bytes);
      Liveness alive = prev ? holder_liveness(*prev) : Liveness::Unknown;
      if (prev && alive == Liveness::Unknown && prev->mode == "flock") {
        const auto held = flock_held();  // a flock holder on another machine shows here (NFS)
        if (held) alive = *held ? Liveness::Alive : Liveness::Dead;
      }
      if (!prev || alive != Liveness::Dead)
        throw StoreLockedError(locked_message(root_.string(), prev, how_to_break()), prev);
      // Its writer is dead: move its record aside and delete it, unless what we moved is a fresh
      // record another writer put there after we read the stale one (then put that one back).
      const fs::path aside = temp_beside(root_, "stale-lock");
      if (::rename(path_.c_str(), aside.c_str()) != 0) {
        if (errno == ENOENT) continue;
        throw_io(path_, "rename", errno);
      }
      const auto moved_bytes = read_path(aside);
      const auto moved = moved_bytes ? LockHolder::parse(*moved_bytes) : std::nullopt;
      if (moved && moved->token == prev->token) {
        ::unlink(aside.c_str());
        took_over_ = true;
        previous_ = prev;
        continue;
      }
      const bool restored = ::link(aside.c_str(), path_.c_str()) == 0;
      ::unlink(aside.c_str());
      throw StoreLockedError(
          locked_message(root_.string(), moved, how_to_break()) +
              (restored ? "" : " (a concurrent writer replaced its lock while it was being checked)"),
          moved);
    }
    throw IOError(path_.string() + ": could not take the writer lock: the lock file kept being replaced");
  }

  /// Empty directories below the root (left by a writer that stored nothing), then the root.
  void prune_empty_dirs() const {
    std::error_code ec;
    std::vector<fs::path> dirs;
    for (fs::recursive_directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_directory(ec)) dirs.push_back(it->path());
    std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) { return a.native() > b.native(); });
    for (const auto& d : dirs) ::rmdir(d.c_str());  // fails, harmlessly, where something is stored
    ::rmdir(root_.c_str());
  }

  fs::path root_, path_;
  int fd_ = -1;  // flock mode: the locked lock file
  bool created_root_ = false;
};

}  // namespace

std::unique_ptr<WriterLock> FileStore::lock_writer(const WriterLockOptions& options) {
  return std::make_unique<FileWriterLock>(root_, options);
}

}  // namespace batchmd::zarr
