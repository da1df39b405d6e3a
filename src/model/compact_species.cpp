// SPDX-License-Identifier: Apache-2.0
// model/compact_species: the batch's elements as compact species (see compact_species.hpp).
#include "compact_species.hpp"

#include <string>

#include "batchmd/core/error.hpp"

namespace batchmd::model::detail {

CompactSpecies compact_species(const char* model, const Batch& batch, const std::int64_t* z) {
  CompactSpecies out;
  out.index.fill(-1);
  const std::int64_t na = batch.n_atoms();
  out.atom.resize(static_cast<std::size_t>(na));
  const std::int64_t* ptr = batch.atoms_ptr_data();
  std::int64_t s = 0;
  for (std::int64_t a = 0; a < na; ++a) {
    while (ptr[s + 1] <= a) ++s;
    const std::int64_t za = z[a];
    if (za < 1 || za > 118)
      throw InvalidArgument(std::string(model) + ": atom " + std::to_string(a - ptr[s]) + " of system " +
                            std::to_string(s) + " has atomic number " + std::to_string(za) + ", outside 1..118");
    auto& slot = out.index[static_cast<std::size_t>(za)];
    if (slot < 0) {
      slot = static_cast<std::int32_t>(out.z.size());
      out.z.push_back(za);
    }
    out.atom[static_cast<std::size_t>(a)] = slot;
  }
  return out;
}

}  // namespace batchmd::model::detail
