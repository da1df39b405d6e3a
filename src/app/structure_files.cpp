// SPDX-License-Identifier: Apache-2.0
// app/structure_files: [[structures]] tables — parsing, reading the file once (a cache the limits
// estimate fills and building the batch uses), and turning each selected frame into the job's
// systems (replicate, count, jitter, pbc override, velocities kept or left to be drawn).
#include "batchmd/app/structure_files.hpp"

#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <utility>

#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"
#include "batchmd/io/structures.hpp"
#include "job_tables.hpp"
#include "table_reader.hpp"

namespace batchmd::app {

/// One frame of a file, as plain numbers (float64), before replicate and any override.
struct FrameData {
  std::int64_t index = 0;  // in the file
  std::vector<double> positions, masses, velocities;
  std::vector<std::int64_t> numbers;
  std::array<double, 9> cell{};
  std::array<bool, 3> pbc{};
};

/// Every frame of one file (read with one format and type map), shared by the tables of a job
/// that read the same file, so that it is read once however many tables select from it.
struct FileFrames {
  std::mutex m;
  bool read = false;
  std::vector<FrameData> frames;
};

struct StructureFileCache {
  std::mutex m;
  bool checked = false;               // the selection resolved and its frames checked
  std::vector<std::int64_t> indices;  // the selected frames (kept after release)
  std::shared_ptr<FileFrames> file;
};

namespace {

namespace fs = std::filesystem;

std::string resolve(const std::string& path, const std::string& origin) {
  const fs::path p(path);
  if (p.is_absolute()) return path;
  std::error_code ec;
  if (fs::is_regular_file(origin, ec)) return (fs::absolute(origin, ec).parent_path() / p).lexically_normal().string();
  return path;
}

[[noreturn]] void fail(const StructureFileSpec& s, const std::string& key, const std::string& why) {
  throw InvalidArgument(s.origin + ": '" + s.where + "." + key + "' " + why);
}

double det3(const std::array<double, 9>& m) {
  return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
}

bool zero_row(const std::array<double, 9>& c, int d) { return c[3 * d] == 0 && c[3 * d + 1] == 0 && c[3 * d + 2] == 0; }

std::vector<double> doubles(const Tensor& t) {
  std::vector<double> v(static_cast<std::size_t>(t.numel()));
  dispatch_float(t.dtype(), [&](auto zero) {
    using T = decltype(zero);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(t.data<T>()[i]);
  });
  return v;
}

FrameData frame_of(const AtomicData& d, std::int64_t index) {
  FrameData f;
  f.index = index;
  f.positions = doubles(d.get("positions"));
  f.masses = doubles(d.get("masses"));
  const Tensor& z = d.get("atomic_numbers");
  f.numbers.assign(z.data<std::int64_t>(), z.data<std::int64_t>() + z.numel());
  const auto c = doubles(d.get("cell"));
  for (std::size_t k = 0; k < 9 && k < c.size(); ++k) f.cell[k] = c[k];
  for (int k = 0; k < 3; ++k) f.pbc[static_cast<std::size_t>(k)] = d.get("pbc").data<bool>()[k];
  if (d.has("velocities") && d.level("velocities") == Level::Atom && d.get("velocities").row_numel() == 3)
    f.velocities = doubles(d.get("velocities"));
  return f;
}

// The selected frames of a table: the file's frames (read on first use, shared) and the indices.
struct Selection {
  std::shared_ptr<FileFrames> file;  // holds the frames while the caller uses them
  std::vector<std::int64_t> indices;
  const FrameData& frame(std::size_t i) const { return file->frames[static_cast<std::size_t>(indices[i])]; }
};

// Reads the file (once for every table that reads it) and, on a table's first use, resolves its
// frames and checks what it asks of each.
Selection load(const StructureFileSpec& s) {
  if (!s.cache || !s.cache->file)
    throw std::logic_error("structure_files: a spec without a cache (not from the parser)");
  StructureFileCache& c = *s.cache;
  std::lock_guard lock(c.m);
  FileFrames& file = *c.file;
  {
    std::lock_guard file_lock(file.m);
    if (!file.read) {
      // Every frame is read (the selection is applied below), so that the systems know their
      // frame numbers and tables selecting other frames share the read; the file's text is in
      // memory while it is parsed anyway.
      io::ReadOptions o;
      o.format = s.format;
      o.elements = s.elements;
      o.float_dtype = DType::Float64;
      std::vector<AtomicData> systems;
      try {
        systems = io::read_structures(s.file, o);
      } catch (const InvalidArgument& e) {  // a bad element list: the table's key
        throw InvalidArgument(s.origin + ": '" + s.where + "': " + e.what());
      }
      file.frames.clear();
      for (std::size_t i = 0; i < systems.size(); ++i) {
        file.frames.push_back(frame_of(systems[i], static_cast<std::int64_t>(i)));
        systems[i] = AtomicData();
      }
      file.read = true;
    }
  }
  if (c.checked) return {c.file, c.indices};
  std::vector<std::int64_t> indices;
  try {
    indices = s.frames.resolve(static_cast<std::int64_t>(file.frames.size()), s.file);
  } catch (const InvalidArgument& e) {  // frames out of range
    throw InvalidArgument(s.origin + ": '" + s.where + "': " + e.what());
  }
  for (const std::int64_t index : indices) {
    const FrameData& f = file.frames[static_cast<std::size_t>(index)];
    const std::string label = "frame " + std::to_string(index);
    if (f.numbers.empty()) fail(s, "file", "'" + s.file + "' " + label + " holds no atoms");
    const std::array<bool, 3> pbc = s.pbc.value_or(f.pbc);
    for (int d = 0; d < 3; ++d) {
      const auto k = static_cast<std::size_t>(d);
      if (pbc[k] && zero_row(f.cell, d))
        fail(s, s.pbc ? "pbc" : "file",
             "makes direction " + std::string(1, "abc"[d]) + " of '" + s.file + "' (" + label +
                 ") periodic, but the structure has no cell vector there");
      if (s.replicate[k] > 1 && zero_row(f.cell, d))
        fail(s, "replicate",
             "repeats '" + s.file + "' (" + label + ") along " + std::string(1, "abc"[d]) +
                 ", but the structure has no cell vector there");
    }
    if (pbc[0] && pbc[1] && pbc[2] && !(std::abs(det3(f.cell)) > 0))
      fail(s, s.pbc ? "pbc" : "file",
           "makes '" + s.file + "' (" + label + ") periodic in three directions, but its cell has zero volume");
  }
  c.indices = std::move(indices);
  c.checked = true;
  return {c.file, c.indices};
}

}  // namespace

void parse_structure_tables(const toml::table& root, const std::string& origin, std::vector<StructureFileSpec>& out) {
  const toml::node* n = root.get("structures");
  if (n == nullptr) return;
  if (!n->is_array_of_tables())
    throw InvalidArgument(origin + ": 'structures' must be an array of tables ([[structures]])");
  std::map<std::string, std::shared_ptr<FileFrames>> files;  // one read per file, format and type map
  std::size_t i = 0;
  for (const auto& e : *n->as_array()) {
    StructureFileSpec s;
    s.where = "structures[" + std::to_string(i++) + "]";
    s.origin = origin;
    detail::TableReader r(*e.as_table(), s.where, origin);
    r.get("file", s.file);
    std::string format;
    r.get("format", format);
    if (const toml::node* f = r.node("frames")) {
      try {
        if (f->is_integer())
          s.frames = io::FrameSelection::index(*f->value<std::int64_t>());
        else if (f->is_array()) {
          std::vector<std::int64_t> list;
          for (const auto& x : *f->as_array()) {
            if (!x.is_integer()) r.fail("frames", "must be a list of frame indices, e.g. [0, 4, 7]");
            list.push_back(*x.value<std::int64_t>());
          }
          if (list.empty()) r.fail("frames", "is an empty list: it selects no structure");
          s.frames = io::FrameSelection::list(std::move(list));
        } else if (auto str = f->value<std::string>()) {
          s.frames = *str == "all" ? io::FrameSelection::all() : io::FrameSelection::parse(*str);
        } else {
          r.fail("frames", "must be \"all\", an index, a list of indices or a slice \"start:stop:step\"");
        }
      } catch (const InvalidArgument& ex) {
        if (std::string(ex.what()).starts_with(origin)) throw;
        r.fail("frames", std::string("is not a frame selection: ") + ex.what());
      }
    }
    r.get("elements", s.elements);
    std::vector<std::int64_t> rep;
    r.get("replicate", rep);
    r.get("count", s.count);
    if (r.has("temperature_K")) {
      double t = 0;
      r.get("temperature_K", t);
      s.temperature_K = t;
    }
    r.get("jitter", s.jitter);
    if (const toml::node* p = r.node("pbc")) {
      std::array<bool, 3> v{};
      if (p->is_boolean()) {
        const bool b = *p->value<bool>();
        v = {b, b, b};
      } else if (p->is_array() && p->as_array()->size() == 3) {
        for (std::size_t k = 0; k < 3; ++k) {
          const toml::node* b = p->as_array()->get(k);
          if (!b->is_boolean()) r.fail("pbc", "must be true, false or three of them, e.g. [true, true, false]");
          v[k] = *b->value<bool>();
        }
      } else {
        r.fail("pbc", "must be true, false or three of them, e.g. [true, true, false]");
      }
      s.pbc = v;
    }
    r.finish();
    if (s.file.empty()) r.fail("file", "is required: the structure file to read");
    s.file = resolve(s.file, origin);
    std::error_code ec;
    if (!fs::is_regular_file(s.file, ec)) r.fail("file", "names no readable file: '" + s.file + "'");
    if (!format.empty()) try {
        s.format = io::format_from_name(format);
      } catch (const InvalidArgument& ex) {
        r.fail("format", ex.what());
      }
    else if (!io::format_from_path(s.file))
      r.fail("format", "is needed: the name '" + fs::path(s.file).filename().string() +
                           "' does not say (extxyz, lammps-data, poscar or cif)");
    for (const auto& el : s.elements)
      if (!find_atomic_number(el)) r.fail("elements", "'" + el + "' is not a chemical element symbol");
    if (!rep.empty()) {
      if (rep.size() != 3) r.fail("replicate", "must be three integers [nx, ny, nz]");
      for (std::size_t d = 0; d < 3; ++d) {
        if (rep[d] < 1 || rep[d] > 10000)
          r.fail("replicate", "must be three integers in [1, 10000], got " + std::to_string(rep[d]));
        s.replicate[d] = rep[d];
      }
    }
    if (s.count < 1 || s.count > 1'000'000)
      r.fail("count", "must be an integer in [1, 1000000], got " + std::to_string(s.count));
    if (s.temperature_K && !(*s.temperature_K >= 0 && *s.temperature_K <= 1e6))
      r.fail("temperature_K", "must be >= 0 and <= 1000000 K");
    if (!(s.jitter >= 0 && s.jitter <= 100)) r.fail("jitter", "must be >= 0 and <= 100 Å");
    s.cache = std::make_shared<StructureFileCache>();
    std::string key = s.file + '\n' + (s.format ? std::string(io::format_name(*s.format)) : "");
    for (const auto& el : s.elements) key += '\n' + el;
    auto& shared = files[key];
    if (!shared) shared = std::make_shared<FileFrames>();
    s.cache->file = shared;
    out.push_back(std::move(s));
  }
}

std::vector<StructureFrameSize> structure_sizes(const StructureFileSpec& s) {
  const Selection sel = load(s);
  const double rep =
      static_cast<double>(s.replicate[0]) * static_cast<double>(s.replicate[1]) * static_cast<double>(s.replicate[2]);
  std::vector<StructureFrameSize> out;
  for (std::size_t i = 0; i < sel.indices.size(); ++i) {
    const FrameData& f = sel.frame(i);
    const std::array<bool, 3> pbc = s.pbc.value_or(f.pbc);
    const bool periodic = pbc[0] && pbc[1] && pbc[2];
    out.push_back({f.index, static_cast<double>(f.numbers.size()) * rep, periodic ? std::abs(det3(f.cell)) * rep : 0});
  }
  return out;
}

std::vector<AtomicData> make_structure_systems(const StructureFileSpec& s, DType dt, std::mt19937_64& rng,
                                               std::vector<std::vector<double>>& velocities) {
  const Selection sel = load(s);
  std::uniform_real_distribution<double> u(-s.jitter, s.jitter);
  std::vector<AtomicData> out;
  for (std::size_t fi = 0; fi < sel.indices.size(); ++fi) {
    const FrameData& f = sel.frame(fi);
    const std::array<bool, 3> pbc = s.pbc.value_or(f.pbc);
    // The supercell in ASE's order (Atoms.repeat): one image after another, i outermost.
    const std::size_t n = f.numbers.size();
    std::vector<double> pos, mass, vel;
    std::vector<std::int64_t> z;
    for (std::int64_t i = 0; i < s.replicate[0]; ++i)
      for (std::int64_t j = 0; j < s.replicate[1]; ++j)
        for (std::int64_t k = 0; k < s.replicate[2]; ++k) {
          const double m[3] = {double(i), double(j), double(k)};
          for (std::size_t a = 0; a < n; ++a)
            for (std::size_t d = 0; d < 3; ++d)
              pos.push_back(f.positions[3 * a + d] + m[0] * f.cell[d] + m[1] * f.cell[3 + d] + m[2] * f.cell[6 + d]);
          z.insert(z.end(), f.numbers.begin(), f.numbers.end());
          mass.insert(mass.end(), f.masses.begin(), f.masses.end());
          vel.insert(vel.end(), f.velocities.begin(), f.velocities.end());
        }
    std::vector<double> cell(9);
    for (std::size_t d = 0; d < 9; ++d) cell[d] = f.cell[d] * static_cast<double>(s.replicate[d / 3]);
    const bool keep_velocities = !s.temperature_K && !f.velocities.empty();
    const auto na = static_cast<std::int64_t>(z.size());
    for (std::int64_t copy = 0; copy < s.count; ++copy) {
      std::vector<double> p = pos;
      if (s.jitter > 0)
        for (double& x : p) x += u(rng);
      // make() looks masses up by atomic number (a table that stops at Xe): build with hydrogen,
      // then set the file's elements and masses.
      AtomicData d = AtomicData::make(dt, p, std::vector<std::int64_t>(z.size(), 1), cell, pbc);
      d.set("atomic_numbers", Level::Atom, Tensor::from(z, {na}));
      Tensor mt(dt, {na});
      dispatch_float(dt, [&](auto zero) {
        using T = decltype(zero);
        for (std::int64_t a = 0; a < na; ++a) mt.data<T>()[a] = static_cast<T>(mass[static_cast<std::size_t>(a)]);
      });
      d.set("masses", Level::Atom, std::move(mt));
      out.push_back(std::move(d));
      velocities.push_back(keep_velocities ? vel : std::vector<double>{});
    }
  }
  return out;
}

std::int64_t structure_system_count(const StructureFileSpec& s) {
  {
    std::lock_guard lock(s.cache->m);
    if (s.cache->checked) return static_cast<std::int64_t>(s.cache->indices.size()) * s.count;
  }
  return static_cast<std::int64_t>(load(s).indices.size()) * s.count;
}

void release_structure_cache(const StructureFileSpec& s) {
  if (!s.cache || !s.cache->file) return;
  std::lock_guard lock(s.cache->file->m);
  s.cache->file->frames.clear();
  s.cache->file->frames.shrink_to_fit();
  s.cache->file->read = false;
}

std::string describe_structure_system(const StructureFileSpec& s, std::int64_t k) {
  std::string d = s.where + " (file '" + s.file + "'";
  if (s.cache) {
    std::lock_guard lock(s.cache->m);
    const auto frame = static_cast<std::size_t>(k / s.count);
    if (frame < s.cache->indices.size()) d += ", frame " + std::to_string(s.cache->indices[frame]);
  }
  if (s.count > 1) d += ", copy " + std::to_string(k % s.count);
  return d + ")";
}

}  // namespace batchmd::app
