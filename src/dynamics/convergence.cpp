// SPDX-License-Identifier: Apache-2.0
// dynamics/convergence: evaluation of the composable convergence criteria, on the host from
// per-system inputs gathered once per step (on the device for a GPU batch).
#include "batchmd/dynamics/convergence.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "dynamics_gpu.hpp"

namespace batchmd::dynamics {

Convergence Convergence::fmax(double f) {
  if (!(f >= 0 && std::isfinite(f))) throw InvalidArgument("convergence: fmax must be a finite value >= 0 eV/Å");
  return {Kind::Fmax, f};
}
Convergence Convergence::energy_change(double e) {
  if (!(e >= 0 && std::isfinite(e))) throw InvalidArgument("convergence: energy change must be a finite value >= 0 eV");
  return {Kind::EnergyChange, e};
}
Convergence Convergence::steps(std::int64_t n) {
  if (n < 0) throw InvalidArgument("convergence: step count must be >= 0");
  return {Kind::Steps, static_cast<double>(n)};
}
Convergence Convergence::stress(double s) {
  if (!(s >= 0 && std::isfinite(s))) throw InvalidArgument("convergence: stress must be a finite value >= 0 eV/Å³");
  return {Kind::Stress, s};
}
Convergence Convergence::all_of(std::vector<Convergence> parts) {
  if (parts.empty()) throw InvalidArgument("convergence: all_of needs at least one criterion");
  Convergence c(Kind::All, 0);
  c.parts_ = std::move(parts);
  return c;
}
Convergence Convergence::any_of(std::vector<Convergence> parts) {
  if (parts.empty()) throw InvalidArgument("convergence: any_of needs at least one criterion");
  Convergence c(Kind::Any, 0);
  c.parts_ = std::move(parts);
  return c;
}

std::string Convergence::describe() const {
  std::ostringstream o;
  switch (kind_) {
    case Kind::Fmax:
      o << "fmax<=" << threshold_;
      break;
    case Kind::EnergyChange:
      o << "|dE|<=" << threshold_;
      break;
    case Kind::Steps:
      o << "steps>=" << static_cast<std::int64_t>(threshold_);
      break;
    case Kind::Stress:
      o << "stress<=" << threshold_;
      break;
    case Kind::All:
    case Kind::Any:
      o << (kind_ == Kind::All ? "all(" : "any(");
      for (std::size_t i = 0; i < parts_.size(); ++i) o << (i ? ", " : "") << parts_[i].describe();
      o << ")";
      break;
  }
  return o.str();
}

std::vector<double> max_force(const Batch& batch) {
  std::vector<double> out(static_cast<std::size_t>(batch.n_systems()), 0.0);
  if (!batch.has("forces")) throw InvalidArgument("max_force: batch has no forces");
  if (batch.is_cuda()) {
    const std::int64_t n = batch.n_systems();
    if (n == 0) return out;
    Tensor f2(DType::Float64, {n, 2}, batch.device());
    dispatch_float(batch.get("forces").dtype(), [&](auto zero) {
      using T = decltype(zero);
      gpu::max_force2(gpu::structure(batch, nullptr), batch.get("forces").data<T>(), f2.data<double>());
    });
    const Tensor h = f2.to(Device::cpu());
    const double* p = h.data<double>();
    for (std::size_t s = 0; s < out.size(); ++s)
      out[s] = p[2 * s + 1] > 0 ? std::numeric_limits<double>::quiet_NaN() : std::sqrt(std::max(p[2 * s], 0.0));
    return out;
  }
  dispatch_float(batch.get("forces").dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* f = batch.get("forces").data<T>();
    const auto* ap = batch.atoms_ptr_data();
    parallel_for(batch.n_systems(), [&](std::int64_t s) {
      double m = 0;
      for (std::int64_t i = ap[s]; i < ap[s + 1]; ++i) {
        double n2 = 0;
        for (int k = 0; k < 3; ++k) n2 += double(f[3 * i + k]) * double(f[3 * i + k]);
        if (!(n2 <= m)) m = n2;  // NaN propagates
        if (std::isnan(m)) break;
      }
      out[static_cast<std::size_t>(s)] = std::sqrt(m);
    });
  });
  return out;
}

namespace {
const Tensor& field(const Batch& b, std::string_view name) {
  if (!b.has(name)) throw InvalidArgument("convergence: batch has no '" + std::string(name) + "' field");
  return b.get(name);
}
std::vector<double> float_field(const Batch& b, std::string_view name) {
  const Tensor& t = field(b, name);
  std::vector<double> v(static_cast<std::size_t>(b.n_systems()));
  dispatch_float(t.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* p = t.data<T>();
    for (std::size_t s = 0; s < v.size(); ++s) v[s] = double(p[s]);
  });
  return v;
}
}  // namespace

Convergence::Needs Convergence::needs() const {
  Needs n;
  switch (kind_) {
    case Kind::Fmax:
      n.fmax = true;
      break;
    case Kind::EnergyChange:
      n.energy = true;
      break;
    case Kind::Steps:
      n.steps = true;
      break;
    case Kind::Stress:
      n.stress = true;
      break;
    case Kind::All:
    case Kind::Any:
      for (const auto& c : parts_) n |= c.needs();
      break;
  }
  return n;
}

