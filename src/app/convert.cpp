// SPDX-License-Identifier: Apache-2.0
// app/convert: `batchmd convert`: a trajectory store (or a selection of it) as a structure file:
// extended XYZ (one frame per sample; ASE, OVITO), or one sample as a LAMMPS data file or a VASP
// POSCAR. The format is --format, else the output's extension. The files themselves are written by
// the io module (io/extxyz.hpp, io/lammps_data.hpp, io/poscar.hpp; docs/structures.md): extended
// XYZ carries every atom- and system-level field (velocities as ASE's momenta, so ASE reads them
// back), edge-level fields have no place and are named in the summary. The output replaces the
// target only when everything was written (io::AtomicFile).
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "batchmd/app/commands.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/io/atomic_file.hpp"
#include "batchmd/io/extxyz.hpp"
#include "batchmd/io/structures.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "batchmd/zarr/group.hpp"

namespace batchmd::app {
namespace {

namespace fs = std::filesystem;
using FieldInfo = sinks::TrajectoryReader::FieldInfo;

/// A missing local store is a FormatError here, before the reader would create its directory.
void require_local_store(const std::string& url) {
  std::string path = url;
  if (url.starts_with("file://"))
    path = url.substr(7);
  else if (url.find("://") != std::string::npos)
    return;  // memory:// and others: the reader decides
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw FormatError(url + ": no Zarr store here (no such file or directory)");
}

/// The output format: --format, else the output's extension.
io::Format output_format(const ConvertOptions& o) {
  if (o.format) {
    const io::Format f = io::format_from_name(*o.format);  // InvalidArgument lists the names
    if (!io::can_write(f))
      throw InvalidArgument("convert: --format " + *o.format + ": batchmd reads CIF but does not write it");
    return f;
  }
  const fs::path target(o.output);
  if (auto f = io::format_from_path(target); f && io::can_write(*f)) return *f;
  throw InvalidArgument("convert: cannot tell the format of output '" + o.output + "' from its extension '" +
                        target.extension().string() +
                        "': name it .xyz or .extxyz (extended XYZ), .data or .lmp (LAMMPS data), POSCAR or .vasp "
                        "(VASP), or give --format extxyz|lammps-data|poscar");
}

std::string describe_selection(const ConvertOptions& o) {
  std::string d;
  if (o.system_id) d += "system_id " + std::to_string(*o.system_id);
  if (o.step_min || o.step_max) {
    if (!d.empty()) d += " and ";
    d += "step in [" + (o.step_min ? std::to_string(*o.step_min) : std::string("-inf")) + ", " +
         (o.step_max ? std::to_string(*o.step_max) : std::string("+inf")) + "]";
  }
  return d.empty() ? "any sample" : d;
}

}  // namespace

int convert_command(const ConvertOptions& o, std::FILE* out) {
  // Arguments first: nothing is opened for a request that cannot succeed.
  if (o.output.empty()) throw InvalidArgument("convert: no output file given");
  const io::Format format = output_format(o);
  if (o.step_min && o.step_max && *o.step_min > *o.step_max)
    throw InvalidArgument("convert: --step-min (" + std::to_string(*o.step_min) + ") is greater than --step-max (" +
                          std::to_string(*o.step_max) + ")");

  require_local_store(o.url);
  sinks::TrajectoryReader reader(o.url);  // FormatError for a bad URL or a foreign store
  const std::int64_t n = reader.num_samples();
  const auto fields = reader.fields();
  if (std::none_of(fields.begin(), fields.end(),
                   [](const FieldInfo& f) { return f.name == "positions" && f.level == Level::Atom; }))
    throw FormatError(reader.url() + ": the store has no atom-level positions field; nothing to convert");
  std::vector<std::string> skipped;  // edge-level fields: no place in a structure file
  for (const auto& f : fields)
    if (f.level == Level::Edge) skipped.push_back(f.name);
  auto system_field = [&](const std::string& name) -> const FieldInfo* {
    for (const auto& f : fields)
      if (f.name == name && f.level == Level::System) return &f;
    return nullptr;
  };

  // The selection: sample indices, in store order.
  std::vector<std::int64_t> selected;
  if (o.system_id) {
    if (!system_field("system_id"))
      throw InvalidArgument("convert: --system: " + reader.url() + " has no system_id field");
    selected = reader.samples_of_system(*o.system_id);
  } else {
    for (std::int64_t i = 0; i < n; ++i)
      if (reader.live_samples()[static_cast<std::size_t>(i)]) selected.push_back(i);  // deleted ones left out
  }
  if (o.step_min || o.step_max) {
    const char* opt = o.step_min && o.step_max ? "--step-min/--step-max" : o.step_min ? "--step-min" : "--step-max";
    const FieldInfo* f = system_field("step");
    if (!f) throw InvalidArgument(std::string("convert: ") + opt + ": " + reader.url() + " has no step field");
    zarr::Group root = zarr::Group::open(zarr::open_store(o.url), "");
    zarr::Array a = root.open_array(f->group + "/" + f->name);
    std::vector<std::int64_t> steps;
    if (a.meta().dtype == DType::Int64) {
      steps = a.read<std::int64_t>(0, n);
    } else if (a.meta().dtype == DType::Int32) {
      auto v = a.read<std::int32_t>(0, n);
      steps.assign(v.begin(), v.end());
    } else {
      throw FormatError(reader.url() + ": the step field is " + std::string(dtype_name(a.meta().dtype)) +
                        ", not an integer");
    }
    std::erase_if(selected, [&](std::int64_t i) {
      const std::int64_t st = steps[static_cast<std::size_t>(i)];
      return (o.step_min && st < *o.step_min) || (o.step_max && st > *o.step_max);
    });
  }
  if (selected.empty())
    throw InvalidArgument("convert: nothing matched in " + reader.url() + " (" + std::to_string(n) +
                          " samples): no sample with " + describe_selection(o) + "; nothing written");
  if (!io::holds_many(format) && selected.size() != 1)
    throw InvalidArgument("convert: a " + std::string(io::format_name(format)) + " file holds one structure, but " +
                          describe_selection(o) + " selects " + std::to_string(selected.size()) +
                          " samples; pick one with --system and --step-min/--step-max");

  // A writer's complaint about one sample (an atomic number that is no element, an open system
  // for LAMMPS) names the store and the sample.
  auto system_of = [&](const Batch& b, std::int64_t s, std::int64_t store_index, auto&& write) {
    try {
      write(b.system(s));
    } catch (const InvalidArgument& e) {
      throw FormatError(reader.url() + ": sample " + std::to_string(store_index) + ": " + e.what());
    }
  };

  // Read in blocks of samples (bounded by atoms) and write each frame.
  const auto counts = reader.atom_counts();
  io::AtomicFile file{fs::path(o.output)};
  std::int64_t frames = 0, atoms = 0;
  std::string text;
  constexpr std::int64_t kBlockAtoms = 1 << 16, kBlockSamples = 4096;
  for (std::size_t i = 0; i < selected.size();) {
    std::vector<std::int64_t> block;
    std::int64_t block_atoms = 0;
    while (i < selected.size() &&
           (block.empty() || (block_atoms < kBlockAtoms && static_cast<std::int64_t>(block.size()) < kBlockSamples))) {
      block.push_back(selected[i]);
      block_atoms += counts[static_cast<std::size_t>(selected[i])];
      ++i;
    }
    const Batch b = reader.read_indices(block);
    text.clear();
    for (std::int64_t s = 0; s < b.n_systems(); ++s)
      system_of(b, s, block[static_cast<std::size_t>(s)], [&](const AtomicData& d) {
        if (format == io::Format::ExtXYZ)
          io::append_extxyz_frame(text, d);
        else
          text = io::format_structures(std::span<const AtomicData>(&d, 1), format);
      });
    file.write(text);
    frames += b.n_systems();
    atoms += b.n_atoms();
  }
  file.commit();

  std::string note;
  if (!skipped.empty()) {
    note = " (edge fields not written:";
    for (const auto& f : skipped) note += " " + f;
    note += ")";
  }
  std::fprintf(out, "convert: wrote %" PRId64 " frame%s, %" PRId64 " atoms to %s%s\n", frames, frames == 1 ? "" : "s",
               atoms, o.output.c_str(), note.c_str());
  return 0;
}

}  // namespace batchmd::app
