// app/convert: `batchmd convert`: a trajectory store (or a selection of it) as extended XYZ, one
// frame per sample, readable by ASE (ase.io.read(path, index=':')) and OVITO.
//
// Per frame: the atom count; a comment line with Lattice (rows a, b, c; only for a non-zero cell)
// and pbc (only with Lattice), Properties, then every other system-level field as key=value
// (energy lands on ASE's SinglePointCalculator, stress/virial are written column-major as ASE's
// 3x3 keys expect); then one line per atom: species (from atomic_numbers), pos, forces (ASE turns
// them into calculator forces), velo (velocities, OVITO's Velocity), masses, charges and every
// other atom-level field. Floats are written in the shortest form that reads back to the same
// double. Edge-level fields have no place in XYZ and are left out (the summary names them).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "batchmd/app/commands.hpp"
#include "batchmd/core/error.hpp"
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

constexpr const char* kSymbols[] = {
    "X",  "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne", "Na", "Mg", "Al", "Si", "P",  "S",
    "Cl", "Ar", "K",  "Ca", "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As",
    "Se", "Br", "Kr", "Rb", "Sr", "Y",  "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn",
    "Sb", "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho",
    "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W",  "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po",
    "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U",  "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md",
    "No", "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og"};
static_assert(sizeof(kSymbols) / sizeof(kSymbols[0]) == 119);

// ------------------------------------------------------------------ value formatting

/// Shortest text that reads back as the same double, with a '.' or exponent so that key=value
/// parsers (ASE) keep it a float.
void append_float(std::string& s, double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) throw Error("convert: cannot format a number");
  std::string_view t(buf, static_cast<std::size_t>(end - buf));
  s += t;
  if (t.find_first_of(".eEni") == std::string_view::npos) s += ".0";
}

/// Element k of a row of a field, as text ('T'/'F' for bools).
void append_value(std::string& s, DType dt, const std::byte* row, std::int64_t k) {
  const auto i = static_cast<std::size_t>(k);
  switch (dt) {
    case DType::Float64:
      append_float(s, reinterpret_cast<const double*>(row)[i]);
      break;
    case DType::Float32:
      append_float(s, static_cast<double>(reinterpret_cast<const float*>(row)[i]));
      break;
    case DType::Int64:
      s += std::to_string(reinterpret_cast<const std::int64_t*>(row)[i]);
      break;
    case DType::Int32:
      s += std::to_string(reinterpret_cast<const std::int32_t*>(row)[i]);
      break;
    case DType::UInt8:
      s += std::to_string(static_cast<unsigned>(reinterpret_cast<const std::uint8_t*>(row)[i]));
      break;
    case DType::Bool:
      s += reinterpret_cast<const std::uint8_t*>(row)[i] ? 'T' : 'F';
      break;
  }
}

double as_double(DType dt, const std::byte* row, std::int64_t k) {
  const auto i = static_cast<std::size_t>(k);
  switch (dt) {
    case DType::Float64:
      return reinterpret_cast<const double*>(row)[i];
    case DType::Float32:
      return static_cast<double>(reinterpret_cast<const float*>(row)[i]);
    case DType::Int64:
      return static_cast<double>(reinterpret_cast<const std::int64_t*>(row)[i]);
    case DType::Int32:
      return static_cast<double>(reinterpret_cast<const std::int32_t*>(row)[i]);
    case DType::UInt8:
      return static_cast<double>(reinterpret_cast<const std::uint8_t*>(row)[i]);
    case DType::Bool:
      return reinterpret_cast<const std::uint8_t*>(row)[i] ? 1.0 : 0.0;
  }
  return 0.0;
}

char xyz_type(DType dt) {
  if (is_floating(dt)) return 'R';
  if (dt == DType::Bool) return 'L';
  return 'I';
}

/// An extended-XYZ key: [A-Za-z_][A-Za-z0-9_]*.
std::string xyz_name(const std::string& name) {
  std::string s;
  for (char c : name) s += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) s = "_" + s;
  return s;
}

// ------------------------------------------------------------------ the plan of columns and keys

struct Column {
  std::string field;          // batch field name
  std::string key;            // extended XYZ name
  bool column_major = false;  // 3x3 keys ASE reads Fortran-ordered (stress, virial)
};

struct Plan {
  std::vector<Column> atom;    // after species and pos
  std::vector<Column> system;  // after Lattice, Properties (and pbc)
  bool has_numbers = false, has_cell = false, has_pbc = false;
  std::vector<std::string> skipped;  // edge-level fields
};

