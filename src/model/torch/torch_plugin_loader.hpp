// SPDX-License-Identifier: Apache-2.0
// model/torch/torch_plugin_loader (internal): finds and opens the libtorch plugin
// (torch_plugin_abi.h) once per process, and keeps it loaded (libtorch does not unload cleanly).
#pragma once
#include <string>

#include "torch_plugin_abi.h"

namespace batchmd::model::detail {

struct TorchPlugin {
  std::string path;
  bmd_torch_open_fn open = nullptr;
  bmd_torch_compute_fn compute = nullptr;
  bmd_torch_close_fn close = nullptr;
};

/// The plugin at `path`, or, when empty, at $BATCHMD_TORCH_PLUGIN, else the first of: beside the
/// running program, <program>/../<libdir>/batchmd/ (an installed tree), the build tree, the install prefix. Throws
/// InvalidArgument saying what was tried (and why each failed) when none loads.
const TorchPlugin& load_torch_plugin(const std::string& path);

}  // namespace batchmd::model::detail
