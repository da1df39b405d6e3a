// SPDX-License-Identifier: Apache-2.0
// zarr/store: the key -> bytes interface every Zarr store implements, key validation, and
// open_store(), which picks a Store implementation from a URL.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "batchmd/zarr/lock.hpp"

namespace batchmd::zarr {

using Bytes = std::vector<std::byte>;

/// A flat key -> bytes map. Keys are '/'-separated relative paths ("core/positions/c/0/0").
/// Every implementation is safe to call from several threads at once.
class Store {
 public:
  virtual ~Store() = default;

  /// The whole value, or nullopt when the key does not exist.
  virtual std::optional<Bytes> get(const std::string& key) const = 0;
  /// `length` bytes from `offset`, fewer when the value ends first; nullopt when the key does not exist.
  virtual std::optional<Bytes> get_range(const std::string& key, std::uint64_t offset, std::uint64_t length) const = 0;
  /// The last `length` bytes (all of them when the value is shorter); nullopt when missing.
  virtual std::optional<Bytes> get_suffix(const std::string& key, std::uint64_t length) const = 0;
  /// Atomic replace: a concurrent reader sees the old value or the new one, never a part.
  virtual void set(const std::string& key, std::span<const std::byte> value) = 0;
  /// Removes the key; erasing a missing key does nothing.
  virtual void erase(const std::string& key) = 0;
  /// Every key that starts with `prefix` (recursively), sorted.
  virtual std::vector<std::string> list(const std::string& prefix) const = 0;
  /// Names directly below the folder `prefix` ("" = root): keys and sub-folders, sorted, unique.
  virtual std::vector<std::string> list_dir(const std::string& prefix) const;
  virtual bool exists(const std::string& key) const = 0;
  /// Where the store lives, as given by the user; error messages put it before the key.
  virtual std::string url() const = 0;
  /// Takes the store's writer lock (see lock.hpp) for as long as the returned object lives: one
  /// writer at a time creates or appends; readers never take it. Throws StoreLockedError naming
  /// the holder when another live writer holds it; replaces the lock of a writer known to be dead
  /// (WriterLock::took_over()). A file store's root directory is created here when missing.
  /// The default, for stores that have no way to lock, returns a lock that enforces nothing.
  virtual std::unique_ptr<WriterLock> lock_writer(const WriterLockOptions& options);
};

/// Throws InvalidArgument naming the key unless it is a non-empty '/'-separated relative path
/// without '.', '..' or empty segments, backslashes or NUL.
void validate_key(std::string_view key);
/// Like validate_key, but also accepts "" and a trailing '/' (a folder prefix).
void validate_prefix(std::string_view prefix);
/// A node (array or group) path: "" is the root; a trailing '/' is dropped and the rest is
/// validated as a key.
std::string node_path(std::string_view path);
/// Joins two key parts with '/', where both are non-empty.
std::string join_key(std::string_view a, std::string_view b);

/// Opens a store by URL: a plain path or file://path -> FileStore; memory://name -> the
/// process-wide MemoryStore of that name (the same name reopens the same data);
/// s3://bucket/prefix and gs://bucket/prefix -> S3Store with S3Options::from_environment().
std::shared_ptr<Store> open_store(const std::string& url);

}  // namespace batchmd::zarr
