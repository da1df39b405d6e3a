// SPDX-License-Identifier: Apache-2.0
// app/config: TOML parsing of the run configuration: every key read with its type and range
// checked, errors naming the file and key.
#include "batchmd/app/config.hpp"

#include <toml++/toml.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"
#include "job_tables.hpp"

namespace batchmd::app {

const char* const kDefaultConfigToml =
    R"toml(# batchmd default job: relax argon liquids and clusters with FIRE, then Langevin NVT.
[run]
steps = 2000          # steps in all (relaxation + MD)
dt_fs = 2.0           # time step (fs)
dtype = "float64"     # float32 or float64
seed = 2026           # velocities and jitter
threads = 0           # CPU threads; 0 = all cores
device = "auto"       # auto (a GPU when one is usable, else the CPU), cpu, cuda or cuda:N

[model]               # Lennard-Jones argon (eps = 120 K k_B, sigma = 3.4 A, cutoff 2.5 sigma)
type = "lennard_jones"
epsilon = 0.0104      # eV
sigma = 3.40          # A
cutoff = 8.5          # A
skin = 1.0            # A
shift_energy = true

[[stage]]             # 1: relax each system until every force is below fmax
type = "fire"
fmax = 0.005          # eV/A
max_steps = 1000      # or leave the stage after this many steps

[[stage]]             # 2: then NVT molecular dynamics of the relaxed solids and clusters
type = "nvt_langevin"
temperature_K = 40.0
friction_per_fs = 0.01

[hooks]
nan_check = true
converged_snapshots = true   # relaxed structures -> <output>.relaxed.zarr

[[liquid]]            # periodic boxes: fcc start at liquid density
count = 8
cells = 3             # 108 atoms
density_g_cm3 = 1.40
temperature_K = 94.0

[[liquid]]
count = 8
cells = 4             # 256 atoms
density_g_cm3 = 1.40
temperature_K = 94.0

[[cluster]]           # open clusters
count = 6
atoms = 13
temperature_K = 20.0

[[cluster]]
count = 6
atoms = 55
temperature_K = 20.0

[[cluster]]
count = 4
atoms = 147
temperature_K = 20.0

[output]              # trajectory: a Zarr store (path, file://path or memory://name)
snapshot_every = 50   # steps between snapshots
# path = "argon.zarr" # default: a new batchmd-<date>-<time>.zarr in the working directory
format = "v3"         # Zarr v3 (or "v2" for older readers)
compressor = "zstd"   # none, zstd, blosc-lz4, blosc-zstd, gzip
level = 1
final_snapshot = true # also record the end state, so `batchmd run --restart` can continue
progress = true
)toml";

