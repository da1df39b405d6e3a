// SPDX-License-Identifier: Apache-2.0
// hooks/biased_potential: BiasedPotentialHook, which adds a user bias to energies and forces.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "batchmd/dynamics/dynamics.hpp"

namespace batchmd::hooks {

namespace detail {
class DeviceSlots;
}

/// A bias evaluated where the batch lives: fn(batch, energy) adds the bias forces (−∂E_bias/∂x,
/// eV/Å) to the batch's "forces" and writes one bias energy per system (eV) into `energy`, a
/// float64 tensor [n_systems] on the batch's device (zero on entry). For a GPU batch it should
/// launch its kernels on the device's compute stream and return without waiting for them, so
/// the hook costs the step no host synchronisation. BiasedPotentialHook::harmonic_restraint
/// returns one. Also callable as a host BiasFunction (evaluates into a temporary and returns
/// the energies, waiting for the GPU).
class BiasKernel {
 public:
  using Fn = std::function<void(Batch& batch, Tensor& energy)>;
  explicit BiasKernel(Fn fn) : fn_(std::move(fn)) {}
  void operator()(Batch& batch, Tensor& energy) const { fn_(batch, energy); }
  std::vector<double> operator()(Batch& batch) const;
  explicit operator bool() const { return static_cast<bool>(fn_); }

 private:
  Fn fn_;
};

/// Adds a bias potential to the model's result at AFTER_COMPUTE: evaluates the bias for the
/// batch — one bias energy per system (eV), its forces (−∂E_bias/∂x, eV/Å) *added* to the
/// batch's "forces" — and adds the energies to "energy". The bias is either a host function
/// (BiasFunction: returns the energies as a vector) or a BiasKernel (writes them into a tensor on
/// the batch's device).
/// open() re-evaluates the model for the starting state and adds the bias, so the first step's
/// update uses biased forces too (Dynamics::prepare computes forces before hooks exist; the extra
/// evaluation is at unchanged positions, so it gives the same forces and keeps restarts exact).
/// Register before MaxForceClampHook so the clamp sees the total force.
/// Reads what the bias function reads; writes "energy", "forces".
/// Errors: InvalidArgument for an empty function or a result whose length is not the number of
/// systems; NumericalError for a non-finite bias energy.
/// On a GPU batch with a BiasKernel (harmonic_restraint) nothing waits for the GPU: the energies
/// are added by a kernel, last_bias_energy() copies them when asked, and a non-finite bias energy
/// (left out of "energy") is reported at the hook's next firing after the GPU got there, or at
/// close(). A BiasFunction on a GPU batch gets the GPU batch and returns host values: that costs
/// the copies it makes.
class BiasedPotentialHook : public dynamics::Hook {
 public:
  using BiasFunction = std::function<std::vector<double>(Batch& batch)>;

  explicit BiasedPotentialHook(BiasFunction bias, std::string label = "bias");
  explicit BiasedPotentialHook(BiasKernel bias, std::string label = "bias");
  std::string name() const override { return "BiasedPotentialHook(" + label_ + ")"; }
  dynamics::Stage stage() const override { return dynamics::Stage::AFTER_COMPUTE; }
  void open(dynamics::Context& ctx) override;
  void operator()(dynamics::Context& ctx) override;
  void close(dynamics::Context& ctx) override;
  /// Bias energy of each system at the last evaluation (eV); on a GPU batch: waits for the GPU.
  const std::vector<double>& last_bias_energy() const;

  /// Harmonic restraint E = ½ k Σ_i |x_i − r_i|² (eV; k in eV/Å²) of the selected atoms (all when
  /// `atoms` is empty) to reference positions r ([n_atoms*3] Å, batch atom order; plain Cartesian
  /// displacement, no minimum image). InvalidArgument for a bad k or mismatched sizes (checked
  /// against the batch at each call). Runs on the batch's device (the reference and the selection
  /// are uploaded to a GPU once and kept).
  static BiasKernel harmonic_restraint(double k, std::vector<double> reference, std::vector<bool> atoms = {});

 private:
  void apply(Batch& batch);
  void check_gpu_flag(const Batch& batch, const std::int64_t* slots);
  BiasKernel bias_;
  std::string label_;
  Tensor energy_;                             // bias energies of the last evaluation (batch's device)
  mutable std::vector<double> last_;          // host copy of energy_
  mutable bool last_stale_ = false;           // energy_ is on a GPU and newer than last_
  std::shared_ptr<detail::DeviceSlots> gpu_;  // GPU: lowest system with a non-finite bias energy
};

}  // namespace batchmd::hooks
