// SPDX-License-Identifier: Apache-2.0
// io/poscar: VASP POSCAR/CONTCAR reader and writer. The reader follows VASP's own reading: the
// scale line (one factor, a negative volume, or three per-axis factors), the lattice, the VASP 5
// species line (POTCAR labels such as Cu_pv or Cu_pv/8a2b reduce to the element), the counts,
// "Selective dynamics" (first letter s/S), the coordinate mode (first letter c/C/k/K Cartesian,
// anything else Direct), positions with optional T/F flags (tokens after them are ignored, as
// VASP ignores them), then optionally a CONTCAR's lattice-velocity block (skipped) and its ion
// velocities (Cartesian, Å/fs); what follows (predictor-corrector data) is ignored.
#include "batchmd/io/poscar.hpp"

#include <cmath>

#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"
#include "system.hpp"
#include "text.hpp"

namespace batchmd::io {
namespace {

using detail::LineCursor;
using detail::Mat3;
using detail::quote;

std::array<double, 3> three_numbers(std::string_view line, const LineCursor& at, const std::string& what,
                                    bool extra_ok) {
  const auto toks = detail::split_ws(line);
  if (toks.size() < 3 || (!extra_ok && toks.size() != 3))
    at.fail("expected 3 numbers for " + what + ", found " + quote(detail::trim(line)));
  return {detail::parse_double(toks[0], at, what), detail::parse_double(toks[1], at, what),
          detail::parse_double(toks[2], at, what)};
}

/// The element of a species label: "Cu", "Cu_pv", "Cu_sv_GW", "Cu_pv/8a2b" -> Cu.
std::optional<std::int64_t> species_z(std::string_view label) {
  const std::size_t cut = label.find_first_of("_/.");
  return find_atomic_number(label.substr(0, cut));
}

}  // namespace

std::vector<AtomicData> read_poscar(std::string_view text, const ReadOptions& opts, std::string_view source) {
  LineCursor cur(text, source);
  cur.next("the comment line");

  // Scale.
  const auto scale_toks = detail::split_ws(cur.next("the scale factor"));
  if (scale_toks.size() != 1 && scale_toks.size() != 3)
    cur.fail("expected one scale factor (or three, or a negative volume), found " + std::to_string(scale_toks.size()) +
             " values (is this a POSCAR file?)");
  std::array<double, 3> scale{};
  for (std::size_t k = 0; k < scale_toks.size(); ++k) {
    if (!detail::to_double(scale_toks[k]))
      cur.fail("expected the scale factor, found " + quote(scale_toks[k]) + " (is this a POSCAR file?)");
    scale[k] = detail::parse_double(scale_toks[k], cur, "the scale");
  }
  if (scale_toks.size() == 3) {
    if (!(scale[0] > 0 && scale[1] > 0 && scale[2] > 0)) cur.fail("three scale factors must all be > 0");
  } else if (scale[0] == 0) {
    cur.fail("the scale factor is 0");
  }
  const std::int64_t scale_line = cur.line();

  // Lattice (rows a, b, c), scaled.
  Mat3 raw{};
  for (int i = 0; i < 3; ++i) {
    const auto v = three_numbers(cur.next("a lattice vector"), cur, "lattice vector " + std::string(1, "abc"[i]), true);
    for (int k = 0; k < 3; ++k) raw[static_cast<std::size_t>(3 * i + k)] = v[static_cast<std::size_t>(k)];
  }
  std::array<double, 3> s3 = scale_toks.size() == 3 ? scale : std::array<double, 3>{scale[0], scale[0], scale[0]};
  if (scale_toks.size() == 1 && scale[0] < 0) {  // a negative scale is the cell volume
    const double v = std::abs(detail::det3(raw));
    if (!(v > 0)) detail::fail_at(source, scale_line, "the lattice has no volume");
    s3.fill(std::cbrt(-scale[0] / v));
  }
  Mat3 cell{};
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 3; ++k)
      cell[static_cast<std::size_t>(3 * i + k)] =
          raw[static_cast<std::size_t>(3 * i + k)] * s3[static_cast<std::size_t>(k)];
  for (double v : cell)
    if (!std::isfinite(v)) cur.fail("the lattice overflows once scaled");
  const auto inv = detail::inverse3(cell);
  if (!inv) cur.fail("the lattice vectors are linearly dependent (no volume)");

