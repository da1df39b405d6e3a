// hooks/force_clamp: MaxForceClampHook.
#include "batchmd/hooks/force_clamp.hpp"

#include <atomic>
#include <cmath>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"

namespace batchmd::hooks {

MaxForceClampHook::MaxForceClampHook(double max_force, dynamics::Stage stage) : max_force_(max_force), stage_(stage) {
  if (!(std::isfinite(max_force) && max_force > 0))
    throw InvalidArgument("MaxForceClampHook: max_force must be a finite value > 0 eV/A, got " +
                          std::to_string(max_force));
}

std::int64_t MaxForceClampHook::clamp(Batch& batch, double max_force) {
  if (!batch.has("forces")) return 0;
  std::atomic<std::int64_t> clamped{0};
  dispatch_float(batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* f = batch.get("forces").data<T>();
    const double fmax2 = max_force * max_force;
    parallel_for(batch.n_atoms(), [&, f](std::int64_t i) {
      T* fi = f + 3 * i;
      const double n2 = double(fi[0]) * double(fi[0]) + double(fi[1]) * double(fi[1]) + double(fi[2]) * double(fi[2]);
      if (n2 > fmax2) {  // false for NaN: left for NaNDetectorHook
        const double s = max_force / std::sqrt(n2);
        for (int k = 0; k < 3; ++k) fi[k] = static_cast<T>(double(fi[k]) * s);
        clamped.fetch_add(1, std::memory_order_relaxed);
      }
    });
  });
  return clamped.load();
}

void MaxForceClampHook::open(dynamics::Context& ctx) { (*this)(ctx); }

void MaxForceClampHook::operator()(dynamics::Context& ctx) {
  last_clamped_ = clamp(ctx.batch, max_force_);
  total_clamped_ += last_clamped_;
}

}  // namespace batchmd::hooks
