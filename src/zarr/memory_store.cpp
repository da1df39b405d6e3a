// SPDX-License-Identifier: Apache-2.0
// MemoryStore: a sorted map of immutable values behind a reader-writer lock.
#include "batchmd/zarr/memory_store.hpp"

#include <algorithm>
#include <mutex>

namespace batchmd::zarr {

MemoryStore::MemoryStore(std::string name) : name_(std::move(name)) {}

namespace {

std::optional<Bytes> slice(const std::shared_ptr<const Bytes>& value, std::uint64_t offset, std::uint64_t length) {
  if (!value) return std::nullopt;
  const std::uint64_t size = value->size();
  const std::uint64_t begin = std::min(offset, size);
  const std::uint64_t end = begin + std::min(length, size - begin);
  return Bytes(value->begin() + static_cast<std::ptrdiff_t>(begin), value->begin() + static_cast<std::ptrdiff_t>(end));
}

}  // namespace

std::optional<Bytes> MemoryStore::get(const std::string& key) const { return get_range(key, 0, UINT64_MAX); }

std::optional<Bytes> MemoryStore::get_range(const std::string& key, std::uint64_t offset, std::uint64_t length) const {
  validate_key(key);
  std::shared_ptr<const Bytes> value;
  {
    const std::shared_lock lock(mutex_);
    const auto it = values_.find(key);
    if (it != values_.end()) value = it->second;
  }
  return slice(value, offset, length);
}

std::optional<Bytes> MemoryStore::get_suffix(const std::string& key, std::uint64_t length) const {
  validate_key(key);
  std::shared_ptr<const Bytes> value;
  {
    const std::shared_lock lock(mutex_);
    const auto it = values_.find(key);
    if (it != values_.end()) value = it->second;
  }
  if (!value) return std::nullopt;
  const std::uint64_t size = value->size();
  return slice(value, size - std::min(length, size), length);
}

void MemoryStore::set(const std::string& key, std::span<const std::byte> value) {
  validate_key(key);
  auto copy = std::make_shared<const Bytes>(value.begin(), value.end());
  const std::unique_lock lock(mutex_);
  values_[key] = std::move(copy);
}

void MemoryStore::erase(const std::string& key) {
  validate_key(key);
  const std::unique_lock lock(mutex_);
  values_.erase(key);
}

std::vector<std::string> MemoryStore::list(const std::string& prefix) const {
  validate_prefix(prefix);
  std::vector<std::string> keys;
  const std::shared_lock lock(mutex_);
  for (auto it = values_.lower_bound(prefix); it != values_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    keys.push_back(it->first);
  }
  return keys;
}

bool MemoryStore::exists(const std::string& key) const {
  validate_key(key);
  const std::shared_lock lock(mutex_);
  return values_.find(key) != values_.end();
}

std::string MemoryStore::url() const { return "memory://" + name_; }

class MemoryStore::Lock final : public WriterLock {
 public:
  Lock(MemoryStore& store, const WriterLockOptions& o) : store_(store) {
    holder_ = LockHolder::self(o.tool, "memory");
    const std::lock_guard g(store_.writer_mutex_);
    if (store_.writer_)
      throw StoreLockedError(locked_message(store_.url(), store_.writer_, "a memory store lives in one process"),
                             store_.writer_);
    store_.writer_ = holder_;
  }
  ~Lock() override {
    const std::lock_guard g(store_.writer_mutex_);
    if (store_.writer_ && store_.writer_->token == holder_.token) store_.writer_.reset();
  }
  void check() override {
    const std::lock_guard g(store_.writer_mutex_);
    if (!store_.writer_ || store_.writer_->token != holder_.token)
      throw IOError(store_.url() + ": this writer no longer holds the store");
  }

 private:
  MemoryStore& store_;
};

std::unique_ptr<WriterLock> MemoryStore::lock_writer(const WriterLockOptions& options) {
  return std::make_unique<Lock>(*this, options);
}

}  // namespace batchmd::zarr