const std::vector<KeyRange>& key_ranges() {
  // The limits are generous bounds on what a simulation can mean (or, for counts, on what one
  // machine can hold); what a whole job implies in memory is estimated by app/limits.
  static const std::vector<KeyRange> table = {
      {"run", "steps", true, 0, 1e12, false, "steps"},
      {"run", "dt_fs", false, 0, 100, true, "fs"},
      {"run", "seed", true, 0, 9223372036854775807.0, false, ""},
      {"run", "threads", true, 0, 4096, false, ""},
      {"run", "max_memory_gb", false, 0, 1e6, true, "GB"},
      {"run", "inflight_slots", true, 0, 1e9, false, ""},
      {"model", "epsilon", false, 0, 100, true, "eV"},
      {"model", "sigma", false, 0, 100, true, "Å"},
      {"model", "cutoff", false, 0, 100, true, "Å"},
      {"model", "skin", false, 0, 10, false, "Å"},
      {"model.pair", "elements", true, 1, 118, false, ""},
      {"model.pair", "epsilon", false, 0, 100, true, "eV"},
      {"model.pair", "sigma", false, 0, 100, true, "Å"},
      {"model.pair", "cutoff", false, 0, 100, true, "Å"},
      {"liquid", "count", true, 1, 1e6, false, ""},
      {"liquid", "cells", true, 1, 1000, false, ""},
      {"liquid", "element", true, 1, 54, false, ""},
      {"liquid", "density_g_cm3", false, 0, 100, true, "g/cm³"},
      {"liquid", "temperature_K", false, 0, 1e6, false, "K"},
      {"cluster", "count", true, 1, 1e6, false, ""},
      {"cluster", "atoms", true, 1, 1e7, false, ""},
      {"cluster", "element", true, 1, 54, false, ""},
      {"cluster", "spacing", false, 0, 100, true, "Å"},
      {"cluster", "temperature_K", false, 0, 1e6, false, "K"},
      {"stage", "dt_fs", false, 0, 100, false, "fs"},
      {"stage", "fmax", false, 0, 1e3, false, "eV/Å"},
      {"stage", "energy_change", false, 0, 1e3, false, "eV"},
      {"stage", "max_steps", true, 0, 1e12, false, "steps"},
      {"stage", "temperature_K", false, 0, 1e6, false, "K"},
      {"stage", "friction_per_fs", false, 0, 10, true, "1/fs"},
      {"stage", "tau_fs", false, 0, 1e6, true, "fs"},
      {"stage", "chain_length", true, 1, 100, false, ""},
      {"stage", "max_step", false, 0, 100, true, "Å"},
      {"stage", "pressure_bar", false, -1e5, 1e6, false, "bar"},
      {"stage", "tau_p_fs", false, 0, 1e6, true, "fs"},
      {"stage", "compressibility_per_bar", false, 0, 1, true, "1/bar"},
      {"stage", "stress_tol_bar", false, 0, 1e6, false, "bar"},
      {"hooks", "max_force", false, 0, 1e6, false, "eV/Å"},
      {"hooks", "energy_drift", false, 0, 1e6, false, ""},
      {"hooks", "log_every", true, 1, 1e12, false, "steps"},
      {"output", "snapshot_every", true, 1, 1e12, false, "steps"},
      {"output", "level", true, -7, 22, false, ""},
      {"output", "chunk_bytes", true, 1, 1073741824, false, "bytes"},
      {"output", "capacity", true, 1, 1e12, false, "samples"},
      {"output", "commit_interval_s", false, 0, 86400, false, "s"},
  };
  return table;
}

namespace {

// Bounds as a reader writes them: integers in full, other numbers in %g form.
std::string bound(double v, bool integer) {
  if (v >= 9223372036854775807.0) return "9223372036854775807";
  if (integer || (v == std::floor(v) && std::abs(v) < 1e7)) return std::to_string(static_cast<std::int64_t>(v));
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string unit(const KeyRange& r) { return *r.unit ? std::string(" ") + r.unit : std::string(); }

const KeyRange& range_of(const std::string& table, const char* key) {
  for (const KeyRange& r : key_ranges())
    if (table == r.table && std::string_view(key) == r.key) return r;
  throw std::logic_error("config: no range for " + table + "." + key);  // a bug, not bad input
}

}  // namespace

std::string describe_range(const KeyRange& r) {
  return bound(r.lo, r.integer) + (r.lo_open ? " < x <= " : " <= x <= ") + bound(r.hi, r.integer);
}

namespace {

class Reader {
 public:
  /// `kind` names the table in the range table ("liquid" for liquid[3]).
  Reader(const toml::table& t, std::string where, std::string origin, std::string kind = "")
      : t_(t), where_(std::move(where)), origin_(std::move(origin)), kind_(kind.empty() ? where_ : std::move(kind)) {}

