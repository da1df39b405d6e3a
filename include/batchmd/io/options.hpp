// SPDX-License-Identifier: Apache-2.0
// io/options: what a caller can say about reading and writing structure files (format, frames,
// the elements of LAMMPS types / VASP 4 species, float dtype, writer choices).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "batchmd/core/dtype.hpp"
#include "batchmd/io/format.hpp"
#include "batchmd/io/frames.hpp"

namespace batchmd::io {

struct ReadOptions {
  /// The file's format; by default the file name decides (format_from_path).
  std::optional<Format> format;
  /// Which frames of a multi-frame file (extended XYZ frames, CIF data blocks); single-frame
  /// formats have frame 0 only.
  FrameSelection frames;
  /// Element symbols naming LAMMPS atom types 1, 2, ... (data files), or the species of a VASP 4
  /// POSCAR (no species line) in the order of its counts line. Empty: LAMMPS types are named by
  /// the file (a "# Cu" comment in Masses) or by their masses; a VASP 4 file is an error.
  std::vector<std::string> elements;
  /// dtype of positions, cell and every floating-point field (float32 or float64).
  DType float_dtype = DType::Float64;
};

/// LAMMPS atom style of a written data file.
enum class AtomStyle {
  Auto,    ///< charge when the system has a charges field, atomic otherwise
  Atomic,  ///< id type x y z
  Charge,  ///< id type q x y z
};

struct WriteOptions {
  /// The file's format; by default the file name decides.
  std::optional<Format> format;
  /// LAMMPS data: the element of type 1, 2, ... (the order of a potential's pair_coeff line).
  /// Default: the elements present, in ascending atomic number. Every element present must be
  /// listed.
  std::vector<std::string> elements;
  AtomStyle atom_style = AtomStyle::Auto;
  /// POSCAR: fractional ("Direct") coordinates instead of Cartesian.
  bool direct = false;
  /// First (comment) line of a LAMMPS data file or POSCAR; default names batchmd.
  std::string comment;
};

}  // namespace batchmd::io
