// SPDX-License-Identifier: Apache-2.0
// model/sum_model: a sum of models — E = sum_k E_k, F = sum_k F_k, W = sum_k W_k — the
// counterpart of LAMMPS's `pair_style hybrid/overlay`. Each term may act on a subset of element
// pairs through its own configuration (ZBLConfig::pairs, SNAPConfig::pairs, ...), so e.g. the
// ZBL core repulsion of a SNAP file applies to the pairs the file names and SNAP to the rest.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "batchmd/model/model.hpp"

namespace batchmd::model {

class SumModel : public Model {
 public:
  /// At least one term, none null (InvalidArgument otherwise). Terms may be shared with others.
  explicit SumModel(std::vector<std::shared_ptr<Model>> terms);
  ~SumModel() override;
  /// "zbl+snap": the terms' names joined by '+'.
  std::string name() const override;
  /// Calls every term on the batch (CPU or GPU) and leaves the sums in energy, forces and, with
  /// compute_stress, virial and stress. A term that throws leaves the fields undefined.
  void compute(Batch& batch, bool compute_stress = false) override;
  /// The largest cutoff of the terms (Å).
  double cutoff() const override;
  /// The terms' states, concatenated with their lengths (empty when every term is stateless).
  std::vector<double> state() const override;
  void restore_state(const Batch& batch, std::span<const double> state) override;
  /// The terms' builds added up.
  std::int64_t neighbor_builds() const override;
  /// The elements every term takes (a term with nullopt takes all); nullopt when every term does.
  std::optional<std::vector<std::int64_t>> covered_elements() const override;
  const std::vector<std::shared_ptr<Model>>& terms() const noexcept { return terms_; }

 private:
  std::vector<std::shared_ptr<Model>> terms_;
  struct Acc;
  std::unique_ptr<Acc> acc_;
};

}  // namespace batchmd::model
