// SPDX-License-Identifier: Apache-2.0
// core/version: what was built — the version, the git commit, the build type and the optional
// back-ends compiled in. `batchmd --version` prints it and every trajectory records it in its
// writer attribute, so a bug report or a store says which build made it.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace batchmd {

struct BuildInfo {
  std::string version;             ///< semantic version of the project, e.g. "0.2.0"
  std::string commit;              ///< git commit (12 hex digits, "-dirty" if modified), or "unknown"
  std::string build_type;          ///< CMake build type, with "+asan+ubsan" for sanitizer builds
  std::string compiler;            ///< C++ compiler id and version
  bool cuda = false;               ///< CUDA backend compiled in
  std::string cuda_architectures;  ///< e.g. "90"; empty without CUDA
  bool torch = false;              ///< TorchScript models (libtorch) compiled in
  bool mpi = false;                ///< MPI runs compiled in
  bool python = false;             ///< the Python package was built with this library
};

/// The build information of this binary (fixed at configure time).
const BuildInfo& build_info();
/// Multi-line text for `--version` (no trailing newline): "batchmd 0.2.0 (commit ...)", the
/// build type and compiler, the back-ends.
std::string version_text();
/// The same as a JSON object (stored in trajectories' root attribute `batchmd.build`).
nlohmann::json build_info_json();

}  // namespace batchmd
