// SPDX-License-Identifier: Apache-2.0
// hooks/freeze_atoms: FreezeAtomsHook.
#include "batchmd/hooks/freeze_atoms.hpp"

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "device_slots.hpp"
#include "hook_kernels.hpp"
#include "hooks_gpu.hpp"

namespace batchmd::hooks {

struct FreezeAtomsHook::State {
  std::vector<bool> mask;       // explicit mask (when field is empty)
  std::string field;            // per-atom bool field
  std::int64_t n_mask = 0;      // true entries of mask
  std::int64_t last_mask = -1;  // last true entry of mask
  bool captured = false;
  bool on_gpu = false;  // the last capture was of a GPU batch
  // CPU batch: the frozen atoms and their positions at the last capture
  std::vector<std::int64_t> atoms;
  std::vector<double> reference;  // [atoms*3]
  // GPU batch: per-atom arrays on the device, kept across steps
  struct Gpu {
    Device device;
    Tensor mask;         // uint8 [n_atoms]: the explicit mask, uploaded once
    Tensor frozen;       // uint8 [n_atoms]: field form: the field as captured
    Tensor reference;    // float [n_atoms, 3]: positions at the last capture (frozen atoms' rows)
    std::int64_t n = 0;  // atoms at the last capture
    std::shared_ptr<detail::DeviceSlots> count;  // field form: frozen atoms found at the last capture
  } gpu;

  // Checks the mask / field against the batch (both devices).
  const Tensor* validate(const Batch& b) const {
    const std::int64_t n = b.n_atoms();
    if (field.empty()) {
      if (static_cast<std::int64_t>(mask.size()) != n)
        throw InvalidArgument("FreezeAtomsHook: the mask has " + std::to_string(mask.size()) +
                              " entries but the batch has " + std::to_string(n) + " atoms");
      return nullptr;
    }
    if (!b.has(field)) throw InvalidArgument("FreezeAtomsHook: the batch has no field '" + field + "'");
    const Tensor& t = b.get(field);
    if (b.level(field) != Level::Atom || t.dtype() != DType::Bool || t.row_numel() != 1)
      throw InvalidArgument("FreezeAtomsHook: field '" + field + "' must be a per-atom bool field [n_atoms], got " +
                            std::string(dtype_name(t.dtype())) + " " + shape_str(t.shape()) + " at " +
                            std::string(level_name(b.level(field))) + " level");
    return &t;
  }

  void find(const Batch& b) {
    atoms.clear();
    const Tensor* t = validate(b);
    const std::int64_t n = b.n_atoms();
    if (!t) {
      for (std::int64_t i = 0; i < n; ++i)
        if (mask[static_cast<std::size_t>(i)]) atoms.push_back(i);
      return;
    }
    const bool* f = t->data<bool>();
    for (std::int64_t i = 0; i < n; ++i)
      if (f[i]) atoms.push_back(i);
  }

  template <typename T>
  static T* maybe(Batch& b, const char* name) {
    return b.has(name) ? b.get(name).data<T>() : nullptr;
  }

  void capture(Batch& b) {
    if (b.is_cuda()) {
      capture_gpu(b);
      return;
    }
    find(b);
    dispatch_float(b.float_dtype(), [&](auto zero) {
      using T = decltype(zero);
      const T* x = b.get("positions").data<T>();
      T* v = maybe<T>(b, "velocities");
      T* f = maybe<T>(b, "forces");
      reference.resize(3 * atoms.size());
      const std::int64_t* a = atoms.data();
      double* r = reference.data();
      parallel_for(static_cast<std::int64_t>(atoms.size()),
                   [=](std::int64_t j) { kernels::freeze_capture(x, v, f, r, a[j], j); });
    });
    captured = true;
    on_gpu = false;
  }

  void pin(Batch& b) {
    if (!captured || on_gpu != b.is_cuda() || (on_gpu && gpu.device != b.device())) {
      capture(b);
      return;
    }
    if (b.is_cuda()) {
      pin_gpu(b);
      return;
    }
    if (!atoms.empty() && atoms.back() >= b.n_atoms())
      throw InvalidArgument("FreezeAtomsHook: the batch lost atoms since the step began");
    dispatch_float(b.float_dtype(), [&](auto zero) {
      using T = decltype(zero);
      T* x = b.get("positions").data<T>();
      T* v = maybe<T>(b, "velocities");
      T* f = maybe<T>(b, "forces");
      const std::int64_t* a = atoms.data();
      const double* r = reference.data();
      // the reference holds values read from T, so the round trip is exact
      parallel_for(static_cast<std::int64_t>(atoms.size()),
                   [=](std::int64_t j) { kernels::freeze_pin(x, v, f, r, a[j], j); });
    });
  }

