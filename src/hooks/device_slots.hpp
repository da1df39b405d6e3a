// SPDX-License-Identifier: Apache-2.0
// hooks/device_slots (internal): DeviceSlots, a few int64 counters and flags on a GPU that hook
// kernels update with atomics, with a pinned host mirror the host reads either at once (read(),
// which waits) or later without blocking the step loop (post() after the kernels, landed()).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/device.hpp"
#include "batchmd/core/tensor.hpp"

namespace batchmd::hooks::detail {

/// Value of a "lowest index" flag slot that no kernel has set (all bits one: the largest value
/// for the kernels' unsigned atomicMin).
inline constexpr std::int64_t kNoIndex = -1;

class DeviceSlots {
 public:
  /// n slots, each starting at init (0 or kNoIndex) whenever they are (re)created.
  explicit DeviceSlots(std::size_t n) : n_(n) {}
  ~DeviceSlots();
  DeviceSlots(const DeviceSlots&) = delete;
  DeviceSlots& operator=(const DeviceSlots&) = delete;

  /// Whether the slots live on a device now, and which.
  bool bound() const { return bound_; }
  const Device& device() const { return device_; }
  /// Creates the slots on device d (each set to `init[k]`, asynchronously) unless they already
  /// live there; returns the device pointer. A device change drops the old values: read() them
  /// before moving if they matter.
  std::int64_t* on(const Device& d, const std::int64_t* init);
  std::int64_t* data() { return slots_.data<std::int64_t>(); }
  /// Sets slot k to 0 (byte 0) or kNoIndex (byte 0xff), asynchronously on the compute stream.
  void reset(std::size_t k, int byte);
  /// Queues a copy of every slot into the host mirror behind the work queued so far.
  void post();
  /// Whether the last post() has completed (mirror() holds it); never blocks.
  bool landed() const;
  /// Waits for the last post() and returns the mirror.
  const std::int64_t* wait();
  /// Posts and waits: the slots as they are after all work queued so far.
  const std::int64_t* read() {
    post();
    return wait();
  }
  /// The host copy from the last post() that landed() (valid only then).
  const std::int64_t* mirror() const { return host_; }

 private:
  std::size_t n_;
  bool bound_ = false;
  bool pending_ = false;
  Device device_;
  Tensor slots_;
  std::int64_t* host_ = nullptr;  // pinned
  std::unique_ptr<cuda::Event> event_;
};

}  // namespace batchmd::hooks::detail
