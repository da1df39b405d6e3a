// model/model: the Model interface — given a Batch, fill per-system energies, per-atom forces
// and, on request, per-system virial and stress.
#pragma once
#include <span>
#include <string>
#include <vector>

#include "batchmd/data/batch.hpp"

namespace batchmd::model {

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string name() const = 0;
  /// Writes "energy" [S] (eV) and "forces" [N,3] (eV/Å), adding the fields if absent, in the
  /// batch's float dtype. With compute_stress also "virial" [S,3,3] (eV, W = Σ r_ij ⊗ F_j) and
  /// "stress" [S,3,3] (eV/Å³, −W/V; zero for non-periodic systems).
  virtual void compute(Batch& batch, bool compute_stress = false) = 0;
  /// Largest interaction range (Å); informs callers such as box-size checks.
  virtual double cutoff() const = 0;
  /// Opaque state beyond the batch that decides the exact floating-point result of the next
  /// compute() (for Lennard-Jones: the neighbor list's reference positions). Stored with a
  /// restart checkpoint and given back to restore_state, it lets a restarted run continue
  /// bit for bit. Empty for stateless models.
  virtual std::vector<double> state() const { return {}; }
  /// Restores state() for the systems of `batch` (same atoms, same order).
  virtual void restore_state(const Batch& /*batch*/, std::span<const double> /*state*/) {}
};

}  // namespace batchmd::model