  void get(const char* key, bool& out) {
    if (const toml::node* n = node(key)) {
      auto v = n->value<bool>();
      if (!v) fail(key, "must be true or false");
      out = *v;
    }
  }
  void get(const char* key, std::string& out) {
    if (const toml::node* n = node(key)) {
      auto v = n->value<std::string>();
      if (!v) fail(key, "must be a string");
      out = *v;
    }
  }
  /// An integer key, checked against its range before it is narrowed to T: a value that does
  /// not fit is an error, never wrapped or clamped.
  template <typename T>
  void integer(const char* key, T& out) {
    static_assert(std::is_integral_v<T>);
    const toml::node* n = node(key);
    if (!n) return;
    if (!n->is_integer()) fail(key, "must be an integer");
    out = checked_integer<T>(key, n->value<std::int64_t>().value());
  }
  /// An int64 key whose range another check enforces (with its own message).
  void unranged_integer(const char* key, std::int64_t& out) {
    const toml::node* n = node(key);
    if (!n) return;
    if (!n->is_integer()) fail(key, "must be an integer");
    out = n->value<std::int64_t>().value();
  }
  template <typename T>
  T checked_integer(const char* key, std::int64_t v) {
    const KeyRange& r = range_of(kind_, key);
    if (static_cast<double>(v) < r.lo || static_cast<double>(v) > r.hi || !std::in_range<T>(v))
      fail(key, "must be an integer in [" + bound(r.lo, true) + ", " + bound(r.hi, true) + "]" + unit(r) + ", got " +
                    std::to_string(v));
    return static_cast<T>(v);
  }
  /// A real key (an integer is accepted as a real), checked against its range; NaN and
  /// infinities are out of every range.
  void real(const char* key, double& out) {
    const toml::node* n = node(key);
    if (!n) return;
    auto v = n->value<double>();
    if (!v) fail(key, "must be a number");
    const KeyRange& r = range_of(kind_, key);
    const bool above_lo = r.lo_open ? *v > r.lo : *v >= r.lo;
    if (!(above_lo && *v <= r.hi)) {
      std::ostringstream os;
      os << "must be " << (r.lo_open ? "> " : ">= ") << bound(r.lo, false) << " and <= " << bound(r.hi, false)
         << unit(r) << ", got " << *v;
      fail(key, os.str());
    }
    out = *v;
  }
  /// An array of exactly n finite reals in [lo, hi] (not in the range table: its rows are scalars).
  void real_array(const char* key, std::vector<double>& out, std::size_t n, double lo, double hi, const char* unit,
                  const char* what) {
    const toml::node* nd = node(key);
    if (!nd) return;
    const auto* a = nd->as_array();
    if (!a || a->size() != n) fail(key, std::string("must be an array of ") + std::to_string(n) + " numbers: " + what);
    out.clear();
    for (const auto& e : *a) {
      auto v = e.value<double>();
      if (!v) fail(key, std::string("must be an array of ") + std::to_string(n) + " numbers: " + what);
      if (!(*v >= lo && *v <= hi)) {
        std::ostringstream os;
        os << "must hold numbers >= " << bound(lo, false) << " and <= " << bound(hi, false) << " " << unit << ", got "
           << *v;
        fail(key, os.str());
      }
      out.push_back(*v);
    }
  }
  bool has(const char* key) const { return t_.get(key) != nullptr; }
  void allow(const char* key) { seen_.insert(key); }
  /// Rejects keys nobody asked for (typos must not be silently ignored).
  void finish() {
    for (auto&& [k, v] : t_)
      if (!seen_.count(std::string(k.str())))
        throw InvalidArgument(origin_ + ": unknown key '" + key_path(std::string(k.str())) + "'");
  }
  [[noreturn]] void fail(const std::string& key, const std::string& why) {
    throw InvalidArgument(origin_ + ": '" + key_path(key) + "' " + why);
  }

