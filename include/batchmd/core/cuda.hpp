// SPDX-License-Identifier: Apache-2.0
// core/cuda: the CUDA runtime behind device tensors — device discovery, a caching allocator
// (no cudaMalloc once the step loop is warm), one compute stream and one copy stream per device,
// pinned host memory, copies and events. The header needs no CUDA; in a build without the CUDA
// backend (or on a machine without a GPU) device_count() is 0 and every call that needs a GPU
// throws InvalidArgument saying why.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "batchmd/core/device.hpp"

namespace batchmd::cuda {

/// Whether this build has the CUDA backend.
bool compiled() noexcept;
/// Throws the batchmd error for CUDA runtime error `code` (a cudaError_t) returned by `what`,
/// with the error's name and description: CapacityError for out of memory, InvalidArgument for
/// an invalid value, launch configuration or device, DeviceError for everything else (launch
/// failures, illegal addresses, lost devices, driver errors). Every wrapper below reports its
/// failures through it; .cu files report theirs the same way.
[[noreturn]] void throw_cuda_error(int code, const std::string& what);
/// GPUs usable now (0 without the backend, a driver or a GPU).
int device_count() noexcept;
/// Why no GPU is usable ("" when one is).
std::string unavailable_reason();
/// Name and memory of a GPU, e.g. "NVIDIA H100 80GB HBM3 (79.1 GiB)".
std::string device_name(int index);
/// Throws InvalidArgument unless `d` is a CUDA device this process can use.
void require(const Device& d);
/// The device to run on when the user did not choose: cuda:0 when a GPU is usable, else cpu.
Device default_device();

/// An opaque cudaStream_t.
using Stream = void*;
/// Every kernel and tensor operation of a device runs on its compute stream, in order.
Stream compute_stream(int device);
/// Background transfers (snapshots leaving the GPU) run on the copy stream.
Stream copy_stream(int device);

/// Device memory from the caching allocator: freed blocks are kept per size class and handed
/// out again, so steady-state loops do not call cudaMalloc. Blocks are stream-ordered on the
/// compute stream (a block freed there may be reused by later work on it).
void* alloc(std::size_t bytes, int device);
void free(void* p, std::size_t bytes, int device) noexcept;
struct AllocatorStats {
  std::int64_t cuda_mallocs = 0;  ///< cudaMalloc calls so far
  std::int64_t cache_hits = 0;    ///< allocations served from the cache
  std::size_t bytes_in_use = 0;   ///< handed out and not freed
  std::size_t bytes_cached = 0;   ///< freed, kept for reuse
};
AllocatorStats allocator_stats();
/// Returns cached blocks to the driver.
void empty_cache();

/// Page-locked host memory (fast, truly asynchronous copies).
void* alloc_pinned(std::size_t bytes);
void free_pinned(void* p) noexcept;
/// Page-locked host memory usable by every device (cudaHostAllocPortable), allocated with
/// `device` current; nullptr instead of an error when it cannot be had (no GPU, too much memory
/// pinned already, bytes == 0). Callable from any thread. Free with free_pinned.
void* try_alloc_pinned(std::size_t bytes, int device) noexcept;

/// cudaMemcpyAsync (any direction, unified addressing) on stream s.
void copy_async(void* dst, const void* src, std::size_t bytes, Stream s);
/// copy_async then waits for the stream.
void copy(void* dst, const void* src, std::size_t bytes, Stream s);
void memset_async(void* p, int value, std::size_t bytes, Stream s);
void synchronize(Stream s);
/// Throws if the last kernel launch failed, naming the kernel (`what`): InvalidArgument for a
/// bad launch configuration, CapacityError for out of memory, DeviceError otherwise. Every other
/// function here that calls the CUDA runtime reports its failures the same way.
void check_launch(const char* what);
/// Makes `device` current for this thread.
void set_device(int device);

/// A CUDA event (timing disabled): record on one stream, wait on another or on the host.
class Event {
 public:
  Event();
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  Event(Event&& o) noexcept : ev_(o.ev_) { o.ev_ = nullptr; }
  void record(Stream s);
  /// Makes stream s wait for the event (no host block).
  void wait(Stream s) const;
  bool done() const;
  void sync() const;

 private:
  void* ev_ = nullptr;
};

/// Pinned host buffer that grows on demand (never shrinks).
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer() { free_pinned(p_); }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  void reserve(std::size_t bytes) {
    if (bytes <= cap_) return;
    free_pinned(p_);
    p_ = nullptr;
    cap_ = 0;
    p_ = alloc_pinned(bytes);
    cap_ = bytes;
  }
  std::byte* data() { return static_cast<std::byte*>(p_); }
  std::size_t capacity() const { return cap_; }

 private:
  void* p_ = nullptr;
  std::size_t cap_ = 0;
};

}  // namespace batchmd::cuda
