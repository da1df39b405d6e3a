// SPDX-License-Identifier: Apache-2.0
// dynamics/cell_dynamics: checks, targets and host reads shared by the cell-moving integrators,
// and the public pressure() / cell_volume() / stress_from_voigt() helpers of npt.hpp.
#include "cell_dynamics.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/cell_math.hpp"
#include "batchmd/dynamics/npt.hpp"
#include "batchmd/dynamics/units.hpp"
#include "cell_kernels.hpp"

namespace batchmd::dynamics {

namespace detail {

std::string system_label(const Batch& b, std::int64_t s) {
  std::string l = "system " + std::to_string(s);
  if (b.has("system_id") && !b.is_cuda())
    l += " (system_id " + std::to_string(b.get("system_id").data<std::int64_t>()[s]) + ")";
  return l;
}

void require_periodic_cells(const Batch& b, const std::vector<bool>& which, const std::string& stage) {
  const bool has_pbc = b.has("pbc"), has_cell = b.has("cell");
  Tensor pbc_host;
  if (has_pbc && b.is_cuda()) pbc_host = b.get("pbc").to(Device::cpu());
  const bool* pbc = !has_pbc ? nullptr : b.is_cuda() ? pbc_host.data<bool>() : b.get("pbc").data<bool>();
  for (std::int64_t s = 0; s < b.n_systems(); ++s) {
    if (!which.empty() && !which[static_cast<std::size_t>(s)]) continue;
    if (!has_cell || !pbc || !(pbc[3 * s] && pbc[3 * s + 1] && pbc[3 * s + 2]))
      throw InvalidArgument(stage + ": " + system_label(b, s) +
                            " is not periodic in all three directions; a barostat or cell relaxation needs a periodic "
                            "cell (open clusters and slabs have no pressure to control)");
  }
  if (!has_cell) return;
  const auto cells = read_mat3(b, "cell");
  for (std::int64_t s = 0; s < b.n_systems(); ++s) {
    if (!which.empty() && !which[static_cast<std::size_t>(s)]) continue;
    const double v = cellm::det3(&cells[9 * static_cast<std::size_t>(s)]);
    if (!(std::isfinite(v) && v != 0))
      throw InvalidArgument(stage + ": " + system_label(b, s) + " has a cell of zero or non-finite volume");
  }
}

void check_moved_cell(const double* cell, double v_before, const Batch& b, std::int64_t s, const std::string& stage) {
  double v = 0, h_min = 0, h_max = 0;
  const int fault = cellk::cell_fault(cell, v_before, v, h_min, h_max);
  if (fault != 0) throw NumericalError(moved_cell_message(fault, stage, system_label(b, s), v, v_before, h_min, h_max));
}

std::string moved_cell_message(int fault, const std::string& stage, const std::string& system, double v,
                               double v_before, double h_min, double h_max) {
  const bool values = std::isfinite(v_before);  // a GPU report carries no values (NaN)
  switch (fault) {
    case cellk::kCellNonFinite:
      return stage + ": the cell of " + system + " became non-finite (barostat blew up)";
    case cellk::kCellCollapsed:
      return stage + ": the cell of " + system + " collapsed" +
             (values ? " (volume " + std::to_string(v) + " Å³, was " + std::to_string(v_before) + ")" : "");
    case cellk::kCellJumped:
      return stage + ": the volume of " + system + " changed " +
             (values ? "from " + std::to_string(std::abs(v_before)) + " to " + std::to_string(std::abs(v)) + " Å³"
                     : "by more than a factor of 2") +
             " in one step; the barostat is unstable (raise tau_p_fs or lower dt)";
    default:
      return stage + ": the cell of " + system + " flattened" +
             (values ? " (heights " + std::to_string(h_min) + " and " + std::to_string(h_max) + " Å)"
                     : " (one height below 1e-3 of the largest)");
  }
}

namespace {

std::string mat_text(const double* m) {
  std::ostringstream os;
  os.precision(6);
  os << "[[" << m[0] << ", " << m[1] << ", " << m[2] << "], [" << m[3] << ", " << m[4] << ", " << m[5] << "], [" << m[6]
     << ", " << m[7] << ", " << m[8] << "]]";
  return os.str();
}

/// Checks one target stress (row-major, as given) and writes P_t = −sym(σ) into p and whether it
/// is hydrostatic into hydro; returns "" or what is wrong (the caller names the target: the
/// string is built only for an error, since the fields are read every step).
std::string target_from_stress(const double* sig, CellMode mode, double* p, bool& hydro) {
  const int fault = cellk::target_from_stress(sig, mode == CellMode::Isotropic, p, hydro);
  return fault == cellk::kTargetOk ? std::string() : target_fault_text(fault, sig);
}

void set_hydrostatic(double p_scalar, double* p) {
  for (int k = 0; k < 9; ++k) p[k] = k % 4 == 0 ? p_scalar : 0.0;
}

}  // namespace

void check_stage_target(double pressure, const std::optional<StressTarget>& stress, CellMode mode,
                        const std::string& stage) {
  if (!(std::isfinite(pressure) && pressure > -1.0))
    throw InvalidArgument(stage + " pressure must be finite and above -1 eV/Å³ (-1.6e6 bar)");
  if (!stress) return;
  if (pressure != 0)
    throw InvalidArgument(stage + ": give a target pressure or a target stress, not both (pressure " +
                          std::to_string(pressure) + " eV/Å³ with a stress)");
  double p[9];
  bool hydro = true;
  const std::string why = target_from_stress(stress->data(), mode, p, hydro);
  if (!why.empty()) throw InvalidArgument(stage + " stress " + why);
}

std::string target_fault_text(int fault, const double* sig) {
  const std::string m = sig ? mat_text(sig) + " eV/Å³" : std::string("(on the GPU)");
  switch (fault) {
    case cellk::kTargetNonFinite:
      return "is not finite: " + m;
    case cellk::kTargetAsymmetric:
      return "is not symmetric: " + m + " (a stress tensor is; a rotation of the cell is not a target)";
    case cellk::kTargetTooLow:
      return "has a hydrostatic pressure below -1 eV/Å³ (-1.6e6 bar): " + m;
    default:
      return "is not hydrostatic (" + m +
             ") but cell = \"isotropic\" moves only the volume; use cell = \"full\" for an anisotropic target stress";
  }
}

std::vector<bool> active_mask(const Context& ctx) { return std::vector<bool>(ctx.active.begin(), ctx.active.end()); }

PressureTargets pressure_targets(const Batch& b, double pressure, const std::optional<StressTarget>& stress,
                                 CellMode mode, const std::vector<bool>& which, const std::string& stage) {
  const std::int64_t n = b.n_systems();
  PressureTargets t;
  t.p.assign(static_cast<std::size_t>(9 * n), 0.0);
  t.hydro.assign(static_cast<std::size_t>(n), 1);
  double stage_p[9];
  bool stage_hydro = true;
  if (stress) {
    const std::string why = target_from_stress(stress->data(), mode, stage_p, stage_hydro);
    if (!why.empty()) throw InvalidArgument(stage + " stress " + why);
  } else {
    set_hydrostatic(pressure, stage_p);
  }
  for (std::int64_t s = 0; s < n; ++s) {
    std::copy(stage_p, stage_p + 9, t.p.begin() + 9 * s);
    t.hydro[static_cast<std::size_t>(s)] = stage_hydro ? 1 : 0;
  }
  const bool has_p = b.has("barostat_pressure"), has_s = b.has("barostat_stress");
  if (has_p && has_s)
    throw InvalidArgument(stage +
                          ": the batch has both fields 'barostat_pressure' and 'barostat_stress'; give each system "
                          "one target (a hydrostatic stress is -pressure on the diagonal)");
  auto selected = [&](std::int64_t s) { return which.empty() || which[static_cast<std::size_t>(s)]; };
  if (has_p) {
    const auto p = system_parameter(b, "barostat_pressure", pressure);
    for (std::int64_t s = 0; s < n; ++s) {
      if (!selected(s)) continue;
      if (!(std::isfinite(p[s]) && p[s] > -1.0))
        throw InvalidArgument(stage + ": " + system_label(b, s) +
                              ": field 'barostat_pressure' must be finite and above -1 eV/Å³, got " +
                              std::to_string(p[s]));
      set_hydrostatic(p[s], &t.p[9 * static_cast<std::size_t>(s)]);
      t.hydro[static_cast<std::size_t>(s)] = 1;
    }
  }
  if (!has_s) return t;
  if (b.level("barostat_stress") != Level::System)
    throw InvalidArgument(stage + ": field 'barostat_stress' must be system-level");
  const Tensor* f = &b.get("barostat_stress");
  Tensor host;
  if (f->is_cuda()) {
    host = f->to(Device::cpu());
    f = &host;
  }
  const bool voigt = stress_field_is_voigt(*f, stage);
  dispatch_float(f->dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* d = f->data<T>();
    for (std::int64_t s = 0; s < n; ++s) {
      if (!selected(s)) continue;
      double sig[9];
      if (voigt) {
        std::array<double, 6> v{};
        for (int k = 0; k < 6; ++k) v[static_cast<std::size_t>(k)] = double(d[6 * s + k]);
        const StressTarget m = stress_from_voigt(v);
        std::copy(m.begin(), m.end(), sig);
      } else {
        for (int k = 0; k < 9; ++k) sig[k] = double(d[9 * s + k]);
      }
      bool hydro = true;
      const std::string why = target_from_stress(sig, mode, &t.p[9 * static_cast<std::size_t>(s)], hydro);
      if (!why.empty()) throw InvalidArgument(stage + ": " + system_label(b, s) + ": field 'barostat_stress' " + why);
      t.hydro[static_cast<std::size_t>(s)] = hydro ? 1 : 0;
    }
  });
  return t;
}

bool stress_field_is_voigt(const Tensor& f, const std::string& stage) {
  const Shape& sh = f.shape();
  const bool m33 = sh.size() == 3 && sh[1] == 3 && sh[2] == 3, flat9 = sh.size() == 2 && sh[1] == 9,
             voigt = sh.size() == 2 && sh[1] == 6;
  if (!(m33 || flat9 || voigt) || (f.dtype() != DType::Float64 && f.dtype() != DType::Float32)) {
    std::string shape = "[";
    for (std::size_t k = 0; k < sh.size(); ++k) shape += (k ? ", " : "") + std::to_string(sh[k]);
    throw InvalidArgument(
        stage + ": field 'barostat_stress' has shape " + shape + "] and dtype " + std::string(dtype_name(f.dtype())) +
        "; it must be a float [S, 3, 3] or [S, 9] (eV/Å³), or [S, 6] in Voigt order xx yy zz yz xz xy");
  }
  return voigt;
}

std::vector<double> read_mat3(const Batch& b, const char* field) {
  const Tensor* t = &b.get(field);
  Tensor host;
  if (t->is_cuda()) {
    host = t->to(Device::cpu());
    t = &host;
  }
  std::vector<double> out(static_cast<std::size_t>(9 * b.n_systems()));
  dispatch_float(t->dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* p = t->data<T>();
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = double(p[i]);
  });
  return out;
}

