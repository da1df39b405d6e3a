// SPDX-License-Identifier: Apache-2.0
// zarr/memory_store: a thread-safe in-process Store, for tests and for the memory:// URL.
#pragma once
#include <map>
#include <mutex>
#include <shared_mutex>

#include "batchmd/zarr/store.hpp"

namespace batchmd::zarr {

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(std::string name = "anonymous");

  std::optional<Bytes> get(const std::string& key) const override;
  std::optional<Bytes> get_range(const std::string& key, std::uint64_t offset, std::uint64_t length) const override;
  std::optional<Bytes> get_suffix(const std::string& key, std::uint64_t length) const override;
  void set(const std::string& key, std::span<const std::byte> value) override;
  void erase(const std::string& key) override;
  std::vector<std::string> list(const std::string& prefix) const override;
  bool exists(const std::string& key) const override;
  std::string url() const override;
  /// An in-process lock: a second writer on the same store (same process) is refused.
  std::unique_ptr<WriterLock> lock_writer(const WriterLockOptions& options) override;

 private:
  class Lock;
  std::string name_;
  std::mutex writer_mutex_;
  std::optional<LockHolder> writer_;
  mutable std::shared_mutex mutex_;
  // Values are immutable once stored, so a reader can copy out of one without holding the lock
  // while a writer swaps in the next.
  std::map<std::string, std::shared_ptr<const Bytes>, std::less<>> values_;
};

}  // namespace batchmd::zarr
