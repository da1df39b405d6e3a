// SPDX-License-Identifier: Apache-2.0
// tests/fuzz: the structure-file readers (extended XYZ, LAMMPS data, POSCAR, CIF). The input is
// the file's text as it is: no option bytes, so that every seed is a real file another tool can
// open; the readers run with default options. What a reader accepts must be sane and, for the formats batchmd
// writes, survive a write and a second read with the same atoms.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "batchmd/core/error.hpp"
#include "batchmd/io/structures.hpp"
#include "harness.hpp"

namespace batchmd::fuzz {

namespace {

[[noreturn]] void broken(const char* target, const std::string& why) {
  std::fprintf(stderr, "fuzz invariant failed (%s): %s\n", target, why.c_str());
  std::abort();
}

// Every system a reader returns is usable by the rest of batchmd: the standard fields exist with
// one row per atom (or system), and the cell is finite.
void check_systems(const char* target, const std::vector<AtomicData>& systems) {
  for (const AtomicData& d : systems) {
    for (const char* f : {"positions", "atomic_numbers", "masses", "cell", "pbc"})
      if (!d.has(f)) broken(target, std::string("a system without ") + f);
    if (d.get("positions").rows() != d.n_atoms() || d.get("atomic_numbers").rows() != d.n_atoms())
      broken(target, "positions/atomic_numbers rows differ from the atom count");
    const auto* z = d.get("atomic_numbers").data<std::int64_t>();
    for (std::int64_t a = 0; a < d.n_atoms(); ++a)
      if (z[a] < 0 || z[a] > 118) broken(target, "atomic number " + std::to_string(z[a]));
  }
}

int read_format(const char* target, io::Format format, const std::uint8_t* data, std::size_t size,
                const io::ReadOptions& opts) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<AtomicData> systems;
  try {
    systems = io::parse_structures(text, format, opts, "fuzz");
  } catch (const Error&) {
    return 0;
  }
  check_systems(target, systems);
  if (!io::can_write(format) || systems.empty()) return 0;
  // A round trip through batchmd's own writer: what it writes, it reads back with the same atoms.
  std::string written;
  try {
    io::WriteOptions w;
    written = io::format_structures(format == io::Format::ExtXYZ ? std::span<const AtomicData>(systems)
                                                                 : std::span<const AtomicData>(systems.data(), 1),
                                    format, w);
  } catch (const Error&) {
    return 0;  // what the format cannot hold (an open system in a LAMMPS data file, ...)
  }
  io::ReadOptions again = opts;
  again.frames = io::FrameSelection::all();
  std::vector<AtomicData> back;
  try {
    back = io::parse_structures(written, format, again, "fuzz (written back)");
  } catch (const Error& e) {
    broken(target, std::string("batchmd cannot read what it wrote: ") + e.what() + "\n" + written);
  }
  const std::size_t n = format == io::Format::ExtXYZ ? systems.size() : 1;
  if (back.size() != n) broken(target, "a different number of frames after a round trip");
  for (std::size_t i = 0; i < n; ++i)
    if (back[i].n_atoms() != systems[i].n_atoms()) broken(target, "a different atom count after a round trip");
  return 0;
}

}  // namespace

int io_extxyz(const std::uint8_t* data, std::size_t size) {
  return read_format("io_extxyz", io::Format::ExtXYZ, data, size, {});
}

int io_lammps_data(const std::uint8_t* data, std::size_t size) {
  // No type list: the types are named by the file's Masses comments or by their masses.
  return read_format("io_lammps_data", io::Format::LammpsData, data, size, {});
}

int io_poscar(const std::uint8_t* data, std::size_t size) {
  return read_format("io_poscar", io::Format::Poscar, data, size, {});
}

int io_cif(const std::uint8_t* data, std::size_t size) {
  return read_format("io_cif", io::Format::Cif, data, size, {});
}

}  // namespace batchmd::fuzz
