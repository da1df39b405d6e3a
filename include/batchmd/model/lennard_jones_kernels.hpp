// SPDX-License-Identifier: Apache-2.0
// model/lennard_jones_kernels: Lennard-Jones energies, forces and virials of a batch over a
// NeighborList, with parameters per element pair. The pair function is host/device code so a
// GPU kernel can reuse it unchanged.
#pragma once
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "batchmd/core/hd.hpp"
#include "batchmd/model/neighbor_list.hpp"

namespace batchmd::model {

/// Parameters of one element pair:  E(r) = 4 eps [(sigma/r)^12 - (sigma/r)^6]  for r < cutoff.
struct LJPair {
  double epsilon = 0;         ///< well depth, eV (>= 0)
  double sigma = 1;           ///< Å (> 0)
  double cutoff = 0;          ///< Å (> 0)
  bool shift_energy = false;  ///< subtract E(cutoff) so the energy goes to 0 at the cutoff
};

/// LJ parameters per element pair: a default for every pair plus symmetric overrides.
class LJTable {
 public:
  static constexpr int kMaxZ = 118;  ///< atomic numbers 0 (dummy) .. 118

  /// Throws InvalidArgument for negative/non-finite epsilon, sigma <= 0 or cutoff <= 0.
  explicit LJTable(const LJPair& default_pair);
  /// Sets the parameters of the pair (z_a, z_b) and (z_b, z_a); same checks as the constructor,
  /// plus 0 <= Z <= kMaxZ.
  LJTable& set(int z_a, int z_b, const LJPair& pair);
  /// Parameters of (z_a, z_b): the override if set, else the default.
  const LJPair& get(int z_a, int z_b) const;
  const LJPair& default_pair() const noexcept { return default_; }
  /// Largest cutoff of the default and all overrides (Å).
  double max_cutoff() const noexcept;

 private:
  LJPair default_;
  std::vector<std::pair<std::pair<int, int>, LJPair>> overrides_;  // keys (min Z, max Z)
};

/// Precomputed coefficients of one pair, in the kernel's floating type.
template <typename T>
struct LJCoeffs {
  T lj1 = 0, lj2 = 0;  ///< 48 eps sigma^12, 24 eps sigma^6 (force)
  T lj3 = 0, lj4 = 0;  ///< 4 eps sigma^12, 4 eps sigma^6 (energy)
  T cutsq = 0;         ///< cutoff^2, Å^2
  T offset = 0;        ///< E(cutoff) when shifted, else 0 (eV)
};

/// Coefficients of a (validated) LJPair.
template <typename T>
LJCoeffs<T> lj_coeffs(const LJPair& p) {
  const double s6 = p.sigma * p.sigma * p.sigma * p.sigma * p.sigma * p.sigma;
  const double s12 = s6 * s6;
  LJCoeffs<T> c;
  c.lj1 = static_cast<T>(48 * p.epsilon * s12);
  c.lj2 = static_cast<T>(24 * p.epsilon * s6);
  c.lj3 = static_cast<T>(4 * p.epsilon * s12);
  c.lj4 = static_cast<T>(4 * p.epsilon * s6);
  c.cutsq = static_cast<T>(p.cutoff * p.cutoff);
  if (p.shift_energy) {
    const double ir6 = 1 / (p.cutoff * p.cutoff * p.cutoff * p.cutoff * p.cutoff * p.cutoff);
    c.offset = static_cast<T>(4 * p.epsilon * (s12 * ir6 - s6) * ir6);
  }
  return c;
}

/// One pair at squared distance rsq (Å^2, caller checked rsq < cutsq): returns its energy (eV)
/// and sets fpair (eV/Å^2) so that the force on j is fpair * r_ij (and -fpair * r_ij on i).
template <typename T>
BATCHMD_HD inline T lj_pair(T rsq, const LJCoeffs<T>& c, T& fpair) {
  const T r2inv = T(1) / rsq;
  const T r6inv = r2inv * r2inv * r2inv;
  fpair = r6inv * (c.lj1 * r6inv - c.lj2) * r2inv;
  return r6inv * (c.lj3 * r6inv - c.lj4) - c.offset;
}

/// The pair i-j at separation r_ij = (dx, dy, dz) (Å), rsq = |r_ij|^2: returns its energy (eV)
/// and sets the force on j, (fx, fy, fz) = fpair r_ij (eV/Å; the force on i is its negative) —
/// both zero beyond the pair's cutoff, without a branch, so the CPU's SIMD loop evaluates whole
/// blocks through it. The pair evaluation of the GPU kernel and of the CPU kernel's mixed-type
/// pass; the CPU's one-type pass writes the same operations on 512-bit vectors
/// (src/model/lennard_jones_kernels.cpp), which a change here must follow.
template <typename T>
BATCHMD_HD inline T lj_pair_force(T rsq, T dx, T dy, T dz, const LJCoeffs<T>& c, T& fx, T& fy, T& fz) {
  T fpair;
  const T e = lj_pair(rsq, c, fpair);
  const bool inside = rsq < c.cutsq;
  fpair = inside ? fpair : T(0);
  fx = fpair * dx;
  fy = fpair * dy;
  fz = fpair * dz;
  return inside ? e : T(0);
}

/// Sums over pairs of r_ij ⊗ F_j (xx yy zz xy xz yz, eV) in any arithmetic type V: T on a GPU
/// thread, eight float64 lanes in the CPU kernel (its one-type force pass and its mixed-type
/// virial pass; arguments by reference: a vector passed by value would depend on the ISA of the
/// caller's clone).
template <typename V>
struct PairVirial {
  V xx{}, yy{}, zz{}, xy{}, xz{}, yz{};
  BATCHMD_HD void add(const V& dx, const V& dy, const V& dz, const V& fx, const V& fy, const V& fz) {
    xx += dx * fx;
    yy += dy * fy;
    zz += dz * fz;
    xy += dx * fy;
    xz += dx * fz;
    yz += dy * fz;
  }
};

/// Lennard-Jones energy per system (eV, overwritten), forces per atom ([n_atoms][3], eV/Å,
/// overwritten) and, if virial != nullptr, the virial per system ([n_systems][3][3], eV):
///   W_ab = sum over pairs of r_ij,a F_j,b,  r_ij = x_j - x_i (the image in the list),
/// so repulsion gives a positive trace and the stress is -W / volume.
/// nl must have been update()d with this geometry (same atoms_ptr, positions within skin/2);
/// atomic_numbers is [n_atoms] with 0 <= Z <= LJTable::kMaxZ. Every pair cutoff of the species
/// present must be <= nl.cutoff(). Throws InvalidArgument otherwise.
/// Sums run in T per atom and in double per system; float32 forces and per-pair terms keep
/// float precision, so energies of large float32 systems carry ~1e-7 relative error per atom.
/// One system per thread (parallel_for_dynamic); a single large system is split over threads.
template <typename T>
void lj_compute(const BatchGeometry<T>& g, const std::int64_t* atomic_numbers, const NeighborList& nl,
                const LJTable& table, T* energy, T* forces, std::type_identity_t<T>* virial);

}  // namespace batchmd::model
