// SPDX-License-Identifier: Apache-2.0
// hooks/force_clamp: MaxForceClampHook.
#include "batchmd/hooks/force_clamp.hpp"

#include <atomic>
#include <cmath>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "device_slots.hpp"
#include "hook_kernels.hpp"
#include "hooks_gpu.hpp"

namespace batchmd::hooks {

MaxForceClampHook::MaxForceClampHook(double max_force, dynamics::Stage stage) : max_force_(max_force), stage_(stage) {
  if (!(std::isfinite(max_force) && max_force > 0))
    throw InvalidArgument("MaxForceClampHook: max_force must be a finite value > 0 eV/A, got " +
                          std::to_string(max_force));
}

std::int64_t MaxForceClampHook::clamp(Batch& batch, double max_force) {
  if (!batch.has("forces")) return 0;
  if (batch.is_cuda()) {
    Tensor count(DType::Int64, {1}, batch.device());  // zero-filled on the compute stream
    gpu::clamp_forces(batch, max_force, count.data<std::int64_t>(), nullptr);
    return count.to(Device::cpu()).data<std::int64_t>()[0];
  }
  std::atomic<std::int64_t> clamped{0};
  dispatch_float(batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* f = batch.get("forces").data<T>();
    const double fmax2 = max_force * max_force;
    parallel_for(batch.n_atoms(), [&, f](std::int64_t i) {
      if (kernels::clamp_force(f + 3 * i, max_force, fmax2)) clamped.fetch_add(1, std::memory_order_relaxed);
    });
  });
  return clamped.load();
}

void MaxForceClampHook::open(dynamics::Context& ctx) { (*this)(ctx); }

void MaxForceClampHook::operator()(dynamics::Context& ctx) {
  Batch& b = ctx.batch;
  if (!b.is_cuda()) {
    last_clamped_ = clamp(b, max_force_);
    total_clamped_ += last_clamped_;
    last_on_gpu_ = false;
    return;
  }
  if (!gpu_) gpu_ = std::make_shared<detail::DeviceSlots>(2);
  if (gpu_->bound() && gpu_->device() != b.device()) total_clamped_ += gpu_->read()[1];  // keep the old total
  const std::int64_t init[2] = {0, 0};
  std::int64_t* slots = gpu_->on(b.device(), init);
  last_on_gpu_ = true;
  gpu_->reset(0, 0);  // last = 0; the kernel counts into last and total
  if (b.has("forces")) gpu::clamp_forces(b, max_force_, slots, slots + 1);
}

std::int64_t MaxForceClampHook::last_clamped() const { return last_on_gpu_ ? gpu_->read()[0] : last_clamped_; }

std::int64_t MaxForceClampHook::total_clamped() const {
  return total_clamped_ + (gpu_ && gpu_->bound() ? gpu_->read()[1] : 0);
}

}  // namespace batchmd::hooks