 private:
  const toml::node* node(const char* key) {
    seen_.insert(key);
    return t_.get(key);
  }
  std::string key_path(const std::string& k) const { return where_.empty() ? k : where_ + "." + k; }
  const toml::table& t_;
  std::string where_, origin_, kind_;
  std::set<std::string> seen_;
};

const toml::table* subtable(const toml::table& root, const char* key, const std::string& origin) {
  const toml::node* n = root.get(key);
  if (!n) return nullptr;
  if (!n->is_table()) throw InvalidArgument(origin + ": '" + key + "' must be a table ([" + key + "])");
  return n->as_table();
}

template <typename F>
void each_table(const toml::table& root, const char* key, const std::string& origin, F&& f) {
  const toml::node* n = root.get(key);
  if (!n) return;
  if (!n->is_array_of_tables())
    throw InvalidArgument(origin + ": '" + key + "' must be an array of tables ([[" + key + "]])");
  std::size_t i = 0;
  for (auto& e : *n->as_array()) f(*e.as_table(), std::string(key) + "[" + std::to_string(i++) + "]");
}

// The element of a structure: one the table of atomic weights knows (its range in key_ranges()).
void check_element(Reader& r, std::int64_t z) {
  try {
    (void)atomic_mass(z);
  } catch (const InvalidArgument& e) {
    r.fail("element", e.what());
  }
}

}  // namespace

RunConfig parse_config(const std::string& text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << origin << ":" << e.source().begin.line << ":" << e.source().begin.column << ": " << e.description();
    throw InvalidArgument(os.str());
  }
  RunConfig c;
  Reader top(root, "", origin);
  for (const char* t : {"run", "model", "liquid", "cluster", "crystal", "structures", "output", "stage", "hooks"})
    top.allow(t);
  top.finish();

