// SPDX-License-Identifier: Apache-2.0
// io/cif_gemmi: CIF through gemmi (header-only in Debian's gemmi-dev; its parser is PEGTL). gemmi
// parses the file and gives cell, sites and elements (make_small_structure_from_block); the
// symmetry expansion is done here because gemmi's small-structure helper only knows H-M names:
// the operations come from the block's symop list (_space_group_symop_operation_xyz or
// _symmetry_equiv_pos_as_xyz), else its Hall symbol, else its H-M name, else its space-group
// number, else P1. Every site is mapped by every operation, wrapped into [0, 1) and merged with
// copies closer than kMergeTol (sites on special positions; coordinates rounded in the file).
// The cell follows ASE's convention: a along x, b in the xy plane.
#define USE_STD_SNPRINTF  // gemmi's bundled stb_sprintf is stripped from Debian's package
#include "cif_gemmi.hpp"

#include <algorithm>
#include <cmath>
#include <gemmi/cif.hpp>
#include <gemmi/smcif.hpp>
#include <gemmi/symmetry.hpp>

#include "batchmd/core/error.hpp"
#include "text.hpp"

namespace batchmd::io::detail {
namespace {

constexpr double kPi = 3.14159265358979323846;
using Mat3 = std::array<double, 9>;

double det3(const Mat3& m) {
  return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
}

constexpr double kMergeTol = 0.1;  // Å: symmetry copies closer than this are one atom

// "source:line: data block 'x': what" (without the line when none is known, e.g. a missing tag).
[[noreturn]] void fail(std::string_view source, const std::string& block, const std::string& what, int line = -1) {
  throw FormatError(std::string(source) + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": data block '" +
                    block + "': " + what);
}

// The line of the first of `tags` the block has (as a pair, or the loop holding it); -1 if none.
int line_of(const gemmi::cif::Block& b, std::initializer_list<const char*> tags) {
  for (const char* t : tags) {
    if (const gemmi::cif::Item* i = b.find_pair_item(t)) return i->line_number;
    if (const gemmi::cif::Item* i = b.find_loop_item(t)) return i->line_number;
  }
  return -1;
}

// Symmetry operations hold small numbers (1/2, 2/3, -1); gemmi's parse_triplet multiplies what
// strtol gives without a check, so a long number would overflow inside it (undefined behaviour,
// found by fuzzing): such operations are refused before gemmi sees them.
constexpr std::size_t kMaxOpDigits = 6;
bool has_long_number(const std::string& op) {
  std::size_t run = 0;
  for (char c : op) {
    run = (c >= '0' && c <= '9') ? run + 1 : 0;
    if (run > kMaxOpDigits) return true;
  }
  return false;
}

std::string value_of(gemmi::cif::Block& b, std::initializer_list<const char*> tags) {
  for (const char* t : tags)
    if (const std::string* v = b.find_value(t)) {
      if (!gemmi::cif::is_null(*v)) return gemmi::cif::as_string(*v);
    }
  return "";
}

/// The block's symmetry operations (identity first), as described in the file header comment.
std::vector<gemmi::Op> symmetry_ops(gemmi::cif::Block& b, std::string_view source) {
  std::vector<gemmi::Op> ops;
  for (const char* tag : {"_space_group_symop_operation_xyz", "_symmetry_equiv_pos_as_xyz"}) {
    gemmi::cif::Column col = b.find_values(tag);
    if (!col.item()) continue;
    for (const std::string& v : col) {
      const std::string op = gemmi::cif::as_string(v);
      if (has_long_number(op))
        fail(source, b.name,
             std::string(tag) + " " + quote(op) + " is not a symmetry operation: a number with more than " +
                 std::to_string(kMaxOpDigits) + " digits",
             col.item()->line_number);
      try {
        ops.push_back(gemmi::parse_triplet(op));
      } catch (const std::exception& e) {
        fail(source, b.name,
             std::string(tag) + " " + quote(gemmi::cif::as_string(v)) + " is not a symmetry operation: " + e.what(),
             col.item()->line_number);
      }
    }
    if (!ops.empty()) return ops;
  }
  try {
    const std::string hall = value_of(b, {"_space_group_name_Hall", "_symmetry_space_group_name_Hall"});
    if (!hall.empty()) {
      for (const gemmi::Op& op : gemmi::symops_from_hall(hall.c_str())) ops.push_back(op);
      return ops;
    }
  } catch (const std::exception& e) {
    fail(source, b.name, std::string("cannot read the Hall symbol: ") + e.what(),
         line_of(b, {"_space_group_name_Hall", "_symmetry_space_group_name_Hall"}));
  }
  const std::string hm = value_of(b, {"_space_group_name_H-M_alt", "_symmetry_space_group_name_H-M"});
  const std::string number = value_of(b, {"_space_group_IT_number", "_symmetry_Int_Tables_number"});
  const gemmi::SpaceGroup* sg = nullptr;
  if (!hm.empty()) {
    sg = gemmi::find_spacegroup_by_name(hm);
    if (!sg)
      fail(source, b.name, "unknown space group " + quote(hm),
           line_of(b, {"_space_group_name_H-M_alt", "_symmetry_space_group_name_H-M"}));
  } else if (!number.empty()) {
    const auto n = to_int(number);
    if (!n || *n < 1 || *n > 230)
      fail(source, b.name, "space group number " + quote(number) + " is not 1..230",
           line_of(b, {"_space_group_IT_number", "_symmetry_Int_Tables_number"}));
    sg = gemmi::find_spacegroup_by_number(static_cast<int>(*n));
  }
  if (sg) {
    for (const gemmi::Op& op : sg->operations()) ops.push_back(op);
    return ops;
  }
  ops.push_back(gemmi::Op::identity());  // no symmetry given: P1
  return ops;
}

/// Cell rows a, b, c from lengths (Å) and angles (degrees), a along x and b in the xy plane.
Mat3 cell_from_parameters(double a, double b, double c, double alpha, double beta, double gamma) {
  auto cosd = [](double deg) {
    if (deg == 90.0) return 0.0;  // exact right angles stay exact
    return std::cos(deg * kPi / 180.0);
  };
  auto sind = [](double deg) {
    if (deg == 90.0) return 1.0;
    return std::sin(deg * kPi / 180.0);
  };
  const double ca = cosd(alpha), cb = cosd(beta), cg = cosd(gamma), sg = sind(gamma);
  const double cy = (ca - cb * cg) / sg;
  const double cz2 = 1.0 - cb * cb - cy * cy;
  return {a, 0, 0, b * cg, b * sg, 0, c * cb, c * cy, c * std::sqrt(std::max(cz2, 0.0))};
}

CifStructure read_block(gemmi::cif::Block& block, std::string_view source) {
  double par[6];
  const char* tags[6] = {"_cell_length_a",    "_cell_length_b",   "_cell_length_c",
                         "_cell_angle_alpha", "_cell_angle_beta", "_cell_angle_gamma"};
  for (int i = 0; i < 6; ++i) {
    const std::string* v = block.find_value(tags[i]);
    par[i] = v ? gemmi::cif::as_number(*v) : (i >= 3 ? 90.0 : NAN);
    if (!std::isfinite(par[i]) || par[i] <= 0 || (i >= 3 && par[i] >= 180))
      fail(source, block.name, std::string(tags[i]) + (v ? " is " + quote(*v) + ", not a valid value" : " is missing"),
           v ? line_of(block, {tags[i]}) : -1);
  }
  CifStructure parts;
  parts.block = block.name;
  parts.cell = cell_from_parameters(par[0], par[1], par[2], par[3], par[4], par[5]);
  if (!(det3(parts.cell) > 0))
    fail(source, block.name, "the cell parameters give no volume", line_of(block, {"_cell_length_a"}));
  const std::vector<gemmi::Op> ops = symmetry_ops(block, source);
  // The cell was checked above; gemmi may still refuse what it reads (std::runtime_error).
  gemmi::SmallStructure st;
  try {
    st = gemmi::make_small_structure_from_block(block);
  } catch (const std::exception& e) {
    fail(source, block.name, e.what());
  }

  struct Placed {
    std::array<double, 3> frac;
    std::int64_t z;
    std::string label;
  };
  std::vector<Placed> atoms;
  auto cart = [&](const std::array<double, 3>& f) {
    std::array<double, 3> r{};
    for (int i = 0; i < 3; ++i)
      for (int k = 0; k < 3; ++k)
        r[static_cast<std::size_t>(k)] +=
            f[static_cast<std::size_t>(i)] * parts.cell[static_cast<std::size_t>(3 * i + k)];
    return r;
  };
  auto distance = [&](const std::array<double, 3>& f1, const std::array<double, 3>& f2) {
    std::array<double, 3> d{};
    for (int k = 0; k < 3; ++k) {
      double x = f1[static_cast<std::size_t>(k)] - f2[static_cast<std::size_t>(k)];
      d[static_cast<std::size_t>(k)] = x - std::round(x);
    }
    // The nearest image in fractional terms is not always the nearest in a skewed cell; try the
    // neighbours too.
    double best = INFINITY;
    for (int i = -1; i <= 1; ++i)
      for (int j = -1; j <= 1; ++j)
        for (int k = -1; k <= 1; ++k) {
          const auto r = cart({d[0] + i, d[1] + j, d[2] + k});
          best = std::min(best, std::sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]));
        }
    return best;
  };
  const int sites_line = line_of(block, {"_atom_site_fract_x", "_atom_site_label"});
  if (st.sites.empty()) fail(source, block.name, "no atom sites", sites_line);
  for (const auto& site : st.sites) {
    const std::array<double, 3> f0{site.fract.x, site.fract.y, site.fract.z};
    if (!std::isfinite(f0[0]) || !std::isfinite(f0[1]) || !std::isfinite(f0[2]))
      fail(source, block.name, "site '" + site.label + "' has no (or no valid) fractional coordinates", sites_line);
    if (site.element == gemmi::El::X)
      fail(source, block.name, "site '" + site.label + "' is of unknown element " + quote(site.type_symbol),
           sites_line);
    if (!(std::abs(site.occ - 1.0) <= 0.01))
      fail(source, block.name,
           "site '" + site.label + "' has occupancy " + std::to_string(site.occ) +
               "; batchmd needs an ordered structure (every occupancy 1)",
           sites_line);
    const std::int64_t z = site.element.atomic_number();
    for (const gemmi::Op& op : ops) {
      std::array<double, 3> f = op.apply_to_xyz(f0);
      for (double& x : f) {
        x -= std::floor(x);
        if (x >= 1.0) x = 0.0;  // -1e-17 wraps to 1.0 in floating point
      }
      bool merged = false;
      for (const auto& a : atoms)
        if (distance(a.frac, f) < kMergeTol) {
          if (a.z != z)
            fail(source, block.name,
                 "sites '" + a.label + "' and '" + site.label + "' (different elements) fall on the same position",
                 sites_line);
          merged = true;
          break;
        }
      if (!merged) atoms.push_back({f, z, site.label});
    }
  }
  for (const auto& a : atoms) {
    const auto r = cart(a.frac);
    parts.positions.insert(parts.positions.end(), r.begin(), r.end());
    parts.numbers.push_back(a.z);
  }
  return parts;
}

}  // namespace

std::vector<CifStructure> read_cif_blocks(std::string_view text, std::string_view source,
                                          const std::function<std::vector<std::int64_t>(std::int64_t)>& select) {
  gemmi::cif::Document doc;
  const std::string name(source);
  try {
    doc = gemmi::cif::read_memory(text.data(), text.size(), name.c_str());
  } catch (const std::exception& e) {
    // PEGTL's messages start with "source:line:column".
    throw FormatError(std::string(e.what()) + " (not a valid CIF file)");
  }
  std::vector<gemmi::cif::Block*> blocks;
  for (auto& b : doc.blocks)
    if (b.find_values("_atom_site_fract_x").item() || b.find_values("_atom_site_label").item()) blocks.push_back(&b);
  if (blocks.empty()) throw FormatError(name + ": no data block with atom sites (is this a CIF file?)");
  std::vector<CifStructure> out;
  for (std::int64_t i : select(static_cast<std::int64_t>(blocks.size())))
    out.push_back(read_block(*blocks[static_cast<std::size_t>(i)], source));
  return out;
}

}  // namespace batchmd::io::detail
