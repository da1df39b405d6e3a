// SPDX-License-Identifier: Apache-2.0
// hooks/wrap_periodic: WrapPeriodicHook.
#include "batchmd/hooks/wrap_periodic.hpp"

#include <array>
#include <atomic>
#include <cmath>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "device_slots.hpp"
#include "hook_kernels.hpp"
#include "hook_util.hpp"
#include "hooks_gpu.hpp"

namespace batchmd::hooks {

namespace {
constexpr const char* kImages = "images";

[[noreturn]] void singular_cell(const Batch& b, std::int64_t s, double det) {
  throw InvalidArgument("WrapPeriodicHook: " + detail::describe_system(b, s) +
                        " is periodic but its cell is singular (det = " + std::to_string(det) + ")");
}

// Per-system frames (cell, inverse, periodic flags) of a CPU batch; throws for the first
// periodic system with a singular cell.
template <typename T>
std::vector<kernels::Frame> frames(const Batch& b) {
  std::vector<kernels::Frame> fr(static_cast<std::size_t>(b.n_systems()), kernels::Frame{});
  if (!b.has("pbc") || !b.has("cell")) return fr;
  const bool* pbc = b.get("pbc").data<bool>();
  const T* cell = b.get("cell").data<T>();
  for (std::int64_t s = 0; s < b.n_systems(); ++s) {
    auto& f = fr[static_cast<std::size_t>(s)];
    f = kernels::make_frame(cell + 9 * s, pbc + 3 * s);
    if (f.singular) singular_cell(b, s, f.det);
  }
  return fr;
}

// The error for system s of a GPU batch found singular on the device: its cell is read back.
[[noreturn]] void singular_cell_gpu(const Batch& b, std::int64_t s) {
  const Device cpu = Device::cpu();
  const Tensor cell = b.get("cell").to(cpu), pbc = b.get("pbc").to(cpu);
  double det = 0;
  dispatch_float(cell.dtype(), [&](auto zero) {
    using T = decltype(zero);
    det = kernels::make_frame(cell.data<T>() + 9 * s, pbc.data<bool>() + 3 * s).det;
  });
  singular_cell(b, s, det);
}

Tensor& images_field(Batch& b) {
  if (b.has(kImages)) {
    const Tensor& t = b.get(kImages);
    if (b.level(kImages) != Level::Atom || t.dtype() != DType::Int32 || t.ndim() != 2 || t.dim(1) != 3)
      throw InvalidArgument("WrapPeriodicHook: field 'images' must be int32 [n_atoms,3] at atom level, got " +
                            std::string(dtype_name(t.dtype())) + " " + shape_str(t.shape()));
  }
  return b.add_field(kImages, Level::Atom, DType::Int32, {3});
}
}  // namespace

WrapPeriodicHook::WrapPeriodicHook(std::int64_t frequency, dynamics::Stage stage)
    : frequency_(frequency), stage_(stage) {
  if (frequency < 1) throw InvalidArgument("WrapPeriodicHook frequency must be >= 1, got " + std::to_string(frequency));
}

std::int64_t WrapPeriodicHook::wrap(Batch& b) {
  Tensor& img_t = images_field(b);
  if (b.is_cuda()) {
    Tensor slots(DType::Int64, {2}, b.device());  // moved, lowest singular system
    std::int64_t* p = slots.data<std::int64_t>();
    cuda::memset_async(p + 1, 0xff, sizeof(std::int64_t), cuda::compute_stream(b.device().index));
    gpu::wrap_positions(b, img_t.data<std::int32_t>(), p, p + 1);
    const Tensor h = slots.to(Device::cpu());
    if (h.data<std::int64_t>()[1] != detail::kNoIndex) singular_cell_gpu(b, h.data<std::int64_t>()[1]);
    return h.data<std::int64_t>()[0];
  }
  std::atomic<std::int64_t> moved{0};
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const auto fr = frames<T>(b);
    bool any = false;
    for (const auto& f : fr) any = any || f.any;
    if (!any) return;
    T* x = b.get("positions").data<T>();
    std::int32_t* img = img_t.data<std::int32_t>();
    const std::int64_t* si = b.system_index().data<std::int64_t>();
    const kernels::Frame* frp = fr.data();
    parallel_for(b.n_atoms(), [&, x, img, si, frp](std::int64_t i) {
      if (kernels::wrap_atom(x + 3 * i, img + 3 * i, frp[si[i]])) moved.fetch_add(1, std::memory_order_relaxed);
    });
  });
  return moved.load();
}

std::vector<double> WrapPeriodicHook::unwrapped_positions(const Batch& b) {
  if (b.is_cuda()) return unwrapped_positions(b.to(Device::cpu()));
  std::vector<double> u(static_cast<std::size_t>(3 * b.n_atoms()));
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* x = b.get("positions").data<T>();
    for (std::size_t i = 0; i < u.size(); ++i) u[i] = double(x[i]);
    if (!b.has(kImages) || !b.has("cell")) return;
    const std::int32_t* img = b.get(kImages).data<std::int32_t>();
    const T* cell = b.get("cell").data<T>();
    const std::int64_t* si = b.system_index().data<std::int64_t>();
    double* up = u.data();
    parallel_for(b.n_atoms(), [=](std::int64_t i) {
      const T* c = cell + 9 * si[i];
      for (int d = 0; d < 3; ++d)
        up[3 * i + d] +=
            img[3 * i] * double(c[d]) + img[3 * i + 1] * double(c[3 + d]) + img[3 * i + 2] * double(c[6 + d]);
    });
  });
  return u;
}

void WrapPeriodicHook::open(dynamics::Context& ctx) {
  last_moved_ = wrap(ctx.batch);  // on a GPU batch too: a singular cell is reported before the first step
  last_on_gpu_ = false;
}

void WrapPeriodicHook::operator()(dynamics::Context& ctx) {
  Batch& b = ctx.batch;
  if (!b.is_cuda()) {
    last_moved_ = wrap(b);
    last_on_gpu_ = false;
    return;
  }
  // A GPU batch: two kernels (frames, atoms) and an asynchronous copy of the counters; a singular
  // cell found by an earlier call is reported as soon as that copy has landed (never waited for).
  if (gpu_ && gpu_->bound() && gpu_->device() == b.device() && gpu_->landed()) check_singular(b, gpu_->mirror());
  Tensor& img = images_field(b);
  if (!gpu_) gpu_ = std::make_shared<detail::DeviceSlots>(2);
  const std::int64_t init[2] = {0, detail::kNoIndex};
  std::int64_t* slots = gpu_->on(b.device(), init);
  gpu_->reset(0, 0);
  gpu::wrap_positions(b, img.data<std::int32_t>(), slots, slots + 1);
  gpu_->post();
  last_on_gpu_ = true;
}

void WrapPeriodicHook::check_singular(const Batch& b, const std::int64_t* slots) {
  const std::int64_t s = slots[1];
  if (s == detail::kNoIndex) return;
  gpu_->reset(1, 0xff);  // reported once
  gpu_->post();
  if (s >= b.n_systems()) throw InvalidArgument("WrapPeriodicHook: a periodic system's cell was singular");
  singular_cell_gpu(b, s);
}

void WrapPeriodicHook::close(dynamics::Context& ctx) {
  if (!gpu_ || !gpu_->bound() || gpu_->device() != ctx.batch.device()) return;
  const std::int64_t* slots = gpu_->wait();
  if (!ctx.failed) check_singular(ctx.batch, slots);
}

std::int64_t WrapPeriodicHook::last_moved() const { return last_on_gpu_ ? gpu_->read()[0] : last_moved_; }

}  // namespace batchmd::hooks
