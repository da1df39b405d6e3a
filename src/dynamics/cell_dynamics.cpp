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

namespace batchmd::dynamics {

namespace detail {

std::string system_label(const Batch& b, std::int64_t s) {
  std::string l = "system " + std::to_string(s);
  if (b.has("system_id") && !b.is_cuda())
    l += " (system_id " + std::to_string(b.get("system_id").data<std::int64_t>()[s]) + ")";
  return l;
}

void require_periodic_cells(const Batch& b, const std::vector<bool>& which, const std::string& stage) {
  if (b.is_cuda())
    throw InvalidArgument(stage +
                          ": runs on CPU batches only in this version (no GPU kernels yet); use device = \"cpu\"");
  const bool has_pbc = b.has("pbc"), has_cell = b.has("cell");
  const bool* pbc = has_pbc ? b.get("pbc").data<bool>() : nullptr;
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
  bool finite = true;
  for (int k = 0; k < 9; ++k) finite = finite && std::isfinite(cell[k]);
  const double v = cellm::det3(cell);
  if (!finite || !std::isfinite(v))
    throw NumericalError(stage + ": the cell of " + system_label(b, s) + " became non-finite (barostat blew up)");
  if (!(v * v_before > 0))
    throw NumericalError(stage + ": the cell of " + system_label(b, s) + " collapsed (volume " + std::to_string(v) +
                         " Å³, was " + std::to_string(v_before) + ")");
  const double ratio = std::abs(v / v_before);
  if (ratio > 2 || ratio < 0.5)
    throw NumericalError(stage + ": the volume of " + system_label(b, s) + " changed from " +
                         std::to_string(std::abs(v_before)) + " to " + std::to_string(std::abs(v)) +
                         " Å³ in one step; the barostat is unstable (raise tau_p_fs or lower dt)");
  // A flattened cell: some height (volume / area of the opposite face) far below the others.
  double h_min = 1e300, h_max = 0;
  for (int d = 0; d < 3; ++d) {
    const double* a = cell + 3 * ((d + 1) % 3);
    const double* c = cell + 3 * ((d + 2) % 3);
    const double nx = a[1] * c[2] - a[2] * c[1], ny = a[2] * c[0] - a[0] * c[2], nz = a[0] * c[1] - a[1] * c[0];
    const double h = std::abs(v) / std::sqrt(nx * nx + ny * ny + nz * nz);
    h_min = std::min(h_min, h);
    h_max = std::max(h_max, h);
  }
  if (h_min < 1e-3 * h_max)
    throw NumericalError(stage + ": the cell of " + system_label(b, s) + " flattened (heights " +
                         std::to_string(h_min) + " and " + std::to_string(h_max) + " Å)");
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
  double big = 0;
  for (int k = 0; k < 9; ++k) {
    if (!std::isfinite(sig[k])) return "is not finite: " + mat_text(sig) + " eV/Å³";
    big = std::max(big, std::abs(sig[k]));
  }
  for (int i = 0; i < 3; ++i)
    for (int j = i + 1; j < 3; ++j)
      if (std::abs(sig[3 * i + j] - sig[3 * j + i]) > 1e-12 * big)
        return "is not symmetric: " + mat_text(sig) +
               " eV/Å³ (a stress tensor is; a rotation of the cell is not a target)";
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) p[3 * i + j] = -0.5 * (sig[3 * i + j] + sig[3 * j + i]);
  if (!(cellm::trace3(p) / 3 > -1.0)) return "has a hydrostatic pressure below -1 eV/Å³ (-1.6e6 bar): " + mat_text(sig);
  hydro = p[0] == p[4] && p[4] == p[8] && p[1] == 0 && p[2] == 0 && p[5] == 0;
  if (!hydro && mode == CellMode::Isotropic)
    return "is not hydrostatic (" + mat_text(sig) +
           " eV/Å³) but cell = \"isotropic\" moves only the volume; use cell = \"full\" for an anisotropic target "
           "stress";
  return {};
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
  const Shape& sh = f->shape();
  const bool m33 = sh.size() == 3 && sh[1] == 3 && sh[2] == 3, flat9 = sh.size() == 2 && sh[1] == 9,
             voigt = sh.size() == 2 && sh[1] == 6;
  if (!(m33 || flat9 || voigt) || (f->dtype() != DType::Float64 && f->dtype() != DType::Float32)) {
    std::string shape = "[";
    for (std::size_t k = 0; k < sh.size(); ++k) shape += (k ? ", " : "") + std::to_string(sh[k]);
    throw InvalidArgument(
        stage + ": field 'barostat_stress' has shape " + shape + "] and dtype " + std::string(dtype_name(f->dtype())) +
        "; it must be a float [S, 3, 3] or [S, 9] (eV/Å³), or [S, 6] in Voigt order xx yy zz yz xz xy");
  }
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
