// SPDX-License-Identifier: Apache-2.0
// model/lj_gpu (internal): the Lennard-Jones model on the GPU — a full Verlet neighbor list built
// with cell lists on the device and the LJ forces, energies and virials of a batch that lives on
// a GPU; LennardJones dispatches every GPU batch to it. Host logic in lj_gpu.cpp, kernels in
// lj_gpu_kernels.cu. Compiled in every build (without the CUDA backend its launchers throw, and
// no batch can be on a GPU there).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "batchmd/model/lennard_jones_kernels.hpp"

namespace batchmd::model::detail {

/// Everything the GPU path keeps between compute calls: the list, its build state, capacity and
/// the lagged error checks. Not thread-safe (one compute at a time, as LennardJones).
///
/// Sync points: setup (first call, or when the dtype, the device, the number of systems or atoms
/// or atoms_ptr changed) synchronises once to size the list; a steady-state compute() never waits
/// for the GPU, except that it does not run more than two calls ahead of the error checks (it
/// waits for the status of the call before the previous one, normally long done).
/// state(), restore_state() (on the next compute) and neighbor_builds() synchronise.
class LJGpu {
 public:
  /// table: the LJ parameters; override_z: every atomic number named in a pair override (all
  /// other species share the default parameters); skin: Verlet skin (Å).
  LJGpu(const LJTable& table, std::vector<std::int64_t> override_z, double skin);
  ~LJGpu();
  LJGpu(const LJGpu&) = delete;
  LJGpu& operator=(const LJGpu&) = delete;

  /// Writes "energy" [S], "forces" [n,3] and, with compute_stress, "virial" [S,3,3] and
  /// "stress" [S,3,3] (the fields must exist) of a GPU batch. Throws NumericalError for a
  /// non-finite position or a neighbor-list overflow and InvalidArgument for a bad atomic number
  /// or cell, detected on the device and reported at one of the next two calls.
  void compute(Batch& batch, bool compute_stress);
  /// The list's build, in NeighborList::state()'s layout: per atom (caller order), its position
  /// (Å) at the last build and the cell rows of its system then — 12 values an atom (downloads).
  std::vector<double> state() const;
  /// The next compute() builds the list from `reference` (as returned by state(), or positions
  /// alone: 3 values an atom) and then checks displacements against it; where a periodic
  /// system's cell differs from the stored build cell it builds from the current positions, as
  /// the saved run would have. InvalidArgument if the size does not match the batch.
  void restore_state(const Batch& batch, std::span<const double> reference);
  /// Neighbor-list builds so far (synchronises).
  std::int64_t neighbor_builds() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace batchmd::model::detail
