// SPDX-License-Identifier: Apache-2.0
// model/eam: the embedded-atom method as LAMMPS's `pair_style eam`, `eam/alloy` and `eam/fs`
// compute it (the files and their tabulation: eam_potential.hpp), for a batch of periodic, open or
// mixed, orthogonal or triclinic systems in float32 or float64, on the CPU or a GPU.
//
//   E_s = sum_i F_a(i)(rho_i) + sum_{pairs i<j} phi_a(i)a(j)(r_ij),  rho_i = sum_j rho_[a(j)->a(i)](r_ij)
//
// The CPU path walks the half NeighborList (each pair once, Newton's third law) in two passes —
// densities, then forces — like LAMMPS; systems run in parallel. The GPU path uses the full list
// (DeviceFullList) with one thread per atom and no atomics.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "batchmd/model/eam_potential.hpp"
#include "batchmd/model/element_pairs.hpp"
#include "batchmd/model/model.hpp"

namespace batchmd::model {

struct EAMConfig {
  EAMTables tables;    ///< the potential (read_eam)
  ElementPairs pairs;  ///< element pairs it acts on (hybrid/overlay); default: all
  double skin = 1.0;   ///< Verlet skin of the neighbor list (Å)
};

class EAM : public Model {
 public:
  /// Throws InvalidArgument for tables that are not set up (read_eam) or a skin < 0.
  explicit EAM(EAMConfig config);
  ~EAM() override;
  EAM(const EAM&) = delete;
  EAM& operator=(const EAM&) = delete;
  std::string name() const override { return "eam"; }
  /// Energies, forces, virials and stresses of a CPU or GPU batch. With pairs = all, every atom's
  /// element must be in the potential (InvalidArgument naming system, atom and element
  /// otherwise); with a restriction, atoms whose (e, e) pair is not allowed are left out (their
  /// energy and force from this model are zero) and the others must be in the potential.
  void compute(Batch& batch, bool compute_stress = false) override;
  /// The file's cutoff (Å).
  double cutoff() const override { return config_.tables.cutoff; }
  /// The CPU neighbor list's reference positions (the CPU sums follow the list's pair order).
  std::vector<double> state() const override;
  void restore_state(const Batch& batch, std::span<const double> state) override;
  const EAMConfig& config() const { return config_; }
  std::int64_t neighbor_builds() const override;

 private:
  struct Impl;
  EAMConfig config_;
  std::unique_ptr<Impl> impl_;
};

/// An EAM model from files (read_eam with the format given, or told from the first file's name
/// when format is empty).
std::shared_ptr<EAM> load_eam(const std::vector<std::string>& files, const std::string& format = "",
                              const std::vector<std::string>& elements = {}, double skin = 1.0);

}  // namespace batchmd::model