Plan make_plan(const std::vector<FieldInfo>& fields, const std::string& url) {
  Plan p;
  std::set<std::string> atom_fields, system_fields;
  auto elements = [](const FieldInfo& f) {
    std::int64_t n = 1;
    for (std::size_t i = 1; i < f.shape.size(); ++i) n *= f.shape[i];
    return n;
  };
  for (const auto& f : fields) {
    if (f.level == Level::Edge) {
      p.skipped.push_back(f.name);
    } else if (f.level == Level::Atom) {
      if (f.name == "positions") {
        if (!is_floating(f.dtype) || elements(f) != 3)
          throw FormatError(url + ": positions must be floating point with 3 values per atom");
      } else if (f.name == "atomic_numbers" && !is_floating(f.dtype) && f.dtype != DType::Bool && elements(f) == 1) {
        p.has_numbers = true;
      } else {
        atom_fields.insert(f.name);
      }
    } else {
      if (f.name == "cell" && elements(f) == 9 && f.dtype != DType::Bool)
        p.has_cell = true;
      else if (f.name == "pbc" && elements(f) == 3 && f.dtype == DType::Bool)
        p.has_pbc = true;
      else
        system_fields.insert(f.name);
    }
  }
  if (std::none_of(fields.begin(), fields.end(),
                   [](const FieldInfo& f) { return f.name == "positions" && f.level == Level::Atom; }))
    throw FormatError(url + ": the store has no atom-level positions field; nothing to convert to XYZ");

  std::set<std::string> used = {"species", "pos", "Z", "Lattice", "Properties", "pbc"};
  auto take = [&](std::string key) {
    key = xyz_name(key);
    if (used.count(key)) key = "batchmd_" + key;
    while (used.count(key)) key += "_";
    used.insert(key);
    return key;
  };
  // Well-known atom columns first, under the names ASE and OVITO recognise, then the rest sorted.
  const std::pair<const char*, const char*> known_atom[] = {
      {"forces", "forces"}, {"velocities", "velo"}, {"masses", "masses"}, {"charges", "charges"}};
  for (const auto& [field, key] : known_atom)
    if (atom_fields.erase(field)) p.atom.push_back({field, take(key)});
  for (const auto& f : atom_fields) p.atom.push_back({f, take(f)});

  const char* known_system[] = {"energy", "stress", "virial"};
  for (const char* field : known_system)
    if (system_fields.erase(field)) {
      std::string key = take(field);
      p.system.push_back({field, key, key == "stress" || key == "virial"});
    }
  const char* bookkeeping[] = {"step", "system_id", "status"};
  std::vector<Column> tail;
  for (const char* field : bookkeeping)
    if (system_fields.erase(field)) tail.push_back({field, take(field)});
  for (const auto& f : system_fields) p.system.push_back({f, take(f)});
  p.system.insert(p.system.end(), tail.begin(), tail.end());
  return p;
}

// ------------------------------------------------------------------ one frame

/// Appends sample s of `b` as one extended XYZ frame.
void append_frame(std::string& s, const Batch& b, std::int64_t sample, const Plan& p, const std::string& url,
                  std::int64_t store_index) {
  const std::int64_t a0 = b.atoms_ptr_data()[sample], a1 = b.atoms_ptr_data()[sample + 1];
  auto row = [&](const Tensor& t, std::int64_t r) { return t.bytes() + static_cast<std::size_t>(r) * t.row_bytes(); };

  s += std::to_string(a1 - a0);
  s += '\n';

  // Comment line.
  bool lattice = false;
  if (p.has_cell) {
    const Tensor& c = b.get("cell");
    const std::byte* r = row(c, sample);
    for (int k = 0; k < 9; ++k) lattice = lattice || as_double(c.dtype(), r, k) != 0.0;
    if (lattice) {
      s += "Lattice=\"";
      for (int k = 0; k < 9; ++k) {
        if (k) s += ' ';
        append_value(s, c.dtype(), r, k);
      }
      s += "\" ";
    }
  }
  s += "Properties=species:S:1:pos:R:3";
  for (const auto& col : p.atom) {
    const Tensor& t = b.get(col.field);
    s += ':' + col.key + ':' + xyz_type(t.dtype()) + ':' + std::to_string(t.row_numel());
  }
  for (const auto& col : p.system) {
    const Tensor& t = b.get(col.field);
    const std::byte* r = row(t, sample);
    const std::int64_t n = t.row_numel();
    if (n == 0) continue;
    s += ' ' + col.key + '=';
    if (n == 1) {
      append_value(s, t.dtype(), r, 0);
      continue;
    }
    s += '"';
    for (std::int64_t k = 0; k < n; ++k) {
      if (k) s += ' ';
      // 3x3 keys: ASE reshapes the 9 values in Fortran order, so write column by column.
      append_value(s, t.dtype(), r, col.column_major && n == 9 ? (k % 3) * 3 + k / 3 : k);
    }
    s += '"';
  }
  if (lattice && p.has_pbc) {
    const std::byte* r = row(b.get("pbc"), sample);
    s += " pbc=\"";
    for (int k = 0; k < 3; ++k)
      s += std::string(k ? " " : "") + (reinterpret_cast<const std::uint8_t*>(r)[k] ? 'T' : 'F');
    s += '"';
  }
  s += '\n';

  // Atom lines.
  const Tensor& pos = b.get("positions");
  const Tensor* z = p.has_numbers ? &b.get("atomic_numbers") : nullptr;
  std::vector<const Tensor*> cols;
  for (const auto& col : p.atom) cols.push_back(&b.get(col.field));
  for (std::int64_t a = a0; a < a1; ++a) {
    std::int64_t number = 0;
    if (z) {
      number = static_cast<std::int64_t>(as_double(z->dtype(), row(*z, a), 0));
      if (number < 0 || number > 118)
        throw FormatError(url + ": sample " + std::to_string(store_index) + " has atomic number " +
                          std::to_string(number) + " (known elements: 1..118)");
    }
    s += kSymbols[number];
    for (int k = 0; k < 3; ++k) {
      s += ' ';
      append_value(s, pos.dtype(), row(pos, a), k);
    }
    for (const Tensor* t : cols) {
      const std::byte* r = row(*t, a);
      for (std::int64_t k = 0; k < t->row_numel(); ++k) {
        s += ' ';
        append_value(s, t->dtype(), r, k);
      }
    }
    s += '\n';
  }
}

