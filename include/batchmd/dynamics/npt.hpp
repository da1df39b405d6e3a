// SPDX-License-Identifier: Apache-2.0
// dynamics/npt: constant-pressure molecular dynamics per system — the Martyna–Tobias–Klein
// barostat with Nosé–Hoover chains on the particles and on the barostat (MTKNPT), and stochastic
// cell rescaling (Bernetti & Bussi 2020) with a Langevin thermostat (StochasticCellRescaling).
// Both move each system's "cell" and scale its positions with it; both need every system they
// update to be periodic in all three directions (an open or slab system is an error naming it).
//
// Units at the API: pressure in eV/Å³ (units::kBar converts from bar), times in fs, K. Per-system
// targets come from the optional system-level fields "thermostat_temperature" (K),
// "barostat_pressure" (eV/Å³) and "barostat_stress" (a target stress tensor, eV/Å³, ASE's sign;
// see StressTarget), which override the constructor's values system by system.
//
// Pressure convention: the models' "virial" W = Σ r_ij ⊗ F_j (eV) and "stress" = −W/V; the
// instantaneous pressure tensor is P = (Σ m v⊗v + W)/V (kinetic part included), P = tr(P)/3.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "batchmd/dynamics/dynamics.hpp"

namespace batchmd::dynamics {

namespace detail {
class CellStatusRing;
}

/// Which cell degrees of freedom the barostat moves.
enum class CellMode {
  Isotropic,  ///< one strain rate: the cell keeps its shape, only its volume changes
  Full,       ///< symmetric 3×3 strain rate: every length and angle (no rigid rotation)
};
CellMode cell_mode_from_name(const std::string& name);  ///< "isotropic" or "full"/"anisotropic"
std::string cell_mode_name(CellMode m);

/// A target stress tensor σ_target (eV/Å³), row-major, in ASE's sign convention — the sign of the
/// models' "stress" field: positive in tension, so a hydrostatic pressure P is σ = −P I. A stage
/// drives each system towards stress = σ_target, i.e. towards the pressure tensor
/// P_target = −σ_target. Must be finite and symmetric; an isotropic stage accepts only a
/// hydrostatic one (equal diagonal, zero off-diagonal). The per-system field "barostat_stress"
/// ([S,3,3], or [S,6] in Voigt order xx yy zz yz xz xy, or [S,9]) overrides it system by system
/// and must not be set together with "barostat_pressure".
using StressTarget = std::array<double, 9>;
/// σ from Voigt components (xx, yy, zz, yz, xz, xy), ASE's order.
StressTarget stress_from_voigt(const std::array<double, 6>& v);

/// Instantaneous pressure of every system (eV/Å³): (Σ m v² + tr W)/(3V), from the "virial" field
/// (the model must have been asked for stress) and the velocities. 0 for a system that is not
/// periodic in all three directions. CPU or GPU batch (small host copies).
std::vector<double> pressure(const Batch& batch);
/// Instantaneous pressure tensor of every system, 9 per system (row-major, eV/Å³):
/// (Σ m v⊗v + W)/V; the stress with the kinetic part is its negative. 0 where pressure() is 0.
std::vector<double> pressure_tensor(const Batch& batch);
/// Volume of every system's cell (Å³): |det cell| (0 without a cell).
std::vector<double> cell_volume(const Batch& batch);

struct MTKConfig {
  double temperature_K = 300;  ///< target temperature (K), > 0
  double pressure = 0;         ///< target pressure (eV/Å³): finite, and > -1 eV/Å³
  /// Target stress instead of `pressure` (which must then be 0); full cell: any symmetric σ.
  std::optional<StressTarget> stress;
  double tau_t_fs = 100;   ///< thermostat period (fs): chain masses Q1 = Nf kT τ², Qj = kT τ²
  double tau_p_fs = 1000;  ///< barostat period (fs): cell mass W = (Nf + 3) kT τ_p² / 3
  std::int64_t chain_length = 3;
  CellMode mode = CellMode::Isotropic;
};

/// NPT molecular dynamics by the MTK equations (Martyna, Tobias & Klein, J. Chem. Phys. 101, 4177
/// (1994)) with the measure-preserving Trotter factorisation of Tuckerman et al. (J. Phys. A 39,
/// 5629 (2006)):
///   NHC_baro(dt/2) NHC_part(dt/2) B_cell(dt/2) B(dt/2) [cell and positions: dt] — forces —
///   B(dt/2) B_cell(dt/2) NHC_part(dt/2) NHC_baro(dt/2),
/// with the equations (v_g the cell's symmetric strain rate, 1/fs; Nf = 3N − 3):
///   ṙ = v + v_g r,  v̇ = F/m − (v_g + tr(v_g)/Nf) v − v_ξ1 v,  ḣ = v_g h,
///   W v̇_g = Σ m v⊗v + W_vir − V P_t + (Σ m v²/Nf) I − W v_ξb1 v_g
/// (P_t = P_ext I, or −σ_target for a stress target (full cell); isotropic: v_g = v_ε I driven by
/// the trace). Per-system state, system-level fields:
///   npt_xi, npt_vxi [chain_length]          particle thermostat chain (1/fs)
///   npt_baro_xi, npt_baro_vxi [chain_length] barostat thermostat chain (1/fs)
///   npt_cell_velocity [3,3]                  v_g (1/fs)
///   npt_stress_work                          ∫ V tr(D v_g) dt (eV), the work of the deviatoric
///                                            part D of a stress target (0 for a pressure)
/// They travel with a system through snapshots, so a restart continues the barostat exactly.
/// The model is asked for stress every step (needs_stress). CPU and GPU batches (on a GPU the
/// same arithmetic in kernels, cell_gpu.cu; a cell that blows up is reported one or two steps
/// later, as the GPU models report their errors).
class MTKNPT : public Dynamics {
 public:
  MTKNPT(std::shared_ptr<model::Model> model, double dt_fs, MTKConfig config);
  std::string name() const override { return "npt_mtk"; }
  const MTKConfig& config() const { return cfg_; }
  bool needs_stress() const override { return true; }
  /// Per-system conserved quantity (eV): E_kin + E_pot + W Σ v_g²/2 + p V + npt_stress_work
  /// (p = tr P_t/3) + Σ Q v_ξ²/2 + Nf kT ξ1
  /// + kT Σ_{j>1} ξj + (barostat chain: nb kT ξb1, nb = 1 isotropic, 6 full). Constant up to the
  /// integrator's O(dt²) error.
  std::vector<double> conserved_energy(const Batch& batch) const;

