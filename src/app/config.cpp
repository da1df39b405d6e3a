// app/config: TOML parsing of the run configuration: every key read with its type and range
// checked, errors naming the file and key.
#include "batchmd/app/config.hpp"

#include <toml++/toml.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"

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

namespace {

class Reader {
 public:
  Reader(const toml::table& t, std::string where, std::string origin)
      : t_(t), where_(std::move(where)), origin_(std::move(origin)) {}

  template <typename T>
  void get(const char* key, T& out) {
    seen_.insert(key);
    const toml::node* n = t_.get(key);
    if (!n) return;
    if constexpr (std::is_same_v<T, bool>) {
      auto v = n->value<bool>();
      if (!v) fail(key, "must be true or false");
      out = *v;
    } else if constexpr (std::is_integral_v<T>) {
      auto v = n->value<std::int64_t>();
      if (!v || !n->is_integer()) fail(key, "must be an integer");
      out = static_cast<T>(*v);
    } else if constexpr (std::is_floating_point_v<T>) {
      auto v = n->value<double>();
      if (!v) fail(key, "must be a number");
      out = *v;
    } else {
      auto v = n->value<std::string>();
      if (!v) fail(key, "must be a string");
      out = *v;
    }
  }
  void positive(const char* key, double v) {
    if (!(v > 0) || !std::isfinite(v)) fail(key, "must be > 0");
  }
  void non_negative(const char* key, double v) {
    if (!(v >= 0) || !std::isfinite(v)) fail(key, "must be >= 0");
  }
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
  std::string key_path(const std::string& k) const { return where_.empty() ? k : where_ + "." + k; }
  const toml::table& t_;
  std::string where_, origin_;
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
  top.allow("run");
  top.allow("model");
  top.allow("liquid");
  top.allow("cluster");
  top.allow("output");
  top.allow("stage");
  top.allow("hooks");
  top.finish();

