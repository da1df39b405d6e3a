// model/model: the Model interface — given a Batch, fill per-system energies, per-atom forces
// and, on request, per-system virial and stress.
#pragma once
#include <string>

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
};

}  // namespace batchmd::model
