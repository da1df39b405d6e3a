// hooks/freeze_atoms: FreezeAtomsHook.
#include "batchmd/hooks/freeze_atoms.hpp"

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"

namespace batchmd::hooks {

struct FreezeAtomsHook::State {
  std::vector<bool> mask;           // explicit mask (when field is empty)
  std::string field;                // per-atom bool field
  std::vector<std::int64_t> atoms;  // frozen atom indices at the last capture
  std::vector<double> reference;    // their positions [atoms*3]
  bool captured = false;

  void find(const Batch& b) {
    atoms.clear();
    const std::int64_t n = b.n_atoms();
    if (field.empty()) {
      if (static_cast<std::int64_t>(mask.size()) != n)
        throw InvalidArgument("FreezeAtomsHook: the mask has " + std::to_string(mask.size()) +
                              " entries but the batch has " + std::to_string(n) + " atoms");
      for (std::int64_t i = 0; i < n; ++i)
        if (mask[static_cast<std::size_t>(i)]) atoms.push_back(i);
      return;
    }
    if (!b.has(field)) throw InvalidArgument("FreezeAtomsHook: the batch has no field '" + field + "'");
    const Tensor& t = b.get(field);
    if (b.level(field) != Level::Atom || t.dtype() != DType::Bool || t.row_numel() != 1)
      throw InvalidArgument("FreezeAtomsHook: field '" + field + "' must be a per-atom bool field [n_atoms], got " +
                            std::string(dtype_name(t.dtype())) + " " + shape_str(t.shape()) + " at " +
                            std::string(level_name(b.level(field))) + " level");
    const bool* f = t.data<bool>();
    for (std::int64_t i = 0; i < n; ++i)
      if (f[i]) atoms.push_back(i);
  }

  template <typename T>
  void zero_vf(Batch& b) {
    for (const char* name : {"velocities", "forces"}) {
      if (!b.has(name)) continue;
      T* v = b.get(name).data<T>();
      const std::int64_t* a = atoms.data();
      parallel_for(static_cast<std::int64_t>(atoms.size()), [=](std::int64_t j) {
        for (int k = 0; k < 3; ++k) v[3 * a[j] + k] = T(0);
      });
    }
  }

  void capture(Batch& b) {
    find(b);
    dispatch_float(b.float_dtype(), [&](auto zero) {
      using T = decltype(zero);
      const T* x = b.get("positions").data<T>();
      reference.resize(3 * atoms.size());
      for (std::size_t j = 0; j < atoms.size(); ++j)
        for (std::size_t k = 0; k < 3; ++k)
          reference[3 * j + k] = double(x[3 * atoms[j] + static_cast<std::int64_t>(k)]);
      zero_vf<T>(b);
    });
    captured = true;
  }

  void pin(Batch& b) {
    if (!captured) {
      capture(b);
      return;
    }
    if (!atoms.empty() && atoms.back() >= b.n_atoms())
      throw InvalidArgument("FreezeAtomsHook: the batch lost atoms since the step began");
    dispatch_float(b.float_dtype(), [&](auto zero) {
      using T = decltype(zero);
      T* x = b.get("positions").data<T>();
      const std::int64_t* a = atoms.data();
      const double* r = reference.data();
      // the reference holds values read from T, so the round trip is exact
      parallel_for(static_cast<std::int64_t>(atoms.size()), [=](std::int64_t j) {
        for (int k = 0; k < 3; ++k) x[3 * a[j] + k] = static_cast<T>(r[3 * j + k]);
      });
      zero_vf<T>(b);
    });
  }
};

FreezeAtomsHook::FreezeAtomsHook(std::vector<bool> frozen, dynamics::Stage stage)
    : state_(std::make_shared<State>()), stage_(stage) {
  state_->mask = std::move(frozen);
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

std::int64_t FreezeAtomsHook::n_frozen() const { return static_cast<std::int64_t>(state_->atoms.size()); }

}  // namespace batchmd::hooks
