// SPDX-License-Identifier: Apache-2.0
// zarr/file_store: a Store on a local directory tree, one file per key, atomic replace by rename;
// the writer lock is a file at the root (file_lock.cpp).
#pragma once
#include <filesystem>

#include "batchmd/zarr/store.hpp"

namespace batchmd::zarr {

struct FileStoreOptions {
  /// fsync each value and its directory before set() returns (durable across a power loss,
  /// not only across a crash of the process). Slower; off by default.
  bool fsync = false;
};

class FileStore final : public Store {
 public:
  /// Opening creates nothing: the root directory (and its parents) appear with the first set()
  /// or lock_writer(), so that opening a mistyped path to read leaves no trace.
  explicit FileStore(std::filesystem::path root_dir, FileStoreOptions options = {});

  std::optional<Bytes> get(const std::string& key) const override;
  std::optional<Bytes> get_range(const std::string& key, std::uint64_t offset, std::uint64_t length) const override;
  std::optional<Bytes> get_suffix(const std::string& key, std::uint64_t length) const override;
  void set(const std::string& key, std::span<const std::byte> value) override;
  void erase(const std::string& key) override;
  std::vector<std::string> list(const std::string& prefix) const override;
  std::vector<std::string> list_dir(const std::string& prefix) const override;
  bool exists(const std::string& key) const override;
  std::string url() const override;
  /// flock(2) on <root>/.batchmd-lock (or, with WriterLockOptions::FileMode::LockFile, that file
  /// created exclusively). Released on destruction: the lock file is removed, and a root directory
  /// that this lock created is removed again when nothing was stored in it.
  std::unique_ptr<WriterLock> lock_writer(const WriterLockOptions& options) override;

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path path_of(const std::string& key) const;

  std::filesystem::path root_;
  FileStoreOptions options_;
};

}  // namespace batchmd::zarr
