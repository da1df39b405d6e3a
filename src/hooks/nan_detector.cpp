// hooks/nan_detector: NaNDetectorHook.
#include "batchmd/hooks/nan_detector.hpp"

#include <array>
#include <cmath>
#include <sstream>
#include <string_view>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "hook_util.hpp"

namespace batchmd::hooks {

namespace {
constexpr std::array<std::string_view, 4> kFields = {"positions", "velocities", "forces", "energy"};

struct Bad {
  int field = -1;            // index into kFields; -1: system is clean
  std::int64_t element = 0;  // flat element index within the field
  double value = 0;
};
}  // namespace

NaNDetectorHook::NaNDetectorHook(std::int64_t frequency, dynamics::Stage stage) : frequency_(frequency), stage_(stage) {
  if (frequency < 1) throw InvalidArgument("NaNDetectorHook frequency must be >= 1, got " + std::to_string(frequency));
}

void NaNDetectorHook::check(const Batch& batch, const std::string& where) {
  const std::int64_t ns = batch.n_systems();
  if (ns == 0) return;
  std::vector<Bad> bad(static_cast<std::size_t>(ns));
  dispatch_float(batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    std::array<const T*, 4> data{};
    std::array<std::int64_t, 4> row{};
    std::array<bool, 4> atom_level{};
    for (std::size_t k = 0; k < kFields.size(); ++k) {
      if (!batch.has(kFields[k])) continue;
      const Tensor& t = batch.get(kFields[k]);
      if (t.dtype() != batch.float_dtype()) continue;
      data[k] = t.data<T>();
      row[k] = t.row_numel();
      atom_level[k] = batch.level(kFields[k]) == Level::Atom;
    }
    const auto* ap = batch.atoms_ptr_data();
    parallel_for_dynamic(ns, [&](std::int64_t s) {
      for (std::size_t k = 0; k < kFields.size(); ++k) {
        if (!data[k]) continue;
        const std::int64_t lo = (atom_level[k] ? ap[s] : s) * row[k];
        const std::int64_t hi = (atom_level[k] ? ap[s + 1] : s + 1) * row[k];
        for (std::int64_t e = lo; e < hi; ++e)
          if (!std::isfinite(data[k][e])) {
            bad[static_cast<std::size_t>(s)] = Bad{static_cast<int>(k), e, double(data[k][e])};
            return;
          }
      }
    });
    std::int64_t first = -1, n_bad = 0;
    for (std::int64_t s = 0; s < ns; ++s)
      if (bad[static_cast<std::size_t>(s)].field >= 0) {
        if (first < 0) first = s;
        ++n_bad;
      }
    if (first < 0) return;
    const Bad& b = bad[static_cast<std::size_t>(first)];
    const auto k = static_cast<std::size_t>(b.field);
    std::ostringstream msg;
    msg << "NaNDetectorHook: non-finite " << kFields[k] << " (" << b.value << ") in "
        << detail::describe_system(batch, first);
    if (atom_level[k]) {
      const std::int64_t atom = b.element / row[k];
      msg << ", atom " << atom - ap[first] << " of the system (batch atom " << atom << ")";
    }
    msg << ", " << where;
    if (n_bad > 1) msg << "; " << n_bad << " systems affected";
    throw NumericalError(msg.str());
  });
}

void NaNDetectorHook::open(dynamics::Context& ctx) {
  check(ctx.batch, "in the starting state at step " + std::to_string(ctx.step));
}

void NaNDetectorHook::operator()(dynamics::Context& ctx) {
  check(ctx.batch, "at step " + std::to_string(ctx.step) + " (" + std::string(dynamics::stage_name(stage_)) + ")");
}

}  // namespace batchmd::hooks
