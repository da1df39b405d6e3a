// SPDX-License-Identifier: Apache-2.0
// io/lammps_data_read: the LAMMPS data file reader (metal units). The header gives counts and the
// box; sections are read by their counts (Masses: one line per type, Atoms and Velocities: one
// per atom) and coefficient sections are skipped. Atoms are sorted by id, positions shifted so the
// box starts at the origin (batchmd's cell spans [0, a] x [0, b] x [0, c]); velocities convert from
// Å/ps to Å/fs. LAMMPS data files carry no boundary conditions: systems read are periodic in all
// three directions. Type -> element: ReadOptions::elements, else "# Cu" comments in Masses, else
// the element whose standard weight is within 0.1 amu of the type's mass (and no other is).
#include <algorithm>
#include <cmath>
#include <map>

#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"
#include "batchmd/io/lammps_data.hpp"
#include "system.hpp"
#include "text.hpp"

namespace batchmd::io {
namespace {

using detail::LineCursor;
using detail::quote;

constexpr const char* kSections[] = {"Atoms",
                                     "Velocities",
                                     "Masses",
                                     "Ellipsoids",
                                     "Lines",
                                     "Triangles",
                                     "Bodies",
                                     "Bonds",
                                     "Angles",
                                     "Dihedrals",
                                     "Impropers",
                                     "Pair Coeffs",
                                     "PairIJ Coeffs",
                                     "Bond Coeffs",
                                     "Angle Coeffs",
                                     "Dihedral Coeffs",
                                     "Improper Coeffs",
                                     "BondBond Coeffs",
                                     "BondAngle Coeffs",
                                     "MiddleBondTorsion Coeffs",
                                     "EndBondTorsion Coeffs",
                                     "AngleTorsion Coeffs",
                                     "AngleAngleTorsion Coeffs",
                                     "BondBond13 Coeffs",
                                     "AngleAngle Coeffs"};

/// A line without its '#' comment (the comment separately).
std::string_view strip_comment(std::string_view line, std::string_view* comment = nullptr) {
  const std::size_t h = line.find('#');
  if (comment) *comment = h == std::string_view::npos ? std::string_view() : detail::trim(line.substr(h + 1));
  return detail::trim(line.substr(0, h == std::string_view::npos ? line.size() : h));
}

/// The section a (comment-stripped) line names, or "".
std::string section_of(std::string_view content) {
  if (content.empty() || !std::isalpha(static_cast<unsigned char>(content[0]))) return "";
  // Collapse runs of whitespace so "Pair   Coeffs" matches.
  std::string norm;
  for (auto w : detail::split_ws(content)) {
    if (!norm.empty()) norm += ' ';
    norm += w;
  }
  return norm;
}

bool is_known_section(const std::string& s) {
  return std::find(std::begin(kSections), std::end(kSections), s) != std::end(kSections);
}

constexpr std::int64_t kMaxTypes = 1'000'000;

struct Header {
  std::int64_t atoms = -1, types = -1;
  double lo[3] = {-0.5, -0.5, -0.5}, hi[3] = {0.5, 0.5, 0.5};  // LAMMPS's defaults
  double xy = 0, xz = 0, yz = 0;
};

/// Reads header lines up to the first section keyword (left unread).
Header read_header(LineCursor& cur) {
  Header h;
  cur.next("the first (comment) line");
  while (true) {
    const auto peeked = cur.peek();
    if (!peeked) break;
    const std::string_view content = strip_comment(*peeked);
    if (content.empty()) {
      cur.try_next();
      continue;
    }
    if (!section_of(content).empty()) {
      // A line starting with a letter ends the header: it must name a section.
      if (is_known_section(section_of(content))) break;
      cur.try_next();
      cur.fail("unknown header line " + quote(content) + " (is this a LAMMPS data file?)");
    }
    cur.try_next();
    const auto toks = detail::split_ws(content);
    std::size_t nums = 0;
    while (nums < toks.size() && detail::to_double(toks[nums])) ++nums;
    std::string key;
    for (std::size_t i = nums; i < toks.size(); ++i) {
      if (!key.empty()) key += ' ';
      key += toks[i];
    }
    auto count = [&](std::string_view what) {
      if (nums != 1) cur.fail("expected one integer before '" + key + "'");
      const std::int64_t v = detail::parse_int(toks[0], cur, what);
      if (v < 0) cur.fail(std::string(what) + " must be >= 0, found " + std::to_string(v));
      return v;
    };
    auto reals = [&](std::size_t k) {
      if (nums != k) cur.fail("expected " + std::to_string(k) + " numbers before '" + key + "'");
      std::vector<double> v;
      for (std::size_t i = 0; i < k; ++i) v.push_back(detail::parse_double(toks[i], cur, "'" + key + "'"));
      return v;
    };
    if (key == "atoms") {
      h.atoms = count("the number of atoms");
    } else if (key == "atom types") {
      h.types = count("the number of atom types");
      if (h.types == 0) cur.fail("the file has 0 atom types");
      // Per-type tables are allocated from this count: a corrupt file must not ask for terabytes.
      if (h.types > kMaxTypes) cur.fail("the file has " + std::to_string(h.types) + " atom types (at most 1,000,000)");
    } else if (key == "xlo xhi" || key == "ylo yhi" || key == "zlo zhi") {
      const auto v = reals(2);
      const int k = key[0] - 'x';
      h.lo[k] = v[0];
      h.hi[k] = v[1];
      if (!(v[1] > v[0])) cur.fail("'" + key + "': the upper bound must be above the lower one");
    } else if (key == "xy xz yz") {
      const auto v = reals(3);
      h.xy = v[0];
      h.xz = v[1];
      h.yz = v[2];
    } else if (key == "bonds" || key == "angles" || key == "dihedrals" || key == "impropers" || key == "ellipsoids" ||
               key == "lines" || key == "triangles" || key == "bodies") {
      if (count(key) != 0)
        cur.fail("the file has " + std::string(toks[0]) + " " + key +
                 "; batchmd reads atom styles atomic and charge only");
    } else if (key == "bond types" || key == "angle types" || key == "dihedral types" || key == "improper types" ||
               key == "extra bond per atom" || key == "extra angle per atom" || key == "extra dihedral per atom" ||
               key == "extra improper per atom" || key == "extra special per atom") {
      (void)count(key);
    } else {
      cur.fail("unknown header line " + quote(content) + " (is this a LAMMPS data file?)");
    }
  }
  if (h.atoms < 0) detail::fail_at(cur.source(), 0, "the header has no 'atoms' line (is this a LAMMPS data file?)");
  if (h.types < 0) detail::fail_at(cur.source(), 0, "the header has no 'atom types' line");
  return h;
}

/// The next `n` non-blank lines of a section (comments kept for the caller).
std::vector<std::pair<std::string_view, std::int64_t>> section_lines(LineCursor& cur, std::int64_t n,
                                                                     const std::string& section) {
  std::vector<std::pair<std::string_view, std::int64_t>> lines;
  while (static_cast<std::int64_t>(lines.size()) < n) {
    const auto l = cur.try_next();
    if (!l)
      detail::fail_at(cur.source(), cur.line() + 1,
                      "unexpected end of file: the " + section + " section has " + std::to_string(lines.size()) +
                          " lines, expected " + std::to_string(n));
    const std::string_view content = strip_comment(*l);
    if (content.empty()) continue;
    const std::string s = section_of(content);
    if (!s.empty() && is_known_section(s))
      cur.fail("the " + section + " section ends after " + std::to_string(lines.size()) + " lines, expected " +
               std::to_string(n));
    lines.emplace_back(*l, cur.line());
  }
  return lines;
}

/// The element of a mass: the one element whose standard weight is within 0.1 amu.
std::optional<std::int64_t> element_of_mass(double m) {
  std::optional<std::int64_t> found;
  for (std::int64_t z = 1; z <= 118; ++z)
    if (std::abs(atomic_mass(z) - m) <= 0.1) {
      if (found) return std::nullopt;  // ambiguous
      found = z;
    }
  return found;
}

struct AtomLine {
  std::int64_t id, type;
  double q = 0, x[3];
  std::int64_t image[3] = {0, 0, 0};
  bool has_image = false;
  std::int64_t line;
};

}  // namespace

std::vector<AtomicData> read_lammps_data(std::string_view text, const ReadOptions& opts, std::string_view source) {
  LineCursor cur(text, source);
  const Header h = read_header(cur);
  const auto ntypes = static_cast<std::size_t>(h.types);

  std::vector<std::optional<double>> type_mass(ntypes);
  std::vector<std::optional<std::int64_t>> type_label(ntypes);  // from "# Cu" in Masses
  bool have_masses = false;
  std::vector<AtomLine> atoms;
  bool have_atoms = false, charge_style = false;
  std::map<std::int64_t, std::array<double, 3>> velocities;
  bool have_velocities = false;
  std::int64_t masses_line = 0;

  while (auto l = cur.try_next()) {
    std::string_view comment;
    const std::string_view content = strip_comment(*l, &comment);
    if (content.empty()) continue;
    const std::string section = section_of(content);
    if (section.empty() || !is_known_section(section))
      cur.fail("expected a section name (Masses, Atoms, Velocities, ...), found " + quote(content));
    if (section == "Masses") {
      if (have_masses) cur.fail("a second Masses section");
      have_masses = true;
      masses_line = cur.line();
      for (auto [line, no] : section_lines(cur, h.types, section)) {
        const LineCursor at = cur.at_line(no);
        std::string_view c;
        const auto toks = detail::split_ws(strip_comment(line, &c));
        if (toks.size() != 2) at.fail("a Masses line is 'type mass', found " + quote(line));
        const std::int64_t t = detail::parse_int(toks[0], at, "the atom type");
        if (t < 1 || t > h.types)
          at.fail("atom type " + std::to_string(t) + " is outside 1.." + std::to_string(h.types));
        if (type_mass[static_cast<std::size_t>(t - 1)]) at.fail("a second mass for atom type " + std::to_string(t));
        const double m = detail::parse_double(toks[1], at, "the mass");
        if (!(m > 0)) at.fail("the mass of atom type " + std::to_string(t) + " must be > 0");
        type_mass[static_cast<std::size_t>(t - 1)] = m;
        const auto words = detail::split_ws(c);
        if (!words.empty()) type_label[static_cast<std::size_t>(t - 1)] = find_atomic_number(words[0]);
      }
    } else if (section == "Atoms") {
      if (have_atoms) cur.fail("a second Atoms section");
      have_atoms = true;
      std::string style = comment.empty() ? "" : std::string(detail::split_ws(comment)[0]);
      if (!style.empty() && style != "atomic" && style != "charge")
        cur.fail("atom style '" + style + "' is not supported (batchmd reads atomic and charge)");
      for (auto [line, no] : section_lines(cur, h.atoms, section)) {
        const LineCursor at = cur.at_line(no);
        const auto toks = detail::split_ws(strip_comment(line));
        if (style.empty()) {
          if (toks.size() == 5 || toks.size() == 8)
            style = "atomic";
          else if (toks.size() == 6 || toks.size() == 9)
            style = "charge";
          else
            at.fail("an Atoms line of " + std::to_string(toks.size()) +
                    " values fits neither atom style atomic (id type x y z [ix iy iz]) nor charge (id type q x y z "
                    "[ix iy iz]); name the style with 'Atoms # atomic' or 'Atoms # charge'");
        }
        charge_style = style == "charge";
        const std::size_t base = style == "atomic" ? 5 : 6;
        if (toks.size() != base && toks.size() != base + 3)
          at.fail("an Atoms line of style " + style + " has " + std::to_string(base) + " or " +
                  std::to_string(base + 3) + " values (" +
                  (style == "atomic" ? "id type x y z [ix iy iz]" : "id type q x y z [ix iy iz]") + "), found " +
                  std::to_string(toks.size()));
        AtomLine a;
        a.line = no;
        a.id = detail::parse_int(toks[0], at, "the atom id");
        if (a.id < 1) at.fail("atom id " + std::to_string(a.id) + " must be >= 1");
        a.type = detail::parse_int(toks[1], at, "the atom type");
        if (a.type < 1 || a.type > h.types)
          at.fail("atom type " + std::to_string(a.type) + " is outside 1.." + std::to_string(h.types));
        if (style == "charge") a.q = detail::parse_double(toks[2], at, "the charge");
        for (int k = 0; k < 3; ++k)
          a.x[k] = detail::parse_double(toks[base - 3 + static_cast<std::size_t>(k)], at, "the position");
        if (toks.size() == base + 3) {
          a.has_image = true;
          for (int k = 0; k < 3; ++k)
            a.image[k] = detail::parse_int(toks[base + static_cast<std::size_t>(k)], at, "an image flag");
        }
        atoms.push_back(a);
      }
    } else if (section == "Velocities") {
      if (have_velocities) cur.fail("a second Velocities section");
      have_velocities = true;
      for (auto [line, no] : section_lines(cur, h.atoms, section)) {
        const LineCursor at = cur.at_line(no);
        const auto toks = detail::split_ws(strip_comment(line));
        if (toks.size() != 4) at.fail("a Velocities line is 'id vx vy vz', found " + quote(line));
        const std::int64_t id = detail::parse_int(toks[0], at, "the atom id");
        std::array<double, 3> v{};
        for (int k = 0; k < 3; ++k)
          v[static_cast<std::size_t>(k)] =
              detail::parse_double(toks[static_cast<std::size_t>(k) + 1], at, "a velocity");
        if (!velocities.emplace(id, v).second) at.fail("a second velocity for atom id " + std::to_string(id));
      }
    } else if (section.ends_with("Coeffs")) {
      // Force-field coefficients belong to the input script's pair style: skip to the next section.
      while (auto p = cur.peek()) {
        const std::string_view c = strip_comment(*p);
        if (!c.empty() && is_known_section(section_of(c))) break;
        cur.try_next();
      }
    } else {
      cur.fail("the " + section + " section is not supported (batchmd reads atom styles atomic and charge)");
    }
  }
  if (!have_atoms && h.atoms > 0) detail::fail_at(source, 0, "no Atoms section");

  // Atoms by id.
  std::sort(atoms.begin(), atoms.end(), [](const AtomLine& a, const AtomLine& b) { return a.id < b.id; });
  for (std::size_t i = 1; i < atoms.size(); ++i)
    if (atoms[i].id == atoms[i - 1].id)
      detail::fail_at(source, std::max(atoms[i].line, atoms[i - 1].line),
                      "atom id " + std::to_string(atoms[i].id) + " appears twice in Atoms");

  // Elements of types.
  std::vector<std::int64_t> type_z(ntypes, 0);
  if (!opts.elements.empty()) {
    if (opts.elements.size() != ntypes)
      throw InvalidArgument(std::string(source) + ": the file has " + std::to_string(ntypes) + " atom types but " +
                            std::to_string(opts.elements.size()) + " elements were given");
    for (std::size_t t = 0; t < ntypes; ++t) type_z[t] = atomic_number(opts.elements[t]);
  } else {
    const bool labelled = std::all_of(type_label.begin(), type_label.end(), [](auto& z) { return z.has_value(); });
    for (std::size_t t = 0; t < ntypes; ++t) {
      if (labelled) {
        type_z[t] = *type_label[t];
      } else if (type_mass[t]) {
        const auto z = element_of_mass(*type_mass[t]);
        if (!z) {
          std::string m;
          detail::append_double(m, *type_mass[t]);
          detail::fail_at(source, masses_line,
                          "cannot tell the element of atom type " + std::to_string(t + 1) + " from its mass " + m +
                              " (no element, or more than one, within 0.1 amu): give the elements of the types");
        }
        type_z[t] = *z;
      } else {
        detail::fail_at(source, 0,
                        "cannot tell the element of atom type " + std::to_string(t + 1) +
                            ": the file has no Masses for it; give the elements of the types");
      }
    }
  }

  const double o[3] = {h.lo[0], h.lo[1], h.lo[2]};
  detail::SystemParts parts;
  parts.cell = {h.hi[0] - h.lo[0], 0, 0, h.xy, h.hi[1] - h.lo[1], 0, h.xz, h.yz, h.hi[2] - h.lo[2]};
  parts.pbc = {true, true, true};
  const auto n = static_cast<std::int64_t>(atoms.size());
  std::vector<double> charges, vel;
  std::vector<std::int64_t> images;
  bool any_image = false;
  if (have_masses) parts.masses.emplace();
  for (const auto& a : atoms) {
    const auto t = static_cast<std::size_t>(a.type - 1);
    parts.numbers.push_back(type_z[t]);
    for (int k = 0; k < 3; ++k) parts.positions.push_back(a.x[k] - o[k]);
    if (have_masses) {
      if (!type_mass[t])
        detail::fail_at(source, masses_line, "the Masses section has no mass for atom type " + std::to_string(a.type));
      parts.masses->push_back(*type_mass[t]);
    }
    charges.push_back(a.q);
    images.insert(images.end(), {a.image[0], a.image[1], a.image[2]});
    any_image = any_image || a.has_image;
    if (have_velocities) {
      auto it = velocities.find(a.id);
      if (it == velocities.end())
        detail::fail_at(source, a.line, "the Velocities section has no velocity for atom id " + std::to_string(a.id));
      for (double v : it->second) vel.push_back(v * 1e-3);  // Å/ps -> Å/fs
    }
  }
  if (have_velocities && velocities.size() != atoms.size())
    detail::fail_at(source, 0, "the Velocities section names atom ids that Atoms does not have");

  AtomicData d = detail::build_system(parts, opts.float_dtype, source);
  if (charge_style) detail::set_floats(d, "charges", Level::Atom, charges, {n}, opts.float_dtype);
  if (have_velocities) detail::set_floats(d, "velocities", Level::Atom, vel, {n, 3}, opts.float_dtype);
  if (any_image) detail::set_ints(d, "image_flags", Level::Atom, images, {n, 3});
  std::vector<AtomicData> out;
  out.push_back(std::move(d));
  return out;
}

}  // namespace batchmd::io
