// SPDX-License-Identifier: Apache-2.0
// model/sw_gpu (internal): Stillinger–Weber for a batch that lives on a GPU, and the species
// mapping the CPU and GPU paths share. This header needs no CUDA; the implementation
// (sw_gpu.cpp + sw_gpu.cu) exists in builds with the CUDA backend, sw_gpu_stub.cpp stands in
// otherwise.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "batchmd/model/stillinger_weber.hpp"

namespace batchmd::model::detail {

/// The model species (index into p.elements) of every atom. Throws InvalidArgument naming system,
/// atom and element for an atom whose element the model does not cover.
std::vector<std::int32_t> sw_species(const SWParams& p, const Batch& batch, const std::int64_t* z);

class SWGpu {
 public:
  explicit SWGpu(const SWConfig& config);
  ~SWGpu();
  SWGpu(const SWGpu&) = delete;
  SWGpu& operator=(const SWGpu&) = delete;
  /// Writes energy, forces (and virial, stress) of a GPU batch (the fields exist).
  void compute(Batch& batch, const std::vector<std::int32_t>& species, bool compute_stress);
  std::int64_t neighbor_builds() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace batchmd::model::detail
