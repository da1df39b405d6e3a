// SPDX-License-Identifier: Apache-2.0
// io/extxyz: extended XYZ in ASE's dialect. The reader takes every per-atom column of
// Properties (species or Z, pos, momenta or velocities, masses, forces, charges, any custom
// R/I/L column with its width) and every key=value of the comment line (Lattice, pbc, energy,
// stress, virial, free-form scalars, vectors and _JSON arrays); the writer writes what ASE reads
// back: velocities as ASE's momenta (amu·Å per ASE time unit) beside the masses.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "batchmd/io/options.hpp"

namespace batchmd::io {

/// ASE's time unit is Å·sqrt(amu/eV); one fs is this many of them (ase.units.fs, CODATA 2014).
/// ASE velocities are Å per ASE time unit: v_ase = v_fs / kAseFs, momenta = masses · v_ase.
inline constexpr double kAseFs = 0.09822694788464063;

/// The selected frames of an extended XYZ text (`source` names it in errors).
std::vector<AtomicData> read_extxyz(std::string_view text, const ReadOptions& opts, std::string_view source);

/// Appends `system` as one frame. Atom-level fields become columns (velocities as momenta),
/// system-level fields become key=value pairs; edge-level fields have no place and are left out.
/// Throws InvalidArgument for a system without positions or with an atomic number outside 1..118.
void append_extxyz_frame(std::string& out, const AtomicData& system);

}  // namespace batchmd::io
