// sinks/data_sink: the DataSink interface every snapshot store implements, and HostMemory,
// which keeps snapshots in host RAM in bulk.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "batchmd/data/batch.hpp"

namespace batchmd::sinks {

/// A store of samples (one sample = one system as it was when written).
class DataSink {
 public:
  virtual ~DataSink() = default;
  virtual std::string name() const = 0;
  /// Stores every system of the batch. CapacityError (storing nothing) if they do not fit.
  void write(const Batch& batch) { write(batch, std::vector<bool>(static_cast<std::size_t>(batch.n_systems()), true)); }
  /// Stores the systems where mask is true; InvalidArgument if the mask length differs from
  /// the number of systems; CapacityError (storing nothing) if they do not fit.
  virtual void write(const Batch& batch, const std::vector<bool>& mask) = 0;
  /// Everything stored, as one Batch; InvalidArgument if the sink is empty.
  virtual Batch read() = 0;
  /// read() then zero().
  virtual Batch drain() {
    Batch b = read();
    zero();
    return b;
  }
  /// Forgets every sample (storage may be kept for reuse).
  virtual void zero() = 0;
  /// Blocks until everything written so far is stored (no-op for synchronous sinks).
  virtual void flush() {}
  virtual std::int64_t size() const = 0;
  virtual std::int64_t capacity() const = 0;
  bool is_full() const { return size() >= capacity(); }

 protected:
  /// Validates mask length and returns the selected system indices.
  static std::vector<std::int64_t> selected(const Batch& batch, const std::vector<bool>& mask, const std::string& sink);
};

/// Snapshots in host RAM: each write appends one contiguous block per field (no per-system
/// objects); read() concatenates them into one Batch.
class HostMemory : public DataSink {
 public:
  explicit HostMemory(std::int64_t capacity);
  std::string name() const override { return "HostMemory"; }
  using DataSink::write;
  void write(const Batch& batch, const std::vector<bool>& mask) override;
  Batch read() override;
  void zero() override;
  std::int64_t size() const override { return static_cast<std::int64_t>(atoms_.size()); }
  std::int64_t capacity() const override { return capacity_; }
  /// Bytes of field data held (what the snapshots weigh raw) and bytes allocated for them.
  std::size_t raw_bytes() const;
  std::size_t allocated_bytes() const;

 private:
  struct Block {
    std::int64_t samples = 0;
    std::map<std::string, Field, std::less<>> fields;
  };
  std::int64_t capacity_;
  std::vector<Block> blocks_;
  std::vector<std::int64_t> atoms_, edges_;  // per sample
};

}  // namespace batchmd::sinks
