// SPDX-License-Identifier: Apache-2.0
// io/structures: the entry points. Picks the format (option, else file name), reads the whole
// file into memory (structure files are small next to the trajectories batchmd writes) and hands
// the text to the format's reader; writes through AtomicFile.
#include "batchmd/io/structures.hpp"

#include <fstream>
#include <sstream>

#include "batchmd/core/error.hpp"
#include "batchmd/io/atomic_file.hpp"
#include "batchmd/io/cif.hpp"
#include "batchmd/io/extxyz.hpp"
#include "batchmd/io/lammps_data.hpp"
#include "batchmd/io/poscar.hpp"

namespace batchmd::io {
namespace {

Format pick(const std::optional<Format>& given, const std::filesystem::path& path) {
  if (given) return *given;
  if (auto f = format_from_path(path)) return *f;
  throw InvalidArgument("cannot tell the format of '" + path.string() +
                        "' from its name: name it *.xyz/*.extxyz (extended XYZ), *.data/*.lmp (LAMMPS data), "
                        "POSCAR/CONTCAR/*.vasp (VASP) or *.cif, or give the format (extxyz, lammps-data, poscar, cif)");
}

/// A single-frame format's one system, if the selection takes it.
std::vector<AtomicData> single(std::vector<AtomicData> systems, const ReadOptions& opts, std::string_view source) {
  std::vector<AtomicData> out;
  for (std::int64_t i : opts.frames.resolve(static_cast<std::int64_t>(systems.size()), source))
    out.push_back(systems[static_cast<std::size_t>(i)].clone());
  return out;
}

}  // namespace

std::vector<AtomicData> parse_structures(std::string_view text, Format format, const ReadOptions& opts,
                                         std::string_view source) {
  switch (format) {
    case Format::ExtXYZ:
      return read_extxyz(text, opts, source);
    case Format::LammpsData:
      return single(read_lammps_data(text, opts, source), opts, source);
    case Format::Poscar:
      return single(read_poscar(text, opts, source), opts, source);
    case Format::Cif:
      return read_cif(text, opts, source);
  }
  throw InvalidArgument("unknown structure format");
}

std::vector<AtomicData> read_structures(const std::filesystem::path& path, const ReadOptions& opts) {
  const Format format = pick(opts.format, path);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw IOError("cannot read '" + path.string() + "': it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError("cannot open '" + path.string() + "': no such file or not readable");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IOError("reading '" + path.string() + "' failed");
  return parse_structures(ss.str(), format, opts, path.string());
}

std::string format_structures(std::span<const AtomicData> systems, Format format, const WriteOptions& opts) {
  if (!can_write(format))
    throw InvalidArgument("batchmd reads " + std::string(format_name(format)) + " files but does not write them");
  if (systems.empty()) throw InvalidArgument("no system to write");
  if (!holds_many(format) && systems.size() != 1)
    throw InvalidArgument("a " + std::string(format_name(format)) + " file holds one system, not " +
                          std::to_string(systems.size()) + " (write extended XYZ for many)");
  std::string out;
  switch (format) {
    case Format::ExtXYZ:
      for (const auto& s : systems) append_extxyz_frame(out, s);
      break;
    case Format::LammpsData:
      out = write_lammps_data(systems[0], opts);
      break;
    case Format::Poscar:
      out = write_poscar(systems[0], opts);
      break;
    case Format::Cif:
      break;
  }
  return out;
}

void write_structures(const std::filesystem::path& path, std::span<const AtomicData> systems,
                      const WriteOptions& opts) {
  const Format format = pick(opts.format, path);
  const std::string text = format_structures(systems, format, opts);  // all checks before the file
  AtomicFile file(path);
  file.write(text);
  file.commit();
}

}  // namespace batchmd::io
