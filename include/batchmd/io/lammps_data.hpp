// SPDX-License-Identifier: Apache-2.0
// io/lammps_data: LAMMPS data files (metal units: Å, amu, Å/ps for velocities) with atom styles
// atomic and charge, Masses, Velocities, orthogonal and triclinic boxes and image flags.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "batchmd/io/options.hpp"

namespace batchmd::io {

/// The one system of a LAMMPS data text. Types are named by opts.elements, else by "# Cu"
/// comments in Masses, else by their masses; positions are shifted so the box starts at the
/// origin; image flags (when present) become the int64 [n, 3] field "image_flags".
std::vector<AtomicData> read_lammps_data(std::string_view text, const ReadOptions& opts, std::string_view source);

/// A LAMMPS data text of one periodic system (rotated into LAMMPS's lower-triangular box when
/// its cell is not already of that form). Throws InvalidArgument for an open system (no cell), a
/// left-handed cell or an element missing from opts.elements.
std::string write_lammps_data(const AtomicData& system, const WriteOptions& opts);

}  // namespace batchmd::io