void write_cell(Batch& b, std::int64_t s, const double* rows) {
  Tensor& t = b.get("cell");
  dispatch_float(t.dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* p = t.data<T>();
    for (int k = 0; k < 9; ++k) p[9 * s + k] = static_cast<T>(rows[k]);
  });
}

void kinetic_tensor(const Batch& b, std::int64_t s, double* out) {
  for (int k = 0; k < 9; ++k) out[k] = 0;
  if (!b.has("velocities")) return;
  const auto* ap = b.atoms_ptr_data();
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    kinetic_tensor(b.get("velocities").data<T>(), b.get("masses").data<T>(), ap[s], ap[s + 1], out);
  });
}

}  // namespace detail

StressTarget stress_from_voigt(const std::array<double, 6>& v) {
  return {v[0], v[5], v[4], v[5], v[1], v[3], v[4], v[3], v[2]};
}

std::vector<double> cell_volume(const Batch& b) {
  std::vector<double> v(static_cast<std::size_t>(b.n_systems()), 0.0);
  if (!b.has("cell")) return v;
  const auto c = detail::read_mat3(b, "cell");
  for (std::size_t s = 0; s < v.size(); ++s) v[s] = std::abs(cellm::det3(&c[9 * s]));
  return v;
}

std::vector<double> pressure_tensor(const Batch& b) {
  if (!b.has("virial"))
    throw InvalidArgument("pressure_tensor: the batch has no virial (compute the model with stress)");
  const Batch host = b.is_cuda() ? b.to(Device::cpu()) : Batch();
  const Batch& hb = b.is_cuda() ? host : b;
  const auto vol = cell_volume(hb);
  const auto w = detail::read_mat3(hb, "virial");
  const bool* pbc = hb.has("pbc") ? hb.get("pbc").data<bool>() : nullptr;
  std::vector<double> p(9 * vol.size(), 0.0);
  for (std::size_t s = 0; s < vol.size(); ++s) {
    if (!pbc || !(pbc[3 * s] && pbc[3 * s + 1] && pbc[3 * s + 2]) || !(vol[s] > 0)) continue;
    double k[9];
    detail::kinetic_tensor(hb, static_cast<std::int64_t>(s), k);
    for (std::size_t c = 0; c < 9; ++c) p[9 * s + c] = (k[c] + w[9 * s + c]) / vol[s];
  }
  return p;
}

std::vector<double> pressure(const Batch& b) {
  if (!b.has("virial")) throw InvalidArgument("pressure: the batch has no virial (compute the model with stress)");
  const Batch host = b.is_cuda() ? b.to(Device::cpu()) : Batch();
  const Batch& hb = b.is_cuda() ? host : b;
  const auto vol = cell_volume(hb);
  const auto w = detail::read_mat3(hb, "virial");
  const bool* pbc = hb.has("pbc") ? hb.get("pbc").data<bool>() : nullptr;
  std::vector<double> p(vol.size(), 0.0);
  for (std::size_t s = 0; s < p.size(); ++s) {
    if (!pbc || !(pbc[3 * s] && pbc[3 * s + 1] && pbc[3 * s + 2]) || !(vol[s] > 0)) continue;
    double k[9];
    detail::kinetic_tensor(hb, static_cast<std::int64_t>(s), k);
    p[s] = (cellm::trace3(k) + cellm::trace3(&w[9 * s])) / (3 * vol[s]);
  }
  return p;
}

}  // namespace batchmd::dynamics
