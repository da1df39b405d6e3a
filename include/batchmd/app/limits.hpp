// SPDX-License-Identifier: Apache-2.0
// app/limits: what a job implies before anything is allocated — atoms, neighbour pairs, bytes
// per snapshot, peak memory — and the refusal of a job that this machine cannot run, with the
// key and the estimate named (batchmd run checks it before it builds or restores the systems).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "batchmd/app/config.hpp"
#include "batchmd/core/memory.hpp"  // available_memory_bytes(), the default bound

namespace batchmd::app {

/// Estimates of what a job's systems need. Atom and system counts are exact; pairs, bytes and
/// memory are estimates meant to be within a factor of ~2 (above rather than below).
struct JobEstimate {
  double systems = 0;
  double atoms = 0;
  double largest_system_atoms = 0;
  /// Half-list neighbour pairs of the whole batch: per atom, the number density times the
  /// cutoff sphere (cutoff + skin) over two; an open cluster holds at most all its pairs.
  double neighbor_pairs = 0;
  /// The largest estimated half-list neighbours per atom over the job's structures, and which.
  double neighbors_per_atom = 0;
  std::string densest;  ///< "liquid[0]" / "cluster[2]"
  /// One snapshot of every system as the trajectory stores it, uncompressed (bytes).
  double snapshot_bytes = 0;
  /// Peak host memory (bytes): building the structures, or running them (batch, integrator,
  /// neighbour list, snapshot queue and chunk buffers), whichever is larger.
  double memory_bytes = 0;
  /// The structure table holding the most atoms and its sizes ("liquid[0] (count = 2, cells =
  /// 30: 108000 atoms each)"), to name in a refusal.
  std::string largest;
};

/// Estimates what `cfg` implies (no allocation proportional to the job).
JobEstimate estimate_job(const RunConfig& cfg);

/// Throws InvalidArgument, naming the key and the estimate, when the job cannot run here:
/// `steps` outside [0, 10^12] (as the parser; --steps bypasses it); `threads` beyond the CPUs
/// this process may use; more atoms than one batch indexes (2^31 - 2);
/// a cutoff that gives more than kMaxNeighborsPerAtom neighbours per atom at a structure's
/// density; or an estimated peak memory above [run] max_memory_gb (default: the memory the
/// machine has available now). Cheap: call it before building or restoring systems.
void check_job_limits(const RunConfig& cfg);

/// Half-list neighbours per atom beyond which a cutoff is taken for a mistake (the neighbour list
/// refuses the same; model/neighbor_list.cpp).
inline constexpr double kMaxNeighborsPerAtom = 16384;

/// CPUs this process may run on (its affinity mask; hardware_concurrency as a fallback).
int available_cpus();

}  // namespace batchmd::app
