// SPDX-License-Identifier: Apache-2.0
// io/lammps_data_write: one periodic system as a LAMMPS data file (metal units). LAMMPS boxes are
// lower-triangular (a along x, b in the xy plane): a cell already of that form is written as it
// is, with positions untouched; any other (right-handed) cell is rotated into it, positions,
// velocities and forces with it, through fractional coordinates. Each type's mass is followed by
// "# Symbol", which LAMMPS ignores and batchmd's reader (and OVITO's) takes as the type's element.
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

using detail::Mat3;

/// LAMMPS's box of a cell: lx, ly, lz, xy, xz, yz, and the map (a linear map on row vectors,
/// r' = r M) from the cell's frame to LAMMPS's; identity when the cell already has that form.
struct Box {
  double lx, ly, lz, xy, xz, yz;
  Mat3 map{1, 0, 0, 0, 1, 0, 0, 0, 1};
  bool rotated = false;
};

Box lammps_box(const Mat3& c) {
  Box b{};
  if (c[1] == 0 && c[2] == 0 && c[5] == 0 && c[0] > 0 && c[4] > 0 && c[8] > 0) {
    b.lx = c[0];
    b.ly = c[4];
    b.lz = c[8];
    b.xy = c[3];
    b.xz = c[6];
    b.yz = c[7];
    return b;
  }
  if (!(detail::det3(c) > 0))
    throw InvalidArgument("lammps-data: the cell is left-handed or singular; LAMMPS needs a right-handed cell");
  auto dot = [&](int i, int j) {
    return c[static_cast<std::size_t>(3 * i)] * c[static_cast<std::size_t>(3 * j)] +
           c[static_cast<std::size_t>(3 * i + 1)] * c[static_cast<std::size_t>(3 * j + 1)] +
           c[static_cast<std::size_t>(3 * i + 2)] * c[static_cast<std::size_t>(3 * j + 2)];
  };
  b.lx = std::sqrt(dot(0, 0));
  b.xy = dot(0, 1) / b.lx;
  b.ly = std::sqrt(dot(1, 1) - b.xy * b.xy);
  b.xz = dot(0, 2) / b.lx;
  b.yz = (dot(1, 2) - b.xy * b.xz) / b.ly;
  b.lz = std::sqrt(dot(2, 2) - b.xz * b.xz - b.yz * b.yz);
  const Mat3 lmp{b.lx, 0, 0, b.xy, b.ly, 0, b.xz, b.yz, b.lz};
  const auto inv = detail::inverse3(c);
  if (!inv) throw InvalidArgument("lammps-data: the cell is singular");
  // r' = (r inv(c)) lmp: fractional coordinates in the cell, Cartesian in LAMMPS's frame.
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double s = 0;
      for (int k = 0; k < 3; ++k)
        s += (*inv)[static_cast<std::size_t>(3 * i + k)] * lmp[static_cast<std::size_t>(3 * k + j)];
      b.map[static_cast<std::size_t>(3 * i + j)] = s;
    }
  b.rotated = true;
  return b;
}

std::array<double, 3> row3(const Tensor& t, std::int64_t a, const Box& b) {
  std::array<double, 3> r{};
  for (int k = 0; k < 3; ++k) r[static_cast<std::size_t>(k)] = detail::value_as_double(t, a, k);
  if (!b.rotated) return r;
  std::array<double, 3> o{};
  for (int j = 0; j < 3; ++j)
    for (int k = 0; k < 3; ++k)
      o[static_cast<std::size_t>(j)] += r[static_cast<std::size_t>(k)] * b.map[static_cast<std::size_t>(3 * k + j)];
  return o;
}

}  // namespace

