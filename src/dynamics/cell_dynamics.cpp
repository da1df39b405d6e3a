// SPDX-License-Identifier: Apache-2.0
// dynamics/cell_dynamics: checks and host reads shared by the cell-moving integrators, and the
// public pressure() / cell_volume() helpers of npt.hpp.
#include "cell_dynamics.hpp"

#include <cmath>

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

std::vector<double> cell_volume(const Batch& b) {
  std::vector<double> v(static_cast<std::size_t>(b.n_systems()), 0.0);
  if (!b.has("cell")) return v;
  const auto c = detail::read_mat3(b, "cell");
  for (std::size_t s = 0; s < v.size(); ++s) v[s] = std::abs(cellm::det3(&c[9 * s]));
  return v;
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
