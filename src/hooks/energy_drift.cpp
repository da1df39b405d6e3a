// SPDX-License-Identifier: Apache-2.0
// hooks/energy_drift: EnergyDriftMonitorHook.
#include "batchmd/hooks/energy_drift.hpp"

#include <cmath>
#include <iostream>
#include <sstream>
#include <utility>

#include "batchmd/core/error.hpp"
#include "hook_util.hpp"
#include "hooks_gpu.hpp"

namespace batchmd::hooks {

DriftAction drift_action_from_name(std::string_view s) {
  if (s == "warn") return DriftAction::Warn;
  if (s == "stop") return DriftAction::Stop;
  throw InvalidArgument("energy drift action must be \"warn\" or \"stop\", got '" + std::string(s) + "'");
}

EnergyDriftMonitorHook::EnergyDriftMonitorHook(double threshold, DriftAction action, std::int64_t frequency)
    : threshold_(threshold), action_(action), frequency_(frequency) {
  if (!(std::isfinite(threshold) && threshold > 0))
    throw InvalidArgument("EnergyDriftMonitorHook: threshold must be a finite value > 0, got " +
                          std::to_string(threshold));
  if (frequency < 1)
    throw InvalidArgument("EnergyDriftMonitorHook frequency must be >= 1, got " + std::to_string(frequency));
}

namespace {
/// Per system: total energy (eV) and system_id. A GPU batch is read with one copy.
struct Totals {
  std::vector<double> energy;
  std::vector<std::int64_t> id;
};
Totals total_energy(const Batch& b) {
  if (!b.has("energy")) throw InvalidArgument("EnergyDriftMonitorHook: the batch has no energy");
  Totals t;
  if (b.is_cuda()) {
    auto sc = gpu::system_scalars(b, false);
    t.energy = std::move(sc.kinetic_energy);
    for (std::size_t s = 0; s < t.energy.size(); ++s) t.energy[s] += sc.energy[s];
    t.id = std::move(sc.system_id);
    return t;
  }
  t.energy = dynamics::kinetic_energy(b);
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* pe = b.get("energy").data<T>();
    for (std::size_t s = 0; s < t.energy.size(); ++s) t.energy[s] += double(pe[s]);
  });
  t.id.resize(t.energy.size());
  for (std::size_t s = 0; s < t.id.size(); ++s) t.id[s] = detail::system_id_of(b, static_cast<std::int64_t>(s));
  return t;
}
}  // namespace

// Makes every slot hold the reference of the system now in it (new system_id: new reference).
void EnergyDriftMonitorHook::sync_references(const std::vector<double>& e, const std::vector<std::int64_t>& ids) {
  const auto ns = e.size();
  ref_.resize(ns, 0.0);
  ref_id_.resize(ns, -1);
  has_ref_.resize(ns, false);
  warned_.resize(ns, false);
  drift_.assign(ns, 0.0);
  for (std::size_t s = 0; s < ns; ++s) {
    const std::int64_t id = ids[s];
    if (!has_ref_[s] || ref_id_[s] != id) {
      ref_[s] = e[s];
      ref_id_[s] = id;
      has_ref_[s] = true;
      warned_[s] = false;
    }
  }
}

void EnergyDriftMonitorHook::open(dynamics::Context& ctx) {
  const auto t = total_energy(ctx.batch);
  sync_references(t.energy, t.id);
}

void EnergyDriftMonitorHook::operator()(dynamics::Context& ctx) {
  const auto t = total_energy(ctx.batch);
  const auto& e = t.energy;
  sync_references(e, t.id);
  for (std::size_t s = 0; s < e.size(); ++s) {
    const double e0 = ref_[s];
    const double d = e0 != 0 ? std::abs(e[s] - e0) / std::abs(e0) : std::abs(e[s] - e0);
    drift_[s] = d;
    if (d > max_drift_ || std::isnan(d)) max_drift_ = d;
    if (!(d > threshold_) && !std::isnan(d)) continue;
    std::ostringstream msg;
    msg << "EnergyDriftMonitorHook: " << detail::describe_system(static_cast<std::int64_t>(s), t.id[s])
        << ": relative energy drift " << d << " exceeds " << threshold_ << " at step " << ctx.step + 1
        << " (E0 = " << e0 << " eV, E = " << e[s] << " eV)";
    if (action_ == DriftAction::Stop) throw NumericalError(msg.str());
    if (!warned_[s]) {
      warned_[s] = true;
      ++warnings_;
      std::cerr << "warning: " << msg.str() << '\n';
    }
  }
}

}  // namespace batchmd::hooks
