// SPDX-License-Identifier: Apache-2.0
// model/morse_gpu (internal): Morse for a batch that lives on a GPU, and the species mapping and
// coefficient table the CPU and GPU paths share. This header needs no CUDA; the implementation
// (morse_gpu.cpp + morse_gpu.cu) exists in builds with the CUDA backend, morse_gpu_stub.cpp
// stands in otherwise.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "batchmd/model/morse.hpp"

namespace batchmd::model::detail {

/// The elements present in a batch as compact species, and, per species pair, the index of its
/// MorsePair in the config.
struct MorseSpecies {
  std::vector<std::int64_t> z;     ///< atomic number of each species
  std::vector<std::int32_t> atom;  ///< [n_atoms] species of each atom
  std::vector<std::int32_t> pair;  ///< [n^2] index into MorseConfig::pairs
  std::vector<double> cutoff;      ///< [n^2] Å
};
/// Throws InvalidArgument for an atomic number outside 1..118 (naming system and atom) and for
/// two elements present in the batch with no pair entry (naming them).
MorseSpecies morse_species(const MorseConfig& cfg, const Batch& batch, const std::int64_t* z);
/// The largest pair cutoff of the config (Å; 0 for no pairs): the model's range and the list's.
double max_cutoff(const MorseConfig& cfg);

class MorseGpu {
 public:
  explicit MorseGpu(const MorseConfig& config);
  ~MorseGpu();
  MorseGpu(const MorseGpu&) = delete;
  MorseGpu& operator=(const MorseGpu&) = delete;
  /// Writes energy, forces (and virial, stress) of a GPU batch (the fields exist).
  void compute(Batch& batch, const MorseSpecies& species, bool compute_stress);
  std::int64_t neighbor_builds() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace batchmd::model::detail
