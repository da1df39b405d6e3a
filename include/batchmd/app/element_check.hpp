// SPDX-License-Identifier: Apache-2.0
// app/element_check: refusing, before a run starts, a batch holding an element the potential
// cannot evaluate — with the element, the potential's elements and the structure that holds it
// named (a [[structures]] file and frame, a generator table, or a system of a restart store).
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "batchmd/app/config.hpp"
#include "batchmd/data/batch.hpp"
#include "batchmd/model/model.hpp"

namespace batchmd::app {

/// The atomic numbers `m` evaluates (an atom of another element makes its compute() throw);
/// nullopt when it takes every element: m.covered_elements(). SNAP: the elements of its
/// coefficient file (unless an element-pair restriction makes it skip the others); Lennard-Jones
/// and ZBL: every element; a sum: the elements every term takes.
std::optional<std::vector<std::int64_t>> model_elements(const model::Model& m);

/// Throws InvalidArgument naming the first atom's element that `m` does not evaluate, the
/// model's elements and the system holding it: its table in `cfg` (with file and frame for
/// [[structures]]) when the batch was built from cfg, else its system index. `batch` may live on
/// a GPU (atomic numbers are copied to the host).
void check_model_elements(const Batch& batch, const model::Model& m, const RunConfig& cfg, bool built_from_cfg);

}  // namespace batchmd::app
