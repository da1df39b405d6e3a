// SPDX-License-Identifier: Apache-2.0
// data/schema: the standard fields, the table of atomic weights and the element symbols.
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
  // IUPAC 2016 standard atomic weights (conventional values where IUPAC gives an interval), and
  // for elements without a standard weight the mass of the longest-lived isotope: the values of
  // ASE's ase.data.atomic_masses, so that masses, and velocities ASE stores as momenta, agree.
  static constexpr std::array<double, 119> kMass = {
      0.0,          1.008,        4.002602,    6.94,      9.0121831,  10.81,     12.011,       14.007,     15.999,
      18.998403163, 20.1797,      22.98976928, 24.305,    26.9815385, 28.085,    30.973761998, 32.06,      35.45,
      39.948,       39.0983,      40.078,      44.955908, 47.867,     50.9415,   51.9961,      54.938044,  55.845,
      58.933194,    58.6934,      63.546,      65.38,     69.723,     72.63,     74.921595,    78.971,     79.904,
      83.798,       85.4678,      87.62,       88.90584,  91.224,     92.90637,  95.95,        97.90721,   101.07,
      102.9055,     106.42,       107.8682,    112.414,   114.818,    118.71,    121.76,       127.6,      126.90447,
      131.293,      132.90545196, 137.327,     138.90547, 140.116,    140.90766, 144.242,      144.91276,  150.36,
      151.964,      157.25,       158.92535,   162.5,     164.93033,  167.259,   168.93422,    173.054,    174.9668,
      178.49,       180.94788,    183.84,      186.207,   190.23,     192.217,   195.084,      196.966569, 200.592,
      204.38,       207.2,        208.9804,    208.98243, 209.98715,  222.01758, 223.01974,    226.02541,  227.02775,
      232.0377,     231.03588,    238.02891,   237.04817, 244.06421,  243.06138, 247.07035,    247.07031,  251.07959,
      252.083,      257.09511,    258.09843,   259.101,   262.11,     267.122,   268.126,      271.134,    270.133,
      269.1338,     278.156,      281.165,     281.166,   285.177,    286.182,   289.19,       289.194,    293.204,
      293.208,      294.214};
  if (z < 1 || z >= static_cast<std::int64_t>(kMass.size()))
    throw InvalidArgument("no standard atomic weight for atomic number " + std::to_string(z) +
                          " (table covers 1..118); set masses explicitly");
  return kMass[static_cast<std::size_t>(z)];
}

namespace {
constexpr std::array<std::string_view, 119> kSymbols = {
    "X",  "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne", "Na", "Mg", "Al", "Si", "P",  "S",
    "Cl", "Ar", "K",  "Ca", "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As",
    "Se", "Br", "Kr", "Rb", "Sr", "Y",  "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn",
    "Sb", "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho",
    "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W",  "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po",
    "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U",  "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md",
    "No", "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og"};
}  // namespace

std::string_view element_symbol(std::int64_t z) {
  if (z < 1 || z >= static_cast<std::int64_t>(kSymbols.size()))
    throw InvalidArgument("no element has atomic number " + std::to_string(z) + " (known: 1..118)");
  return kSymbols[static_cast<std::size_t>(z)];
}

std::string element_label(std::int64_t z) {
  if (z < 1 || z >= static_cast<std::int64_t>(kSymbols.size())) return "Z=" + std::to_string(z);
  return std::string(kSymbols[static_cast<std::size_t>(z)]);
}

std::optional<std::int64_t> find_atomic_number(std::string_view symbol) {
  if (symbol.empty() || symbol.size() > 2) return std::nullopt;
  // Normalise the case (first letter upper, second lower) so "CU" and "cu" both mean Cu.
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  auto upper = [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; };
  char buf[2] = {upper(symbol[0]), symbol.size() == 2 ? lower(symbol[1]) : '\0'};
  const std::string_view s(buf, symbol.size());
  for (std::size_t z = 1; z < kSymbols.size(); ++z)
    if (kSymbols[z] == s) return static_cast<std::int64_t>(z);
  return std::nullopt;
}

std::int64_t atomic_number(std::string_view symbol) {
  if (auto z = find_atomic_number(symbol)) return *z;
  throw InvalidArgument("unknown element '" + std::string(symbol) + "' (expected a symbol such as Cu or Si)");
}

}  // namespace batchmd
