// SPDX-License-Identifier: Apache-2.0
// sinks/data_sink: the DataSink interface every snapshot store implements, and HostMemory,
// which keeps snapshots in host RAM in bulk.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
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
  /// Stores the systems where mask is true (one entry per system), in batch order, each as one
  /// sample: the values of every field it records (by default every field, at every level: the
  /// system's atoms, edges and system-level row) as they are when write() is called.
  ///
  /// The batch is not modified. It may live on the CPU or a GPU. For a GPU batch the sink reads
  /// in stream order: before returning it enqueues its gather of the selected systems on the
  /// device's compute stream (cuda::compute_stream), so kernels enqueued after write() — the next
  /// step — cannot change what is stored; it need not wait for the GPU to do so (HostMemory,
  /// ZarrData and GPUBuffer wait only for back-pressure, when every staging slot is in flight).
  /// @post size() counts the new samples at once; read(), drain() and flush() see them. Encoding
  ///   and storage may complete later on a background worker; a failure there is thrown by the
  ///   next write() or flush().
  /// Errors: InvalidArgument if the mask length differs from the number of systems or the fields
  ///   differ from what the sink holds (named); CapacityError, storing nothing, if they do not
  ///   fit; the store's IOError / FormatError, possibly from the next call (above).
  /// Not thread-safe: one writer at a time.
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
  /// The same into the caller's vector (cleared first; its capacity kept: no allocation per write).
  static void selected(const Batch& batch, const std::vector<bool>& mask, const std::string& sink,
                       std::vector<std::int64_t>& into);
};

/// Snapshots in host RAM: each write appends one contiguous block per field (no per-system
/// objects); read() concatenates them into one Batch. Writes from a GPU batch return without
/// waiting for the data: the selected systems are gathered on the GPU and copied on the copy
/// stream straight into pinned host memory, where they stay — arenas of some MiB allocated as
/// samples arrive (the next one ahead, on another thread), no larger in all than the capacity
/// needs at the sizes written, kept across zero() for reuse (writes wait only when every staging
/// slot is still in use). If pinned memory cannot be had, a write from the GPU lands in a pinned
/// staging slot and a worker thread copies it into pageable memory instead. read(), drain(),
/// zero(), flush() and the byte counts see every write made before them; size() counts them at
/// once.
class HostMemory : public DataSink {
 public:
  explicit HostMemory(std::int64_t capacity);
  /// Waits for snapshots still on their way from a GPU.
  ~HostMemory() override;
  HostMemory(HostMemory&&) noexcept;
  HostMemory& operator=(HostMemory&&) noexcept;
  std::string name() const override { return "HostMemory"; }
  using DataSink::write;
  void write(const Batch& batch, const std::vector<bool>& mask) override;
  Batch read() override;
  void zero() override;
  /// Waits until every snapshot written from a GPU batch is in host memory; rethrows a failure
  /// of their transfer (as does the next write).
  void flush() override;
  std::int64_t size() const override { return static_cast<std::int64_t>(atoms_.size()); }
  std::int64_t capacity() const override { return capacity_; }
  /// Bytes of field data held (what the snapshots weigh raw) and bytes allocated for them (with
  /// the whole of the pinned arenas, also the part kept free or for reuse after zero(), and the
  /// at most two blocks made ready ahead for the next CPU writes).
  std::size_t raw_bytes() const;
  std::size_t allocated_bytes() const;
  /// Pins `bytes` of host memory now, for snapshots written from a batch on GPU `device`, and makes
  /// that GPU's staging ring: writes from it then copy straight into pinned memory (the speed of a
  /// pinned cudaMemcpy) until the reservation is full, after which they take the default path.
  /// Pinning runs at a few GB/s, so reserve before the run — a write never pins pages itself
  /// unless the process-wide arena limits allow it. Kept across zero(); more calls add more.
  /// Throws InvalidArgument for a CPU device (or a build without CUDA) and CapacityError when the
  /// pinned memory cannot be had.
  void reserve_pinned(std::size_t bytes, const Device& device);

 private:
  struct Staged;   // the bytes of one write: pageable, or (from a GPU batch) in a pinned arena
  struct GpuPath;  // staging ring, copies in flight + copy worker, made by the first GPU write
  struct Ahead;    // pageable blocks for CPU writes, page-faulted in ahead on another thread
  struct Arenas;   // pinned memory that writes from a GPU batch are copied into
  struct Block {
    std::int64_t samples = 0;
    std::shared_ptr<Staged> staged;  // every field's rows, one allocation
  };
  struct SchemaField {
    Level level;
    DType dtype;
    Shape shape;  // of the first write's tensor (leading dimension replaced on read)
    std::int64_t row_numel;
  };
  /// Field `name` of one block: its bytes and rows.
  struct Part {
    const std::byte* data;
    std::size_t bytes;
    std::int64_t rows;
  };
  void check_schema(const Batch& batch) const;
  Block cpu_block(const Batch& batch, const std::vector<std::int64_t>& idx);
  Block gpu_block(const Batch& batch, const std::vector<std::int64_t>& idx);
  /// Makes the GPU path (staging ring, copy worker) for `device`, replacing one for another GPU.
  void use_gpu(int device);
  static Part part(const Block& b, const std::string& name);
  /// Waits for the copies into arenas and the copy worker (if any); rethrows a failure of either
  /// when `rethrow`.
  void wait_for_gpu(bool rethrow) const;

  std::int64_t capacity_;
  std::vector<Block> blocks_;
  std::vector<std::int64_t> atoms_, edges_;                 // per sample
  std::map<std::string, SchemaField, std::less<>> schema_;  // set by the first write
  std::unique_ptr<Arenas> arenas_;  // blocks point into them: freed only after gpu_ (see ~HostMemory)
  std::unique_ptr<GpuPath> gpu_;
  std::unique_ptr<Ahead> ahead_;  // made by the first CPU write
};

}  // namespace batchmd::sinks
