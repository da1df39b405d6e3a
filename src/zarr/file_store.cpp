// SPDX-License-Identifier: Apache-2.0
// FileStore: POSIX file I/O under a root directory; set() writes a temporary file beside the
// target and renames it over the target, which POSIX makes atomic for readers.
#include "batchmd/zarr/file_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <system_error>
#include <utility>

#include "batchmd/core/error.hpp"

namespace batchmd::zarr {

namespace fs = std::filesystem;

namespace {

// Temporary files carry this prefix so that listings can skip a write in progress.
constexpr std::string_view kTempPrefix = ".batchmd-tmp-";

[[noreturn]] void throw_io(const fs::path& path, const char* what, int err) {
  throw IOError(path.string() + ": " + what + " failed: " + std::system_category().message(err));
}

bool is_temp_name(std::string_view name) { return name.substr(0, kTempPrefix.size()) == kTempPrefix; }

// Closes the descriptor on every path out of a scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Opens a regular file for reading; nullopt-equivalent (-1 fd) when it does not exist.
Fd open_for_read(const fs::path& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Fd(-1);
    throw_io(path, "open", errno);
  }
  return Fd(fd);
}

std::uint64_t file_size(const Fd& fd, const fs::path& path, bool& regular) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_io(path, "stat", errno);
  regular = S_ISREG(st.st_mode);
  return static_cast<std::uint64_t>(st.st_size);
}

std::optional<Bytes> read_range(const fs::path& path, std::uint64_t offset, std::uint64_t length, bool from_end) {
  const Fd fd = open_for_read(path);
  if (fd.get() < 0) return std::nullopt;
  bool regular = false;
  const std::uint64_t size = file_size(fd, path, regular);
  if (!regular) return std::nullopt;
  if (from_end) offset = size - std::min(length, size);
  const std::uint64_t begin = std::min(offset, size);
  const std::uint64_t count = std::min(length, size - begin);
  Bytes out(count);
  std::uint64_t done = 0;
  while (done < count) {
    const ssize_t n = ::pread(fd.get(), out.data() + done, count - done, static_cast<off_t>(begin + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io(path, "read", errno);
    }
    if (n == 0) break;  // the file shrank under us: return what was there
    done += static_cast<std::uint64_t>(n);
  }
  out.resize(done);
  return out;
}

void fsync_dir(const fs::path& dir) {
  const Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) throw_io(dir, "open directory", errno);
  if (::fsync(fd.get()) != 0) throw_io(dir, "fsync directory", errno);
}

void make_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IOError(dir.string() + ": create directories failed: " + ec.message());
}

}  // namespace

FileStore::FileStore(fs::path root_dir, FileStoreOptions options) : root_(std::move(root_dir)), options_(options) {
  if (root_.empty()) throw InvalidArgument("FileStore: empty root directory");
}

fs::path FileStore::path_of(const std::string& key) const {
  validate_key(key);
  return root_ / key;
}

std::optional<Bytes> FileStore::get(const std::string& key) const {
  return read_range(path_of(key), 0, UINT64_MAX, false);
}

std::optional<Bytes> FileStore::get_range(const std::string& key, std::uint64_t offset, std::uint64_t length) const {
  return read_range(path_of(key), offset, length, false);
}

std::optional<Bytes> FileStore::get_suffix(const std::string& key, std::uint64_t length) const {
  return read_range(path_of(key), 0, length, true);
}

void FileStore::set(const std::string& key, std::span<const std::byte> value) {
  const fs::path target = path_of(key);
  const fs::path dir = target.parent_path();
  make_dirs(dir);
  static std::atomic<std::uint64_t> counter{0};
  const fs::path temp = dir / (std::string(kTempPrefix) + std::to_string(::getpid()) + "-" +
                               std::to_string(counter.fetch_add(1)) + "-" + target.filename().string());
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) throw_io(temp, "create", errno);
  try {
    std::size_t done = 0;
    while (done < value.size()) {
      const ssize_t n = ::write(fd.get(), value.data() + done, value.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_io(temp, "write", errno);
      }
      done += static_cast<std::size_t>(n);
    }
    if (options_.fsync && ::fsync(fd.get()) != 0) throw_io(temp, "fsync", errno);
    if (::close(fd.release()) != 0) throw_io(temp, "close", errno);
    if (::rename(temp.c_str(), target.c_str()) != 0) throw_io(target, "rename", errno);
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  if (options_.fsync) fsync_dir(dir);
}

void FileStore::erase(const std::string& key) {
  const fs::path path = path_of(key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR) {
    throw_io(path, "unlink", errno);
  }
}

std::vector<std::string> FileStore::list(const std::string& prefix) const {
  validate_prefix(prefix);
  const std::size_t slash = prefix.rfind('/');
  const std::string base = slash == std::string::npos ? "" : prefix.substr(0, slash);
  const fs::path start = base.empty() ? root_ : root_ / base;
  std::vector<std::string> keys;
  std::error_code ec;
  if (!fs::is_directory(start, ec)) return keys;
  fs::recursive_directory_iterator it(start, ec), end;
  if (ec) throw IOError(start.string() + ": list failed: " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) throw IOError(start.string() + ": list failed: " + ec.message());
    const std::string name = it->path().filename().string();
    if (is_temp_name(name)) continue;
    if (!it->is_regular_file(ec)) continue;
    std::string key = it->path().lexically_relative(root_).generic_string();
    if (key.compare(0, prefix.size(), prefix) == 0) keys.push_back(std::move(key));
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::vector<std::string> FileStore::list_dir(const std::string& prefix) const {
  validate_prefix(prefix);
  const fs::path dir = prefix.empty() ? root_ : root_ / prefix;
  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return names;
  for (fs::directory_iterator it(dir, ec), end; it != end; it.increment(ec)) {
    if (ec) throw IOError(dir.string() + ": list failed: " + ec.message());
    std::string name = it->path().filename().string();
    if (!is_temp_name(name)) names.push_back(std::move(name));
  }
  if (ec) throw IOError(dir.string() + ": list failed: " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

bool FileStore::exists(const std::string& key) const {
  struct stat st {};
  return ::stat(path_of(key).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string FileStore::url() const { return root_.string(); }

}  // namespace batchmd::zarr