  if (auto* t = subtable(root, "run", origin)) {
    Reader r(*t, "run", origin);
    r.get("steps", c.steps);
    r.get("dt_fs", c.dt_fs);
    r.get("dtype", c.dtype);
    r.get("seed", c.seed);
    r.get("threads", c.threads);
    r.get("device", c.device);
    r.finish();
    if (c.steps < 0) r.fail("steps", "must be >= 0");
    r.positive("dt_fs", c.dt_fs);
    if (c.dtype != "float32" && c.dtype != "float64") r.fail("dtype", "must be \"float32\" or \"float64\"");
    if (c.threads < 0) r.fail("threads", "must be >= 0");
    if (c.device != "auto") try {
        Device::parse(c.device);
      } catch (const InvalidArgument&) {
        r.fail("device", "must be \"auto\", \"cpu\", \"cuda\" or \"cuda:N\"");
      }
  }
  if (auto* t = subtable(root, "model", origin)) {
    Reader r(*t, "model", origin);
    std::string type = "lennard_jones";
    r.get("type", type);
    if (type != "lennard_jones") r.fail("type", "must be \"lennard_jones\" (the only model in this build)");
    r.get("epsilon", c.lj.epsilon);
    r.get("sigma", c.lj.sigma);
    r.get("cutoff", c.lj.cutoff);
    r.get("skin", c.lj.skin);
    r.get("shift_energy", c.lj.shift_energy);
    r.allow("pair");
    r.finish();
    r.positive("epsilon", c.lj.epsilon);
    r.positive("sigma", c.lj.sigma);
    r.positive("cutoff", c.lj.cutoff);
    r.non_negative("skin", c.lj.skin);
    each_table(*t, "pair", origin, [&](const toml::table& p, const std::string& where) {
      Reader pr(p, "model." + where, origin);
      model::LJPairOverride o{0, 0, c.lj.epsilon, c.lj.sigma, c.lj.cutoff};
      pr.allow("elements");
      const toml::node* el = p.get("elements");
      if (!el || !el->is_array() || el->as_array()->size() != 2 || !el->as_array()->get(0)->is_integer() ||
          !el->as_array()->get(1)->is_integer())
        pr.fail("elements", "must be two atomic numbers, e.g. elements = [18, 10]");
      o.z_a = el->as_array()->get(0)->value<std::int64_t>().value();
      o.z_b = el->as_array()->get(1)->value<std::int64_t>().value();
      pr.get("epsilon", o.epsilon);
      pr.get("sigma", o.sigma);
      pr.get("cutoff", o.cutoff);
      pr.finish();
      pr.positive("epsilon", o.epsilon);
      pr.positive("sigma", o.sigma);
      pr.positive("cutoff", o.cutoff);
      c.lj.pairs.push_back(o);
    });
  }
  each_table(root, "liquid", origin, [&](const toml::table& t, const std::string& where) {
    Reader r(t, where, origin);
    LiquidSpec s;
    r.get("count", s.count);
    r.get("cells", s.cells);
    r.get("element", s.element);
    r.get("density_g_cm3", s.density_g_cm3);
    r.get("temperature_K", s.temperature_K);
    r.finish();
    if (s.count < 1) r.fail("count", "must be >= 1");
    if (s.cells < 1) r.fail("cells", "must be >= 1");
    r.positive("density_g_cm3", s.density_g_cm3);
    r.non_negative("temperature_K", s.temperature_K);
    (void)atomic_mass(s.element);
    c.liquids.push_back(s);
  });
  each_table(root, "cluster", origin, [&](const toml::table& t, const std::string& where) {
    Reader r(t, where, origin);
    ClusterSpec s;
    r.get("count", s.count);
    r.get("atoms", s.atoms);
    r.get("element", s.element);
    r.get("spacing", s.spacing);
    r.get("temperature_K", s.temperature_K);
    r.finish();
    if (s.count < 1) r.fail("count", "must be >= 1");
    if (s.atoms < 1) r.fail("atoms", "must be >= 1");
    r.positive("spacing", s.spacing);
    r.non_negative("temperature_K", s.temperature_K);
    (void)atomic_mass(s.element);
    c.clusters.push_back(s);
  });
  each_table(root, "stage", origin, [&](const toml::table& t, const std::string& where) {
    Reader r(t, where, origin);
    StageSpec s;
    r.get("type", s.type);
    r.get("dt_fs", s.dt_fs);
    r.get("fmax", s.fmax);
    r.get("energy_change", s.energy_change);
    r.get("max_steps", s.max_steps);
    r.get("temperature_K", s.temperature_K);
    r.get("friction_per_fs", s.friction_per_fs);
    r.get("tau_fs", s.tau_fs);
    r.get("chain_length", s.chain_length);
    r.get("max_step", s.max_step);
    r.finish();
    const std::set<std::string> types = {"fire", "fire2", "velocity_verlet", "nvt_langevin", "nvt_nose_hoover"};
    if (!types.count(s.type))
      r.fail("type", "must be one of fire, fire2, velocity_verlet, nvt_langevin, nvt_nose_hoover");
    r.non_negative("dt_fs", s.dt_fs);
    r.non_negative("fmax", s.fmax);
    r.non_negative("energy_change", s.energy_change);
    if (s.max_steps < 0) r.fail("max_steps", "must be >= 0");
    r.non_negative("temperature_K", s.temperature_K);
    r.positive("friction_per_fs", s.friction_per_fs);
    r.positive("tau_fs", s.tau_fs);
    if (s.chain_length < 1) r.fail("chain_length", "must be >= 1");
    r.positive("max_step", s.max_step);
    const bool thermostat = s.type == "nvt_langevin" || s.type == "nvt_nose_hoover";
    if (thermostat && !(s.temperature_K > 0)) r.fail("temperature_K", "must be > 0 for a thermostat");
    if ((s.type == "fire" || s.type == "fire2") && s.fmax == 0 && s.energy_change == 0 && s.max_steps == 0)
      r.fail("fmax", "(or energy_change or max_steps) must be set: a relaxation needs a convergence criterion");
    c.stages.push_back(s);
  });
  if (auto* t = subtable(root, "hooks", origin)) {
    Reader r(*t, "hooks", origin);
    auto& h = c.hooks;
    r.get("nan_check", h.nan_check);
    r.get("max_force", h.max_force);
    r.get("energy_drift", h.energy_drift);
    r.get("energy_drift_action", h.energy_drift_action);
    r.get("wrap", h.wrap);
    r.get("log_csv", h.log_csv);
    r.get("log_every", h.log_every);
    r.get("profile", h.profile);
    r.get("converged_snapshots", h.converged_snapshots);
    r.finish();
    r.non_negative("max_force", h.max_force);
    r.non_negative("energy_drift", h.energy_drift);
    if (h.energy_drift_action != "warn" && h.energy_drift_action != "stop")
      r.fail("energy_drift_action", "must be \"warn\" or \"stop\"");
    if (h.log_every < 1) r.fail("log_every", "must be >= 1");
  }
  if (auto* t = subtable(root, "output", origin)) {
    Reader r(*t, "output", origin);
    r.get("snapshot_every", c.snapshot_every);
    r.get("path", c.output);
    r.get("format", c.format);
    r.get("compressor", c.compressor);
    r.get("level", c.level);
    r.get("chunk_bytes", c.chunk_bytes);
    r.get("capacity", c.capacity);
    r.get("final_snapshot", c.final_snapshot);
    r.get("progress", c.progress);
    r.finish();
    if (c.snapshot_every < 1) r.fail("snapshot_every", "must be >= 1");
    if (c.capacity < 1) r.fail("capacity", "must be >= 1");
    if (c.chunk_bytes < 1) r.fail("chunk_bytes", "must be >= 1");
    if (c.format != "v3" && c.format != "v2") r.fail("format", "must be \"v3\" or \"v2\"");
    const std::set<std::string> comps = {"none", "zstd", "blosc-lz4", "blosc-zstd", "gzip"};
    if (!comps.count(c.compressor)) r.fail("compressor", "must be none, zstd, blosc-lz4, blosc-zstd or gzip");
  }
  if (c.liquids.empty() && c.clusters.empty())
    throw InvalidArgument(origin + ": no systems: add at least one [[liquid]] or [[cluster]] table");
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
