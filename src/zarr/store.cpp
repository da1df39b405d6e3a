// SPDX-License-Identifier: Apache-2.0
// Key validation, the default list_dir, and open_store() with its registry of named memory stores.
#include "batchmd/zarr/store.hpp"

#include <algorithm>
#include <map>
#include <mutex>

#include "batchmd/core/error.hpp"
#include "batchmd/zarr/file_store.hpp"
#include "batchmd/zarr/memory_store.hpp"
#include "batchmd/zarr/s3_store.hpp"

namespace batchmd::zarr {

namespace {

std::string printable(std::string_view key) {
  std::string out;
  for (char c : key) out += (c == '\0') ? std::string("\\0") : std::string(1, c);
  return out;
}

[[noreturn]] void bad_key(std::string_view key, const char* why) {
  throw InvalidArgument("invalid store key '" + printable(key) + "': " + why);
}

}  // namespace

void validate_key(std::string_view key) {
  if (key.empty()) bad_key(key, "empty key");
  if (key.front() == '/') bad_key(key, "absolute paths are not keys");
  if (key.find('\\') != std::string_view::npos) bad_key(key, "backslash");
  if (key.find('\0') != std::string_view::npos) bad_key(key, "NUL character");
  std::size_t start = 0;
  while (true) {
    const std::size_t end = std::min(key.find('/', start), key.size());
    const std::string_view segment = key.substr(start, end - start);
    if (segment.empty()) bad_key(key, "empty path segment");
    if (segment == "." || segment == "..") bad_key(key, "'.' and '..' segments are not allowed");
    if (end == key.size()) break;
    start = end + 1;
  }
}

void validate_prefix(std::string_view prefix) {
  if (prefix.empty()) return;
  if (prefix.back() == '/') prefix.remove_suffix(1);
  validate_key(prefix);
}

std::string node_path(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (!path.empty()) validate_key(path);
  return std::string(path);
}

std::string join_key(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  std::string out(a);
  if (out.back() != '/') out += '/';
  out += b;
  return out;
}

std::vector<std::string> Store::list_dir(const std::string& prefix) const {
  validate_prefix(prefix);
  const std::string folder = (prefix.empty() || prefix.back() == '/') ? prefix : prefix + "/";
  std::vector<std::string> names;
  for (const std::string& key : list(folder)) {
    const std::string rest = key.substr(folder.size());
    names.push_back(rest.substr(0, rest.find('/')));
  }
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

namespace {

// Stores without a lock: the caller keeps to one writer at a time.
class NoLock final : public WriterLock {
 public:
  explicit NoLock(const WriterLockOptions& o) { holder_ = LockHolder::self(o.tool, "none"); }
  void check() override {}
};

}  // namespace

std::unique_ptr<WriterLock> Store::lock_writer(const WriterLockOptions& options) {
  return std::make_unique<NoLock>(options);
}

std::shared_ptr<Store> open_store(const std::string& url) {
  const std::size_t sep = url.find("://");
  if (sep == std::string::npos) {
    if (url.empty()) throw InvalidArgument("open_store: empty URL");
    return std::make_shared<FileStore>(url);
  }
  const std::string scheme = url.substr(0, sep);
  const std::string rest = url.substr(sep + 3);
  if (scheme == "file") {
    if (rest.empty()) throw InvalidArgument("open_store: '" + url + "' names no path");
    return std::make_shared<FileStore>(rest);
  }
  if (scheme == "memory") {
    if (rest.empty()) throw InvalidArgument("open_store: '" + url + "' names no memory store");
    static std::mutex registry_mutex;
    static std::map<std::string, std::shared_ptr<MemoryStore>> registry;
    const std::lock_guard lock(registry_mutex);
    auto& slot = registry[rest];
    if (!slot) slot = std::make_shared<MemoryStore>(rest);
    return slot;
  }
  if (scheme == "s3" || scheme == "gs") {
    return std::make_shared<S3Store>(url, S3Options::from_environment(scheme));
  }
  throw InvalidArgument("open_store: '" + url + "': unknown URL scheme '" + scheme + "'");
}

}  // namespace batchmd::zarr
