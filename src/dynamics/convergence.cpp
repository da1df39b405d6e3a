// dynamics/convergence: evaluation of the composable convergence criteria.
#include "batchmd/dynamics/convergence.hpp"

#include <cmath>
#include <sstream>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"

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
      }
      out[static_cast<std::size_t>(s)] = std::sqrt(m);
    });
  });
  return out;
}

namespace {
std::vector<double> float_field(const Batch& b, std::string_view name) {
  if (!b.has(name)) throw InvalidArgument("convergence: batch has no '" + std::string(name) + "' field");
  const Tensor& t = b.get(name);
  std::vector<double> v(static_cast<std::size_t>(b.n_systems()));
  dispatch_float(t.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* p = t.data<T>();
    for (std::size_t s = 0; s < v.size(); ++s) v[s] = double(p[s]);
  });
  return v;
}
}  // namespace

void Convergence::eval_into(const Batch& b, const std::vector<std::uint8_t>& cand, std::vector<bool>& out) const {
  const std::size_t n = static_cast<std::size_t>(b.n_systems());
  auto is_cand = [&](std::size_t s) { return cand.empty() || cand[s] != 0; };
  out.assign(n, false);
  switch (kind_) {
    case Kind::Fmax: {
      auto f = max_force(b);
      for (std::size_t s = 0; s < n; ++s) out[s] = is_cand(s) && f[s] <= threshold_;
      break;
    }
    case Kind::EnergyChange: {
      auto e = float_field(b, "energy");
      auto p = float_field(b, "prev_energy");
      for (std::size_t s = 0; s < n; ++s) out[s] = is_cand(s) && std::abs(e[s] - p[s]) <= threshold_;
      break;
    }
    case Kind::Steps: {
      if (!b.has("stage_step")) throw InvalidArgument("convergence: batch has no 'stage_step' field");
      const auto* st = b.get("stage_step").data<std::int64_t>();
      for (std::size_t s = 0; s < n; ++s) out[s] = is_cand(s) && static_cast<double>(st[s]) >= threshold_;
      break;
    }
    case Kind::All:
    case Kind::Any: {
      const bool all = kind_ == Kind::All;
      for (std::size_t s = 0; s < n; ++s) out[s] = is_cand(s) && all;
      std::vector<bool> part;
      for (const auto& c : parts_) {
        c.eval_into(b, cand, part);
        for (std::size_t s = 0; s < n; ++s) out[s] = all ? (out[s] && part[s]) : (out[s] || part[s]);
      }
      break;
    }
  }
}

std::vector<bool> Convergence::evaluate(const Batch& batch, const std::vector<std::uint8_t>& candidates) const {
  if (!candidates.empty() && candidates.size() != static_cast<std::size_t>(batch.n_systems()))
    throw InvalidArgument("convergence: candidate mask has the wrong length");
  std::vector<bool> out;
  eval_into(batch, candidates, out);
  return out;
}

}  // namespace batchmd::dynamics
