// SPDX-License-Identifier: Apache-2.0
// model/lennard_jones: the Lennard-Jones Model over a Batch (per element-pair parameters,
// optional energy shift) on a cell-list neighbor list with a Verlet skin.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "batchmd/model/model.hpp"

namespace batchmd::model {

struct LJPairOverride {
  std::int64_t z_a, z_b;  ///< atomic numbers (symmetric)
  double epsilon;         ///< eV
  double sigma;           ///< Å
  double cutoff;          ///< Å
};

struct LJConfig {
  double epsilon = 0.0104;    ///< eV (argon: 120 K·k_B)
  double sigma = 3.40;        ///< Å
  double cutoff = 8.5;        ///< Å (2.5σ)
  bool shift_energy = false;  ///< subtract E(cutoff) so the energy is continuous
  double skin = 1.0;          ///< Å; the list is rebuilt when an atom moved more than skin/2
  std::vector<LJPairOverride> pairs;
};

class LennardJones : public Model {
 public:
  explicit LennardJones(LJConfig config);
  ~LennardJones() override;
  std::string name() const override { return "lennard_jones"; }
  void compute(Batch& batch, bool compute_stress = false) override;
  double cutoff() const override;
  std::vector<double> state() const override;
  void restore_state(const Batch& batch, std::span<const double> state) override;
  const LJConfig& config() const { return config_; }
  /// Neighbor-list builds so far.
  std::int64_t neighbor_builds() const override;

 private:
  struct Impl;
  LJConfig config_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace batchmd::model
