// SPDX-License-Identifier: Apache-2.0
// model/zbl_gpu (internal): ZBL for a batch that lives on a GPU, and the species mapping the CPU
// and GPU paths share. This header needs no CUDA; the implementation (zbl_gpu.cpp + zbl_gpu.cu)
// exists in builds with the CUDA backend, zbl_gpu_stub.cpp stands in otherwise.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "batchmd/model/zbl.hpp"

namespace batchmd::model::detail {

/// The elements present in a batch as compact species, and the pair cutoffs between them.
struct ZBLSpecies {
  std::vector<std::int64_t> z;     ///< atomic number of each species
  std::vector<std::int32_t> atom;  ///< [n_atoms] species of each atom
  std::vector<double> cutoff;      ///< [n^2] outer cutoff (Å), 0 for pairs the config excludes
};
/// Throws InvalidArgument for an atomic number outside 1..118 (naming system and atom).
ZBLSpecies zbl_species(const ZBLConfig& cfg, const Batch& batch, const std::int64_t* z);

class ZBLGpu {
 public:
  explicit ZBLGpu(const ZBLConfig& config);
  ~ZBLGpu();
  ZBLGpu(const ZBLGpu&) = delete;
  ZBLGpu& operator=(const ZBLGpu&) = delete;
  /// Writes energy, forces (and virial, stress) of a GPU batch (the fields exist).
  void compute(Batch& batch, const ZBLSpecies& species, bool compute_stress);
  std::int64_t neighbor_builds() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace batchmd::model::detail
