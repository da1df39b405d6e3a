// SPDX-License-Identifier: Apache-2.0
// model/morse: the Morse pair potential with LAMMPS `pair_style morse` semantics — per element
// pair D0, alpha, r0 and a cutoff (LAMMPS `pair_coeff i j D0 alpha r0 cutoff`), and optionally
// the energy shifted to zero at the cutoff (LAMMPS `pair_modify shift yes`):
//
//   E(r) = D0 [exp(-2 alpha (r - r0)) - 2 exp(-alpha (r - r0))] - (shift ? E(r_c) : 0),  r < r_c.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "batchmd/model/model.hpp"

namespace batchmd::model {

/// The parameters of one unordered element pair.
struct MorsePair {
  std::int64_t z_a = 0, z_b = 0;  ///< atomic numbers (1..118)
  double d0 = 0;                  ///< well depth D0 (eV, >= 0)
  double alpha = 0;               ///< width alpha (1/Å, > 0)
  double r0 = 0;                  ///< equilibrium distance r0 (Å, > 0)
  double cutoff = 0;              ///< Å, > 0
};

struct MorseConfig {
  /// One entry per unordered element pair; every pair of elements present in a batch must have
  /// one (as LAMMPS requires a pair_coeff for every type pair).
  std::vector<MorsePair> pairs;
  bool shift_energy = false;  ///< E(r_c) = 0 for every pair (LAMMPS pair_modify shift yes)
  double skin = 1.0;          ///< Verlet skin of the neighbor list (Å, >= 0)
};

class Morse : public Model {
 public:
  /// Throws InvalidArgument for an empty pair list, a duplicate pair, a bad atomic number, a
  /// negative or non-finite D0, alpha or r0 <= 0, cutoff <= 0, or a bad skin.
  explicit Morse(MorseConfig config);
  ~Morse() override;
  Morse(const Morse&) = delete;
  Morse& operator=(const Morse&) = delete;
  std::string name() const override { return "morse"; }
  /// Energies, forces, virials and stresses of a CPU or GPU batch. InvalidArgument (before
  /// anything is computed) when two elements present in one batch have no pair entry, naming them.
  void compute(Batch& batch, bool compute_stress = false) override;
  double cutoff() const override;
  const MorseConfig& config() const { return config_; }
  std::int64_t neighbor_builds() const override;

 private:
  struct Impl;
  MorseConfig config_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace batchmd::model
