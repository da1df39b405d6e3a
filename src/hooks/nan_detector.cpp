// SPDX-License-Identifier: Apache-2.0
// hooks/nan_detector: NaNDetectorHook.
#include "batchmd/hooks/nan_detector.hpp"

#include <array>
#include <cmath>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "hook_kernels.hpp"
#include "hook_util.hpp"
#include "hooks_gpu.hpp"

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

namespace {
/// The fields check() looks at, as they are in `batch` (data is null for a missing field or one
/// not in the batch's float type).
template <typename T>
struct Fields {
  std::array<const T*, 4> data{};
  std::array<std::int64_t, 4> row{};
  std::array<bool, 4> atom_level{};
  explicit Fields(const Batch& batch) {
    for (std::size_t k = 0; k < kFields.size(); ++k) {
      if (!batch.has(kFields[k])) continue;
      const Tensor& t = batch.get(kFields[k]);
      if (t.dtype() != batch.float_dtype()) continue;
      data[k] = t.data<T>();
      row[k] = t.row_numel();
      atom_level[k] = batch.level(kFields[k]) == Level::Atom;
    }
  }
  /// Elements [lo, hi) of field k that belong to system s.
  std::pair<std::int64_t, std::int64_t> range(std::size_t k, const std::int64_t* ap, std::int64_t s) const {
    return {(atom_level[k] ? ap[s] : s) * row[k], (atom_level[k] ? ap[s + 1] : s + 1) * row[k]};
  }
};

template <typename T>
[[noreturn]] void raise(const Batch& batch, const Fields<T>& fl, std::int64_t first, std::int64_t n_bad, const Bad& b,
                        const std::string& where) {
  const auto k = static_cast<std::size_t>(b.field);
  const auto* ap = batch.atoms_ptr_data();
  std::ostringstream msg;
  msg << "NaNDetectorHook: non-finite " << kFields[k] << " (" << b.value << ") in "
      << detail::describe_system(batch, first);
  if (fl.atom_level[k]) {
    const std::int64_t atom = b.element / fl.row[k];
    msg << ", atom " << atom - ap[first] << " of the system (batch atom " << atom << ")";
  }
  msg << ", " << where;
  if (n_bad > 1) msg << "; " << n_bad << " systems affected";
  throw NumericalError(msg.str());
}

// A GPU batch: one kernel flags the bad systems and one copy brings the flags over; only when
// one is bad, the first bad system's values are copied over to find the first bad element.
template <typename T>
void check_gpu(const Batch& batch, const std::string& where) {
  const auto flags = gpu::nonfinite_systems(batch);
  std::int64_t first = -1, n_bad = 0;
  for (std::size_t s = 0; s < flags.size(); ++s)
    if (flags[s]) {
      if (first < 0) first = static_cast<std::int64_t>(s);
      ++n_bad;
    }
  if (first < 0) return;
  const Fields<T> fl(batch);
  const auto* ap = batch.atoms_ptr_data();
  const cuda::Stream stream = cuda::compute_stream(batch.device().index);
  for (std::size_t k = 0; k < kFields.size(); ++k) {
    if (!fl.data[k]) continue;
    const auto [lo, hi] = fl.range(k, ap, first);
    std::vector<T> v(static_cast<std::size_t>(hi - lo));
    cuda::copy(v.data(), fl.data[k] + lo, v.size() * sizeof(T), stream);
    for (std::size_t e = 0; e < v.size(); ++e)
      if (!hd::isfinite(double(v[e])))
        raise(batch, fl, first, n_bad, Bad{static_cast<int>(k), lo + static_cast<std::int64_t>(e), double(v[e])},
              where);
  }
  throw NumericalError("NaNDetectorHook: non-finite values in " + detail::describe_system(batch, first) + ", " +
                       where);  // flagged on the GPU but gone by the time they were read back
}
}  // namespace

void NaNDetectorHook::check(const Batch& batch, const std::string& where) {
  const std::int64_t ns = batch.n_systems();
  if (ns == 0) return;
  if (batch.is_cuda()) {
    dispatch_float(batch.float_dtype(), [&](auto zero) { check_gpu<decltype(zero)>(batch, where); });
    return;
  }
  std::vector<Bad> bad(static_cast<std::size_t>(ns));
  dispatch_float(batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const Fields<T> fl(batch);
    const auto* ap = batch.atoms_ptr_data();
    parallel_for_dynamic(ns, [&](std::int64_t s) {
      for (std::size_t k = 0; k < kFields.size(); ++k) {
        if (!fl.data[k]) continue;
        const auto [lo, hi] = fl.range(k, ap, s);
        for (std::int64_t e = lo; e < hi; ++e)
          if (!hd::isfinite(double(fl.data[k][e]))) {
            bad[static_cast<std::size_t>(s)] = Bad{static_cast<int>(k), e, double(fl.data[k][e])};
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
    if (first >= 0) raise(batch, fl, first, n_bad, bad[static_cast<std::size_t>(first)], where);
  });
}

void NaNDetectorHook::open(dynamics::Context& ctx) {
  check(ctx.batch, "in the starting state at step " + std::to_string(ctx.step));
}

void NaNDetectorHook::operator()(dynamics::Context& ctx) {
  check(ctx.batch, "at step " + std::to_string(ctx.step) + " (" + std::string(dynamics::stage_name(stage_)) + ")");
}

}  // namespace batchmd::hooks
