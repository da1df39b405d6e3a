// SPDX-License-Identifier: Apache-2.0
// app/structure_job: composing the job of `batchmd run --structures/--model` as TOML. Working on
// the TOML tree (not on a RunConfig) keeps one parser for every job and makes the recorded job a
// plain job file: `batchmd run --restart` reads it back like any other.
#include "batchmd/app/structure_job.hpp"

#include <toml++/toml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "batchmd/core/error.hpp"

namespace batchmd::app {

const char* const kStructuresJobToml =
    R"toml(# batchmd run --structures: the default protocol for structures from files
[run]
steps = 2000          # steps in all (relaxation + MD)
dt_fs = 1.0           # time step (fs)
dtype = "float64"
seed = 2026

[[stage]]             # 1: relax each structure until every force is below fmax
type = "fire"
fmax = 0.01           # eV/A
max_steps = 1000

[[stage]]             # 2: then Langevin NVT
type = "nvt_langevin"
temperature_K = 300.0
friction_per_fs = 0.01

[hooks]
nan_check = true
converged_snapshots = true   # relaxed structures -> <output>.relaxed.zarr

[output]
snapshot_every = 50
)toml";

namespace {

namespace fs = std::filesystem;

std::string read_text(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError(what + ": cannot open '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

toml::table parse_toml(const std::string& text, const std::string& origin) {
  try {
    return toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << origin << ":" << e.source().begin.line << ":" << e.source().begin.column << ": " << e.description();
    throw InvalidArgument(os.str());
  }
}

std::string absolute(const std::string& path, const fs::path& base) {
  const fs::path p(path);
  if (p.is_absolute()) return path;
  std::error_code ec;
  return fs::absolute(base / p, ec).lexically_normal().string();
}

// Paths in model and structures tables made absolute against `base` (the directory of the file
// they came from), so that the composed job means the same wherever it is read again.
void absolutize(toml::table& t, const fs::path& base) {
  for (const char* key : {"file", "coeff", "param"})
    if (auto* v = t.get_as<std::string>(key)) *v = absolute(v->get(), base);
}
void absolutize_node(toml::node* n, const fs::path& base) {
  if (n == nullptr) return;
  if (auto* t = n->as_table()) absolutize(*t, base);
  if (auto* a = n->as_array())
    for (auto& e : *a)
      if (auto* t = e.as_table()) absolutize(*t, base);
}

fs::path directory_of(const std::string& file) {
  std::error_code ec;
  return fs::absolute(file, ec).parent_path();
}

bool regular_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// The [model] / [[model]] node --model SPEC stands for.
toml::table model_root(const std::string& spec) {
  const std::string where = "--model " + spec;
  toml::table root;
  if (spec == "lj" || spec == "lennard_jones") {
    root.insert("model", toml::table{{"type", "lennard_jones"}});
    return root;
  }
  if (spec.ends_with(".toml")) {
    if (!regular_file(spec)) throw InvalidArgument(where + ": no such model file");
    const std::string text = read_text(spec, "--model");
    root = parse_toml(text, spec);
    for (auto&& [k, v] : root)
      if (k.str() != "model")
        throw InvalidArgument(spec + ": a model file holds only [model] or [[model]] tables, not '" +
                              std::string(k.str()) + "'");
    if (!root.contains("model")) throw InvalidArgument(spec + ": no [model] or [[model]] table");
    // Checked on its own first, so that a mistake is reported against the model file (and its
    // lines): the job parser needs one system, appended after the file's last line.
    (void)parse_config(text + "\n[[cluster]]\natoms = 1\n", spec);
    absolutize_node(root.get("model"), directory_of(spec));
    return root;
  }
  const auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size())
    throw InvalidArgument(where + ": expected lj, TYPE:FILE (e.g. snap:Ta06A.snap), snap:COEFF,PARAM or a model " +
                          "TOML file (*.toml)");
  toml::table m{{"type", spec.substr(0, colon)}};
  std::stringstream files(spec.substr(colon + 1));
  for (std::string f; std::getline(files, f, ',');) {
    if (f.empty()) throw InvalidArgument(where + ": an empty file name");
    if (!regular_file(f)) throw InvalidArgument(where + ": '" + f + "' names no readable file");
    const char* key = f.ends_with(".snapcoeff") ? "coeff" : f.ends_with(".snapparam") ? "param" : "file";
    if (m.contains(key)) throw InvalidArgument(where + ": two files for '" + key + "'");
    m.insert(key, absolute(f, fs::current_path()));
  }
  root.insert("model", std::move(m));
  return root;
}

}  // namespace

void check_structure_options(const RunOptions& opts) {
  if (opts.restart && (!opts.structures.empty() || opts.model))
    throw InvalidArgument(std::string(opts.structures.empty() ? "--model" : "--structures") +
                          " cannot be combined with --restart (a restart continues the recorded job)");
}

RunConfig structure_job(const RunOptions& opts, std::string& job_name) {
  check_structure_options(opts);
  if (!opts.structures.empty() && !opts.model && opts.config_path.empty())
    throw InvalidArgument(
        "run --structures: no potential: give --model (lj, TYPE:FILE such as snap:Ta06A.snap, or "
        "a model TOML file) or a job file with a [model] table");
  for (const auto& f : opts.structures)
    if (!regular_file(f)) throw InvalidArgument("run --structures: '" + f + "' names no readable file");

  const bool from_file = !opts.config_path.empty();
  const std::string origin = from_file                 ? opts.config_path
                             : opts.structures.empty() ? "<default config>"
                                                       : "<run --structures>";
  // The base: the job file, else the default protocol for structures, else (--model alone) the
  // embedded default job.
  const std::string base = from_file                 ? read_text(opts.config_path, "run")
                           : opts.structures.empty() ? std::string(kDefaultConfigToml)
                                                     : std::string(kStructuresJobToml);
  toml::table root = parse_toml(base, origin);
  const fs::path job_dir = from_file ? directory_of(opts.config_path) : fs::current_path();
  if (!opts.structures.empty()) {
    for (const char* key : {"liquid", "cluster", "crystal", "structures"}) root.erase(key);
    toml::array tables;
    for (const auto& f : opts.structures) tables.push_back(toml::table{{"file", absolute(f, fs::current_path())}});
    root.insert("structures", std::move(tables));
  } else {
    absolutize_node(root.get("structures"), job_dir);
  }
  if (opts.model) {
    root.erase("model");
    const toml::table m = model_root(*opts.model);
    if (const auto* t = m.get_as<toml::table>("model")) root.insert("model", *t);
    if (const auto* a = m.get_as<toml::array>("model")) root.insert("model", *a);
  } else {
    absolutize_node(root.get("model"), job_dir);
  }
  std::ostringstream text;
  text << "# composed by batchmd run" << (opts.structures.empty() ? "" : " --structures ...")
       << (opts.model ? " --model " + *opts.model : std::string()) << (from_file ? " from " + opts.config_path : "")
       << "\n"
       << root << "\n";
  job_name = std::to_string(opts.structures.size()) + " structure file" + (opts.structures.size() == 1 ? "" : "s");
  if (opts.structures.empty()) job_name = from_file ? opts.config_path : "embedded default job";
  if (from_file && !opts.structures.empty()) job_name += " with the stages of " + opts.config_path;
  if (opts.model) job_name += ", model " + *opts.model;
  return parse_config(text.str(), origin);
}

}  // namespace batchmd::app
