// SPDX-License-Identifier: Apache-2.0
// model/zbl: the Ziegler–Biersack–Littmark universal screened nuclear repulsion, exactly as LAMMPS
// `pair_style zbl inner outer` (the nuclear charges are the atomic numbers): between the inner
// and outer cutoff a polynomial switch takes energy, force and curvature smoothly to zero at the
// outer cutoff, and the energy is shifted by a constant inside it. Used on its own or as the
// short-range overlay of machine-learned potentials (SNAP files pair it through SumModel).
#pragma once
#include <memory>
#include <string>

#include "batchmd/model/element_pairs.hpp"
#include "batchmd/model/model.hpp"

namespace batchmd::model {

struct ZBLConfig {
  double inner = 0;    ///< Å, > 0: the switching starts here
  double outer = 0;    ///< Å, >= inner: energy, force and curvature vanish here
  ElementPairs pairs;  ///< the element pairs it acts on (LAMMPS pair_coeff i j zbl); default: all
  double skin = 1.0;   ///< Verlet skin of the neighbor list (Å)
};

class ZBL : public Model {
 public:
  /// Throws InvalidArgument for non-finite cutoffs, inner <= 0, inner > outer, or skin < 0.
  explicit ZBL(ZBLConfig config);
  ~ZBL() override;
  ZBL(const ZBL&) = delete;
  ZBL& operator=(const ZBL&) = delete;
  std::string name() const override { return "zbl"; }
  /// Energies, forces, virials and stresses of a CPU or GPU batch, every atomic number in
  /// 1..118 (InvalidArgument otherwise). Sums run in a canonical neighbor order: no restart state.
  void compute(Batch& batch, bool compute_stress = false) override;
  double cutoff() const override { return config_.outer; }
  const ZBLConfig& config() const { return config_; }
  std::int64_t neighbor_builds() const override;

 private:
  struct Impl;
  ZBLConfig config_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace batchmd::model