// ------------------------------------------------------------------ output file

/// A temporary file next to the target, renamed over it by commit(); removed otherwise.
class AtomicOutput {
 public:
  explicit AtomicOutput(const fs::path& target) : target_(target) {
    fs::path dir = target.parent_path();
    if (dir.empty()) dir = ".";
    std::string tmpl = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
    std::vector<char> name(tmpl.begin(), tmpl.end());
    name.push_back('\0');
    const int fd = ::mkstemp(name.data());
    if (fd < 0) throw IOError("convert: cannot create a file in '" + dir.string() + "': " + std::strerror(errno));
    tmp_ = name.data();
    ::fchmod(fd, 0644);
    file_ = ::fdopen(fd, "w");
    if (!file_) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp_.c_str());
      throw IOError("convert: cannot open '" + tmp_ + "': " + std::strerror(err));
    }
  }
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;
  ~AtomicOutput() {
    if (file_) std::fclose(file_);
    if (!committed_) ::unlink(tmp_.c_str());
  }

  void write(const std::string& s) {
    if (std::fwrite(s.data(), 1, s.size(), file_) != s.size())
      throw IOError("convert: writing '" + tmp_ + "' failed: " + std::strerror(errno));
  }

  void commit() {
    std::FILE* f = file_;
    file_ = nullptr;
    if (std::fflush(f) != 0 || ::fsync(::fileno(f)) != 0) {
      const int err = errno;
      std::fclose(f);
      throw IOError("convert: writing '" + tmp_ + "' failed: " + std::strerror(err));
    }
    if (std::fclose(f) != 0) throw IOError("convert: closing '" + tmp_ + "' failed: " + std::strerror(errno));
    if (std::rename(tmp_.c_str(), target_.c_str()) != 0)
      throw IOError("convert: cannot rename '" + tmp_ + "' to '" + target_.string() + "': " + std::strerror(errno));
    committed_ = true;
  }

 private:
  fs::path target_;
  std::string tmp_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

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
  const fs::path target(o.output);
  std::string ext = target.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext != ".xyz" && ext != ".extxyz")
    throw InvalidArgument("convert: output '" + o.output + "' has extension '" + ext +
                          "'; only extended XYZ is written (.xyz or .extxyz)");
  if (o.step_min && o.step_max && *o.step_min > *o.step_max)
    throw InvalidArgument("convert: --step-min (" + std::to_string(*o.step_min) + ") is greater than --step-max (" +
                          std::to_string(*o.step_max) + ")");

  require_local_store(o.url);
  sinks::TrajectoryReader reader(o.url);  // FormatError for a bad URL or a foreign store
  const std::int64_t n = reader.num_samples();
  const auto fields = reader.fields();
  const Plan plan = make_plan(fields, reader.url());
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
    selected.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) selected[static_cast<std::size_t>(i)] = i;
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

  // Read in blocks of samples (bounded by atoms) and write each frame.
  const auto counts = reader.atom_counts();
  AtomicOutput file(target);
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
      append_frame(text, b, s, plan, reader.url(), block[static_cast<std::size_t>(s)]);
    file.write(text);
    frames += b.n_systems();
    atoms += b.n_atoms();
  }
  file.commit();

  std::string note;
  if (!plan.skipped.empty()) {
    note = " (edge fields not written:";
    for (const auto& f : plan.skipped) note += " " + f;
    note += ")";
  }
  std::fprintf(out, "convert: wrote %" PRId64 " frames, %" PRId64 " atoms to %s%s\n", frames, atoms, o.output.c_str(),
               note.c_str());
  return 0;
}

}  // namespace batchmd::app
