// hooks/biased_potential: BiasedPotentialHook, which adds a user bias to energies and forces.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "batchmd/dynamics/dynamics.hpp"

namespace batchmd::hooks {

/// Adds a bias potential to the model's result at AFTER_COMPUTE: calls the user's bias function
/// with the batch, which must return one bias energy per system (eV) and *add* the bias forces
/// (−∂E_bias/∂x, eV/Å) to the batch's "forces"; the hook adds the returned energies to "energy".
/// open() re-evaluates the model for the starting state and adds the bias, so the first step's
/// update uses biased forces too (Dynamics::prepare computes forces before hooks exist; the extra
/// evaluation is at unchanged positions, so it gives the same forces and keeps restarts exact).
/// Register before MaxForceClampHook so the clamp sees the total force.
/// Reads what the bias function reads; writes "energy", "forces".
/// Errors: InvalidArgument for an empty function or a result whose length is not the number of
/// systems; NumericalError for a non-finite bias energy.
class BiasedPotentialHook : public dynamics::Hook {
 public:
  using BiasFunction = std::function<std::vector<double>(Batch& batch)>;

  explicit BiasedPotentialHook(BiasFunction bias, std::string label = "bias");
  std::string name() const override { return "BiasedPotentialHook(" + label_ + ")"; }
  dynamics::Stage stage() const override { return dynamics::Stage::AFTER_COMPUTE; }
  void open(dynamics::Context& ctx) override;
  void operator()(dynamics::Context& ctx) override;
  /// Bias energy of each system at the last evaluation (eV).
  const std::vector<double>& last_bias_energy() const { return last_; }

  /// Harmonic restraint E = ½ k Σ_i |x_i − r_i|² (eV; k in eV/Å²) of the selected atoms (all when
  /// `atoms` is empty) to reference positions r ([n_atoms*3] Å, batch atom order; plain Cartesian
  /// displacement, no minimum image). InvalidArgument for a bad k or mismatched sizes (checked
  /// against the batch at each call).
  static BiasFunction harmonic_restraint(double k, std::vector<double> reference, std::vector<bool> atoms = {});

 private:
  void apply(Batch& batch);
  BiasFunction bias_;
  std::string label_;
  std::vector<double> last_;
};

}  // namespace batchmd::hooks
