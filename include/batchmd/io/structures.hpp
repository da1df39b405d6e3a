// SPDX-License-Identifier: Apache-2.0
// io/structures: structure files in and out. read_structures turns a file (extended XYZ,
// LAMMPS data, VASP POSCAR/CONTCAR, CIF) into one AtomicData per frame; write_structures writes
// systems back. The text forms (parse_structures / format_structures) take and give strings, so
// tests and fuzzers need no files. Formats, units and conventions: docs/structures.md.
//
// Every system read has positions (Å), atomic_numbers, masses (amu; the file's, else standard
// atomic weights), cell (rows a, b, c in Å; all zeros for an open system) and pbc; velocities
// (Å/fs), forces (eV/Å), charges (e), energy (eV), stress (eV/Å^3) and any other field the file
// carries are added when present. A malformed file throws FormatError naming the file and line;
// a bad option (unknown element, frame out of range) throws InvalidArgument.
#pragma once
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "batchmd/io/options.hpp"

namespace batchmd::io {

/// Reads the selected frames of a structure file, in file order (or the selection's order).
/// Throws IOError when the file cannot be read, FormatError for a malformed file, and
/// InvalidArgument when the format cannot be told from the name or an option is bad.
std::vector<AtomicData> read_structures(const std::filesystem::path& path, const ReadOptions& opts = {});

/// As read_structures, from text in memory; `source` names it in error messages.
std::vector<AtomicData> parse_structures(std::string_view text, Format format, const ReadOptions& opts = {},
                                         std::string_view source = "<string>");

/// Writes systems to `path`, replacing it atomically (a temporary file renamed over it, so a
/// failure leaves an existing file untouched). LAMMPS data and POSCAR hold exactly one system;
/// CIF is not written. Throws InvalidArgument for what the format cannot hold, IOError for the OS.
void write_structures(const std::filesystem::path& path, std::span<const AtomicData> systems,
                      const WriteOptions& opts = {});

/// The text write_structures would write.
std::string format_structures(std::span<const AtomicData> systems, Format format, const WriteOptions& opts = {});

}  // namespace batchmd::io
