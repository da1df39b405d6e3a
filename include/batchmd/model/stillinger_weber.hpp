// SPDX-License-Identifier: Apache-2.0
// model/stillinger_weber: the Stillinger–Weber three-body potential, multi-element, exactly as
// LAMMPS `pair_style sw` reads and evaluates a `.sw` file (Stillinger and Weber, Phys. Rev. B 31,
// 5262 (1985); the LAMMPS generalisation to element triplets):
//
//   E = sum_i sum_{j>i} phi2_ij(r_ij) + sum_i sum_{j<k} phi3_ijk(r_ij, r_ik, theta_jik)
//   phi2 = A eps [B (sigma/r)^p - (sigma/r)^q] exp(sigma / (r - a sigma))          (entry i j j)
//   phi3 = lambda eps (cos theta - cos theta0)^2                                    (entry i j k)
//          * exp(gamma_ij sigma_ij / (r_ij - a_ij sigma_ij))                        (entry i j j)
//          * exp(gamma_ik sigma_ik / (r_ik - a_ik sigma_ik))                        (entry i k k)
//
// Each pair interacts within its entry's cutoff a sigma (LAMMPS shortens it when tol > 0, and so
// does this). Where a file is not symmetric (entry i j j differs from j i i in the two-body
// parameters, or i j k from i k j in lambda, eps, cos theta0), LAMMPS's result depends on its
// neighbor order; here both orders are averaged. Every file Debian ships is symmetric.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "batchmd/model/model.hpp"

namespace batchmd::model {

/// One entry of a .sw file: the parameters of the element triplet (i, j, k) (indices into
/// SWParams::elements). Units: epsilon eV, sigma Å; the rest are dimensionless.
struct SWEntry {
  int i = 0, j = 0, k = 0;
  double epsilon = 0, sigma = 0, a = 0, lambda = 0, gamma = 0, costheta0 = 0, A = 0, B = 0, p = 0, q = 0, tol = 0;
};

/// The parameters of a Stillinger–Weber model: its elements and one entry for every ordered
/// triplet of them (entry (i, j, k) at index (i * n + j) * n + k).
struct SWParams {
  std::vector<std::int64_t> elements;  ///< atomic numbers, in the model's order
  std::vector<SWEntry> entries;        ///< [n^3]
  const SWEntry& entry(int i, int j, int k) const {
    const auto n = static_cast<int>(elements.size());
    return entries[static_cast<std::size_t>((i * n + j) * n + k)];
  }
  /// The cutoff of the ordered pair (i, j): entry (i, j, j)'s a sigma, shortened as LAMMPS does
  /// for tol > 0 (Å).
  double pair_cutoff(int i, int j) const;
  /// Largest pair cutoff (Å).
  double max_cutoff() const;
  /// Index of atomic number z in elements, or -1.
  int element_index(std::int64_t z) const;
};

/// Reads a LAMMPS .sw file: entries of 14 whitespace-separated words (three element symbols, then
/// epsilon sigma a lambda gamma costheta0 A B p q tol), which may span lines; '#' starts a
/// comment. `elements` (symbols) picks the model's elements and their order, as the element list
/// of LAMMPS's `pair_coeff * * file.sw ...`; empty means every element the file names, in the
/// order they first appear. Entries naming other elements are skipped, as LAMMPS does.
/// Throws IOError when the file cannot be read; FormatError naming the file and line for a wrong
/// word count or a truncated entry, a value that is not a finite number, a negative parameter
/// (LAMMPS: "Illegal Stillinger-Weber parameter"), an unknown element symbol, a duplicate entry;
/// naming the file and the triplet for a missing entry; InvalidArgument for a requested element
/// the file does not have.
SWParams read_sw_file(const std::string& path, const std::vector<std::string>& elements = {});

struct SWConfig {
  SWParams params;
  double skin = 1.0;  ///< Verlet skin of the neighbor list (Å, >= 0)
};

/// The Stillinger–Weber Model. Batched, CPU or GPU, float32 or float64, periodic (any triclinic
/// cell) or open in any direction. Sums run in the canonical order of the full neighbor view, so
/// results do not depend on rebuilds: no restart state.
class StillingerWeber : public Model {
 public:
  /// Throws InvalidArgument for parameters with no elements, a missing entry, or a bad skin.
  explicit StillingerWeber(SWConfig config);
  ~StillingerWeber() override;
  StillingerWeber(const StillingerWeber&) = delete;
  StillingerWeber& operator=(const StillingerWeber&) = delete;
  std::string name() const override { return "sw"; }
  /// Every atom's element must be one of the model's (InvalidArgument naming system, atom and
  /// element otherwise, before anything is computed).
  void compute(Batch& batch, bool compute_stress = false) override;
  double cutoff() const override;
  const SWConfig& config() const { return config_; }
  std::int64_t neighbor_builds() const override;

 private:
  struct Impl;
  SWConfig config_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace batchmd::model
