// SPDX-License-Identifier: Apache-2.0
// hooks/hooks_gpu (internal): the GPU side of the hooks — kernel launchers for a batch on a CUDA
// device, implemented in hooks_gpu.cu (CUDA builds only). Every launcher runs asynchronously on
// the device's compute stream and does not wait for the GPU, except system_scalars() and
// nonfinite_systems(), which return host values with one copy. Counters and flags are device
// int64 slots (see device_slots.hpp) the kernels update with atomics; any may be null.
// Launch shapes: cuda::parallel_for with one thread per atom (the per-atom hooks) or per system
// (wrap's frames, bias energies), cuda::segment_reduce with one block per system (kinetic energy,
// fmax, restraint energy); 256 threads a block.
// In a build without CUDA no batch can live on a GPU, so these are never called; they are
// declared there too (defined to throw) so the hooks compile unchanged.
#pragma once
#include <cstdint>
#include <vector>

#include "batchmd/data/batch.hpp"

namespace batchmd::hooks::gpu {

/// MaxForceClampHook: clamps every atom's force to max_force; adds the number of clamped atoms
/// to *last and *total.
void clamp_forces(Batch& b, double max_force, std::int64_t* last, std::int64_t* total);

/// WrapPeriodicHook: wraps positions into the cell and updates `images` (int32 [n,3], present);
/// adds the atoms moved to *moved and lowers *singular (kNoIndex: none) to the lowest periodic
/// system whose cell is singular (its atoms are left alone).
void wrap_positions(Batch& b, std::int32_t* images, std::int64_t* moved, std::int64_t* singular);

/// FreezeAtomsHook capture: for every atom i < n with source[i] != 0 (a uint8 mask or a bool
/// field on the device): records its position in reference (the batch's float type, [n*3]) and
/// zeroes its velocity and force; copies source into frozen (when not null and not source
/// itself) and counts the frozen atoms into *count.
void freeze_capture(Batch& b, std::int64_t n, const std::uint8_t* source, std::uint8_t* frozen, void* reference,
                    std::int64_t* count);
/// FreezeAtomsHook pin: puts every atom i < n with frozen[i] != 0 back at its reference
/// position and zeroes its velocity and force.
void freeze_pin(Batch& b, std::int64_t n, const std::uint8_t* frozen, const void* reference);

/// Harmonic restraint: adds −k (x − r) to the forces of the selected atoms (sel[i] != 0; all
/// when sel is null) and writes ½ k Σ|x − r|² per system into energy (float64 [n_systems]).
void harmonic_restraint(Batch& b, double k, const double* reference, const std::uint8_t* sel, double* energy);
/// BiasedPotentialHook: energy[s] += bias[s] (float64 [n_systems] on the device) for finite
/// values; lowers *bad to the lowest system with a non-finite bias (left out).
void add_bias_energy(Batch& b, const double* bias, std::int64_t* bad);

/// NaNDetectorHook: one uint8 per system (host), 1 where positions, velocities, forces or
/// energy (those present in the batch's float type) hold a NaN/Inf. One kernel, one copy.
std::vector<std::uint8_t> nonfinite_systems(const Batch& b);

/// Per-system scalars for LoggingHook and EnergyDriftMonitorHook, computed on the device and
/// brought to the host with one copy.
struct SystemScalars {
  std::vector<double> energy;           ///< eV (NaN without an "energy" field or when not asked)
  std::vector<double> kinetic_energy;   ///< eV (0 without velocities)
  std::vector<double> fmax;             ///< largest atomic force norm, eV/Å (0 without forces / not asked)
  std::vector<std::int64_t> system_id;  ///< system_id, or the index without the field
  std::vector<std::int64_t> status;     ///< int32/int64 "status", else 0
};
SystemScalars system_scalars(const Batch& b, bool with_fmax);

}  // namespace batchmd::hooks::gpu