  // Species and counts.
  std::string_view line = cur.next("the species or counts line");
  auto toks = detail::split_ws(line);
  if (toks.empty()) cur.fail("expected the species or the counts of atoms, found an empty line");
  std::vector<std::int64_t> species;
  const bool vasp5 = !detail::to_int(toks[0]);
  if (vasp5) {
    for (auto t : toks) {
      const auto z = species_z(t);
      if (!z) cur.fail("unknown element " + quote(t) + " in the species line");
      species.push_back(*z);
    }
    line = cur.next("the counts line");
    toks = detail::split_ws(line);
  }
  std::vector<std::int64_t> counts;
  for (auto t : toks) {
    const std::int64_t c = detail::parse_int(t, cur, "an atom count");
    if (c < 1) cur.fail("atom counts must be >= 1, found " + std::to_string(c));
    if (c > static_cast<std::int64_t>(text.size()))
      cur.fail("atom count " + std::to_string(c) + " is more than the file holds");
    counts.push_back(c);
  }
  if (vasp5 && counts.size() != species.size())
    cur.fail(std::to_string(species.size()) + " species but " + std::to_string(counts.size()) + " counts");
  if (!opts.elements.empty()) {
    std::vector<std::int64_t> given;
    for (const auto& e : opts.elements) given.push_back(atomic_number(e));
    if (given.size() != counts.size())
      throw InvalidArgument(std::string(source) + ": the file has " + std::to_string(counts.size()) + " species but " +
                            std::to_string(given.size()) + " elements were given");
    if (vasp5 && given != species)
      throw InvalidArgument(std::string(source) + ": the elements given do not match the file's species line");
    species = given;
  }
  if (species.empty())
    cur.fail("a VASP 4 POSCAR (no species line): give the elements of the species, in the order of the counts");

  // Selective dynamics and coordinate mode.
  std::string_view mode = detail::trim(cur.next("the coordinate mode (Direct or Cartesian)"));
  const bool selective = !mode.empty() && (mode[0] == 's' || mode[0] == 'S');
  if (selective) mode = detail::trim(cur.next("the coordinate mode (Direct or Cartesian)"));
  const bool cartesian = !mode.empty() && std::string_view("cCkK").find(mode[0]) != std::string_view::npos;

  detail::SystemParts parts;
  parts.cell = cell;
  parts.pbc = {true, true, true};
  std::vector<bool> flags;
  for (std::size_t sp = 0; sp < counts.size(); ++sp)
    for (std::int64_t k = 0; k < counts[sp]; ++k) {
      const std::string_view l = cur.next("an atom position");
      const auto t = detail::split_ws(l);
      if (t.size() < (selective ? 6u : 3u))
        cur.fail(std::string("expected 3 coordinates") + (selective ? " and 3 T/F flags" : "") + ", found " +
                 quote(detail::trim(l)));
      std::array<double, 3> r{};
      for (int c = 0; c < 3; ++c)
        r[static_cast<std::size_t>(c)] = detail::parse_double(t[static_cast<std::size_t>(c)], cur, "a coordinate");
      for (int c = 0; c < 3; ++c) {
        double x = 0;
        if (cartesian)
          x = r[static_cast<std::size_t>(c)] * s3[static_cast<std::size_t>(c)];
        else
          for (int i = 0; i < 3; ++i) x += r[static_cast<std::size_t>(i)] * cell[static_cast<std::size_t>(3 * i + c)];
        // A finite coordinate times the scale or the lattice can overflow (found by fuzzing).
        if (!std::isfinite(x)) cur.fail("the position overflows once scaled (" + quote(detail::trim(l)) + ")");
        parts.positions.push_back(x);
      }
      if (selective)
        for (int c = 3; c < 6; ++c) {
          const std::string_view f = t[static_cast<std::size_t>(c)];
          if (f != "T" && f != "F" && f != "t" && f != "f")
            cur.fail("expected a selective dynamics flag T or F, found " + quote(f));
          flags.push_back(f == "T" || f == "t");
        }
      parts.numbers.push_back(species[sp]);
    }
  const auto n = static_cast<std::int64_t>(parts.numbers.size());

  // CONTCAR extras: lattice velocities (skipped), ion velocities.
  std::optional<std::vector<double>> velocities;
  if (auto l = cur.try_next()) {
    std::string_view t = detail::trim(*l);
    if (!t.empty() && (t[0] == 'l' || t[0] == 'L')) {  // "Lattice velocities and vectors": 7 more lines
      for (int i = 0; i < 7; ++i) cur.next("the lattice velocities block");
      const auto l2 = cur.try_next();
      t = l2 ? detail::trim(*l2) : std::string_view("");
    }
    if (!t.empty() && (t[0] == 'd' || t[0] == 'D'))
      cur.fail(
          "velocities in Direct coordinates (lattice vectors per time step) are not supported; write them "
          "Cartesian, in Å/fs");
    if (!t.empty() && std::string_view("cCkK").find(t[0]) == std::string_view::npos)
      cur.fail("unexpected line after the positions: " + quote(t) + " (expected a blank line before velocities)");
    const auto next = cur.peek();
    if (next && !detail::trim(*next).empty()) {
      velocities.emplace();
      for (std::int64_t a = 0; a < n; ++a) {
        const auto v = three_numbers(cur.next("an atom velocity"), cur, "a velocity", true);
        velocities->insert(velocities->end(), v.begin(), v.end());
      }
    }
  }

