// SPDX-License-Identifier: Apache-2.0
// io/poscar: VASP POSCAR/CONTCAR, Cartesian and Direct, scale factor (one, three, or a negative
// volume), VASP 5 species line (VASP 4 files need ReadOptions::elements), selective dynamics
// flags (kept as the bool [n, 3] field "selective_dynamics", true = free to move) and the
// velocities block of a CONTCAR (Cartesian, Å/fs).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "batchmd/io/options.hpp"

namespace batchmd::io {

std::vector<AtomicData> read_poscar(std::string_view text, const ReadOptions& opts, std::string_view source);

/// A POSCAR of one system with a cell, species in runs of equal consecutive elements (atom order
/// is kept), Cartesian unless opts.direct. Throws InvalidArgument for an open system.
std::string write_poscar(const AtomicData& system, const WriteOptions& opts);

}  // namespace batchmd::io