  // A GPU batch: one kernel over all atoms reads the mask (uploaded once) or the field, records
  // the frozen atoms' positions in a device array and zeroes their velocities and forces.
  void capture_gpu(Batch& b) {
    const Tensor* field_t = validate(b);
    const std::int64_t n = b.n_atoms();
    const Device& d = b.device();
    const std::uint8_t* source = nullptr;
    std::uint8_t* frozen = nullptr;
    std::int64_t* count = nullptr;
    if (!field_t) {
      if (gpu.mask.device() != d || gpu.mask.numel() != n || !gpu.mask.defined()) {
        std::vector<std::uint8_t> bytes(mask.size());
        for (std::size_t i = 0; i < mask.size(); ++i) bytes[i] = mask[i] ? 1 : 0;
        gpu.mask = Tensor::from(bytes, {n}).to(d);
      }
      source = frozen = gpu.mask.data<std::uint8_t>();
    } else {
      if (gpu.frozen.device() != d || gpu.frozen.numel() != n) gpu.frozen = Tensor(DType::UInt8, {n}, d);
      source = reinterpret_cast<const std::uint8_t*>(field_t->data<bool>());
      frozen = gpu.frozen.data<std::uint8_t>();
      if (!gpu.count) gpu.count = std::make_shared<detail::DeviceSlots>(1);
      const std::int64_t init = 0;
      count = gpu.count->on(d, &init);
      gpu.count->reset(0, 0);
    }
    const Tensor& x = b.get("positions");
    if (gpu.reference.device() != d || gpu.reference.dtype() != x.dtype() || gpu.reference.numel() != 3 * n)
      gpu.reference = Tensor(x.dtype(), {n, 3}, d);
    gpu::freeze_capture(b, n, source, frozen, gpu.reference.raw(), count);
    gpu.device = d;
    gpu.n = n;
    captured = true;
    on_gpu = true;
  }

  void pin_gpu(Batch& b) {
    const bool lost = field.empty() ? last_mask >= b.n_atoms() : b.n_atoms() < gpu.n;
    if (lost) throw InvalidArgument("FreezeAtomsHook: the batch lost atoms since the step began");
    const Tensor& frozen = field.empty() ? gpu.mask : gpu.frozen;
    gpu::freeze_pin(b, gpu.n, frozen.data<std::uint8_t>(), gpu.reference.raw());
  }

  std::int64_t n_frozen() const {
    if (!on_gpu) return static_cast<std::int64_t>(atoms.size());
    return field.empty() ? n_mask : gpu.count->read()[0];
  }
};

FreezeAtomsHook::FreezeAtomsHook(std::vector<bool> frozen, dynamics::Stage stage)
    : state_(std::make_shared<State>()), stage_(stage) {
  state_->mask = std::move(frozen);
  for (std::size_t i = 0; i < state_->mask.size(); ++i)
    if (state_->mask[i]) {
      ++state_->n_mask;
      state_->last_mask = static_cast<std::int64_t>(i);
    }
}

FreezeAtomsHook::FreezeAtomsHook(std::string field, dynamics::Stage stage)
    : state_(std::make_shared<State>()), stage_(stage) {
  if (field.empty()) throw InvalidArgument("FreezeAtomsHook: empty field name");
  state_->field = std::move(field);
}

FreezeAtomsHook::FreezeAtomsHook(std::shared_ptr<State> state, dynamics::Stage stage, bool capture)
    : state_(std::move(state)), stage_(stage), capture_(capture) {}

std::string FreezeAtomsHook::name() const {
  std::string what = state_->field.empty() ? "mask" : "'" + state_->field + "'";
  return std::string(capture_ ? "FreezeAtomsHook(" : "FreezeAtomsHook.pin(") + what + ", " +
         std::string(dynamics::stage_name(stage_)) + ")";
}

void FreezeAtomsHook::open(dynamics::Context& ctx) { state_->capture(ctx.batch); }

void FreezeAtomsHook::operator()(dynamics::Context& ctx) {
  if (capture_)
    state_->capture(ctx.batch);
  else
    state_->pin(ctx.batch);
}

void FreezeAtomsHook::attach(dynamics::Dynamics& dyn) const {
  dyn.register_hook(std::shared_ptr<FreezeAtomsHook>(new FreezeAtomsHook(state_, stage_, true)));
  for (auto s : kPinStages)
    if (s != stage_) dyn.register_hook(std::shared_ptr<FreezeAtomsHook>(new FreezeAtomsHook(state_, s, false)));
}

std::int64_t FreezeAtomsHook::n_frozen() const { return state_->n_frozen(); }

}  // namespace batchmd::hooks
