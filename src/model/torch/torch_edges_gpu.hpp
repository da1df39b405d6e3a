// SPDX-License-Identifier: Apache-2.0
// model/torch/torch_edges_gpu (internal): the TorchScript model's edges of a GPU batch, built on
// the device — batchmd's device full list (DeviceListBuild: pairs within cutoff + skin kept
// between per-system rebuilds, this call's displacements), then per call the pairs inside the
// cutoff selected (a flag per pair, a scan, a fill) into edge_index [2, E] int64, shifts [E, 3]
// (Å) and unit_shifts [E, 3] — the same edges, in the same order, as the CPU's (torch_edges.hpp):
// the pairs of each atom in the canonical (neighbor, image) order, the same cutoff test on the
// same displacements. Positions and edges never leave the device; the edge count is the one
// number read back, together with a word the caller may set on the device before the call
// (side_word: the model's "atomic numbers changed" flag), in the same round trip as the list's
// status (DeviceListBuild::begin_update/finish_update): one synchronisation per call that keeps
// the list.
// CUDA builds: torch_edges_gpu.{cpp,cu}; without CUDA torch_edges_gpu_stub.cpp throws.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "batchmd/data/batch.hpp"

namespace batchmd::model::detail {

/// Device arrays of a call's edges, valid until the next update().
template <typename T>
struct DeviceEdges {
  std::int64_t n_edges = 0;
  const std::int64_t* edge_index = nullptr;  ///< [2][E]: row 0 the centre atom i, row 1 j
  const T* shifts = nullptr;                 ///< [E][3] Å: r_ij = x_j - x_i + shift
  const T* unit_shifts = nullptr;            ///< [E][3] the integer lattice image n, shift = n . cell
  std::int32_t side_word = 0;                ///< the side word's value when update() read it back
};

class TorchEdgesGpu {
 public:
  /// cutoff: the model's (Å, every species pair); skin: the list's Verlet skin (Å).
  TorchEdgesGpu(double cutoff, double skin);
  ~TorchEdgesGpu();
  TorchEdgesGpu(const TorchEdgesGpu&) = delete;
  TorchEdgesGpu& operator=(const TorchEdgesGpu&) = delete;

  /// The edges of a GPU batch for this call's positions: every ordered pair (i, j, image) with
  /// 0 < |r_ij| < cutoff, atom by atom, each atom's by (j, image). species: [n_atoms] (host) the
  /// model's species index of each atom, n_species of them. Asynchronous on the batch device's
  /// compute stream apart from one synchronisation (the list's status with the edge count; a
  /// call that rebuilds the list has more). species_version: non-zero while `species` holds the
  /// same values as at the last call with that version (the list then skips comparing them).
  /// unit_shifts: whether DeviceEdges::unit_shifts must hold this call's values (else the array
  /// is sized but left as it was: the caller does not read it).
  template <typename T>
  DeviceEdges<T> update(const Batch& batch, const std::vector<std::int32_t>& species, std::int32_t n_species,
                        std::uint64_t species_version = 0, bool unit_shifts = true);
  /// Updates that rebuilt the list for some system.
  std::int64_t builds() const;
  /// A device int32 on `device` that update() reads back with the edge count, in the same copy
  /// (DeviceEdges::side_word); update() sets it to 0 afterwards. A caller writes it on the compute
  /// stream before update() to learn something of the device without a round trip of its own.
  std::int32_t* side_word(int device);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// stress[s] = -virial[s] / V_s for a system periodic in all three directions, else 0 (as
/// model_fields.hpp's write_virial_and_stress), on the device's compute stream. cell and pbc may
/// be null (no periodic system).
template <typename T>
void launch_torch_stress(int device, std::int64_t n_systems, const T* virial, const T* cell, const bool* pbc,
                         T* stress);

// ---- the selection kernels (torch_edges_gpu.cu), on the device's compute stream

/// The list's pairs and this call's geometry: pair p = (i, j) has r_p = x_j - x_i + (image[p] +
/// jump[i] - jump[j]) . cell[system of i] (DeviceListBuild::pair_image's arithmetic).
template <typename T>
struct TorchPairs {
  std::int64_t n_pairs = 0;
  const std::int32_t* pair_atom = nullptr;  ///< [n_pairs] i
  const std::int32_t* neighbor = nullptr;   ///< [n_pairs] j
  const std::int32_t* image = nullptr;      ///< [n_pairs][3] image at the build
  const std::int32_t* jump = nullptr;       ///< [n_atoms][3] whole-cell jumps since
  const std::int64_t* sys = nullptr;        ///< [n_atoms] system of each atom
  const T* positions = nullptr;             ///< [n_atoms][3]
  const T* cell = nullptr;                  ///< [n_systems][9] or null
  double cutoff2 = 0;                       ///< Å^2: an edge has 0 < |r_p|^2 < cutoff2 (in double)
};
/// *changed = 1 when z[i] != z_seen[i] for some i < n (left as it was otherwise).
void launch_torch_z_changed(int device, std::int64_t n, const std::int64_t* z, const std::int64_t* z_seen,
                            std::int32_t* changed);
/// Scratch bytes for torch_edge_scan over n pairs.
template <typename T>
std::size_t torch_edge_scan_bytes(std::int64_t n);
/// pos[p] = the number of edges among pairs 0..p (inclusive prefix sum of the cutoff test, which
/// is evaluated inside the scan: no flag array).
template <typename T>
void torch_edge_scan(int device, void* temp, std::size_t temp_bytes, const TorchPairs<T>& pairs, std::int32_t* pos);
/// The fill: the list's pairs and this call's geometry, the scan, the outputs.
template <typename T>
struct TorchEdgeFill {
  TorchPairs<T> pairs;
  std::int64_t n_edges = 0;
  const std::int32_t* pos = nullptr;   ///< [n_pairs] torch_edge_scan's output
  std::int64_t* edge_index = nullptr;  ///< [2][n_edges]
  T* shifts = nullptr;                 ///< [n_edges][3]
  T* unit_shifts = nullptr;            ///< [n_edges][3], or null: not written
};
/// Writes edge pos[p] - 1 for every pair p that is an edge (pos[p] > pos[p - 1]).
template <typename T>
void launch_torch_edge_fill(int device, const TorchEdgeFill<T>& f);

}  // namespace batchmd::model::detail
