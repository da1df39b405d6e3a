// SPDX-License-Identifier: Apache-2.0
// io/extxyz_write: one AtomicData as one extended XYZ frame, in the form ASE reads back.
//
// Comment line: Lattice (rows a, b, c; only for a non-zero cell), Properties, then every other
// system-level field as key=value (energy lands on ASE's SinglePointCalculator; stress and
// virial are written column-major as ASE's 3x3 keys expect; fields of two or more dimensions as
// ASE's _JSON arrays), pbc (with Lattice only: a zero cell means an open system). Atom lines:
// species, pos, forces (ASE's calculator forces), momenta (velocities in ASE's units, which ASE
// turns back into velocities with the masses written beside them), masses, charges, then every
// other atom-level field, flattened to its width. Floats are written in the shortest form that
// reads back to the same double (a float32 value is written as its exact double, so it reads
// back exactly into either dtype). Edge-level fields have no place in XYZ and are left out.
#include <algorithm>
#include <cctype>
#include <set>

#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"
#include "batchmd/io/extxyz.hpp"
#include "system.hpp"
#include "text.hpp"

namespace batchmd::io {
namespace {

/// Element k of a tensor row as text ('T'/'F' for bools).
void append_value(std::string& s, const Tensor& t, std::int64_t row, std::int64_t k) {
  const std::int64_t i = row * t.row_numel() + k;
  switch (t.dtype()) {
    case DType::Float64:
      detail::append_double(s, t.data<double>()[i]);
      break;
    case DType::Float32:
      detail::append_double(s, static_cast<double>(t.data<float>()[i]));
      break;
    case DType::Int64:
      detail::append_int(s, t.data<std::int64_t>()[i]);
      break;
    case DType::Int32:
      detail::append_int(s, t.data<std::int32_t>()[i]);
      break;
    case DType::UInt8:
      detail::append_int(s, t.data<std::uint8_t>()[i]);
      break;
    case DType::Bool:
      s += t.data<bool>()[i] ? 'T' : 'F';
      break;
  }
}

char xyz_type(DType dt) {
  if (is_floating(dt)) return 'R';
  if (dt == DType::Bool) return 'L';
  return 'I';
}

/// An extended-XYZ name: [A-Za-z_][A-Za-z0-9_]*.
std::string xyz_name(const std::string& name) {
  std::string s;
  for (char c : name) s += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) s = "_" + s;
  return s;
}

/// A nested JSON list of a row with trailing shape `shape` (ASE's _JSON values).
void append_json(std::string& s, const Tensor& t, const Shape& shape, std::size_t dim, std::int64_t& k) {
  if (dim == shape.size()) {
    if (t.dtype() == DType::Bool)
      s += t.data<bool>()[k++] ? "true" : "false";
    else
      append_value(s, t, 0, k++);
    return;
  }
  s += '[';
  for (std::int64_t i = 0; i < shape[dim]; ++i) {
    if (i) s += ", ";
    append_json(s, t, shape, dim + 1, k);
  }
  s += ']';
}

struct Column {
  std::string field;  // AtomicData field
  std::string key;    // extended XYZ name
};

}  // namespace

