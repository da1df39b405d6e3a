// data/schema: the standard fields and the table of atomic weights.
#include "batchmd/data/schema.hpp"

#include <array>

#include "batchmd/core/error.hpp"

namespace batchmd {

std::string_view level_name(Level l) {
  switch (l) {
    case Level::Atom:
      return "atom";
    case Level::Edge:
      return "edge";
    case Level::System:
      return "system";
  }
  return "?";
}

Level level_from_name(std::string_view s) {
  if (s == "atom") return Level::Atom;
  if (s == "edge") return Level::Edge;
  if (s == "system") return Level::System;
  throw InvalidArgument("unknown field level '" + std::string(s) + "' (expected atom, edge or system)");
}

const std::vector<FieldSpec>& standard_fields() {
  static const std::vector<FieldSpec> specs = {
      {"positions", Level::Atom, true, DType::Float64, {3}, "Å"},
      {"atomic_numbers", Level::Atom, false, DType::Int64, {}, ""},
      {"masses", Level::Atom, true, DType::Float64, {}, "amu"},
      {"velocities", Level::Atom, true, DType::Float64, {3}, "Å/fs"},
      {"forces", Level::Atom, true, DType::Float64, {3}, "eV/Å"},
      {"charges", Level::Atom, true, DType::Float64, {}, "e"},
      {"energy", Level::System, true, DType::Float64, {}, "eV"},
      {"stress", Level::System, true, DType::Float64, {3, 3}, "eV/Å^3"},
      {"virial", Level::System, true, DType::Float64, {3, 3}, "eV"},
      {"cell", Level::System, true, DType::Float64, {3, 3}, "Å"},
      {"pbc", Level::System, false, DType::Bool, {3}, ""},
      {"step", Level::System, false, DType::Int64, {}, ""},
      {"system_id", Level::System, false, DType::Int64, {}, ""},
      {"status", Level::System, false, DType::Int32, {}, ""},
      {"edge_index", Level::Edge, false, DType::Int64, {2}, ""},
  };
  return specs;
}

std::optional<FieldSpec> standard_field(std::string_view name) {
  for (const auto& s : standard_fields())
    if (s.name == name) return s;
  return std::nullopt;
}

double atomic_mass(std::int64_t z) {
  // IUPAC conventional standard atomic weights, H..Xe.
  static constexpr std::array<double, 55> kMass = {
      0.0,    1.008,  4.0026, 6.94,   9.0122, 10.81,  12.011, 14.007, 15.999, 18.998, 20.180, 22.990, 24.305, 26.982,
      28.085, 30.974, 32.06,  35.45,  39.948, 39.098, 40.078, 44.956, 47.867, 50.942, 51.996, 54.938, 55.845, 58.933,
      58.693, 63.546, 65.38,  69.723, 72.630, 74.922, 78.971, 79.904, 83.798, 85.468, 87.62,  88.906, 91.224, 92.906,
      95.95,  97.907, 101.07, 102.91, 106.42, 107.87, 112.41, 114.82, 118.71, 121.76, 127.60, 126.90, 131.29};
  if (z < 1 || z >= static_cast<std::int64_t>(kMass.size()))
    throw InvalidArgument("no standard atomic weight for atomic number " + std::to_string(z) +
                          " (table covers 1..54); set masses explicitly");
  return kMass[static_cast<std::size_t>(z)];
}

}  // namespace batchmd
