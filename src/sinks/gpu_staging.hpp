// SPDX-License-Identifier: Apache-2.0
// sinks/gpu_staging (internal): how snapshots leave the GPU without stalling the step loop.
// A StagingRing owns a few slots, each a device buffer, a pinned host buffer and two events.
// stage() gathers the selected systems of a GPU batch into a free slot's device buffer on the
// compute stream (the fused gather of gpu_gather.hpp), and the copy stream — once the gather's
// event fires — copies them to the slot's pinned buffer. Because the gather is ordered on the
// compute stream before any later kernel, step k+1 cannot change what step k's snapshot holds;
// and a slot is reused only after its consumer released it and its copy landed, so its bytes
// cannot be overwritten while they are read. The caller gets a StagingLease: its consumer (a
// HostMemory or ZarrData worker thread) calls wait() and reads the bytes, then drops the lease.
// A caller with pinned memory of its own (HostMemory's arenas) may pass it to stage(): the copy
// then lands there, and the slot's pinned buffer is neither used nor allocated.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "batchmd/core/cuda.hpp"
#include "batchmd/data/batch.hpp"
#include "gpu_gather.hpp"

namespace batchmd::sinks::detail {

/// Where one field's rows are in a staged block.
struct StagedField {
  std::string name;
  Level level;
  DType dtype;
  Shape shape;         ///< rows first
  std::size_t offset;  ///< bytes from the block's start (a multiple of kStagingAlign)
  std::size_t bytes;
};

/// Field blocks in a slot start at multiples of this (vector copies, aligned host reads).
inline constexpr std::size_t kStagingAlign = 256;

/// Layout of the staged block of fields `names` (in that order) of systems `idx` of `batch`:
/// one run of rows per field, each at a multiple of `align` bytes. `total` gets the block's bytes.
std::vector<StagedField> staging_layout(const Batch& batch, std::span<const std::int64_t> idx,
                                        std::span<const std::string> names, std::size_t& total,
                                        std::size_t align = kStagingAlign);

class StagingRing;

/// One staged write: holds its ring slot (and so its pinned bytes) until destroyed or moved from.
class StagingLease {
 public:
  StagingLease() = default;
  StagingLease(StagingLease&& o) noexcept : ring_(o.ring_), slot_(o.slot_) { o.ring_ = nullptr; }
  StagingLease& operator=(StagingLease&& o) noexcept;
  StagingLease(const StagingLease&) = delete;
  StagingLease& operator=(const StagingLease&) = delete;
  ~StagingLease() { release(); }

  explicit operator bool() const { return ring_ != nullptr; }
  /// Blocks until the bytes have landed in pinned host memory (returns at once once they have).
  void wait() const;
  /// The staged block in pinned host memory (the slot's, or the `dst` given to stage()); read it
  /// only after wait().
  const std::byte* host() const;
  /// Bytes of the block (fields and the padding between them).
  std::size_t bytes() const;
  const std::vector<StagedField>& fields() const;
  /// Gives the slot back to the ring (what the destructor does).
  void release() noexcept;

 private:
  friend class StagingRing;
  StagingLease(StagingRing* ring, std::size_t slot) : ring_(ring), slot_(slot) {}
  StagingRing* ring_ = nullptr;
  std::size_t slot_ = 0;
};

/// A ring of staging slots on one GPU. Used from one producer thread (the sink's caller);
/// leases may be waited on and released from any thread. Must outlive its leases.
class StagingRing {
 public:
  static constexpr std::size_t kDefaultSlots = 3;
  explicit StagingRing(int device, std::size_t slots = kDefaultSlots);
  StagingRing(const StagingRing&) = delete;
  StagingRing& operator=(const StagingRing&) = delete;
  /// Waits for every transfer still in flight.
  ~StagingRing();

  int device() const { return device_; }
  std::size_t slots() const { return n_slots_; }
  /// Stages fields `names` (in that order) of systems `idx` of `batch` (on this ring's GPU):
  /// takes a free slot — waiting for one if every slot is held (back-pressure) — gathers into
  /// it on the compute stream and starts its copy to pinned memory on the copy stream. Returns
  /// without waiting for either. edge_index (int64) is rewritten as `mode` says.
  /// `dst`: nullptr (the copy goes to the slot's pinned buffer) or the caller's pinned host
  /// memory of at least staging_layout's total bytes, left untouched by the caller until the
  /// lease's wait() has returned. The caller must not hold every slot itself (it would wait for
  /// a slot forever).
  StagingLease stage(const Batch& batch, std::span<const std::int64_t> idx, std::span<const std::string> names,
                     EdgeIndexMode mode, std::byte* dst = nullptr);

 private:
  friend class StagingLease;
  struct Slot {
    Tensor device_bytes;  // UInt8 on the GPU
    cuda::PinnedBuffer host;
    std::byte* dst = nullptr;  // where the copy lands: host.data() or the caller's memory
    std::unique_ptr<cuda::Event> gathered, landed;
    std::vector<StagedField> fields;
    std::size_t bytes = 0;
    bool held = false;
  };
  void release(std::size_t slot) noexcept;
  std::size_t acquire();

  int device_;
  FusedGather gather_;
  std::size_t n_slots_;
  std::unique_ptr<Slot[]> slots_;
  std::size_t next_ = 0;
  std::mutex m_;
  std::condition_variable cv_free_;
};

// ---------------------------------------------------------------- HostMemory's pinned arenas

/// Process-wide settings of the pinned arenas that HostMemory stores GPU snapshots in (defined
/// in data_sink.cpp), read at each arena allocation; tests shrink them to span many arenas or to
/// make pinned allocation fail. arena_bytes: the usual size of a new arena (a larger write gets
/// one of its own size; the sink's remaining capacity bounds it). max_pinned: an arena is not
/// allocated (HostMemory then stores pageable copies, as without arenas) when it would take the
/// bytes held by live arenas above this. wait: a write that needs a new arena waits for it (or
/// allocates it); otherwise it takes the pageable path while the next arena is being allocated
/// on another thread.
/// Off by default (max_pinned = 0): pinning pages (cudaHostAlloc, 1.6-2.5 GB/s on the H100 host)
/// is slower than a snapshot stream, and a sink written once lost more to it than the second copy
/// costs — a snapshot every 10 steps ran 2.0x (waiting) and 2.6x (allocating on another thread)
/// slower than without a hook, against 1.09x with pageable storage (docs/benchmarks.md, "HostMemory
/// in pinned arenas"). Arenas pay off only where they are reused (zero() keeps them: 0.99x a pinned
/// cudaMemcpy then); the tests turn them on.
struct PinnedArenaLimits {
  std::size_t arena_bytes = std::size_t(64) << 20;
  std::size_t max_pinned = 0;
  bool wait = false;
};
PinnedArenaLimits pinned_arena_limits() noexcept;
void set_pinned_arena_limits(const PinnedArenaLimits& limits) noexcept;
/// Bytes held by the live arenas of every HostMemory in the process.
std::size_t pinned_arena_bytes() noexcept;

}  // namespace batchmd::sinks::detail
