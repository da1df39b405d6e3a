// SPDX-License-Identifier: Apache-2.0
// io/format: the structure-file formats batchmd reads and writes, their names (as the command
// line and job files spell them) and the format a file name implies.
#pragma once
#include <filesystem>
#include <optional>
#include <string_view>

namespace batchmd::io {

enum class Format {
  ExtXYZ,      ///< extended XYZ, ASE's dialect (read + write; many frames)
  LammpsData,  ///< LAMMPS data file, atom styles atomic and charge (read + write; one frame)
  Poscar,      ///< VASP POSCAR/CONTCAR (read + write; one frame)
  Cif,         ///< CIF through gemmi, expanded to the full cell (read; one frame per data block)
};

/// The format's name: "extxyz", "lammps-data", "poscar", "cif".
std::string_view format_name(Format f);
/// Parses a format name (also "xyz", "lammps", "vasp", "contcar"); throws InvalidArgument that
/// lists the names.
Format format_from_name(std::string_view name);
/// The format a file name implies: *.xyz, *.extxyz -> extxyz; *.data, *.lmp, *.lammps, data.* ->
/// lammps-data; POSCAR*, CONTCAR*, *.vasp, *.poscar -> poscar; *.cif -> cif (case-insensitive);
/// nullopt when the name says nothing.
std::optional<Format> format_from_path(const std::filesystem::path& path);
/// Whether batchmd writes this format (CIF is read-only).
bool can_write(Format f);
/// Whether the format holds many systems in one file (extended XYZ, CIF).
bool holds_many(Format f);

}  // namespace batchmd::io
