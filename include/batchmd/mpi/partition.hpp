// SPDX-License-Identifier: Apache-2.0
// mpi/partition: how the systems of a job are shared between ranks — contiguous ranges of
// systems balanced by an estimate of their cost (atoms × neighbours). Contiguous, so that rank 0
// can write every snapshot as the ranks' parts one after the other and the store holds the samples
// of a single-process run in the same order (docs/mpi.md). No MPI here: tested on its own.
#pragma once
#include <cstdint>
#include <vector>

#include "batchmd/data/batch.hpp"

namespace batchmd::mpi {

/// One rank's systems [first_system, first_system + n_systems) and their atoms.
struct Share {
  std::int64_t first_system = 0, n_systems = 0;
  std::int64_t first_atom = 0, n_atoms = 0;
};

/// The estimated cost of a step of each system of `batch`: atoms × neighbours within cutoff_A
/// (cutoff + skin, Å), the neighbours from the system's number density — atoms over the cell's
/// volume for a periodic system, over the bounding box of its atoms (each side at least cutoff_A)
/// for an open one — and at most the system's other atoms for an open system. At least 1.
std::vector<double> system_costs(const Batch& batch, double cutoff_A);

/// Boundaries b[0] = 0 <= b[1] <= ... <= b[ranks] = costs.size() of `ranks` contiguous ranges
/// whose summed costs are as even as a cut between systems allows: b[r] is the first system whose
/// cumulative cost reaches r/ranks of the total, kept so that every range holds at least one
/// system. Throws InvalidArgument when ranks < 1 or there are fewer systems than ranks.
std::vector<std::int64_t> partition(const std::vector<double>& costs, int ranks);

/// The share of rank `rank` given the boundaries and the batch's atoms_ptr.
Share share_of(const Batch& batch, const std::vector<std::int64_t>& bounds, int rank);

}  // namespace batchmd::mpi
