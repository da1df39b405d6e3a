// SPDX-License-Identifier: Apache-2.0
// dynamics/cell_gpu_status: the host side of the cell integrators' GPU path (cell_gpu.hpp) — the
// lagged report of the device CellStatus and the per-step Targets of a GPU batch. Compiled by the
// host compiler in every build (without the CUDA backend no batch reaches it).
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>

#include "batchmd/core/error.hpp"
#include "cell_dynamics.hpp"
#include "cell_gpu.hpp"
#include "cell_kernels.hpp"

namespace batchmd::dynamics::detail {

struct CellStatusRing::Impl {
  int device = -1;
  Tensor status;
  struct Slot {
    cuda::PinnedBuffer buf;
    std::unique_ptr<cuda::Event> ev;
    bool pending = false;
  };
  Slot ring[2];
  int next = 0;
  std::int64_t steps = 0;  // after_step calls since reset

  static gpu::CellStatus clean() {
    gpu::CellStatus c{};
    c.error = 0;
    for (int& s : c.system) s = INT_MAX;
    c.target_fault = 0;
    return c;
  }
  void reset(int dev) {
    device = dev;
    steps = 0;
    status =
        Tensor(DType::UInt8, {static_cast<std::int64_t>(sizeof(gpu::CellStatus))}, Device{Device::Kind::CUDA, dev});
    const gpu::CellStatus c = clean();
    cuda::copy(status.raw(), &c, sizeof c, cuda::compute_stream(dev));
    for (Slot& sl : ring) {
      sl.ev = std::make_unique<cuda::Event>();
      sl.buf.reserve(sizeof(gpu::CellStatus));
      sl.pending = false;
    }
    next = 0;
  }
  void check(Slot& sl, const std::string& stage) {
    gpu::CellStatus h{};
    std::memcpy(&h, sl.buf.data(), sizeof h);
    sl.pending = false;
    if (h.error == 0) return;
    // Report once: the status is cleared (a later run of the stage starts clean).
    for (Slot& o : ring) o.pending = false;
    const gpu::CellStatus c = clean();
    cuda::copy(status.raw(), &c, sizeof c, cuda::compute_stream(device));
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const auto label = [&](int bit) {
      int k = 0;
      while ((1 << k) != bit) ++k;
      return "system " + std::to_string(h.system[k]);
    };
    if (h.error & cellk::kTargetBad)
      throw InvalidArgument(stage + ": " + label(cellk::kTargetBad) + ": its target ('barostat_pressure' or " +
                            "'barostat_stress') " + target_fault_text(h.target_fault, nullptr));
    for (int bit : {cellk::kCellNonFinite, cellk::kCellCollapsed, cellk::kCellJumped, cellk::kCellFlat})
      if (h.error & bit)
        throw NumericalError(moved_cell_message(bit, stage, label(bit), nan, nan, nan, nan) +
                             " (found on the GPU in the last " + std::to_string(2 * kReportEvery) + " steps)");
  }
};

CellStatusRing::CellStatusRing() : impl_(std::make_unique<Impl>()) {}
CellStatusRing::~CellStatusRing() = default;

gpu::CellStatus* CellStatusRing::device(const Batch& b) {
  if (impl_->device != b.device().index) impl_->reset(b.device().index);
  return reinterpret_cast<gpu::CellStatus*>(impl_->status.raw());
}

void CellStatusRing::after_step(const Batch& b) {
  Impl& m = *impl_;
  device(b);
  // A copy and an event cost the host ~5-10 µs, as much as a small GPU step's kernels: the status
  // is copied every kReportEvery steps (a fault sticks in it until then) and by drain().
  if (++m.steps % kReportEvery != 0) return;
  enqueue_copy();
}

void CellStatusRing::enqueue_copy() {
  Impl& m = *impl_;
  Impl::Slot& sl = m.ring[m.next];
  if (sl.pending) sl.ev->sync();  // poll() freed it unless the caller skipped it
  const cuda::Stream s = cuda::compute_stream(m.device);
  cuda::copy_async(sl.buf.data(), m.status.raw(), sizeof(gpu::CellStatus), s);
  sl.ev->record(s);
  sl.pending = true;
  m.next ^= 1;
}

void CellStatusRing::poll(const Batch& b, const std::string& stage) {
  Impl& m = *impl_;
  device(b);
  Impl::Slot& older = m.ring[m.next];
  if (older.pending) {
    older.ev->sync();
    m.check(older, stage);
  }
  Impl::Slot& newer = m.ring[m.next ^ 1];
  if (newer.pending && newer.ev->done()) m.check(newer, stage);
}

void CellStatusRing::drain(const Batch& b, const std::string& stage) {
  Impl& m = *impl_;
  if (m.device != b.device().index) return;
  if (m.steps % kReportEvery != 0) {  // the steps since the last copy
    m.steps = 0;
    enqueue_copy();
  }
  for (int k : {m.next, m.next ^ 1}) {
    Impl::Slot& sl = m.ring[k];
    if (!sl.pending) continue;
    sl.ev->sync();
    m.check(sl, stage);
  }
}

gpu::Targets device_targets(const Batch& b, double pressure, const std::optional<StressTarget>& stress, CellMode mode,
                            const std::string& stage) {
  gpu::Targets t;
  t.isotropic = mode == CellMode::Isotropic;
  if (stress) {
    const int fault = cellk::target_from_stress(stress->data(), t.isotropic, t.stage, t.stage_hydro);
    if (fault != cellk::kTargetOk) throw InvalidArgument(stage + " stress " + target_fault_text(fault, stress->data()));
  } else {
    cellk::hydrostatic(pressure, t.stage);
  }
  const bool has_p = b.has("barostat_pressure"), has_s = b.has("barostat_stress");
  if (has_p && has_s)
    throw InvalidArgument(stage +
                          ": the batch has both fields 'barostat_pressure' and 'barostat_stress'; give each system "
                          "one target (a hydrostatic stress is -pressure on the diagonal)");
  if (has_p) t.pressure = gpu::sys_value(b, "barostat_pressure", pressure);
  if (!has_s) return t;
  if (b.level("barostat_stress") != Level::System)
    throw InvalidArgument(stage + ": field 'barostat_stress' must be system-level");
  const Tensor& f = b.get("barostat_stress");
  t.voigt = stress_field_is_voigt(f, stage);
  if (f.dtype() == DType::Float64)
    t.s64 = f.data<double>();
  else
    t.s32 = f.data<float>();
  return t;
}

}  // namespace batchmd::dynamics::detail
