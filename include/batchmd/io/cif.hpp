// SPDX-License-Identifier: Apache-2.0
// io/cif: crystallographic information files through gemmi: every data block with atom sites
// becomes one periodic system, expanded by its space group's symmetry to the full unit cell.
#pragma once
#include <string_view>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "batchmd/io/options.hpp"

namespace batchmd::io {

/// Whether this build reads CIF (gemmi and PEGTL were found at configure time).
bool cif_supported();

/// The selected data blocks of a CIF text. Sites with partial occupancy are an error (batchmd
/// needs one definite structure); symmetry copies closer than 1e-3 Å (in fractional terms,
/// wrapped into the cell) are merged.
std::vector<AtomicData> read_cif(std::string_view text, const ReadOptions& opts, std::string_view source);

}  // namespace batchmd::io
