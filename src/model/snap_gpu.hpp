// SPDX-License-Identifier: Apache-2.0
// model/snap_gpu (internal): SNAP for a batch that lives on a GPU. This header needs no CUDA; the
// implementation (snap_gpu.cpp host logic + snap_gpu.cu kernels) exists in builds with the CUDA
// backend, snap_gpu_stub.cpp stands in otherwise (where no batch can be on a GPU).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "snap_cpu.hpp"

namespace batchmd::model::detail {

class SnapGpu {
 public:
  /// tables: the model (copied to the device once); skin: Verlet skin (Å).
  SnapGpu(const SnapTables& tables, double skin);
  ~SnapGpu();
  SnapGpu(const SnapGpu&) = delete;
  SnapGpu& operator=(const SnapGpu&) = delete;
  /// Writes "energy", "forces" and, with compute_stress, "virial" and "stress" (the fields
  /// exist) of a GPU batch; species: per atom (host), the model's element index or -1.
  /// Synchronises once per call (positions come to the host for the neighbor list).
  void compute(Batch& batch, const std::vector<std::int32_t>& species, bool compute_stress);
  std::int64_t neighbor_builds() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace batchmd::model::detail
