// SPDX-License-Identifier: Apache-2.0
// app/structure_files: starting structures read from files ([[structures]] tables of a job): any
// file the io module reads (extended XYZ, LAMMPS data, POSCAR/CONTCAR, CIF), some of its frames,
// replicated into supercells, copied, jittered and given velocities. They mix with the
// generators of app/structures ([[liquid]], [[cluster]], [[crystal]]) and come after them.
//
//   [[structures]]
//   file = "train.xyz"       # relative to the job file's directory
//   format = "extxyz"        # extxyz, lammps-data, poscar, cif (default: from the file name)
//   frames = "::10"          # "all" (default), 3, -1, [0, 4, 7], "2:10", "::5" (Python slices)
//   elements = ["Cu", "Ni"]  # LAMMPS data: the element of types 1, 2, ...; VASP 4: the species
//   replicate = [2, 2, 1]    # supercell along the cell vectors a, b, c
//   count = 1                # copies of every selected frame (independent jitter and velocities)
//   temperature_K = 300.0    # Maxwell–Boltzmann; absent: the file's velocities (else zero)
//   jitter = 0.0             # Å, uniform random displacement per coordinate
//   pbc = [true, true, false]  # override the file's periodicity (or one boolean for all three)
//
// Files are read once: the job-limits estimate reads the selected frames into a cache that
// building the batch then uses (and releases).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "batchmd/io/format.hpp"
#include "batchmd/io/frames.hpp"

namespace batchmd::app {

/// The frames a [[structures]] table read, shared by the copies of its RunConfig.
struct StructureFileCache;

/// One [[structures]] table.
struct StructureFileSpec {
  std::string where;                  ///< "structures[0]" (for messages)
  std::string origin;                 ///< the job file (for messages)
  std::string file;                   ///< resolved path
  std::optional<io::Format> format;   ///< absent: from the file name
  io::FrameSelection frames;          ///< default: every frame
  std::vector<std::string> elements;  ///< LAMMPS types 1, 2, ... / VASP 4 species
  std::array<std::int64_t, 3> replicate{1, 1, 1};
  std::int64_t count = 1;
  std::optional<double> temperature_K;  ///< K; absent: the file's velocities, or zero
  double jitter = 0;                    ///< Å
  std::optional<std::array<bool, 3>> pbc;
  std::shared_ptr<StructureFileCache> cache;  ///< set by the parser
};

/// One selected frame of a table as the job will hold it (after replicate), for estimates.
struct StructureFrameSize {
  std::int64_t frame = 0;  ///< index in the file
  double atoms = 0;        ///< per copy, after replicate
  double volume = 0;       ///< Å^3 of the (replicated) cell; 0 unless periodic in all three directions
};

/// The selected frames of `spec` (read on the first call and cached): their sizes. A malformed
/// file is a FormatError naming the file and line; frames out of range, a replicate along a
/// direction without a cell vector, or a periodic direction without one are InvalidArgument
/// naming the job file and key.
std::vector<StructureFrameSize> structure_sizes(const StructureFileSpec& spec);

/// The systems of `spec`: for every selected frame, `count` copies (frame-major), replicated,
/// jittered with `rng`, in float dtype `dt`, with the standard fields only (positions,
/// atomic_numbers, masses, cell, pbc). `velocities` gets, per system, the file's velocities
/// (Å/fs, replicated) when the table keeps them (no temperature_K and the file has them), else
/// an empty vector (to be drawn at temperature_K, or zero).
std::vector<AtomicData> make_structure_systems(const StructureFileSpec& spec, DType dt, std::mt19937_64& rng,
                                               std::vector<std::vector<double>>& velocities);

/// Systems the table makes (selected frames x count); reads the file if it was not read yet.
std::int64_t structure_system_count(const StructureFileSpec& spec);

/// Frees the frames cached for `spec` (after the batch is built).
void release_structure_cache(const StructureFileSpec& spec);

/// "structures[1] (file 'a.xyz', frame 4)" for the k-th system the table makes (0 <= k <
/// frames x count); needs structure_sizes to have run.
std::string describe_structure_system(const StructureFileSpec& spec, std::int64_t k);

}  // namespace batchmd::app
