// SPDX-License-Identifier: Apache-2.0
// dynamics/cell_relax: variable-cell relaxation — FIRE on the atoms and the cell together, with a
// cell filter in the sense of ASE's UnitCellFilter, per system.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "batchmd/dynamics/integrators.hpp"
#include "batchmd/dynamics/npt.hpp"

namespace batchmd::dynamics {

namespace detail {
class CellStatusRing;
}

struct FIRECellConfig {
  FIREConfig fire{};                   ///< the FIRE knobs (dt_start, dt_max, n_min, ..., max_step)
  double pressure = 0;                 ///< target hydrostatic pressure (eV/Å³)
  std::optional<StressTarget> stress;  ///< target stress σ_t instead of `pressure` (then 0); npt.hpp
  CellMode mode = CellMode::Full;      ///< Isotropic: hydrostatic strain only (shape kept)
  double cell_factor = 0;              ///< scale of the cell coordinates; <= 0: the system's atom count
};

/// FIRE (the semi-implicit scheme of FIRE, see integrators.hpp) on the generalized coordinates
/// of a filter: per system, the atoms' positions in the reference frame x_g = D⁻¹ x and the
/// cell coordinates X = c D, where D is the deformation gradient from the cell at stage entry
/// (cell rows h = h₀ Dᵀ) and c the cell factor. Generalized forces: Dᵀ F for the atoms,
/// (W − V P_t) D⁻ᵀ / c = (W + V σ_t) D⁻ᵀ / c for the cell (W the virial, P_t = −σ_t the target
/// pressure tensor, P I for a scalar target; Isotropic: its trace part only), the forces of ASE's
/// UnitCellFilter. The cell coordinates move with the mean atomic mass of the system; max_step
/// caps the cell's rows like an atom. A system converges at zero force and σ = σ_t. Criteria:
/// set_convergence with Convergence::fmax (atomic forces) & Convergence::stress (this stage
/// writes the residual "cell_stress_residual" = max |σ_ij − σ_t,ij| (eV/Å³; Isotropic:
/// |tr σ/3 − tr σ_t/3|) after each step). Per-system targets: the fields "barostat_pressure" and
/// "barostat_stress" (npt.hpp).
/// Per-system state (system-level): fire_dt, fire_alpha, fire_npos (as FIRE), cell_reference
/// [3,3] (Å), cell_dof_velocity [3,3], cell_stress_residual. CPU and GPU batches; every system
/// must be periodic in all three directions.
class FIRECell : public Dynamics {
 public:
  FIRECell(std::shared_ptr<model::Model> model, double dt_fs, FIRECellConfig config = {});
  std::string name() const override { return "fire_cell"; }
  const FIRECellConfig& config() const { return cfg_; }
  bool needs_stress() const override { return true; }

 protected:
  void pre_update(Context& ctx) override;
  void post_update(Context& ctx) override;
  void finish_run(Batch& batch) override;
  bool add_state(Batch& batch) override;
  void init_state(Batch& batch, const std::vector<bool>& which) override;

 private:
  void write_residual(Batch& batch, const std::vector<bool>& which) const;
  template <typename T>
  void gpu_step(Context* ctx, Batch& b, const std::vector<bool>* which, bool pre);
  FIRECellConfig cfg_;
  std::shared_ptr<detail::CellStatusRing> gpu_status_;
};

}  // namespace batchmd::dynamics
