// SPDX-License-Identifier: Apache-2.0
// dynamics/convergence: composable per-system convergence criteria — max force, energy change
// between steps, steps taken in the stage — combined with all/any.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "batchmd/data/batch.hpp"

namespace batchmd::dynamics {

/// A per-system convergence criterion. Leaves:
///  - fmax(f):          max over atoms of |F_i| <= f (eV/Å), read from "forces";
///  - energy_change(e): |energy − prev_energy| <= e (eV), prev_energy = energy after the
///                      system's previous step (at stage entry: the energy it entered with);
///  - steps(n):         stage_step >= n (steps taken in the current stage);
///  - stress(s):        "cell_stress_residual" <= s (eV/Å³): the largest |σ_ij − σ_target,ij| a
///                      cell relaxation (FIRECell) writes after each step.
/// Combine with all_of / any_of (or the & and | operators).
class Convergence {
 public:
  enum class Kind { Fmax, EnergyChange, Steps, Stress, All, Any };

  static Convergence fmax(double ev_per_angstrom);
  static Convergence energy_change(double ev);
  static Convergence steps(std::int64_t n);
  static Convergence stress(double ev_per_cubic_angstrom);
  static Convergence all_of(std::vector<Convergence> parts);
  static Convergence any_of(std::vector<Convergence> parts);
  friend Convergence operator&(Convergence a, Convergence b) { return all_of({std::move(a), std::move(b)}); }
  friend Convergence operator|(Convergence a, Convergence b) { return any_of({std::move(a), std::move(b)}); }

  Kind kind() const { return kind_; }
  double threshold() const { return threshold_; }
  const std::vector<Convergence>& parts() const { return parts_; }
  /// E.g. "all(fmax<=0.05, steps>=1000)".
  std::string describe() const;

  /// For every system s with candidates[s] != 0 (empty = every system): whether it meets the
  /// criterion now. Needs "forces" / "energy" + "prev_energy" / "stage_step" as the leaves use.
  /// Equals evaluate(gather(batch, needs()), candidates).
  std::vector<bool> evaluate(const Batch& batch, const std::vector<std::uint8_t>& candidates) const;

  /// The per-system values criteria read.
  struct Needs {
    bool fmax = false, energy = false, steps = false, stress = false;
    Needs& operator|=(const Needs& o) {
      stress = stress || o.stress;
      fmax = fmax || o.fmax;
      energy = energy || o.energy;
      steps = steps || o.steps;
      return *this;
    }
  };
  Needs needs() const;
  /// Those values, per system (the vectors not needed stay empty).
  struct Inputs {
    std::vector<double> fmax;                 ///< max_force
    std::vector<double> energy, prev_energy;  ///< "energy", "prev_energy"
    std::vector<std::int64_t> stage_step;     ///< "stage_step"
    std::vector<double> stress;               ///< "cell_stress_residual"
  };
  /// Reads the needed values of every system. On a GPU batch they are computed on the device and
  /// copied to the host in one transfer (the only wait for the GPU in a step with a criterion).
  static Inputs gather(const Batch& batch, Needs needs);
  /// evaluate() on gathered values (which must cover needs()).
  std::vector<bool> evaluate(const Inputs& inputs, const std::vector<std::uint8_t>& candidates) const;

 private:
  Convergence(Kind k, double t) : kind_(k), threshold_(t) {}
  void eval_into(const Inputs& in, std::size_t n, const std::vector<std::uint8_t>& cand, std::vector<bool>& out) const;
  Kind kind_;
  double threshold_ = 0;
  std::vector<Convergence> parts_;
};

/// Per-system max atomic force norm (eV/Å); 0 for a system without atoms. On a GPU batch: a
/// device reduction and a small copy (NaN when any force of the system is NaN).
std::vector<double> max_force(const Batch& batch);

}  // namespace batchmd::dynamics
