// model/elements: chemical element symbols <-> atomic numbers (H..Og), for potential files and
// job files that name elements by symbol.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace batchmd::model {

/// Atomic number of an element symbol ("W" -> 74; case-sensitive as written in the periodic
/// table); 0 when the symbol is not an element.
std::int64_t atomic_number_of(std::string_view symbol) noexcept;
/// Symbol of atomic number z (1..118); "Z<z>" outside the table.
std::string element_symbol(std::int64_t z);

}  // namespace batchmd::model
