// SPDX-License-Identifier: Apache-2.0
// dynamics/cell_dynamics: what the integrators that move the cell share (MTK, stochastic cell
// rescaling, variable-cell FIRE): the check that a system can have its cell moved, the check that
// a moved cell is still a cell, the per-system targets (scalar pressure or stress tensor, with
// their checks), and per-system host reads of the virial and the cell.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/dynamics/npt.hpp"
#include "batchmd/dynamics/units.hpp"

namespace batchmd::dynamics::detail {

/// Throws InvalidArgument naming the stage and the system (index and system_id) when a system in
/// `which` (empty: all) is not periodic in all three directions or the batch has no cell, or has
/// a cell of zero or non-finite volume. A GPU batch's pbc and cell are copied to the host (the
/// GPU stages call it when systems enter, not every step).
void require_periodic_cells(const Batch& b, const std::vector<bool>& which, const std::string& stage);
/// Throws NumericalError naming the system when `cell` (rows) is not finite, has flipped or lost
/// its volume, or changed its volume by more than a factor of 2 in one step (a barostat blowing
/// up). v_before: the volume before the move (Å³).
void check_moved_cell(const double* cell, double v_before, const Batch& b, std::int64_t s, const std::string& stage);
/// The message of check_moved_cell for a cellk::CellFault (one bit); v_before NaN: no values
/// (a GPU report).
std::string moved_cell_message(int fault, const std::string& stage, const std::string& system, double v,
                               double v_before, double h_min, double h_max);
/// What is wrong with a target stress, for a cellk::TargetFault ("is not symmetric: …"); sig may be
/// null (a GPU report: the values are not at hand).
std::string target_fault_text(int fault, const double* sig);
/// "system 3 (system_id 17)"
std::string system_label(const Batch& b, std::int64_t s);

/// The targets of a stage, per system, as pressure tensors P_t = −σ_target (eV/Å³, row-major,
/// symmetric): from the field "barostat_stress" where the batch has it, else "barostat_pressure",
/// else the stage's stress, else its pressure. hydro[s]: P_t = P_t[0] I exactly (a scalar
/// pressure always is), so the hydrostatic arithmetic is the scalar one bit for bit.
struct PressureTargets {
  std::vector<double> p;
  std::vector<char> hydro;
  const double* of(std::int64_t s) const { return p.data() + 9 * s; }
};
/// Reads and checks the targets of the systems in `which` (empty: all; the others get the stage's
/// value): the field's shape ([S,3,3], [S,6] Voigt xx yy zz yz xz xy, or [S,9]), finite and
/// symmetric values, both fields at once, and a non-hydrostatic target for an isotropic stage
/// are InvalidArgument naming the stage, the field and the system.
PressureTargets pressure_targets(const Batch& b, double pressure, const std::optional<StressTarget>& stress,
                                 CellMode mode, const std::vector<bool>& which, const std::string& stage);
/// The construction-time check of a stage's own target (the same rules; `pressure` must be 0
/// when `stress` is set, the two being alternatives).
void check_stage_target(double pressure, const std::optional<StressTarget>& stress, CellMode mode,
                        const std::string& stage);
/// Checks the shape and dtype of the field "barostat_stress" (InvalidArgument naming the stage);
/// returns whether it is [S, 6] Voigt (else [S, 3, 3] or [S, 9]).
bool stress_field_is_voigt(const Tensor& f, const std::string& stage);
/// `which` from a step's Context (empty: every system active).
std::vector<bool> active_mask(const Context& ctx);

/// Per-system 3×3 (row-major) copy of a system-level [S,3,3] float field, as double.
std::vector<double> read_mat3(const Batch& b, const char* field);
/// Writes rows back into the batch's "cell" for system s (the batch's float dtype).
void write_cell(Batch& b, std::int64_t s, const double* rows);
/// Σ_i m_i v_i ⊗ v_i of system s (eV), row-major.
void kinetic_tensor(const Batch& b, std::int64_t s, double* out);

/// Running sums of Σ m v⊗v (the six components of a symmetric tensor), in double, for loops
/// that accumulate it atom by atom while they update the velocities.
struct KineticSums {
  double xx = 0, yy = 0, zz = 0, xy = 0, xz = 0, yz = 0;
  template <typename T>
  void add(const T* v, T m) {
    const double md = double(m), vx = double(v[0]), vy = double(v[1]), vz = double(v[2]);
    xx += md * vx * vx;
    yy += md * vy * vy;
    zz += md * vz * vz;
    xy += md * vx * vy;
    xz += md * vx * vz;
    yz += md * vy * vz;
  }
  /// The tensor in eV, row-major.
  void write(double* out) const {
    const double t[9] = {xx, xy, xz, xy, yy, yz, xz, yz, zz};
    for (int k = 0; k < 9; ++k) out[k] = t[k] * units::kMv2ToEv;
  }
};
/// Σ m v⊗v (eV, row-major) of atoms [a0, a1).
template <typename T>
void kinetic_tensor(const T* v, const T* m, std::int64_t a0, std::int64_t a1, double* out) {
  KineticSums k;
  for (std::int64_t i = a0; i < a1; ++i) k.add(v + 3 * i, m[i]);
  k.write(out);
}

}  // namespace batchmd::dynamics::detail
