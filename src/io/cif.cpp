// SPDX-License-Identifier: Apache-2.0
// io/cif: CIF as AtomicData. The gemmi side (parsing, symmetry expansion) is cif_gemmi.cpp, a
// translation unit of its own so that it compiles as C++17 where gemmi needs it (see there).
#include "batchmd/io/cif.hpp"

#include "cif_gemmi.hpp"
#include "system.hpp"

namespace batchmd::io {

bool cif_supported() { return true; }

std::vector<AtomicData> read_cif(std::string_view text, const ReadOptions& opts, std::string_view source) {
  const auto blocks =
      detail::read_cif_blocks(text, source, [&](std::int64_t n) { return opts.frames.resolve(n, source); });
  std::vector<AtomicData> out;
  for (const auto& b : blocks) {
    detail::SystemParts parts;
    parts.cell = b.cell;
    parts.pbc = {true, true, true};
    parts.positions = b.positions;
    parts.numbers = b.numbers;
    out.push_back(
        detail::build_system(parts, opts.float_dtype, std::string(source) + ": data block '" + b.block + "'"));
  }
  return out;
}

}  // namespace batchmd::io
