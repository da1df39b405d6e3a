// SPDX-License-Identifier: Apache-2.0
// model/snap_potential: LAMMPS's SNAP include files (`X.snap`, read by `include X.snap` in a
// LAMMPS input) — the form in which published SNAP models are distributed: variables, a
// `pair_style snap` or `pair_style hybrid/overlay zbl INNER OUTER snap`, and the pair_coeff lines
// that name the coefficient and parameter files and the ZBL element pairs. load_snap_potential
// turns one into a ready Model: SNAP alone, or SumModel(ZBL on the named pairs, SNAP).
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "batchmd/model/snap.hpp"
#include "batchmd/model/zbl.hpp"

namespace batchmd::model {

struct SNAPPotentialFile {
  SNAPConfig snap;               ///< parameters, coefficients, and the elements SNAP acts on
  std::optional<ZBLConfig> zbl;  ///< the ZBL overlay and its element pairs, if the file has one
};

/// Parses a .snap include file. The subset of the LAMMPS input language these files use is
/// understood: comments, '&' continuations, `variable NAME equal|index|string VALUE`, ${NAME} and
/// $N substitution, `pair_style snap`, `pair_style hybrid/overlay` of zbl and snap, and
/// `pair_coeff` for them (types map to the elements of the snap pair_coeff line; NULL leaves a
/// type out of SNAP). Coefficient and parameter files are found relative to the include file.
/// Throws IOError when a file cannot be read and FormatError naming the file and line for
/// anything else: other commands or pair styles (e.g. `table`), ZBL charges that are not the
/// elements' atomic numbers, missing pair coefficients.
SNAPPotentialFile read_snap_potential(const std::string& path);

/// The model of a .snap file (read_snap_potential), with the given Verlet skin (Å) for every
/// neighbor list.
std::shared_ptr<Model> load_snap_potential(const std::string& path, double skin = 1.0);

}  // namespace batchmd::model
