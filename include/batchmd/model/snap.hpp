// SPDX-License-Identifier: Apache-2.0
// model/snap: the SNAP machine-learned potential (Thompson, Swiler, Trott, Foiles, Tucker,
// J. Comput. Phys. 285, 316 (2015)): the energy of atom i is a linear (or quadratic) function of
// the bispectrum components B_i of its neighbor density, expanded in 4D hyperspherical harmonics
// (Wigner U matrices) up to 2J_max; multi-element through per-element radii and weights, or the
// explicit multi-element form (chemflag, Cusentino, Wood, Thompson, J. Phys. Chem. A 124, 5456
// (2020)). Files, keywords, defaults and descriptor order are those of LAMMPS `pair_style snap`,
// so the published models (Debian's lammps-data, /usr/share/lammps/potentials) run unchanged.
//
// Forces use the adjoint formulation: per atom, Y = dE_i/dU once, then one dU/dr pass per
// neighbor contracted with Y (docs/snap.md). CPU (threads over atoms) and GPU (CUDA builds).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "batchmd/model/element_pairs.hpp"
#include "batchmd/model/model.hpp"

namespace batchmd::model {

/// One element of a SNAP model (a block of the .snapcoeff file).
struct SNAPElement {
  std::string symbol;                ///< as written in the file ("W")
  std::int64_t atomic_number = 0;    ///< from the symbol
  double radius = 0;                 ///< R_e; pair cutoff rcut_ij = (R_i + R_j) * rcutfac (Å)
  double weight = 0;                 ///< w_e, the weight of neighbors of this element
  std::vector<double> coefficients;  ///< beta_0, beta_1..beta_K [then alpha, upper triangle by rows]
};

/// A SNAP potential: the hyperparameters of a .snapparam file (LAMMPS defaults where absent) and
/// the per-element coefficients of a .snapcoeff file.
struct SNAPParams {
  double rcutfac = 0;  ///< required
  int twojmax = 0;     ///< required: 2 J_max
  double rfac0 = 0.99363;
  double rmin0 = 0;  ///< Å
  bool switchflag = true;
  bool bzeroflag = true;  ///< subtract the bispectrum of an isolated atom
  bool quadraticflag = false;
  bool chemflag = false;  ///< explicit multi-element descriptors (one set per element triple)
  bool bnormflag = false;
  bool wselfallflag = false;
  bool switchinnerflag = false;
  std::vector<double> sinner, dinner;  ///< per element (Å), with switchinnerflag
  int chunksize = 32768;               ///< LAMMPS/Kokkos tuning knobs: read and kept, not used
  int parallelthresh = 8192;
  std::vector<SNAPElement> elements;  ///< in model order (chemflag descriptors index them so)
  std::string origin;                 ///< where it was read from (for messages)

  /// Bispectrum components per atom (per element triple times nelements^3 with chemflag).
  int descriptors() const;
  /// Coefficients each element block must have: 1 + K, plus K (K + 1) / 2 when quadratic.
  int coefficients_per_element() const;
  /// rcut_ab = (R_a + R_b) * rcutfac (Å) for element indices a, b.
  double cutoff(std::size_t a, std::size_t b) const { return (elements[a].radius + elements[b].radius) * rcutfac; }
  /// Largest pair cutoff (Å).
  double max_cutoff() const;
  /// Index of the element with this atomic number, or -1.
  int element_index(std::int64_t atomic_number) const;
  /// Throws InvalidArgument (naming origin) for values the kernels cannot use: no elements,
  /// twojmax outside 0..24, rcutfac <= 0, rfac0 outside (0, 1], rmin0 < 0 or >= a cutoff, radii
  /// <= 0, non-finite numbers, a coefficient count that does not match twojmax and the flags,
  /// sinner/dinner of the wrong length, duplicate elements.
  void validate() const;
};

/// Reads a LAMMPS SNAP model (.snapcoeff and .snapparam). `elements` selects and orders the
/// elements, like the element list of `pair_coeff * * snap COEFF PARAM El1 El2 ...` (empty: every
/// element of the coefficient file, in file order); with chemflag it must list all of them, in
/// file order (descriptor indices depend on it). Throws IOError if a file cannot be read and
/// FormatError naming the file and line for malformed content, unknown keywords, a coefficient
/// count that does not match twojmax and the flags, or a requested element that is missing.
SNAPParams read_snap_files(const std::string& coeff_path, const std::string& param_path,
                           const std::vector<std::string>& elements = {});

struct SNAPConfig {
  SNAPParams params;
  double skin = 1.0;   ///< Verlet skin of the neighbor list (Å)
  ElementPairs pairs;  ///< restriction for overlays (hybrid/overlay); default: every pair
  /// chemflag models only. false (default): the forces are the exact gradient of the energy for
  /// any coefficients. true: LAMMPS's adjoint, which gives the three slots of a bispectrum triple
  /// the coefficient of one element triple — the same forces when those coefficients agree, not
  /// quite the gradient otherwise (1e-7 of the virial for InP_JCPA2020); for reproducing LAMMPS
  /// runs digit for digit.
  bool lammps_chemflag_forces = false;
};

class SNAP : public Model {
 public:
  /// Validates the parameters (InvalidArgument) and builds the index tables.
  explicit SNAP(SNAPConfig config);
  ~SNAP() override;
  SNAP(const SNAP&) = delete;
  SNAP& operator=(const SNAP&) = delete;
  std::string name() const override { return "snap"; }
  /// Energies, forces and (with compute_stress) virials and stresses of a CPU or GPU batch.
  /// Every atom must be of an element of the model (or be excluded by `pairs`): InvalidArgument
  /// naming the element, system and atom otherwise. A batch of float32 is computed in float32.
  /// Results do not depend on the neighbor list's history (neighbors are summed in a canonical
  /// order), so the model has no restart state.
  void compute(Batch& batch, bool compute_stress = false) override;
  double cutoff() const override;
  const SNAPConfig& config() const { return config_; }
  /// Bispectrum components of every atom of a CPU batch, [n_atoms][descriptors()] row-major,
  /// with the bzero shift applied as in the energy (zero rows for atoms the model ignores).
  std::vector<double> descriptors(const Batch& batch);
  /// Neighbor-list builds so far (CPU and GPU).
  std::int64_t neighbor_builds() const override;
  /// The elements of the coefficient file, unless `pairs` restricts the model (atoms of other
  /// elements are then left out, not refused): nullopt.
  std::optional<std::vector<std::int64_t>> covered_elements() const override;

 private:
  struct Impl;
  SNAPConfig config_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace batchmd::model