void append_extxyz_frame(std::string& out, const AtomicData& d) {
  if (!d.has("positions")) throw InvalidArgument("extxyz: the system has no positions");
  const Tensor& pos = d.get("positions");
  if (!is_floating(pos.dtype()) || pos.row_numel() != 3)
    throw InvalidArgument("extxyz: positions must be floating point with 3 values per atom");
  const std::int64_t n = pos.rows();

  // Names: those the reader gives a meaning to are taken, so a user field never reads back as one.
  std::set<std::string> used = {
      "species",        "pos", "Z",          "Lattice", "Properties", "pbc",    "positions",
      "velo",           "vel", "velocities", "mass",    "force",      "charge", "initial_charges",
      "atomic_numbers", "cell"};
  auto take = [&](std::string key) {
    key = xyz_name(key);
    if (used.count(key)) key = "batchmd_" + key;
    while (used.count(key)) key += "_";
    used.insert(key);
    return key;
  };
  // Atom columns: the well-known ones under ASE's names, then the rest in name order.
  std::vector<Column> atom;
  const bool velocities = d.has("velocities") && d.level("velocities") == Level::Atom;
  for (const char* f : {"forces", "velocities", "masses", "charges"}) {
    if (std::string(f) == "masses" && velocities) {
      atom.push_back({"masses", take("masses")});  // momenta need the masses beside them
      continue;
    }
    if (d.has(f) && d.level(f) == Level::Atom)
      atom.push_back({f, take(std::string(f) == "velocities" ? "momenta" : f)});
  }
  std::vector<Column> system, tail;
  for (const auto& [name, f] : d.fields()) {
    if (f.level == Level::Atom) {
      if (name == "positions" || name == "atomic_numbers" ||
          std::any_of(atom.begin(), atom.end(), [&name = name](const Column& c) { return c.field == name; }))
        continue;
      atom.push_back({name, ""});
    }
  }
  for (auto& c : atom)
    if (c.key.empty()) c.key = take(c.field);
  for (const char* f : {"energy", "stress", "virial"})
    if (d.has(f) && d.level(f) == Level::System) system.push_back({f, take(f)});
  for (const auto& [name, f] : d.fields()) {
    if (f.level != Level::System || name == "cell" || name == "pbc" || name == "energy" || name == "stress" ||
        name == "virial")
      continue;
    if (name == "step" || name == "system_id" || name == "status")
      tail.push_back({name, ""});
    else
      system.push_back({name, take(name)});
  }
  std::sort(tail.begin(), tail.end(), [](const Column& a, const Column& b) {
    auto rank = [](const std::string& s) { return s == "step" ? 0 : s == "system_id" ? 1 : 2; };
    return rank(a.field) < rank(b.field);
  });
  for (auto& c : tail) {
    c.key = take(c.field);
    system.push_back(c);
  }

  // Masses for momenta: the field, else standard atomic weights.
  std::vector<double> masses;
  const Tensor* z = d.has("atomic_numbers") ? &d.get("atomic_numbers") : nullptr;
  if (z && (z->rows() != n || z->row_numel() != 1 || is_floating(z->dtype())))
    throw InvalidArgument("extxyz: atomic_numbers must be one integer per atom");
  if (velocities) {
    if (d.get("velocities").row_numel() != 3) throw InvalidArgument("extxyz: velocities must have 3 values per atom");
    masses.resize(static_cast<std::size_t>(n));
    for (std::int64_t a = 0; a < n; ++a) {
      if (d.has("masses")) {
        masses[static_cast<std::size_t>(a)] = detail::value_as_double(d.get("masses"), a, 0);
      } else {
        if (!z) throw InvalidArgument("extxyz: velocities need masses or atomic numbers (to write ASE's momenta)");
        masses[static_cast<std::size_t>(a)] = atomic_mass(static_cast<std::int64_t>(detail::value_as_double(*z, a, 0)));
      }
    }
  }

  detail::append_int(out, n);
  out += '\n';

  // Comment line.
  const detail::Mat3 cell = detail::cell_of(d);
  const bool lattice = !detail::is_zero(cell);
  if (lattice) {
    out += "Lattice=\"";
    for (int k = 0; k < 9; ++k) {
      if (k) out += ' ';
      append_value(out, d.get("cell"), 0, k);
    }
    out += "\" ";
  }
  out += "Properties=species:S:1:pos:R:3";
  for (const auto& c : atom) {
    if (c.field == "masses" && !d.has("masses")) {
      out += ':' + c.key + ":R:1";
      continue;
    }
    const Tensor& t = d.get(c.field);
    out +=
        ':' + c.key + ':' + (c.field == "velocities" ? 'R' : xyz_type(t.dtype())) + ':' + std::to_string(t.row_numel());
  }
  for (const auto& c : system) {
    const Tensor& t = d.get(c.field);
    const std::int64_t k_n = t.row_numel();
    if (k_n == 0) continue;
    const Shape trailing(t.shape().begin() + 1, t.shape().end());
    out += ' ' + c.key + '=';
    if (k_n == 1) {
      append_value(out, t, 0, 0);
      continue;
    }
    const bool three_by_three = (c.key == "stress" || c.key == "virial") && k_n == 9;
    if (trailing.size() > 1 && !three_by_three) {
      out += "\"_JSON ";
      std::int64_t k = 0;
      append_json(out, t, trailing, 0, k);
      out += '"';
      continue;
    }
    out += '"';
    for (std::int64_t k = 0; k < k_n; ++k) {
      if (k) out += ' ';
      // 3x3 keys: ASE reshapes the 9 values in Fortran order, so write column by column.
      append_value(out, t, 0, three_by_three ? (k % 3) * 3 + k / 3 : k);
    }
    out += '"';
  }
  if (lattice) {
    const auto pbc = detail::pbc_of(d);
    out += " pbc=\"";
    for (int k = 0; k < 3; ++k) {
      if (k) out += ' ';
      out += pbc[static_cast<std::size_t>(k)] ? 'T' : 'F';
    }
    out += '"';
  }
  out += '\n';

  // Atom lines.
  std::vector<const Tensor*> cols;
  for (const auto& c : atom) cols.push_back(c.field == "masses" && !d.has("masses") ? nullptr : &d.get(c.field));
  for (std::int64_t a = 0; a < n; ++a) {
    std::int64_t number = 0;
    if (z) {
      number = static_cast<std::int64_t>(detail::value_as_double(*z, a, 0));
      if (number < 1 || number > 118)
        throw InvalidArgument("extxyz: atom " + std::to_string(a) + " has atomic number " + std::to_string(number) +
                              " (known elements: 1..118)");
      out += element_symbol(number);
    } else {
      out += 'X';
    }
    for (int k = 0; k < 3; ++k) {
      out += ' ';
      append_value(out, pos, a, k);
    }
    for (std::size_t ci = 0; ci < atom.size(); ++ci) {
      const Tensor* t = cols[ci];
      if (atom[ci].field == "velocities") {
        const double m = masses[static_cast<std::size_t>(a)];
        for (int k = 0; k < 3; ++k) {
          out += ' ';
          detail::append_double(out, detail::value_as_double(*t, a, k) * m / kAseFs);
        }
        continue;
      }
      if (!t) {  // standard masses written for momenta
        out += ' ';
        detail::append_double(out, masses[static_cast<std::size_t>(a)]);
        continue;
      }
      for (std::int64_t k = 0; k < t->row_numel(); ++k) {
        out += ' ';
        append_value(out, *t, a, k);
      }
    }
    out += '\n';
  }
}

}  // namespace batchmd::io
