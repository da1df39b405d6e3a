// SPDX-License-Identifier: Apache-2.0
// hooks/device_slots: DeviceSlots (GPU counters and flags of the hooks with a pinned mirror).
#include "device_slots.hpp"

#include <vector>

namespace batchmd::hooks::detail {

DeviceSlots::~DeviceSlots() {
  if (pending_) {
    try {
      event_->sync();  // the copy into the pinned mirror must land before it is freed
    } catch (...) {
    }
  }
  cuda::free_pinned(host_);
}

std::int64_t* DeviceSlots::on(const Device& d, const std::int64_t* init) {
  if (bound_ && device_ == d) return data();
  if (pending_) event_->sync();
  pending_ = false;
  cuda::set_device(d.index);
  slots_ = Tensor(DType::Int64, {static_cast<std::int64_t>(n_)}, d);
  if (!host_) host_ = static_cast<std::int64_t*>(cuda::alloc_pinned(n_ * sizeof(std::int64_t)));
  event_ = std::make_unique<cuda::Event>();
  device_ = d;
  bound_ = true;
  for (std::size_t k = 0; k < n_; ++k)
    if (init[k] != 0) reset(k, 0xff);
  return data();
}

void DeviceSlots::reset(std::size_t k, int byte) {
  cuda::memset_async(data() + k, byte, sizeof(std::int64_t), cuda::compute_stream(device_.index));
}

void DeviceSlots::post() {
  if (!bound_) return;
  const cuda::Stream s = cuda::compute_stream(device_.index);
  cuda::copy_async(host_, data(), n_ * sizeof(std::int64_t), s);
  event_->record(s);
  pending_ = true;
}

bool DeviceSlots::landed() const { return !pending_ || event_->done(); }

const std::int64_t* DeviceSlots::wait() {
  if (pending_) event_->sync();
  pending_ = false;
  return host_;
}

}  // namespace batchmd::hooks::detail
