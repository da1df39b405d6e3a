// SPDX-License-Identifier: Apache-2.0
// core/version: BuildInfo from the values cmake/Version.cmake wrote at configure time.
#include "batchmd/core/version.hpp"

#include "batchmd_build_info.inc"

namespace batchmd {

const BuildInfo& build_info() {
  static const BuildInfo info{BATCHMD_INFO_VERSION,      BATCHMD_INFO_COMMIT, BATCHMD_INFO_BUILD_TYPE,
                              BATCHMD_INFO_CXX_COMPILER, BATCHMD_INFO_CUDA,   BATCHMD_INFO_CUDA_ARCHS,
                              BATCHMD_INFO_TORCH,        BATCHMD_INFO_MPI,    BATCHMD_INFO_PYTHON};
  return info;
}

std::string version_text() {
  const BuildInfo& b = build_info();
  std::string s = "batchmd " + b.version + " (commit " + b.commit + ")\n";
  s += "build: " + b.build_type + ", " + b.compiler + "\n";
  s += "back-ends: cpu (OpenMP)";
  if (b.cuda) s += ", cuda (sm_" + b.cuda_architectures + ")";
  if (b.torch) s += ", libtorch";
  if (b.mpi) s += ", mpi";
  if (b.python) s += ", python";
  return s;
}

nlohmann::json build_info_json() {
  const BuildInfo& b = build_info();
  nlohmann::json backends = nlohmann::json::array({"cpu"});
  if (b.cuda) backends.push_back("cuda");
  if (b.torch) backends.push_back("torch");
  if (b.mpi) backends.push_back("mpi");
  if (b.python) backends.push_back("python");
  nlohmann::json j = {{"version", b.version},
                      {"commit", b.commit},
                      {"build_type", b.build_type},
                      {"compiler", b.compiler},
                      {"backends", backends}};
  if (b.cuda) j["cuda_architectures"] = b.cuda_architectures;
  return j;
}

}  // namespace batchmd
