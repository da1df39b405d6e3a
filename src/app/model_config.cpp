// SPDX-License-Identifier: Apache-2.0
// app/model_config: [model] / [[model]] tables for SNAP, ZBL, EAM, Stillinger-Weber, Morse,
// TorchScript models and their sums, and building the job's Model from a ModelSpec.
#include "batchmd/app/model_config.hpp"

#include <filesystem>

#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"
#include "batchmd/model/eam.hpp"
#include "batchmd/model/morse.hpp"
#include "batchmd/model/snap.hpp"
#include "batchmd/model/snap_potential.hpp"
#include "batchmd/model/stillinger_weber.hpp"
#include "batchmd/model/sum_model.hpp"
#include "batchmd/model/torch_model.hpp"
#include "batchmd/model/zbl.hpp"
#include "job_tables.hpp"
#include "table_reader.hpp"

namespace batchmd::app {

namespace {

// A path of the job file made absolute against the job file's directory (origin is the job
// file's path when it came from a file; otherwise paths stay relative to the working directory).
std::string resolve(const std::string& path, const std::string& origin) {
  const std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  std::error_code ec;
  if (std::filesystem::is_regular_file(origin, ec))
    return (std::filesystem::absolute(origin, ec).parent_path() / p).lexically_normal().string();
  return path;
}

// A Morse term's [[model.pair]] tables (elements, d0, alpha, r0, cutoff).
std::vector<model::MorsePair> parse_morse_pairs(const toml::node* n, const std::string& where,
                                                const std::string& origin, double default_cutoff) {
  if (n == nullptr || !n->is_array_of_tables() || n->as_array()->empty())
    throw InvalidArgument(origin + ": '" + where + ".pair' must be one or more tables ([[" + where +
                          ".pair]]) with elements, d0, alpha, r0 (a Morse model needs its element pairs)");
  std::vector<model::MorsePair> out;
  std::size_t i = 0;
  for (const auto& e : *n->as_array()) {
    const std::string w = where + ".pair[" + std::to_string(i++) + "]";
    detail::TableReader r(*e.as_table(), w, origin);
    model::MorsePair p;
    std::vector<std::int64_t> el;
    r.elements("elements", el);
    if (el.size() != 2) r.fail("elements", "must be two elements, e.g. elements = [\"Cu\", \"Ni\"]");
    p.z_a = el[0];
    p.z_b = el[1];
    p.cutoff = default_cutoff;
    for (const char* key : {"d0", "alpha", "r0"})
      if (!r.has(key)) r.fail(key, "is required");
    r.get("d0", p.d0);
    r.get("alpha", p.alpha);
    r.get("r0", p.r0);
    r.get("cutoff", p.cutoff);
    r.non_negative("d0", p.d0);
    r.positive("alpha", p.alpha);
    r.positive("r0", p.r0);
    if (p.cutoff == 0) r.fail("cutoff", "is required (here or as the model's cutoff)");
    r.positive("cutoff", p.cutoff);
    r.finish();
    for (const auto& q : out)
      if (std::minmax(q.z_a, q.z_b) == std::minmax(p.z_a, p.z_b)) r.fail("elements", "names a pair given twice");
    out.push_back(p);
  }
  return out;
}

ModelTermSpec parse_term(const toml::table& table, const std::string& where, const std::string& origin) {
  // A Morse term's pair tables are read on their own (below), the rest strictly here.
  const toml::node* type_node = table.get("type");
  const bool morse = type_node != nullptr && type_node->value<std::string>() == "morse";
  toml::table t = table;
  if (morse) t.erase("pair");
  detail::TableReader r(t, where, origin);
  ModelTermSpec m;
  m.where = where;
  r.get("type", m.type);
  r.get("skin", m.skin);
  r.element_pairs("pairs", m.pairs);
  r.non_negative("skin", m.skin);
  auto existing = [&](const char* key, std::string& path) {
    r.get(key, path);
    if (path.empty()) return;
    path = resolve(path, origin);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) r.fail(key, "names no readable file: '" + path + "'");
  };
  if (m.type == "snap") {
    existing("file", m.file);
    existing("coeff", m.coeff);
    existing("param", m.param);
    r.get("elements", m.elements);
    r.get("lammps_chemflag_forces", m.lammps_chemflag_forces);
    if (!m.file.empty() && (!m.coeff.empty() || !m.param.empty()))
      r.fail("file", "and coeff/param are alternatives: give a .snap file or a .snapcoeff and a .snapparam");
    if (m.file.empty() && (m.coeff.empty() || m.param.empty()))
      r.fail(m.coeff.empty() ? "coeff" : "param",
             "is required (or file = a LAMMPS .snap include file): a SNAP model needs a .snapcoeff and a .snapparam");
    if (!m.file.empty() && !m.elements.empty())
      r.fail("elements", "cannot be combined with file (the .snap file names its elements)");
  } else if (m.type == "zbl") {
    r.get("inner", m.inner);
    r.get("outer", m.outer);
    r.positive("inner", m.inner);
    r.positive("outer", m.outer);
    if (m.outer < m.inner) r.fail("outer", "must be >= inner");
  } else if (m.type == "sw") {
    existing("file", m.file);
    if (m.file.empty()) r.fail("file", "is required: a Stillinger-Weber model reads a LAMMPS .sw file");
    r.get("elements", m.elements);
    if (!m.pairs.empty()) r.fail("pairs", "is not supported for sw (use elements)");
  } else if (m.type == "morse") {
    double cutoff = 0;
    r.get("cutoff", cutoff);
    if (r.has("cutoff")) r.positive("cutoff", cutoff);
    r.get("shift_energy", m.shift_energy);
    if (!m.pairs.empty())
      r.fail("pairs", "is not supported for morse (its [[" + where + ".pair]] tables name the pairs)");
    m.morse_pairs = parse_morse_pairs(table.get("pair"), where, origin, cutoff);
  } else if (m.type == "eam") {
    // file = one path, or (funcfl: one file per element) a list of paths.
    if (const toml::node* f = t.get("file"); f != nullptr && f->is_array()) {
      r.get("file", m.files);
      if (m.files.empty()) r.fail("file", "is an empty list");
    } else {
      std::string one;
      r.get("file", one);
      if (one.empty()) r.fail("file", "is required: an EAM potential file (.eam, .eam.alloy, .eam.fs)");
      m.files = {one};
    }
    for (auto& path : m.files) {
      path = resolve(path, origin);
      std::error_code ec;
      if (!std::filesystem::is_regular_file(path, ec)) r.fail("file", "names no readable file: '" + path + "'");
    }
    r.get("format", m.format);
    r.get("elements", m.elements);
    try {
      if (m.format.empty()) m.format = model::eam_format_name(model::eam_format_from_path(m.files[0]));
      m.format = model::eam_format_name(model::parse_eam_format(m.format));
    } catch (const InvalidArgument& e) {
      r.fail("format", e.what());
    }
    if (m.format != "funcfl" && m.files.size() != 1)
      r.fail("file", "takes one file for format \"" + m.format + "\" (several files only for funcfl)");
  } else if (m.type == "torchscript") {
    existing("file", m.file);
    if (m.file.empty()) r.fail("file", "is required: the TorchScript model file");
    if (!m.pairs.empty()) r.fail("pairs", "is not supported for torchscript models (they act on every pair)");
    r.get("convention", m.convention);
    if (m.convention != "auto" && m.convention != "batched" && m.convention != "mace-lammps")
      r.fail("convention", "must be \"auto\", \"batched\" or \"mace-lammps\"");
    r.get("cutoff", m.cutoff);
    if (r.has("cutoff")) r.positive("cutoff", m.cutoff);
    r.get("elements", m.elements);
    for (const auto& e : m.elements)
      if (!find_atomic_number(e)) r.fail("elements", "'" + e + "' is not a chemical element symbol");
    r.get("dtype", m.dtype);
    if (!m.dtype.empty() && m.dtype != "float32" && m.dtype != "float64")
      r.fail("dtype", "must be \"float32\" or \"float64\"");
    r.get("plugin", m.plugin);
    if (!m.plugin.empty()) m.plugin = resolve(m.plugin, origin);
  } else if (m.type == "lennard_jones") {
    r.fail("type", "lennard_jones cannot be a term of a [[model]] sum yet (use a single [model] table)");
  } else {
    r.fail("type", "must be \"lennard_jones\", \"snap\", \"zbl\", \"eam\", \"sw\", \"morse\" or \"torchscript\"");
  }
  r.finish();
  return m;
}

}  // namespace