  AtomicData d = detail::build_system(parts, opts.float_dtype, source);
  if (selective) detail::set_bools(d, "selective_dynamics", Level::Atom, flags, {n, 3});
  if (velocities) detail::set_floats(d, "velocities", Level::Atom, *velocities, {n, 3}, opts.float_dtype);
  std::vector<AtomicData> out;
  out.push_back(std::move(d));
  return out;
}

std::string write_poscar(const AtomicData& d, const WriteOptions& opts) {
  for (const char* f : {"positions", "atomic_numbers"})
    if (!d.has(f)) throw InvalidArgument(std::string("poscar: the system has no ") + f);
  const Tensor& pos = d.get("positions");
  const Tensor& z = d.get("atomic_numbers");
  const std::int64_t n = pos.rows();
  const Mat3 cell = detail::cell_of(d);
  if (detail::is_zero(cell)) throw InvalidArgument("poscar: the system has no cell (an open system); POSCAR needs one");
  const auto inv = detail::inverse3(cell);
  if (!inv) throw InvalidArgument("poscar: the cell is singular");
  if (n == 0) throw InvalidArgument("poscar: the system has no atoms");

  // Runs of equal consecutive elements keep the atom order (VASP pairs each run with a POTCAR).
  std::vector<std::pair<std::int64_t, std::int64_t>> runs;  // (Z, count)
  for (std::int64_t a = 0; a < n; ++a) {
    const auto zz = static_cast<std::int64_t>(detail::value_as_double(z, a, 0));
    (void)element_symbol(zz);
    if (runs.empty() || runs.back().first != zz)
      runs.emplace_back(zz, 1);
    else
      ++runs.back().second;
  }
  const Tensor* sd = d.has("selective_dynamics") ? &d.get("selective_dynamics") : nullptr;
  if (sd && sd->row_numel() != 3) throw InvalidArgument("poscar: selective_dynamics must have 3 flags per atom");
  const Tensor* vel = d.has("velocities") ? &d.get("velocities") : nullptr;
  if (vel && vel->row_numel() != 3) throw InvalidArgument("poscar: velocities must have 3 values per atom");

  std::string s;
  if (opts.comment.empty()) {
    for (std::size_t i = 0; i < runs.size(); ++i) {
      if (i) s += ' ';
      s += element_symbol(runs[i].first);
    }
    s += " (batchmd)";
  } else {
    s = opts.comment;
    for (char& c : s)
      if (c == '\n' || c == '\r') c = ' ';
  }
  s += "\n1.0\n";
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 3; ++k) {
      s += "  ";
      detail::append_double(s, cell[static_cast<std::size_t>(3 * i + k)]);
    }
    s += '\n';
  }
  for (const auto& [zz, c] : runs) {
    s += ' ';
    s += element_symbol(zz);
  }
  s += '\n';
  for (const auto& [zz, c] : runs) {
    s += ' ';
    detail::append_int(s, c);
  }
  s += '\n';
  if (sd) s += "Selective dynamics\n";
  s += opts.direct ? "Direct\n" : "Cartesian\n";
  for (std::int64_t a = 0; a < n; ++a) {
    double r[3];
    for (int k = 0; k < 3; ++k) r[k] = detail::value_as_double(pos, a, k);
    for (int c = 0; c < 3; ++c) {
      double x = r[c];
      if (opts.direct) {
        x = 0;
        for (int k = 0; k < 3; ++k) x += r[k] * (*inv)[static_cast<std::size_t>(3 * k + c)];
      }
      s += "  ";
      detail::append_double(s, x);
    }
    if (sd)
      for (int k = 0; k < 3; ++k) s += detail::value_as_double(*sd, a, k) != 0.0 ? " T" : " F";
    s += '\n';
  }
  if (vel) {
    s += '\n';
    for (std::int64_t a = 0; a < n; ++a) {
      for (int k = 0; k < 3; ++k) {
        s += "  ";
        detail::append_double(s, detail::value_as_double(*vel, a, k));
      }
      s += '\n';
    }
  }
  return s;
}

}  // namespace batchmd::io
