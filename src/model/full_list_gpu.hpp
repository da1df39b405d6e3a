// SPDX-License-Identifier: Apache-2.0
// model/full_list_gpu (internal; CUDA builds): the full neighbor list of a GPU batch for the
// many-body and pair kernels of the GPU models (SNAP, ZBL, EAM, SW, Morse) — the GPU counterpart
// of NeighborView, with the same pairs in the same canonical order (per atom sorted by
// (neighbor, image)), so that sums over them are the host view's.
//
// Two ways to build it, one view:
//  - on the DEVICE (the default; full_list_device.{hpp,cpp,cu}): a kernel checks every atom
//    against its system's last build (skin/2 modulo lattice vectors, cell and pbc; a barostat's
//    strain of a fully periodic cell is charged against the skin, as on the host); the systems
//    that moved are re-binned on a cell grid and their pairs found, sorted and paired with their
//    opposites on the device; the others keep theirs. One 16-byte status read-back per call (two
//    on a rebuild); positions never leave the GPU.
//  - on the HOST (BATCHMD_GPU_HOST_LIST=1 in the environment when the list is made — a model's
//    first GPU compute — or ListBuild::kHost), the earlier path, kept for comparison: every call downloads the
//    positions (and the cell and pbc) and updates a host NeighborList; when that rebuilds (or the species change), the
//    full view of all pairs within cutoff + skin is built on the host (build_neighbor_view) and uploaded once. Between
//    rebuilds only a per-atom image shift (atoms wrapped back into the cell by a hook) is uploaded, when it changed.
// Either way a kernel recomputes the displacements r_p = x_j - x_i + (image_p + shift_i -
// shift_j) . cell on the device each call. Built from the same positions, the two lists are
// equal array for array. Later they rebuild at different calls (the device path per system; the
// host one for the whole batch unless a cell is strained), so they may differ by pairs beyond the
// cutoff: these add exact zeros, but kernels that split an atom's pairs over warp lanes (SNAP) may
// then sum in another grouping (rounding-level differences). A system's list on the device path
// depends on that system alone.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "batchmd/core/cuda.hpp"
#include "batchmd/data/batch.hpp"

namespace batchmd::model::detail {

/// Device arrays of a full list (all device pointers), valid until the next update().
template <typename T>
struct DeviceNeighborView {
  std::int64_t n_atoms = 0, n_pairs = 0, n_systems = 0;
  const std::int64_t* offsets = nullptr;       ///< [n_atoms + 1]
  const std::int32_t* pair_atom = nullptr;     ///< [n_pairs] the atom i of each pair
  const std::int32_t* neighbor = nullptr;      ///< [n_pairs] j
  const std::int32_t* species = nullptr;       ///< [n_pairs] species of j
  const std::int64_t* reverse = nullptr;       ///< [n_pairs] the pair j -> i
  const T* rij = nullptr;                      ///< [n_pairs][3] Å, this call's positions
  const std::int32_t* atom_species = nullptr;  ///< [n_atoms] (-1: atom ignored)
  const std::int64_t* atoms_ptr = nullptr;     ///< [n_systems + 1]
};

/// Where a DeviceFullList builds its pairs.
enum class ListBuild { kDevice, kHost };
/// kHost when the environment sets BATCHMD_GPU_HOST_LIST to a value other than "" and "0", else
/// kDevice.
ListBuild list_build_from_env();

class DeviceFullList {
 public:
  /// max_cutoff: largest pair cutoff (Å); skin: Verlet skin (Å); build: device or host list.
  DeviceFullList(double max_cutoff, double skin, ListBuild build = list_build_from_env());
  ~DeviceFullList();
  DeviceFullList(const DeviceFullList&) = delete;
  DeviceFullList& operator=(const DeviceFullList&) = delete;

  /// Brings the list up to date for a GPU batch and computes this call's displacements.
  /// species: per atom (host) a species index or -1; cutoff: [n_species^2] pair cutoffs (Å; <= 0
  /// excludes the pair), symmetric. Synchronises once (the device path: a status read-back, twice
  /// on a rebuild; the host path: the positions download).
  /// @post the view holds every ordered pair (i, j, image) of included atoms with a positive
  /// cutoff and 0 < |r| < cutoff + skin at the last build of i's system, each atom's pairs sorted
  /// by (j, image); its arrays stay valid until the next update().
  template <typename T>
  DeviceNeighborView<T> update(const Batch& batch, const std::vector<std::int32_t>& species, std::int32_t n_species,
                               const std::vector<double>& cutoff);
  /// Updates that rebuilt the list (a rebuild of some of the systems counts as one).
  std::int64_t builds() const;
  ListBuild build() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- kernels (full_list_gpu.cu), asynchronous on the device's compute stream

/// rij[p] = x[j] - x[i] + (image[p] + shift[i] - shift[j]) . cell[system of i]; cell may be null
/// (no periodic system).
template <typename T>
void launch_displacements(int device, std::int64_t n_pairs, const std::int32_t* pair_atom, const std::int32_t* neighbor,
                          const std::int32_t* image, const std::int32_t* shift, const std::int64_t* system_of_atom,
                          const T* positions, const T* cell, T* rij);

/// forces[i] = sum over i's pairs of (g[p] - g[reverse[p]]) (overwritten); with atom_virial
/// non-null also atom_virial[i][ab] = -sum over i's pairs r_p,a g_p,b (double).
template <typename T>
void launch_gather_forces(int device, const DeviceNeighborView<T>& v, const T* g, T* forces, double* atom_virial);

/// Per-system sums of atom_energy (double [n]) and, when atom_virial is non-null, of atom_virial
/// (double [n][9]); writes energy [S] and, with virial, virial [S][9] and stress [S][9] = -W/V
/// (0 unless periodic in all three directions) in T. scratch: device doubles, >= 10 * S.
template <typename T>
void launch_system_outputs(int device, const DeviceNeighborView<T>& v, const double* atom_energy,
                           const double* atom_virial, const T* cell, const bool* pbc, double* scratch, T* energy,
                           T* virial, T* stress);

}  // namespace batchmd::model::detail
