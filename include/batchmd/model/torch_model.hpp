// SPDX-License-Identifier: Apache-2.0
// model/torch_model: TorchScript models (MACE, NequIP-style GNNs, anything written in PyTorch
// and saved with torch.jit.script) as a batchmd Model, in two calling conventions:
//  - "batched", batchmd's own: forward(Dict[str, Tensor]) -> Dict[str, Tensor], every system of
//    the batch in one call (docs/torchscript.md lists the keys);
//  - "mace-lammps": the module MACE's create_lammps_model writes for LAMMPS's pair_style mace,
//    called with the same input dict, many systems at once through batch/ptr.
// Edges come from batchmd's neighbor list (full list, periodic images as shifts). libtorch is
// reached through a plugin loaded at run time (libbatchmd_torch.so, built where libtorch is
// found), so batchmd links no libtorch and a build without it still runs everything else.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "batchmd/core/dtype.hpp"
#include "batchmd/model/model.hpp"

namespace batchmd::model {

enum class TorchConvention { Auto, Batched, MaceLammps };

/// "auto", "batched" or "mace-lammps"; InvalidArgument otherwise.
TorchConvention parse_torch_convention(const std::string& s);
std::string to_string(TorchConvention c);

struct TorchScriptConfig {
  std::string path;  ///< the TorchScript file (torch.jit.save / create_lammps_model)
  /// Auto: from forward()'s signature (one Dict argument: batched; Dict, Tensor, bool: mace-lammps).
  TorchConvention convention = TorchConvention::Auto;
  /// Å; > 0 overrides the module's own (attribute r_max for mace-lammps, cutoff for batched),
  /// which is required when this is 0.
  double cutoff = 0;
  /// Atomic numbers the model covers, in the order of its one-hot species (mace-lammps). Empty:
  /// the module's attribute atomic_numbers; a batched module without it accepts every element.
  /// When both are given they must agree.
  std::vector<std::int64_t> elements;
  /// The float dtype the model computes in; nullopt: the module's (its parameters' dtype). The
  /// batch must have this dtype (InvalidArgument otherwise: no silent casts).
  std::optional<DType> dtype;
  double skin = 1.0;   ///< Verlet skin of the neighbor list (Å)
  std::string plugin;  ///< the libtorch plugin; empty: $BATCHMD_TORCH_PLUGIN, then beside the program
};

/// A TorchScript model. Energies in eV, forces in eV/Å, virials in eV (W = -dE/d strain, the
/// Model contract's sign); the module must use eV and Å.
class TorchScriptModel : public Model {
 public:
  /// Loads the plugin and the module and checks the module against the convention. Throws
  /// InvalidArgument naming the file for: no plugin (a build without libtorch), a file that is
  /// missing or not TorchScript, a forward() of neither convention, no cutoff, elements that
  /// contradict the module's, a dtype that contradicts the module's.
  explicit TorchScriptModel(TorchScriptConfig config);
  ~TorchScriptModel() override;
  TorchScriptModel(const TorchScriptModel&) = delete;
  TorchScriptModel& operator=(const TorchScriptModel&) = delete;

  std::string name() const override { return "torchscript"; }
  /// Model::compute. Additionally InvalidArgument (naming the file) for an element the model
  /// does not cover, a batch dtype other than the model's, outputs of the wrong shape or dtype
  /// or missing; NumericalError for non-finite outputs. A GPU batch runs the module on that GPU
  /// when the plugin's libtorch has CUDA (the arrays pass through the host for now).
  void compute(Batch& batch, bool compute_stress = false) override;
  double cutoff() const override;

  TorchConvention convention() const;
  /// The model's dtype, when the module or the config names one.
  std::optional<DType> dtype() const;
  /// Atomic numbers the model covers (empty: any).
  const std::vector<std::int64_t>& elements() const;
  /// libtorch version of the plugin (e.g. "1.13.1", "2.11.0+cuda") and where it was loaded from.
  std::string torch_version() const;
  std::string plugin_path() const;
  std::int64_t neighbor_builds() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Whether a libtorch plugin can be loaded (config.plugin / $BATCHMD_TORCH_PLUGIN / beside the
/// program); on false, *why says what was tried.
bool torch_plugin_available(const std::string& plugin = {}, std::string* why = nullptr);

}  // namespace batchmd::model