  if (auto* t = subtable(root, "run", origin)) {
    Reader r(*t, "run", origin);
    r.integer("steps", c.steps);
    r.real("dt_fs", c.dt_fs);
    r.get("dtype", c.dtype);
    r.integer("seed", c.seed);
    r.integer("threads", c.threads);
    r.get("device", c.device);
    r.real("max_memory_gb", c.max_memory_gb);
    r.integer("inflight_slots", c.inflight_slots);
    r.finish();
    if (c.dtype != "float32" && c.dtype != "float64") r.fail("dtype", "must be \"float32\" or \"float64\"");
    if (c.device != "auto") try {
        Device::parse(c.device);
      } catch (const InvalidArgument&) {
        r.fail("device", "must be \"auto\", \"cpu\", \"cuda\" or \"cuda:N\"");
      }
  }
  const bool other_model = parse_model_tables(root, origin, c.model);  // snap, zbl, sums: model_config.cpp
  if (auto* t = other_model ? nullptr : subtable(root, "model", origin)) {
    Reader r(*t, "model", origin);
    std::string type = "lennard_jones";
    r.get("type", type);
    if (type != "lennard_jones") r.fail("type", "must be \"lennard_jones\" (the only model in this build)");
    r.real("epsilon", c.lj.epsilon);
    r.real("sigma", c.lj.sigma);
    r.real("cutoff", c.lj.cutoff);
    r.real("skin", c.lj.skin);
    r.get("shift_energy", c.lj.shift_energy);
    r.allow("pair");
    r.finish();
    each_table(*t, "pair", origin, [&](const toml::table& p, const std::string& where) {
      Reader pr(p, "model." + where, origin, "model.pair");
      model::LJPairOverride o{0, 0, c.lj.epsilon, c.lj.sigma, c.lj.cutoff};
      pr.allow("elements");
      const toml::node* el = p.get("elements");
      if (!el || !el->is_array() || el->as_array()->size() != 2 || !el->as_array()->get(0)->is_integer() ||
          !el->as_array()->get(1)->is_integer())
        pr.fail("elements", "must be two atomic numbers, e.g. elements = [18, 10]");
      o.z_a = pr.checked_integer<std::int64_t>("elements", el->as_array()->get(0)->value<std::int64_t>().value());
      o.z_b = pr.checked_integer<std::int64_t>("elements", el->as_array()->get(1)->value<std::int64_t>().value());
      pr.real("epsilon", o.epsilon);
      pr.real("sigma", o.sigma);
      pr.real("cutoff", o.cutoff);
      pr.finish();
      c.lj.pairs.push_back(o);
    });
  }
  each_table(root, "liquid", origin, [&](const toml::table& t, const std::string& where) {
    Reader r(t, where, origin, "liquid");
    LiquidSpec s;
    r.integer("count", s.count);
    r.integer("cells", s.cells);
    r.unranged_integer("element", s.element);
    r.real("density_g_cm3", s.density_g_cm3);
    r.real("temperature_K", s.temperature_K);
    r.finish();
    check_element(r, s.element);
    c.liquids.push_back(s);
  });
  each_table(root, "cluster", origin, [&](const toml::table& t, const std::string& where) {
    Reader r(t, where, origin, "cluster");
    ClusterSpec s;
    r.integer("count", s.count);
    r.integer("atoms", s.atoms);
    r.unranged_integer("element", s.element);
    r.real("spacing", s.spacing);
    r.real("temperature_K", s.temperature_K);
    r.finish();
    check_element(r, s.element);
    c.clusters.push_back(s);
  });
  parse_crystal_tables(root, origin, c.crystals);
  parse_structure_tables(root, origin, c.structures);  // structure_files.cpp
  each_table(root, "stage", origin, [&](const toml::table& t, const std::string& where) {
    Reader r(t, where, origin, "stage");
    StageSpec s;
    r.get("type", s.type);
    r.real("dt_fs", s.dt_fs);
    r.real("fmax", s.fmax);
    r.real("energy_change", s.energy_change);
    r.integer("max_steps", s.max_steps);
    r.real("temperature_K", s.temperature_K);
    r.real("friction_per_fs", s.friction_per_fs);
    r.real("tau_fs", s.tau_fs);
    r.integer("chain_length", s.chain_length);
    r.real("max_step", s.max_step);
    r.real("pressure_bar", s.pressure_bar);
    r.real_array("stress_bar", s.stress_bar, 6, -1e6, 1e5, "bar",
                 "the target stress [xx, yy, zz, yz, xz, xy] in bar, positive in tension");
    r.real("tau_p_fs", s.tau_p_fs);
    r.get("cell", s.cell);
    r.real("compressibility_per_bar", s.compressibility_per_bar);
    r.real("stress_tol_bar", s.stress_tol_bar);
    r.finish();
    const std::set<std::string> types = {"fire",         "fire2",           "fire_cell", "velocity_verlet",
                                         "nvt_langevin", "nvt_nose_hoover", "npt_mtk",   "npt_csr"};
    if (!types.count(s.type))
      r.fail("type",
             "must be one of fire, fire2, fire_cell, velocity_verlet, nvt_langevin, nvt_nose_hoover, npt_mtk, npt_csr");
    if (s.cell != "isotropic" && s.cell != "full") r.fail("cell", "must be \"isotropic\" or \"full\"");
    if (!s.stress_bar.empty()) {
      const auto& v = s.stress_bar;
      if (s.type != "npt_mtk" && s.type != "npt_csr" && s.type != "fire_cell")
        r.fail("stress_bar", "is a target of the pressure stages (npt_mtk, npt_csr, fire_cell) only");
      if (r.has("pressure_bar"))
        r.fail("stress_bar",
               "and 'pressure_bar' are alternatives: give one (pressure P is stress [-P, -P, -P, 0, 0, 0])");
      if (s.cell == "isotropic" && !(v[0] == v[1] && v[1] == v[2] && v[3] == 0 && v[4] == 0 && v[5] == 0))
        r.fail("stress_bar", "is not hydrostatic, but cell = \"isotropic\" moves only the volume; use cell = \"full\"");
    }
    if (s.type == "fire_cell" && (s.fmax > 0 || s.energy_change > 0) && s.stress_tol_bar == 0)
      r.fail("stress_tol_bar", "must be set with fmax / energy_change: a cell relaxation converges on the stress too");
    if (s.type == "fire_cell" && s.fmax == 0 && s.energy_change == 0 && s.max_steps == 0 && s.stress_tol_bar == 0)
      r.fail("fmax", "and stress_tol_bar (or max_steps) must be set: a relaxation needs a convergence criterion");
    const bool thermostat =
        s.type == "nvt_langevin" || s.type == "nvt_nose_hoover" || s.type == "npt_mtk" || s.type == "npt_csr";
    if (thermostat && !(s.temperature_K > 0)) r.fail("temperature_K", "must be > 0 for a thermostat");
    if ((s.type == "fire" || s.type == "fire2") && s.fmax == 0 && s.energy_change == 0 && s.max_steps == 0)
      r.fail("fmax", "(or energy_change or max_steps) must be set: a relaxation needs a convergence criterion");
    c.stages.push_back(s);
  });
  if (auto* t = subtable(root, "hooks", origin)) {
    Reader r(*t, "hooks", origin);
    auto& h = c.hooks;
    r.get("nan_check", h.nan_check);
    r.real("max_force", h.max_force);
    r.real("energy_drift", h.energy_drift);
    r.get("energy_drift_action", h.energy_drift_action);
    r.get("wrap", h.wrap);
    r.get("log_csv", h.log_csv);
    r.integer("log_every", h.log_every);
    r.get("profile", h.profile);
    r.get("converged_snapshots", h.converged_snapshots);
    r.finish();
    if (h.energy_drift_action != "warn" && h.energy_drift_action != "stop")
      r.fail("energy_drift_action", "must be \"warn\" or \"stop\"");
  }
  if (auto* t = subtable(root, "output", origin)) {
    Reader r(*t, "output", origin);
    r.integer("snapshot_every", c.snapshot_every);
    r.get("path", c.output);
    r.get("format", c.format);
    r.get("compressor", c.compressor);
    r.integer("level", c.level);
    r.integer("chunk_bytes", c.chunk_bytes);
    r.integer("capacity", c.capacity);
    r.real("commit_interval_s", c.commit_interval_s);
    if (const toml::node* n = t->get("precision")) {
      r.allow("precision");
      const auto* pt = n->as_table();
      if (!pt)
        r.fail("precision", "must be a table of field = precision, e.g. { positions = 1e-3, velocities = 1e-5 }");
      for (auto&& [k, v] : *pt) {
        const auto d = v.value<double>();
        if (!d || !(std::isfinite(*d) && *d > 0 && *d <= 1e6))
          r.fail("precision",
                 "entry '" + std::string(k.str()) + "' must be a number > 0 and <= 1e6 (the field's units)");
        c.precision[std::string(k.str())] = *d;
      }
    }
    r.get("final_snapshot", c.final_snapshot);
    r.get("progress", c.progress);
    r.finish();
    if (c.format != "v3" && c.format != "v2") r.fail("format", "must be \"v3\" or \"v2\"");
    const std::set<std::string> comps = {"none", "zstd", "blosc-lz4", "blosc-zstd", "gzip"};
    if (!comps.count(c.compressor)) r.fail("compressor", "must be none, zstd, blosc-lz4, blosc-zstd or gzip");
    if (c.compressor != "zstd" && c.compressor != "none" && (c.level < 0 || c.level > 9))
      r.fail("level", "must be an integer in [0, 9] for " + c.compressor + ", got " + std::to_string(c.level));
  }
  if (c.liquids.empty() && c.clusters.empty() && c.crystals.empty() && c.structures.empty())
    throw InvalidArgument(
        origin + ": no systems: add at least one [[liquid]], [[cluster]], [[crystal]] or [[structures]] table");
  c.source_toml = text;
  return c;
}

RunConfig load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IOError("cannot open config file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

}  // namespace batchmd::app
