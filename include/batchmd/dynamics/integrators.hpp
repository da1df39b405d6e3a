// SPDX-License-Identifier: Apache-2.0
// dynamics/integrators: batched optimizers (FIRE, FIRE2) and thermostats (Langevin BAOAB,
// Nosé–Hoover chain). Every one updates only the systems active in the step (status == its
// stage) and keeps its per-system state in system-level batch fields, so the state travels
// with a system through index_select / put / sinks and inflight refills. Units: Å, eV, amu,
// fs, K. Each runs on CPU and GPU batches with the same arithmetic (integrator_kernels.hpp); on
// a GPU a step is a few kernels (per-system reductions, a thread per system for the state, then
// per-atom updates) with no wait for the device.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "batchmd/dynamics/dynamics.hpp"

namespace batchmd::dynamics {

/// FIRE parameters (Bitzek et al., PRL 97, 170201 (2006)). dt_start <= 0 means "the Dynamics
/// dt"; dt_max <= 0 means 10 × dt_start.
struct FIREConfig {
  double dt_start = 0;     ///< fs
  double dt_max = 0;       ///< fs
  std::int64_t n_min = 5;  ///< steps with P > 0 before dt may grow
  double f_inc = 1.1;
  double f_dec = 0.5;
  double alpha_start = 0.1;
  double f_alpha = 0.99;
  double max_step = 0.2;  ///< Å: largest displacement of any atom in one step
};

/// FIRE geometry optimizer, semi-implicit Euler form (as in ASE): per system and step, with
/// P = F·v: if P > 0 mix v ← (1−α)v + α|v|F̂ and, after n_min such steps in a row, grow dt
/// (≤ dt_max) and shrink α; if P < 0 zero v, shrink dt, reset α (P == 0, e.g. at rest: no
/// change). Then v += dt F/m, x += dt v with the displacement of the system scaled so no atom
/// moves more than max_step. Per-system state (system-level fields):
///   fire_dt (float64, fs), fire_alpha (float64), fire_npos (int64).
/// Set a criterion with set_convergence (e.g. Convergence::fmax(0.05)).
class FIRE : public Dynamics {
 public:
  FIRE(std::shared_ptr<model::Model> model, double dt_fs, FIREConfig config = {});
  std::string name() const override { return "fire"; }
  const FIREConfig& config() const { return cfg_; }

 protected:
  void pre_update(Context& ctx) override;
  void post_update(Context&) override {}
  bool add_state(Batch& batch) override;
  void init_state(Batch& batch, const std::vector<bool>& which) override;
  FIREConfig cfg_;
};

/// FIRE 2.0 parameters (Guénolé et al., Comput. Mater. Sci. 175, 109584 (2020), Table 1).
/// dt_start <= 0: the Dynamics dt; dt_max <= 0: 10 × dt_start; dt_min <= 0: 0.02 × dt_start.
struct FIRE2Config {
  double dt_start = 0;
  double dt_max = 0;
  double dt_min = 0;
  std::int64_t n_delay = 20;
  double f_inc = 1.1;
  double f_dec = 0.5;
  double alpha_start = 0.25;
  double f_alpha = 0.99;
  bool initial_delay = true;  ///< no dt decrease during the first n_delay steps of the stage
  double max_step = 0.2;      ///< Å, as in FIREConfig
};

/// FIRE 2.0 (Algorithm 2 of Guénolé et al. with semi-implicit Euler): if P > 0, after n_delay
/// steps grow dt and shrink α; if P <= 0, shrink dt (not below dt_min; not during the initial
/// delay), reset α, step back x −= dt v/2 (capped by max_step) and zero v; then v += dt F/m, v ← (1−α)v + α|v|F̂,
/// x += dt v (capped by max_step). State: fire_dt, fire_alpha, fire_npos as for FIRE, plus
/// stage_step for the initial delay.
class FIRE2 : public Dynamics {
 public:
  FIRE2(std::shared_ptr<model::Model> model, double dt_fs, FIRE2Config config = {});
  std::string name() const override { return "fire2"; }
  const FIRE2Config& config() const { return cfg_; }

 protected:
  void pre_update(Context& ctx) override;
  void post_update(Context&) override {}
  bool add_state(Batch& batch) override;
  void init_state(Batch& batch, const std::vector<bool>& which) override;
  FIRE2Config cfg_;
};

/// Langevin NVT with the BAOAB splitting (Leimkuhler & Matthews 2013): B (half kick),
/// A (half drift), O (exact Ornstein–Uhlenbeck: v ← c v + sqrt((1−c²) kT/m) ξ, c = e^(−γ dt)),
/// A, force evaluation, B. All 3N velocity components are thermalised (mean kinetic energy
/// 3N kT/2). ξ comes from Philox keyed by (seed, system_id, the system's "step" field, atom
/// index within the system), so a system's trajectory does not depend on its batch.
/// Per-system parameters: the optional system-level fields "thermostat_temperature" (K) and
/// "langevin_friction" (1/fs) override temperature_K / friction_per_fs. No other state.
class Langevin : public Dynamics {
 public:
  Langevin(std::shared_ptr<model::Model> model, double dt_fs, double temperature_K, double friction_per_fs,
           std::uint64_t seed);
  std::string name() const override { return "nvt_langevin"; }
  double temperature() const { return temperature_; }
  double friction() const { return friction_; }
  std::uint64_t seed() const { return seed_; }

 protected:
  void pre_update(Context& ctx) override;
  void post_update(Context& ctx) override;

 private:
  double temperature_, friction_;
  std::uint64_t seed_;
};

/// Nosé–Hoover chain NVT (Martyna, Klein, Tuckerman 1992), Trotter splitting around velocity
/// Verlet: NHC(dt/2) B A [forces] B NHC(dt/2). Chain masses Q1 = Nf kT τ², Qj = kT τ²
/// (Nf = 3N−3, 3 for one atom). Per-system state: "nhc_xi" and "nhc_vxi" (float64
/// [chain_length] per system: thermostat positions and velocities, 1/fs). Per-system
/// temperature: optional field "thermostat_temperature" (K).
class NoseHooverChain : public Dynamics {
 public:
  NoseHooverChain(std::shared_ptr<model::Model> model, double dt_fs, double temperature_K, double tau_fs,
                  std::int64_t chain_length = 3);
  std::string name() const override { return "nvt_nose_hoover"; }
  double temperature() const { return temperature_; }
  double tau() const { return tau_; }
  std::int64_t chain_length() const { return m_; }
  /// Per-system conserved quantity (eV): E_kin + E_pot + Σ Q_j v_j²/2 + Nf kT ξ_1 + kT Σ_{j>1} ξ_j.
  std::vector<double> conserved_energy(const Batch& batch) const;

 protected:
  void pre_update(Context& ctx) override;
  void post_update(Context& ctx) override;
  bool add_state(Batch& batch) override;
  void init_state(Batch& batch, const std::vector<bool>& which) override;

 private:
  void chain_half_step(Context& ctx);
  double temperature_, tau_;
  std::int64_t m_;
};

}  // namespace batchmd::dynamics
