// SPDX-License-Identifier: Apache-2.0
// io/extxyz_read: the extended XYZ reader. First a cheap pass finds the frames (a count line, a
// comment line, that many atom lines), so a frame selection parses only what it takes and a
// truncated file is reported at the frame that is short; then each selected frame's Properties
// columns and comment keys become fields. Names follow ASE (pos, species, Z, momenta, masses,
// forces, charges/initial_charges, Lattice, pbc, energy, stress, virial); see docs/structures.md.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"
#include "batchmd/io/extxyz.hpp"
#include "extxyz_info.hpp"
#include "system.hpp"
#include "text.hpp"

namespace batchmd::io {
namespace {

using detail::InfoEntry;
using detail::InfoValue;
using detail::LineCursor;
using detail::quote;

/// Where a frame starts: a cursor positioned just before its comment line, and its atom count.
struct FrameStart {
  LineCursor at;
  std::int64_t n_atoms;
  std::int64_t count_line;
};

std::vector<FrameStart> find_frames(std::string_view text, std::string_view source) {
  std::vector<FrameStart> frames;
  LineCursor cur(text, source);
  while (cur.skip_blank()) {
    const std::string_view count = detail::trim(cur.next("the atom count"));
    const auto n = detail::to_int(count);
    if (!n || *n < 0)
      cur.fail("expected the atom count of frame " + std::to_string(frames.size()) + ", found " + quote(count) +
               (frames.empty() ? " (is this an XYZ file?)" : ""));
    frames.push_back({cur, *n, cur.line()});
    cur.next("the comment line of frame " + std::to_string(frames.size() - 1));
    for (std::int64_t a = 0; a < *n; ++a)
      if (!cur.try_next())
        detail::fail_at(source, cur.line() + 1,
                        "unexpected end of file: frame " + std::to_string(frames.size() - 1) + " (line " +
                            std::to_string(frames.back().count_line) + ") declares " + std::to_string(*n) +
                            " atoms but only " + std::to_string(a) + " atom lines follow");
  }
  if (frames.empty()) detail::fail_at(source, 0, "no frames: the file is empty");
  return frames;
}

// ------------------------------------------------------------------ Properties

enum class Role { Species, Z, Pos, Momenta, Velocities, Masses, Forces, Charges, Custom, Skip };

struct Column {
  std::string name;  // as in Properties
  char type;         // R, I, S, L
  std::int64_t width;
  Role role;
  std::vector<double> reals;
  std::vector<std::int64_t> ints;
  std::vector<bool> bools;
  std::vector<std::string_view> strings;
};

struct Known {
  const char* name;
  Role role;
  char type;
  std::int64_t width;
};
// ASE's names first, then the synonyms other tools write (OVITO's velo, older batchmd's velo).
constexpr Known kKnown[] = {
    {"species", Role::Species, 'S', 1},       {"Z", Role::Z, 'I', 1},
    {"atomic_numbers", Role::Z, 'I', 1},      {"pos", Role::Pos, 'R', 3},
    {"positions", Role::Pos, 'R', 3},         {"momenta", Role::Momenta, 'R', 3},
    {"velo", Role::Velocities, 'R', 3},       {"vel", Role::Velocities, 'R', 3},
    {"velocities", Role::Velocities, 'R', 3}, {"masses", Role::Masses, 'R', 1},
    {"mass", Role::Masses, 'R', 1},           {"forces", Role::Forces, 'R', 3},
    {"force", Role::Forces, 'R', 3},          {"charges", Role::Charges, 'R', 1},
    {"charge", Role::Charges, 'R', 1},        {"initial_charges", Role::Charges, 'R', 1},
};

const char* role_field(Role r) {
  switch (r) {
    case Role::Species:
    case Role::Z:
      return "atomic_numbers";
    case Role::Pos:
      return "positions";
    case Role::Momenta:
    case Role::Velocities:
      return "velocities";
    case Role::Masses:
      return "masses";
    case Role::Forces:
      return "forces";
    case Role::Charges:
      return "charges";
    default:
      return "";
  }
}

std::vector<Column> parse_properties(std::string_view props, const LineCursor& at) {
  std::vector<std::string_view> parts;
  std::size_t b = 0;
  for (std::size_t i = 0; i <= props.size(); ++i)
    if (i == props.size() || props[i] == ':') {
      parts.push_back(props.substr(b, i - b));
      b = i + 1;
    }
  if (parts.size() % 3 != 0) at.fail("Properties=" + quote(props) + " is not a list of name:type:columns triples");
  std::vector<Column> cols;
  std::map<std::string, std::pair<std::string, Role>> field_from;  // batchmd field -> column giving it
  for (std::size_t k = 0; k < parts.size(); k += 3) {
    Column c;
    c.name = std::string(parts[k]);
    if (c.name.empty()) at.fail("Properties has an empty column name");
    if (parts[k + 1].size() != 1 || std::string_view("RISL").find(parts[k + 1][0]) == std::string_view::npos)
      at.fail("Properties: column '" + c.name + "' has type " + quote(parts[k + 1]) + " (expected R, I, S or L)");
    c.type = parts[k + 1][0];
    const auto w = detail::to_int(parts[k + 2]);
    if (!w || *w < 1 || *w > 4096)
      at.fail("Properties: column '" + c.name + "' has width " + quote(parts[k + 2]) + " (expected 1 or more)");
    c.width = *w;
    c.role = c.type == 'S' ? Role::Skip : Role::Custom;
    for (const auto& kn : kKnown)
      if (c.name == kn.name) {
        if (c.type != kn.type || c.width != kn.width)
          at.fail("Properties: column '" + c.name + "' must be " + std::string(1, kn.type) + ":" +
                  std::to_string(kn.width) + ", not " + std::string(1, c.type) + ":" + std::to_string(c.width));
        c.role = kn.role;
      }
    std::string field = c.role == Role::Custom ? c.name : role_field(c.role);
    if (c.role == Role::Custom) {
      if (auto spec = standard_field(c.name); spec && spec->level != Level::Atom)
        at.fail("Properties: column '" + c.name + "' has the name of a per-system field");
    }
    if (!field.empty()) {
      // species and Z may both be present (ASE writes Z beside species on request): Z is checked
      // against species below, so only one of them owns atomic_numbers here.
      auto it = field_from.find(field);
      if (it != field_from.end()) {
        const bool species_and_z = (it->second.second == Role::Species && c.role == Role::Z) ||
                                   (it->second.second == Role::Z && c.role == Role::Species);
        if (!species_and_z)
          at.fail("Properties: columns '" + it->second.first + "' and '" + c.name + "' both give " + field);
      }
      field_from.emplace(field, std::make_pair(c.name, c.role));
    }
    cols.push_back(std::move(c));
  }
  auto has = [&](Role r) {
    return std::any_of(cols.begin(), cols.end(), [&](const Column& c) { return c.role == r; });
  };
  if (!has(Role::Pos)) at.fail("Properties has no pos:R:3 column");
  if (!has(Role::Species) && !has(Role::Z)) at.fail("Properties has neither a species:S:1 nor a Z:I:1 column");
  return cols;
}

std::optional<bool> to_bool(std::string_view t) {
  if (t == "T" || t == "True" || t == "true" || t == "1") return true;
  if (t == "F" || t == "False" || t == "false" || t == "0") return false;
  return std::nullopt;
}

// ------------------------------------------------------------------ comment keys

constexpr const char* kReservedKeys[] = {"positions", "atomic_numbers", "masses", "velocities",
                                         "forces",    "charges",        "cell"};

struct Info {
  detail::Mat3 cell{};
  bool has_lattice = false;
  std::optional<std::array<bool, 3>> pbc;
  std::string properties = "species:S:1:pos:R:3";
  std::vector<InfoEntry> rest;  // energy, stress, virial and free-form keys
};

Info read_info(std::string_view comment, const LineCursor& at) {
  Info info;
  std::map<std::string, std::size_t> seen;  // key -> index in rest (later pairs replace, as in ASE)
  for (auto& e : detail::parse_comment(comment, at)) {
    const InfoValue& v = e.value;
    if (e.key.empty()) at.fail("a comment pair with an empty key");
    if ((v.kind == InfoValue::Kind::Int || v.kind == InfoValue::Kind::Float))
      for (double x : v.floats)
        if (!std::isfinite(x)) at.fail("'" + e.key + "' holds " + quote(v.text) + ", not finite numbers");
    if (e.key == "Properties") {
      info.properties = v.text;
    } else if (e.key == "Lattice") {
      if (v.kind == InfoValue::Kind::String || v.kind == InfoValue::Kind::Bool || v.count() != 9)
        at.fail("Lattice must hold 9 numbers (vectors a, b, c), found " + quote(v.text));
      // Lattice lists a, b, c one after the other: row-major cell rows a, b, c.
      for (std::size_t k = 0; k < 9; ++k) info.cell[k] = v.floats[k];
      info.has_lattice = true;
    } else if (e.key == "pbc") {
      std::vector<bool> b = v.bools;
      if (v.kind == InfoValue::Kind::Int)
        for (auto i : v.ints) b.push_back(i != 0);
      if ((v.kind != InfoValue::Kind::Bool && v.kind != InfoValue::Kind::Int) || (b.size() != 1 && b.size() != 3))
        at.fail("pbc must be one or three of T/F, found " + quote(v.text));
      info.pbc = b.size() == 1 ? std::array<bool, 3>{b[0], b[0], b[0]} : std::array<bool, 3>{b[0], b[1], b[2]};
    } else {
      if (std::find(std::begin(kReservedKeys), std::end(kReservedKeys), e.key) != std::end(kReservedKeys))
        at.fail("comment key '" + e.key + "' has the name of a per-atom or cell field");
      if (auto it = seen.find(e.key); it != seen.end()) {
        info.rest[it->second] = std::move(e);
      } else {
        seen.emplace(e.key, info.rest.size());
        info.rest.push_back(std::move(e));
      }
    }
  }
  return info;
}

/// A comment key as a system-level field (strings are not representable and are left out).
void add_info_field(AtomicData& d, const InfoEntry& e, DType fdt, const LineCursor& at) {
  const InfoValue& v = e.value;
  const bool standard = standard_field(e.key).has_value() || e.key == "stress" || e.key == "virial";
  if (v.kind == InfoValue::Kind::String && !standard) return;
  const bool numeric = v.kind == InfoValue::Kind::Int || v.kind == InfoValue::Kind::Float;
  if (e.key == "stress" || e.key == "virial") {
    if (!numeric || (v.count() != 9 && !(e.key == "stress" && v.count() == 6)))
      at.fail("'" + e.key + "' must hold 9 numbers (or 6 in Voigt order for stress), found " + quote(v.text));
    std::vector<double> m(9);
    if (v.count() == 9) {
      // ASE reads these 3x3 keys in Fortran (column-major) order.
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
          m[static_cast<std::size_t>(i * 3 + j)] = v.floats[static_cast<std::size_t>(j * 3 + i)];
    } else {  // xx yy zz yz xz xy
      const auto& s = v.floats;
      m = {s[0], s[5], s[4], s[5], s[1], s[3], s[4], s[3], s[2]};
    }
    detail::set_floats(d, e.key, Level::System, m, {1, 3, 3}, fdt);
    return;
  }
  Shape shape{1};
  shape.insert(shape.end(), v.shape.begin(), v.shape.end());
  if (auto spec = standard_field(e.key)) {
    // A standard system field keeps its schema dtype and shape (energy is a float, status int32).
    std::int64_t want = 1;
    for (auto t : spec->trailing) want *= t;
    if (!numeric || v.count() != want)
      at.fail("'" + e.key + "' must hold " + std::to_string(want) + " number" + (want == 1 ? "" : "s") + ", found " +
              quote(v.text));
    Shape s{1};
    s.insert(s.end(), spec->trailing.begin(), spec->trailing.end());
    if (spec->floating)
      detail::set_floats(d, e.key, Level::System, v.floats, s, fdt);
    else if (v.kind == InfoValue::Kind::Int && (spec->dtype == DType::Int64 || spec->dtype == DType::Int32))
      detail::set_ints(d, e.key, Level::System, v.ints, s, spec->dtype);
    else
      at.fail("'" + e.key + "' must hold integers, found " + quote(v.text));
    return;
  }
  switch (v.kind) {
    case InfoValue::Kind::Int:
      detail::set_ints(d, e.key, Level::System, v.ints, shape);
      break;
    case InfoValue::Kind::Float:
      detail::set_floats(d, e.key, Level::System, v.floats, shape, fdt);
      break;
    case InfoValue::Kind::Bool:
      detail::set_bools(d, e.key, Level::System, v.bools, shape);
      break;
    case InfoValue::Kind::String:
      break;
  }
}

// ------------------------------------------------------------------ one frame

AtomicData read_frame(const FrameStart& f, DType fdt) {
  LineCursor at = f.at;
  const std::string_view comment = at.next("the comment line");
  const Info info = read_info(comment, at);
  const LineCursor comment_at = at;
  std::vector<Column> cols = parse_properties(info.properties, at);
  std::int64_t total = 0;
  for (const auto& c : cols) total += c.width;

  const std::int64_t n = f.n_atoms;
  for (std::int64_t a = 0; a < n; ++a) {
    const std::string_view line = at.next("an atom line");
    const auto toks = detail::split_ws(line);
    if (static_cast<std::int64_t>(toks.size()) != total)
      at.fail("expected " + std::to_string(total) + " values on this atom line (Properties=" + info.properties +
              "), found " + std::to_string(toks.size()));
    std::size_t t = 0;
    for (auto& c : cols) {
      for (std::int64_t k = 0; k < c.width; ++k, ++t) {
        const std::string_view tok = toks[t];
        switch (c.type) {
          case 'R':
            c.reals.push_back(detail::parse_double(tok, at, "column '" + c.name + "'"));
            break;
          case 'I':
            c.ints.push_back(detail::parse_int(tok, at, "column '" + c.name + "'"));
            break;
          case 'L': {
            const auto b = to_bool(tok);
            if (!b) at.fail("expected T or F for column '" + c.name + "', found " + quote(tok));
            c.bools.push_back(*b);
            break;
          }
          default:
            c.strings.push_back(tok);
        }
      }
    }
  }

  // Atomic numbers: species (any letter case, as ASE capitalises) or Z; both must agree.
  detail::SystemParts parts;
  parts.numbers.assign(static_cast<std::size_t>(n), 0);
  const Column* species = nullptr;
  const Column* zcol = nullptr;
  for (const auto& c : cols) {
    if (c.role == Role::Species) species = &c;
    if (c.role == Role::Z) zcol = &c;
  }
  const std::int64_t first_atom_line = comment_at.line() + 1;
  auto atom_fail = [&](std::int64_t a, const std::string& what) {
    detail::fail_at(at.source(), first_atom_line + a, what);
  };
  for (std::int64_t a = 0; a < n; ++a) {
    const auto i = static_cast<std::size_t>(a);
    if (species) {
      const auto z = find_atomic_number(species->strings[i]);
      if (!z) atom_fail(a, "unknown element " + quote(species->strings[i]) + " in column 'species'");
      parts.numbers[i] = *z;
    }
    if (zcol) {
      const std::int64_t z = zcol->ints[i];
      if (z < 1 || z > 118) atom_fail(a, "atomic number " + std::to_string(z) + " in column 'Z' is not an element");
      if (species && z != parts.numbers[i])
        atom_fail(a,
                  "column 'Z' says " + std::to_string(z) + " but 'species' says " + std::string(species->strings[i]));
      parts.numbers[i] = z;
    }
  }
  std::optional<std::vector<double>> velocities;
  const Column* momenta = nullptr;
  for (const auto& c : cols) {
    if (c.role == Role::Pos) parts.positions = c.reals;
    if (c.role == Role::Masses) {
      for (std::int64_t a = 0; a < n; ++a)
        if (!(c.reals[static_cast<std::size_t>(a)] > 0)) atom_fail(a, "mass must be > 0");
      parts.masses = c.reals;
    }
    if (c.role == Role::Velocities) velocities = c.reals;
    if (c.role == Role::Momenta) momenta = &c;
  }
  if (info.has_lattice) {
    parts.cell = info.cell;
    if (detail::is_zero(parts.cell)) comment_at.fail("Lattice is all zeros");
  }
  parts.pbc = info.pbc.value_or(std::array<bool, 3>{info.has_lattice, info.has_lattice, info.has_lattice});
  if (!info.has_lattice && (parts.pbc[0] || parts.pbc[1] || parts.pbc[2]))
    comment_at.fail("pbc is T in some direction but the frame has no Lattice");

  AtomicData d = detail::build_system(parts, fdt, std::string(at.source()) + ":" + std::to_string(comment_at.line()));
  if (momenta) {
    // ASE: momenta = masses * v_ase, v_ase in Å per ASE time unit; batchmd: Å/fs. Computed as ASE's
    // get_velocities() does (momenta / masses), then converted.
    const Tensor& m = d.get("masses");
    velocities.emplace(momenta->reals.size());
    for (std::int64_t a = 0; a < n; ++a)
      for (int k = 0; k < 3; ++k) {
        const auto i = static_cast<std::size_t>(3 * a + k);
        (*velocities)[i] = momenta->reals[i] / detail::value_as_double(m, a, 0) * kAseFs;
      }
  }
  if (velocities) detail::set_floats(d, "velocities", Level::Atom, *velocities, {n, 3}, fdt);
  for (const auto& c : cols) {
    Shape shape = c.width == 1 ? Shape{n} : Shape{n, c.width};
    if (c.role == Role::Forces) detail::set_floats(d, "forces", Level::Atom, c.reals, shape, fdt);
    if (c.role == Role::Charges) detail::set_floats(d, "charges", Level::Atom, c.reals, shape, fdt);
    if (c.role != Role::Custom) continue;
    if (c.type == 'R') detail::set_floats(d, c.name, Level::Atom, c.reals, shape, fdt);
    if (c.type == 'I') detail::set_ints(d, c.name, Level::Atom, c.ints, shape);
    if (c.type == 'L') detail::set_bools(d, c.name, Level::Atom, c.bools, shape);
  }
  for (const auto& e : info.rest) {
    if (d.has(e.key)) comment_at.fail("comment key '" + e.key + "' has the name of a column");
    add_info_field(d, e, fdt, comment_at);
  }
  return d;
}

}  // namespace

std::vector<AtomicData> read_extxyz(std::string_view text, const ReadOptions& opts, std::string_view source) {
  const std::vector<FrameStart> frames = find_frames(text, source);
  std::vector<AtomicData> out;
  for (std::int64_t i : opts.frames.resolve(static_cast<std::int64_t>(frames.size()), source))
    out.push_back(read_frame(frames[static_cast<std::size_t>(i)], opts.float_dtype));
  return out;
}

}  // namespace batchmd::io
