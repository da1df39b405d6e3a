// SPDX-License-Identifier: Apache-2.0
// model/eam_gpu (internal): EAM for a batch that lives on a GPU, and the species mapping the CPU
// and GPU paths share. This header needs no CUDA; the implementation (eam_gpu.cpp + eam_gpu.cu)
// exists in builds with the CUDA backend, eam_gpu_stub.cpp stands in otherwise.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "batchmd/model/eam.hpp"

namespace batchmd::model::detail {

/// Which atoms and pairs EAM acts on: per atom its element index in the tables (-1: left out by
/// the config's pairs) and per element pair the cutoff (Å; 0 for pairs the config excludes).
struct EAMSpecies {
  std::vector<std::int32_t> atom;  ///< [n_atoms]
  std::vector<double> cutoff;      ///< [n_elements^2]
  bool all = true;                 ///< every atom included and every pair allowed
};
/// Throws InvalidArgument for an atom whose element the potential lacks (naming system, atom and
/// element) unless the config's pairs leave that element out.
EAMSpecies eam_species(const EAMConfig& cfg, const Batch& batch, const std::int64_t* z);

class EAMGpu {
 public:
  explicit EAMGpu(const EAMConfig& config);
  ~EAMGpu();
  EAMGpu(const EAMGpu&) = delete;
  EAMGpu& operator=(const EAMGpu&) = delete;
  /// Writes energy, forces (and virial, stress) of a GPU batch (the fields exist).
  void compute(Batch& batch, const EAMSpecies& species, bool compute_stress);
  std::int64_t neighbor_builds() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace batchmd::model::detail
