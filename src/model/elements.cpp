// model/elements: the periodic table's symbols.
#include "batchmd/model/elements.hpp"

#include <array>

namespace batchmd::model {

namespace {
constexpr std::array<std::string_view, 119> kSymbols = {
    "",   "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne", "Na", "Mg", "Al", "Si", "P",  "S",
    "Cl", "Ar", "K",  "Ca", "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As",
    "Se", "Br", "Kr", "Rb", "Sr", "Y",  "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn",
    "Sb", "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho",
    "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W",  "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po",
    "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U",  "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md",
    "No", "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og"};
}  // namespace

std::int64_t atomic_number_of(std::string_view symbol) noexcept {
  if (symbol.empty()) return 0;
  for (std::size_t z = 1; z < kSymbols.size(); ++z)
    if (kSymbols[z] == symbol) return static_cast<std::int64_t>(z);
  return 0;
}

std::string element_symbol(std::int64_t z) {
  if (z >= 1 && z < static_cast<std::int64_t>(kSymbols.size()))
    return std::string(kSymbols[static_cast<std::size_t>(z)]);
  std::string s = std::to_string(z);
  s.insert(s.begin(), 'Z');
  return s;
}

}  // namespace batchmd::model
