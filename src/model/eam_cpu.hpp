// SPDX-License-Identifier: Apache-2.0
// model/eam_cpu (internal): the CPU EAM kernel for one system over the half NeighborList — LAMMPS's
// passes (densities with both ends of each pair, embedding, then pair energies and forces with
// Newton's third law), the force pass over a cache of the pairs inside the cutoff (eam_cpu.cpp).
#pragma once
#include <cstdint>

#include "batchmd/model/neighbor_list.hpp"
#include "eam_kernels.hpp"

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

/// Slots [k0, k1) of one system: writes force (overwritten for these slots); returns the energy
/// (eV) and, when virial != nullptr, the virial W = sum over pairs r_ij (x) F_j as xx yy zz xy xz yz
/// (eV).
template <typename T>
double eam_cpu_system(const EAMSystemArgs<T>& a, std::int64_t k0, std::int64_t k1, double* virial);

}  // namespace batchmd::model::detail