std::string write_lammps_data(const AtomicData& d, const WriteOptions& opts) {
  for (const char* f : {"positions", "atomic_numbers"})
    if (!d.has(f)) throw InvalidArgument(std::string("lammps-data: the system has no ") + f);
  const Tensor& pos = d.get("positions");
  const Tensor& z = d.get("atomic_numbers");
  const std::int64_t n = pos.rows();
  const Mat3 cell = detail::cell_of(d);
  if (detail::is_zero(cell))
    throw InvalidArgument("lammps-data: the system has no cell (an open system); a LAMMPS data file needs a box");
  const Box box = lammps_box(cell);

  // Types: the given order, else the elements present in ascending atomic number.
  std::vector<std::int64_t> type_z;
  if (!opts.elements.empty()) {
    for (const auto& e : opts.elements) {
      const std::int64_t zz = atomic_number(e);
      if (std::find(type_z.begin(), type_z.end(), zz) != type_z.end())
        throw InvalidArgument("lammps-data: element " + e + " is listed twice in the type order");
      type_z.push_back(zz);
    }
  } else {
    for (std::int64_t a = 0; a < n; ++a) type_z.push_back(static_cast<std::int64_t>(detail::value_as_double(z, a, 0)));
    std::sort(type_z.begin(), type_z.end());
    type_z.erase(std::unique(type_z.begin(), type_z.end()), type_z.end());
  }
  // LAMMPS needs at least one atom type; a system without atoms and without a type list has none
  // (batchmd's reader, like LAMMPS, refuses "0 atom types": found by fuzzing the round trip).
  if (type_z.empty())
    throw InvalidArgument("lammps-data: the system has no atoms: give the elements of the types to write an empty box");
  std::map<std::int64_t, std::int64_t> type_of;  // Z -> type
  for (std::size_t t = 0; t < type_z.size(); ++t) {
    (void)element_symbol(type_z[t]);  // InvalidArgument for a number that is no element
    type_of[type_z[t]] = static_cast<std::int64_t>(t) + 1;
  }
  // Per-type masses: LAMMPS has one mass per type, so every atom of a type must agree.
  std::vector<std::optional<double>> type_mass(type_z.size());
  std::vector<std::int64_t> types(static_cast<std::size_t>(n));
  const Tensor* masses = d.has("masses") ? &d.get("masses") : nullptr;
  for (std::int64_t a = 0; a < n; ++a) {
    const auto zz = static_cast<std::int64_t>(detail::value_as_double(z, a, 0));
    auto it = type_of.find(zz);
    if (it == type_of.end())
      throw InvalidArgument(
          "lammps-data: atom " + std::to_string(a) + " is " +
          std::string(zz >= 1 && zz <= 118 ? element_symbol(zz) : "not an element (Z=" + std::to_string(zz) + ")") +
          ", which the type order does not list");
    types[static_cast<std::size_t>(a)] = it->second;
    auto& m = type_mass[static_cast<std::size_t>(it->second - 1)];
    const double ma = masses ? detail::value_as_double(*masses, a, 0) : atomic_mass(zz);
    if (m && *m != ma)
      throw InvalidArgument("lammps-data: atoms of element " + std::string(element_symbol(zz)) +
                            " have different masses; a LAMMPS type has one mass");
    m = ma;
  }
  const bool charge = opts.atom_style == AtomStyle::Charge || (opts.atom_style == AtomStyle::Auto && d.has("charges"));
  const Tensor* q = d.has("charges") ? &d.get("charges") : nullptr;
  const Tensor* img = d.has("image_flags") ? &d.get("image_flags") : nullptr;
  if (img && img->row_numel() != 3) throw InvalidArgument("lammps-data: image_flags must have 3 values per atom");
  const Tensor* vel = d.has("velocities") ? &d.get("velocities") : nullptr;
  if (vel && vel->row_numel() != 3) throw InvalidArgument("lammps-data: velocities must have 3 values per atom");

  std::string s = opts.comment.empty() ? std::string("LAMMPS data file written by batchmd") : opts.comment;
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  s += "\n\n";
  detail::append_int(s, n);
  s += " atoms\n";
  detail::append_int(s, static_cast<std::int64_t>(type_z.size()));
  s += " atom types\n\n";
  auto num = [&](double v) {
    detail::append_double(s, v);
    s += ' ';
  };
  s += "0.0 ";
  num(box.lx);
  s += "xlo xhi\n0.0 ";
  num(box.ly);
  s += "ylo yhi\n0.0 ";
  num(box.lz);
  s += "zlo zhi\n";
  if (box.xy != 0 || box.xz != 0 || box.yz != 0) {
    num(box.xy);
    num(box.xz);
    num(box.yz);
    s += "xy xz yz\n";
  }
  s += "\nMasses\n\n";
  for (std::size_t t = 0; t < type_z.size(); ++t) {
    detail::append_int(s, static_cast<std::int64_t>(t) + 1);
    s += ' ';
    // An element listed but absent from the system still needs a mass: its standard weight.
    detail::append_double(s, type_mass[t] ? *type_mass[t] : atomic_mass(type_z[t]));
    s += " # ";
    s += element_symbol(type_z[t]);
    s += '\n';
  }
  s += charge ? "\nAtoms # charge\n\n" : "\nAtoms # atomic\n\n";
  for (std::int64_t a = 0; a < n; ++a) {
    detail::append_int(s, a + 1);
    s += ' ';
    detail::append_int(s, types[static_cast<std::size_t>(a)]);
    if (charge) {
      s += ' ';
      detail::append_double(s, q ? detail::value_as_double(*q, a, 0) : 0.0);
    }
    for (double x : row3(pos, a, box)) {
      s += ' ';
      detail::append_double(s, x);
    }
    if (img)
      for (int k = 0; k < 3; ++k) {
        s += ' ';
        detail::append_int(s, static_cast<std::int64_t>(detail::value_as_double(*img, a, k)));
      }
    s += '\n';
  }
  if (vel) {
    s += "\nVelocities\n\n";
    for (std::int64_t a = 0; a < n; ++a) {
      detail::append_int(s, a + 1);
      for (double v : row3(*vel, a, box)) {
        s += ' ';
        detail::append_double(s, v * 1e3);  // Å/fs -> Å/ps
      }
      s += '\n';
    }
  }
  return s;
}

}  // namespace batchmd::io
