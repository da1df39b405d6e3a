// SPDX-License-Identifier: Apache-2.0
// model/compact_species: maps a batch's atomic numbers to the elements present in it (compact
// species 0..n-1, in order of first appearance), the first step of every per-element-pair model
// (Morse, ZBL): their pair tables are then n×n instead of 118×118.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "batchmd/data/batch.hpp"

namespace batchmd::model::detail {

struct CompactSpecies {
  std::vector<std::int64_t> z;            ///< atomic number of each species
  std::vector<std::int32_t> atom;         ///< [n_atoms] species of each atom
  std::array<std::int32_t, 119> index{};  ///< species of atomic number Z, -1 when absent
};

/// z: [n_atoms] atomic numbers of batch. Throws InvalidArgument for an atomic number outside
/// 1..118, naming `model`, the system and the atom.
CompactSpecies compact_species(const char* model, const Batch& batch, const std::int64_t* z);

}  // namespace batchmd::model::detail
