// SPDX-License-Identifier: Apache-2.0
// io/format: format names and detection by file name.
#include "batchmd/io/format.hpp"

#include <string>

#include "batchmd/core/error.hpp"
#include "text.hpp"

namespace batchmd::io {

std::string_view format_name(Format f) {
  switch (f) {
    case Format::ExtXYZ:
      return "extxyz";
    case Format::LammpsData:
      return "lammps-data";
    case Format::Poscar:
      return "poscar";
    case Format::Cif:
      return "cif";
  }
  return "?";
}

Format format_from_name(std::string_view name) {
  const std::string n = detail::lower(name);
  if (n == "extxyz" || n == "xyz") return Format::ExtXYZ;
  if (n == "lammps-data" || n == "lammps" || n == "lammps_data" || n == "lmp") return Format::LammpsData;
  if (n == "poscar" || n == "vasp" || n == "contcar") return Format::Poscar;
  if (n == "cif") return Format::Cif;
  throw InvalidArgument("unknown structure format '" + std::string(name) +
                        "' (expected extxyz, lammps-data, poscar or cif)");
}

std::optional<Format> format_from_path(const std::filesystem::path& path) {
  const std::string file = detail::lower(path.filename().string());
  const std::string ext = detail::lower(path.extension().string());
  if (ext == ".xyz" || ext == ".extxyz") return Format::ExtXYZ;
  if (ext == ".data" || ext == ".lmp" || ext == ".lammps" || file.starts_with("data.")) return Format::LammpsData;
  if (ext == ".vasp" || ext == ".poscar" || file.starts_with("poscar") || file.starts_with("contcar"))
    return Format::Poscar;
  if (ext == ".cif") return Format::Cif;
  return std::nullopt;
}

bool can_write(Format f) { return f != Format::Cif; }

bool holds_many(Format f) { return f == Format::ExtXYZ || f == Format::Cif; }

}  // namespace batchmd::io