bool parse_model_tables(const toml::table& root, const std::string& origin, ModelSpec& out) {
  const toml::node* n = root.get("model");
  if (n == nullptr) return false;
  if (n->is_array_of_tables()) {
    ModelSpec spec;
    std::size_t i = 0;
    for (const auto& e : *n->as_array())
      spec.terms.push_back(parse_term(*e.as_table(), "model[" + std::to_string(i++) + "]", origin));
    if (spec.terms.empty()) throw InvalidArgument(origin + ": '[[model]]' has no tables");
    out = std::move(spec);
    return true;
  }
  if (!n->is_table()) throw InvalidArgument(origin + ": 'model' must be a table ([model]) or tables ([[model]])");
  const auto type = n->as_table()->get("type");
  if (type == nullptr || (type->value<std::string>() && *type->value<std::string>() == "lennard_jones")) return false;
  out.terms = {parse_term(*n->as_table(), "model", origin)};
  return true;
}

namespace {

std::vector<std::shared_ptr<model::Model>> build_term(const ModelTermSpec& t) {
  using namespace batchmd::model;
  if (t.type == "zbl") {
    ZBLConfig c;
    c.inner = t.inner;
    c.outer = t.outer;
    c.pairs = ElementPairs(t.pairs);
    c.skin = t.skin;
    return {std::make_shared<ZBL>(c)};
  }
  if (t.type == "sw") {
    SWConfig c;
    c.params = read_sw_file(t.file, t.elements);
    c.skin = t.skin;
    return {std::make_shared<StillingerWeber>(std::move(c))};
  }
  if (t.type == "morse") {
    MorseConfig c;
    c.pairs = t.morse_pairs;
    c.shift_energy = t.shift_energy;
    c.skin = t.skin;
    return {std::make_shared<Morse>(std::move(c))};
  }
  if (t.type == "eam") {
    EAMConfig c;
    c.tables = read_eam(t.files, parse_eam_format(t.format), t.elements);
    c.pairs = ElementPairs(t.pairs);
    c.skin = t.skin;
    return {std::make_shared<EAM>(std::move(c))};
  }
  if (t.type == "torchscript") {
    TorchScriptConfig c;
    c.path = t.file;
    c.convention = parse_torch_convention(t.convention);
    c.cutoff = t.cutoff;
    for (const auto& e : t.elements) c.elements.push_back(*find_atomic_number(e));
    if (!t.dtype.empty()) c.dtype = t.dtype == "float32" ? DType::Float32 : DType::Float64;
    c.skin = t.skin;
    c.plugin = t.plugin;
    return {std::make_shared<TorchScriptModel>(c)};
  }
  SNAPConfig c;
  std::vector<std::shared_ptr<Model>> out;
  if (!t.file.empty()) {
    SNAPPotentialFile f = read_snap_potential(t.file);
    if (f.zbl) {
      f.zbl->skin = t.skin;
      out.push_back(std::make_shared<ZBL>(*f.zbl));
    }
    c = std::move(f.snap);
  } else {
    c.params = read_snap_files(t.coeff, t.param, t.elements);
  }
  if (!t.pairs.empty()) c.pairs = ElementPairs(t.pairs);
  c.skin = t.skin;
  c.lammps_chemflag_forces = t.lammps_chemflag_forces;
  out.push_back(std::make_shared<SNAP>(std::move(c)));
  return out;
}

}  // namespace

std::shared_ptr<model::Model> build_model(const ModelSpec& spec, const model::LJConfig& lj) {
  if (spec.empty()) return std::make_shared<model::LennardJones>(lj);
  std::vector<std::shared_ptr<model::Model>> terms;
  for (const auto& t : spec.terms) {
    auto built = build_term(t);
    terms.insert(terms.end(), built.begin(), built.end());
  }
  if (terms.size() == 1) return terms[0];
  return std::make_shared<model::SumModel>(std::move(terms));
}

std::int64_t neighbor_builds(const model::Model& m) { return m.neighbor_builds(); }

}  // namespace batchmd::app
