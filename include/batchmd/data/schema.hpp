// SPDX-License-Identifier: Apache-2.0
// data/schema: field levels and the standard fields of an atomic system (names, levels,
// dtypes, trailing shapes, units), shared by batches, sinks and the trajectory format.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "batchmd/core/tensor.hpp"

namespace batchmd {

/// Which axis a field's leading dimension runs along.
enum class Level { Atom, Edge, System };

std::string_view level_name(Level l);  // "atom", "edge", "system"
Level level_from_name(std::string_view s);

/// A standard field: dtype is either fixed (ints, bools) or "the batch's float dtype".
struct FieldSpec {
  std::string_view name;
  Level level;
  bool floating;           // true: float32/float64 following the batch; false: `dtype`
  DType dtype;             // used when !floating
  Shape trailing;          // per-row shape
  std::string_view units;  // for docs and file metadata
};

/// The standard field named `name`, if there is one.
std::optional<FieldSpec> standard_field(std::string_view name);
/// All standard fields, in schema order.
const std::vector<FieldSpec>& standard_fields();

/// Standard atomic weight (amu) of element Z (1..118; IUPAC 2016 as ASE has them, the mass of the
/// longest-lived isotope for elements without a standard weight); throws InvalidArgument beyond.
double atomic_mass(std::int64_t z);

/// Element symbol of atomic number z in 1..118 ("H" .. "Og"); throws InvalidArgument otherwise.
std::string_view element_symbol(std::int64_t z);
/// For messages: the symbol of z, or "Z=<z>" when z is no element (never throws).
std::string element_label(std::int64_t z);
/// Atomic number of an element symbol, in any letter case ("Cu", "cu", "CU"), or nullopt for
/// anything that is not one of the 118 elements.
std::optional<std::int64_t> find_atomic_number(std::string_view symbol);
/// As find_atomic_number, but throws InvalidArgument naming the symbol.
std::int64_t atomic_number(std::string_view symbol);

}  // namespace batchmd