 protected:
  void pre_update(Context& ctx) override;
  void post_update(Context& ctx) override;
  void finish_run(Batch& batch) override;
  bool add_state(Batch& batch) override;
  void init_state(Batch& batch, const std::vector<bool>& which) override;

 private:
  template <typename T>
  void gpu_half(Context& ctx, bool pre);
  MTKConfig cfg_;
  std::shared_ptr<detail::CellStatusRing> gpu_status_;
};

struct CSRConfig {
  double temperature_K = 300;          ///< target temperature (K), > 0
  double pressure = 0;                 ///< target pressure (eV/Å³)
  std::optional<StressTarget> stress;  ///< target stress instead of `pressure` (then 0); see MTKConfig
  double tau_p_fs = 1000;              ///< barostat relaxation time (fs), > 0
  double compressibility = 4.5e-5;     ///< isothermal compressibility guess β_T (1/bar), > 0
  double friction_per_fs = 0.01;       ///< Langevin friction of the particles (1/fs), > 0
  std::uint64_t seed = 0;
  CellMode mode = CellMode::Isotropic;
};

/// Stochastic cell rescaling (Bernetti & Bussi, J. Chem. Phys. 153, 114107 (2020)) with Langevin
/// BAOAB on the particles. Every step, before the particle update, the log-volume ε = ln V moves
/// by the Euler–Maruyama step of
///   dε = −(β_T/τ_p)(P_ext − P_int − kT/V) dt + sqrt(2 kT β_T/(V τ_p)) dW
/// (P_int from the current velocities and virial), positions and cell scale by e^{dε/3} and
/// velocities by e^{−dε/3}. Full (anisotropic) mode: a symmetric strain increment dε_ab, each of
/// its six components driven by the matching component of P_ext δ_ab − P_int,ab with its own noise,
///   dε_aa = −(β_T/3τ_p)(P_ext − P_int,aa − kT/V) dt + sqrt(2 kT β_T/(3 V τ_p)) dW_aa,
///   dε_ab = (β_T/3τ_p) P_int,ab dt + sqrt(kT β_T/(3 V τ_p)) dW_ab   (a ≠ b, dε_ba = dε_ab),
/// (P_int the symmetrised pressure tensor; a stress target σ_t replaces P_ext δ_ab by −σ_t,ab in
/// every component; tr dε is the isotropic dε in law, so the volume
/// samples the same distribution); μ = exp(dε) scales positions and cell vectors, μ⁻¹ = μ⁻ᵀ the
/// velocities. A symmetric μ has no rigid rotation. A first-order barostat: it samples the NPT volume distribution
/// without the oscillations of MTK and is robust far from equilibrium. The noise is Philox keyed by (seed, system_id,
/// step), so it does not depend on the batch. No extra state fields. CPU and GPU batches.
class StochasticCellRescaling : public Dynamics {
 public:
  StochasticCellRescaling(std::shared_ptr<model::Model> model, double dt_fs, CSRConfig config);
  std::string name() const override { return "npt_csr"; }
  const CSRConfig& config() const { return cfg_; }
  bool needs_stress() const override { return true; }

 protected:
  void pre_update(Context& ctx) override;
  void post_update(Context& ctx) override;
  void finish_run(Batch& batch) override;
  void init_state(Batch& batch, const std::vector<bool>& which) override;

 private:
  CSRConfig cfg_;
  std::shared_ptr<detail::CellStatusRing> gpu_status_;
};

}  // namespace batchmd::dynamics
