// SPDX-License-Identifier: Apache-2.0
// dynamics/cell_dynamics: what the integrators that move the cell share (MTK, stochastic cell
// rescaling, variable-cell FIRE): the check that a system can have its cell moved, the check that
// a moved cell is still a cell, and per-system host reads of the virial and the cell.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "batchmd/dynamics/dynamics.hpp"

namespace batchmd::dynamics::detail {

/// Throws InvalidArgument naming the stage and the system (index and system_id) when a system in
/// `which` (empty: all) is not periodic in all three directions or the batch has no cell, or when
/// the batch lives on a GPU (the cell integrators have no kernels yet).
void require_periodic_cells(const Batch& b, const std::vector<bool>& which, const std::string& stage);
/// Throws NumericalError naming the system when `cell` (rows) is not finite, has flipped or lost
/// its volume, or changed its volume by more than a factor of 2 in one step (a barostat blowing
/// up). v_before: the volume before the move (Å³).
void check_moved_cell(const double* cell, double v_before, const Batch& b, std::int64_t s, const std::string& stage);
/// "system 3 (system_id 17)"
std::string system_label(const Batch& b, std::int64_t s);

/// Per-system 3×3 (row-major) copy of a system-level [S,3,3] float field, as double.
std::vector<double> read_mat3(const Batch& b, const char* field);
/// Writes rows back into the batch's "cell" for system s (the batch's float dtype).
void write_cell(Batch& b, std::int64_t s, const double* rows);
/// Σ_i m_i v_i ⊗ v_i of system s (eV), row-major.
void kinetic_tensor(const Batch& b, std::int64_t s, double* out);

}  // namespace batchmd::dynamics::detail
