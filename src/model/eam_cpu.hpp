// SPDX-License-Identifier: Apache-2.0
// model/eam_cpu (internal): the CPU EAM kernel for one system over the half NeighborList — LAMMPS's
// passes (densities with both ends of each pair, embedding, then pair energies and forces with
// Newton's third law), the force pass over a cache of the pairs inside the cutoff (eam_cpu.cpp);
// and the same passes for one large system split over all threads (eam_cpu_split).
#pragma once
#include <cstdint>
#include <vector>

#include "batchmd/model/neighbor_list.hpp"
#include "eam_kernels.hpp"
#include "split_chunks.hpp"

namespace batchmd::model::detail {

/// What the kernel of one system needs (slot order; eam.cpp owns the buffers).
template <typename T>
struct EAMSystemArgs {
  const NeighborList* nl = nullptr;
  EAMView<T> tables;
  const std::uint8_t* allowed = nullptr;  ///< [n^2] pair allowed (used unless all)
  const T* pos = nullptr;                 ///< [n_atoms][3] half_list_frame positions
  const T* shift = nullptr;               ///< this system's Cartesian shifts (half_list_frame)
  const std::int32_t* species = nullptr;  ///< [n_atoms] element index per slot (-1: left out)
  T* rho = nullptr;                       ///< [n_atoms] scratch: densities
  T* fp = nullptr;                        ///< [n_atoms] scratch: F'(rho)
  T* force = nullptr;                     ///< [n_atoms][3] out: forces (eV/Å), slot order
  bool all = true;                        ///< every atom included, every pair allowed
  bool single = false;                    ///< all, and one element in the tables
};

/// The pairs of slots [k0, k1) inside the cutoff, as the density pass found them (slot order, each
/// slot's pairs in list order): the force pass reads them without recomputing distances or
/// skipping the pairs of the skin.
template <typename T>
struct EAMPairCache {
  std::vector<std::int64_t> start;  ///< [k1 - k0 + 1], relative to k0
  std::vector<std::int32_t> j, m;
  std::vector<T> p, r, x, y, z;
  std::int64_t n = 0;
  void reserve(std::int64_t slots, std::int64_t pairs);
  void push(std::int32_t jj, std::int32_t mm, T pp, T rr, T xx, T yy, T zz) {
    j[n] = jj;
    m[n] = mm;
    p[n] = pp;
    r[n] = rr;
    x[n] = xx;
    y[n] = yy;
    z[n] = zz;
    ++n;
  }
};

/// Scratch of eam_cpu_split, reused between calls (eam.cpp keeps one per precision).
template <typename T>
struct EAMSplitWork {
  std::vector<EAMPairCache<T>> cache;  ///< [chunks]
  std::vector<T> rho, force;           ///< [chunks][n_atoms], [chunks][n_atoms][3]: private sums
  SplitChunks split;                   ///< chunk bounds and windows, kept while the pairs stay
  std::vector<double> sums;            ///< [chunks][7]: energy, virial xx yy zz xy xz yz
};

/// Slots [k0, k1) of one system: writes force (overwritten for these slots); returns the energy
/// (eV) and, when virial != nullptr, the virial W = sum over pairs r_ij (x) F_j as xx yy zz xy xz yz
/// (eV).
template <typename T>
double eam_cpu_system(const EAMSystemArgs<T>& a, std::int64_t k0, std::int64_t k1, double* virial);

/// The same for one large system on num_threads() threads (call it from outside a parallel
/// region): slots [k0, k1) cut into `chunks` contiguous ranges of about equal pair counts (a
/// function of the list and `chunks` only), each chunk's densities and forces summed into a
/// private buffer over the system's slots, the buffers then added in chunk order; energy and
/// virial summed per chunk in double, then in chunk order. Deterministic for a fixed `chunks`;
/// differs from eam_cpu_system (one chunk) by rounding only. a.rho and a.fp of the slots are
/// written (a.force is not used); the force of slot k goes to out[3 order[k] + e] (the caller's atom
/// order, eV/Å); energy and virial as for eam_cpu_system.
template <typename T>
double eam_cpu_split(const EAMSystemArgs<T>& a, std::int64_t k0, std::int64_t k1, int chunks, EAMSplitWork<T>& w,
                     const std::int64_t* order, T* out, double* virial);

}  // namespace batchmd::model::detail