Convergence::Inputs Convergence::gather(const Batch& b, Needs needs) {
  Inputs in;
  if (b.is_cuda()) {
    // Everything on the device, packed [S][4], then one copy to the host.
    const std::int64_t n = b.n_systems();
    if (needs.fmax && !b.has("forces")) throw InvalidArgument("max_force: batch has no forces");
    gpu::SysValue e, p;
    if (needs.energy) {
      field(b, "energy");
      field(b, "prev_energy");
      e = gpu::sys_value(b, "energy", 0);
      p = gpu::sys_value(b, "prev_energy", 0);
    }
    const std::int64_t* ss = needs.steps ? field(b, "stage_step").data<std::int64_t>() : nullptr;
    std::vector<double> h(static_cast<std::size_t>(4 * n));
    if (n > 0) {
      Tensor f2;
      if (needs.fmax) {
        f2 = Tensor(DType::Float64, {n, 2}, b.device());
        dispatch_float(b.get("forces").dtype(), [&](auto zero) {
          using T = decltype(zero);
          gpu::max_force2(gpu::structure(b, nullptr), b.get("forces").data<T>(), f2.data<double>());
        });
      }
      Tensor packed(DType::Float64, {n, 4}, b.device());
      gpu::pack_convergence(b.device().index, n, needs.fmax ? f2.data<double>() : nullptr, e, p, ss,
                            packed.data<double>());
      cuda::copy(h.data(), packed.raw(), h.size() * sizeof(double), cuda::compute_stream(b.device().index));
    }
    const auto un = static_cast<std::size_t>(n);
    auto column = [&](std::vector<double>& v, std::size_t c) {
      v.resize(un);
      for (std::size_t s = 0; s < un; ++s) v[s] = h[4 * s + c];
    };
    if (needs.fmax) column(in.fmax, 0);
    if (needs.energy) {
      column(in.energy, 1);
      column(in.prev_energy, 2);
    }
    if (needs.steps) {
      in.stage_step.resize(un);
      for (std::size_t s = 0; s < un; ++s) in.stage_step[s] = static_cast<std::int64_t>(h[4 * s + 3]);
    }
    if (needs.stress) {  // a small per-system copy of its own (no GPU stage writes it yet)
      const Tensor t = field(b, "cell_stress_residual").to(Device::cpu());
      const auto* r = t.data<double>();
      in.stress.assign(r, r + n);
    }
    return in;
  }
  if (needs.fmax) in.fmax = max_force(b);
  if (needs.energy) {
    in.energy = float_field(b, "energy");
    in.prev_energy = float_field(b, "prev_energy");
  }
  if (needs.steps) {
    const auto* st = field(b, "stage_step").data<std::int64_t>();
    in.stage_step.assign(st, st + b.n_systems());
  }
  if (needs.stress) in.stress = float_field(b, "cell_stress_residual");
  return in;
}

void Convergence::eval_into(const Inputs& in, std::size_t n, const std::vector<std::uint8_t>& cand,
                            std::vector<bool>& out) const {
  auto is_cand = [&](std::size_t s) { return cand.empty() || cand[s] != 0; };
  auto need = [&](std::size_t have, const char* what) {
    if (have != n) throw InvalidArgument(std::string("convergence: inputs lack '") + what + "'");
  };
  out.assign(n, false);
  switch (kind_) {
    case Kind::Fmax: {
      need(in.fmax.size(), "fmax");
      for (std::size_t s = 0; s < n; ++s) out[s] = is_cand(s) && in.fmax[s] <= threshold_;
      break;
    }
    case Kind::EnergyChange: {
      need(in.energy.size(), "energy");
      need(in.prev_energy.size(), "prev_energy");
      for (std::size_t s = 0; s < n; ++s)
        out[s] = is_cand(s) && std::abs(in.energy[s] - in.prev_energy[s]) <= threshold_;
      break;
    }
    case Kind::Steps: {
      need(in.stage_step.size(), "stage_step");
      for (std::size_t s = 0; s < n; ++s) out[s] = is_cand(s) && static_cast<double>(in.stage_step[s]) >= threshold_;
      break;
    }
    case Kind::Stress: {
      need(in.stress.size(), "stress");
      for (std::size_t s = 0; s < n; ++s) out[s] = is_cand(s) && in.stress[s] <= threshold_;
      break;
    }
    case Kind::All:
    case Kind::Any: {
      const bool all = kind_ == Kind::All;
      for (std::size_t s = 0; s < n; ++s) out[s] = is_cand(s) && all;
      std::vector<bool> part;
      for (const auto& c : parts_) {
        c.eval_into(in, n, cand, part);
        for (std::size_t s = 0; s < n; ++s) out[s] = all ? (out[s] && part[s]) : (out[s] || part[s]);
      }
      break;
    }
  }
}

std::vector<bool> Convergence::evaluate(const Inputs& inputs, const std::vector<std::uint8_t>& candidates) const {
  const Needs nd = needs();
  const std::size_t n = nd.fmax     ? inputs.fmax.size()
                        : nd.energy ? inputs.energy.size()
                        : nd.stress ? inputs.stress.size()
                                    : inputs.stage_step.size();
  if (!candidates.empty() && candidates.size() != n)
    throw InvalidArgument("convergence: candidate mask has the wrong length");
  std::vector<bool> out;
  eval_into(inputs, n, candidates, out);
  return out;
}

std::vector<bool> Convergence::evaluate(const Batch& batch, const std::vector<std::uint8_t>& candidates) const {
  if (!candidates.empty() && candidates.size() != static_cast<std::size_t>(batch.n_systems()))
    throw InvalidArgument("convergence: candidate mask has the wrong length");
  return evaluate(gather(batch, needs()), candidates);
}

}  // namespace batchmd::dynamics
