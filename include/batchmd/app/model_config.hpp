// SPDX-License-Identifier: Apache-2.0
// app/model_config: the potential a job asks for beyond Lennard-Jones — SNAP (from .snapcoeff /
// .snapparam files, or a LAMMPS .snap include file with its ZBL overlay), ZBL, TorchScript models
// (MACE's LAMMPS export or batchmd's batched convention), and sums of them
// ([[model]] tables, LAMMPS hybrid/overlay) — as a plain ModelSpec, and building the Model.
//
// Job files:
//   [model]                          # one model
//   type = "snap"
//   file = "/usr/share/lammps/potentials/Ta06A.snap"     # SNAP + its ZBL overlay, or:
//   coeff = ".../Ta06A.snapcoeff"
//   param = ".../Ta06A.snapparam"
//   elements = ["Ta"]                # optional: which elements of the file, in order
//
//   [model]                          # EAM (LAMMPS eam, eam/alloy, eam/fs)
//   type = "eam"
//   file = "/usr/share/lammps/potentials/AlCu.eam.alloy"  # funcfl: a list, one file per element
//   format = "setfl"                 # optional: "funcfl" | "setfl" | "fs" (default: by extension)
//   elements = ["Cu"]                # optional: the file's elements to use (funcfl: one per file)
//
//   [[model]]                        # a sum: one table per term
//   type = "zbl"
//   inner = 4.0                      # Å
//   outer = 4.8                      # Å
//   pairs = [["Ta", "Ta"]]           # optional: element pairs it acts on (default all)
//   [[model]]
//   type = "snap"
//   coeff = "..."
//   param = "..."
//
//   [model]                          # Stillinger-Weber from a LAMMPS .sw file
//   type = "sw"
//   file = "/usr/share/lammps/potentials/GaN.sw"
//   elements = ["Ga", "N"]           # optional: which elements of the file (default: all)
//
//   [model]                          # Morse (LAMMPS pair_style morse), one table per element pair
//   type = "morse"
//   cutoff = 6.0                     # Å: default cutoff of the pairs
//   shift_energy = false             # E(cutoff) = 0 per pair (LAMMPS pair_modify shift yes)
//   [[model.pair]]
//   elements = ["Cu", "Cu"]
//   d0 = 0.3429                      # eV
//   alpha = 1.3588                   # 1/Å
//   r0 = 2.866                       # Å
//   cutoff = 6.0                     # Å, optional
//   [model]                          # a TorchScript model (docs/torchscript.md)
//   type = "torchscript"
//   file = "model.pt"
//   convention = "auto"              # or "batched", "mace-lammps"
//   cutoff = 5.0                     # optional (Å): overrides the module's
//   elements = ["H", "O"]            # optional: the module's element table, if it has none
//   dtype = "float64"                # optional: what the model must compute in
// Keys common to all terms: skin (Å, default 1.0), pairs (not for sw, morse and torchscript). Relative paths
// are relative to the job file's directory.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "batchmd/model/lennard_jones.hpp"
#include "batchmd/model/model.hpp"
#include "batchmd/model/morse.hpp"

namespace batchmd::app {

/// One term of a model: a SNAP, ZBL, EAM, Stillinger-Weber or Morse model with its settings (only
/// the fields of its type are used).
struct ModelTermSpec {
  std::string type;                     ///< "snap", "zbl", "eam", "sw", "morse" or "torchscript"
  std::string where;                    ///< the table it came from, e.g. "model[1]" (for messages)
  std::string file;                     ///< snap: a LAMMPS .snap include file; sw: a .sw file; torchscript: the model
  std::string coeff, param;             ///< snap: .snapcoeff and .snapparam (instead of file)
  std::vector<std::string> elements;    ///< snap, eam, sw: the elements of the file to use; torchscript: the model's
  std::vector<std::string> files;       ///< eam: the potential file(s)
  std::string format;                   ///< eam: "funcfl", "setfl" or "fs"
  bool lammps_chemflag_forces = false;  ///< snap: LAMMPS's chemflag adjoint (SNAPConfig)
  double inner = 0, outer = 0;          ///< zbl: switching region (Å)
  std::vector<std::pair<std::int64_t, std::int64_t>> pairs;  ///< element pairs it acts on; empty: all
  double skin = 1.0;                                         ///< Å
  std::vector<model::MorsePair> morse_pairs;                 ///< morse: the [[model.pair]] tables
  bool shift_energy = false;                                 ///< morse: E(cutoff) = 0 per pair
  std::string convention = "auto";                           ///< torchscript: "auto", "batched" or "mace-lammps"
  double cutoff = 0;                                         ///< torchscript: Å; 0: the module's own
  std::string dtype;   ///< torchscript: "float32"/"float64" the model must compute in; empty: any
  std::string plugin;  ///< torchscript: the libtorch plugin; empty: found by itself
};

/// The model of a job: empty means Lennard-Jones (RunConfig::lj); one term is that model; more
/// terms are summed.
struct ModelSpec {
  std::vector<ModelTermSpec> terms;
  bool empty() const noexcept { return terms.empty(); }
};

/// Builds the job's model: LennardJones(lj) when spec is empty, else the terms (summed when more
/// than one). Reads potential files: FormatError/IOError name the file and line.
std::shared_ptr<model::Model> build_model(const ModelSpec& spec, const model::LJConfig& lj);

/// Neighbor-list builds of a model built here (summed over the terms of a sum):
/// m.neighbor_builds().
std::int64_t neighbor_builds(const model::Model& m);

}  // namespace batchmd::app
