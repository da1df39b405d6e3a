// SPDX-License-Identifier: Apache-2.0
// io/cif_gemmi (internal): the part of the CIF reader that touches gemmi — parsing, cell,
// sites, symmetry expansion — giving plain numbers. It is its own translation unit with no
// batchmd data headers so that it also compiles as C++17: clang before 16 cannot compile gemmi's
// headers against libstdc++ 12 in C++20 (constexpr std::vector of an incomplete type), and the
// fuzz preset (clang-14) builds it that way (src/io/CMakeLists.txt).
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace batchmd::io::detail {

/// One data block expanded to its full cell: Cartesian positions (Å), atomic numbers, cell rows.
struct CifStructure {
  std::string block;                  // the data block's name
  std::array<double, 9> cell{};       // rows a, b, c (Å); a along x, b in the xy plane
  std::vector<double> positions;      // [n][3]
  std::vector<std::int64_t> numbers;  // [n]
};

/// Parses a CIF text and expands the data blocks with atom sites that `select` picks from their
/// count (indices into them, in the order to return). FormatError names `source` (and the line
/// for syntax errors, the data block otherwise).
std::vector<CifStructure> read_cif_blocks(std::string_view text, std::string_view source,
                                          const std::function<std::vector<std::int64_t>(std::int64_t)>& select);

}  // namespace batchmd::io::detail
