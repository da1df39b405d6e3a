// SPDX-License-Identifier: Apache-2.0
// sinks/zarr_layout: TrajectoryStore — the store under the writer lock before the first write, the
// arrays of the trajectory layout and their chunk shapes, and the root attributes (see
// zarr_layout.hpp).
//
// One writer at a time: the store's writer lock (zarr/lock.hpp) is taken before anything is
// read or written and held until destruction. Under it, a store that a killed writer left before
// its first commit (leftovers without a root document, or a batchmd root with 0 samples) is
// cleared and reused, so whatever the moment of a kill the path opens as a store or can be
// written again. The root document is written last when the layout is created, so until then
// readers see no store at all rather than a root without num_samples.
#include "zarr_layout.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "batchmd/core/error.hpp"
#include "batchmd/core/version.hpp"

namespace batchmd::sinks::detail {

TrajectoryStore::TrajectoryStore(std::shared_ptr<zarr::Store> s, ZarrWriteConfig c)
    : url_(s->url()), store_(std::move(s)), cfg_(std::move(c)) {
  if (cfg_.queue_depth < 1) throw InvalidArgument("ZarrData: queue_depth must be >= 1");
  if (cfg_.workers < 1) throw InvalidArgument("ZarrData: workers must be >= 1");
  if (!(cfg_.commit_interval >= 0) || cfg_.commit_interval > 86400)
    throw InvalidArgument("ZarrData: commit_interval must be in [0, 86400] seconds, got " +
                          std::to_string(cfg_.commit_interval));
  if (cfg_.chunk_bytes < 1) throw InvalidArgument("ZarrData: chunk_bytes must be >= 1");
  if (cfg_.chunk_samples < 0 || cfg_.chunks_per_shard < 0)
    throw InvalidArgument("ZarrData: chunk_samples and chunks_per_shard must be >= 0");
  if (cfg_.chunks_per_shard > 0 && cfg_.format == zarr::ZarrFormat::V2)
    throw InvalidArgument("ZarrData: sharding needs Zarr v3");
  for (const auto& [k, o] : cfg_.fields) {
    if (o.chunk_rows && *o.chunk_rows < 1)
      throw InvalidArgument("ZarrData: chunk_rows of field '" + k + "' must be >= 1");
    if (o.precision && !(std::isfinite(*o.precision) && *o.precision > 0))
      throw InvalidArgument("ZarrData: precision of field '" + k + "' must be finite and > 0, got " +
                            std::to_string(*o.precision));
    if (o.precision && cfg_.chunks_per_shard > 0)
      throw InvalidArgument("ZarrData: precision of field '" + k + "' cannot be combined with sharding");
  }
  lock_ = store_->lock_writer(zarr::WriterLockOptions::from_environment());
  prepare();
}

TrajectoryStore::~TrajectoryStore() {
  if (layout_started_ && !root_written_) {  // a layout without its root: no one can use it
    try {
      wipe(keys_but_lock());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "batchmd: ZarrData(%s): could not remove a half-made layout: %s\n", url_.c_str(), e.what());
    }
  }
}

std::vector<std::string> TrajectoryStore::keys_but_lock() const {
  std::vector<std::string> keys = store_->list("");
  std::erase(keys, std::string(zarr::kWriterLockKey));
  return keys;
}

void TrajectoryStore::wipe(const std::vector<std::string>& keys) {
  for (const auto& k : keys) store_->erase(k);
}

/// A trajectory that batchmd created but that holds no sample: what a writer killed (or failed)
/// before its first commit leaves; a new writer may replace it.
bool TrajectoryStore::unused_trajectory() const {
  try {
    const auto attrs = zarr::Group::open(store_, "").attributes();
    return attrs.contains("num_samples") && attrs["num_samples"] == 0 && attrs.contains("batchmd") &&
           attrs["batchmd"].is_object() && attrs["batchmd"].value("writer", "") == kWriterName;
  } catch (const FormatError&) {
    return false;
  }
}

/// Under the writer lock: refuses what must not be written over, clears what a dead writer left
/// before its first commit, and opens a trajectory to append to.
void TrajectoryStore::prepare() {
  if (!zarr::find_node(*store_, "")) {
    const auto left = keys_but_lock();
    if (left.empty()) return;  // a new store: the layout is made at the first write
    if (!lock_->took_over())
      throw InvalidArgument("ZarrData: '" + url_ + "' holds " + std::to_string(left.size()) +
                            " entries but no Zarr store (e.g. '" + left.front() +
                            "'); choose a new path or empty this one");
    wipe(left);  // a batchmd writer died here before its first commit
    return;
  }
  if (!cfg_.append) {
    if (unused_trajectory()) {
      wipe(keys_but_lock());
      return;
    }
    throw InvalidArgument("ZarrData: '" + url_ +
                          "' already holds a Zarr store; choose a new path or open it to append");
  }
  open_existing();
}

/// rows_per_write: rows of this field's level in the first write.
std::int64_t TrajectoryStore::chunk_rows_for(const FieldDef& f, double atoms_per_sample, double edges_per_sample,
                                             std::int64_t rows_per_write) const {
  auto it = cfg_.fields.find(f.name);
  if (it != cfg_.fields.end() && it->second.chunk_rows) return *it->second.chunk_rows;
  if (cfg_.chunk_samples > 0) {
    const double scale = f.level == Level::Atom ? atoms_per_sample : f.level == Level::Edge ? edges_per_sample : 1.0;
    return std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(cfg_.chunk_samples) * scale));
  }
  const auto rb = static_cast<std::int64_t>(std::max<std::size_t>(1, f.row_bytes()));
  // Snapshots of a whole batch repeat the same row count every write: chunks of a whole number
  // of writes end exactly where a write ends, so no append rewrites an unfinished chunk. At most
  // kMaxWritesPerChunk writes: a commit stores each array's unfinished chunk whole (padded), so a
  // tiny per-write field (energy: 8 bytes a system) must not get a 1 MiB chunk.
  constexpr std::int64_t kMaxWritesPerChunk = 64;
  const std::int64_t write_bytes = rows_per_write * rb;
  if (rows_per_write > 0 && write_bytes <= 4 * cfg_.chunk_bytes) {
    const double per_chunk = static_cast<double>(cfg_.chunk_bytes) / static_cast<double>(write_bytes);
    return std::clamp<std::int64_t>(std::llround(per_chunk), 1, kMaxWritesPerChunk) * rows_per_write;
  }
  return std::max<std::int64_t>(1, cfg_.chunk_bytes / rb);
}

zarr::ArrayMeta TrajectoryStore::meta_for(const std::string& name, Level level, DType dtype, const Shape& trailing,
                                          std::int64_t chunk_rows, const zarr::CompressorConfig& comp) const {
  zarr::ArrayMeta am;
  am.format = cfg_.format;
  am.dtype = dtype;
  am.shape = {0};
  am.shape.insert(am.shape.end(), trailing.begin(), trailing.end());
  am.chunk_rows = chunk_rows;
  am.shard_rows = cfg_.chunks_per_shard > 0 ? chunk_rows * cfg_.chunks_per_shard : 0;
  am.compressor = comp;
  for (std::size_t a = 0; a < am.shape.size(); ++a) am.dimension_names.push_back(dim_name(name, a, level));
  return am;
}

nlohmann::json TrajectoryStore::root_attributes() const {
  nlohmann::json core = nlohmann::json::object();
  for (const auto& f : fields) core[f.name] = std::string(level_name(f.level));
  nlohmann::json a;
  a["num_samples"] = n_samples;
  a["fields"] = {{"core", core}, {"custom", nlohmann::json::object()}};
  nlohmann::json bm = run_attrs_;
  bm["writer"] = kWriterName;
  bm["version"] = build_info().version;
  bm["build"] = build_info_json();  // which build wrote (last appended to) the store
  bm["units"] = {{"length", "Å"}, {"energy", "eV"}, {"mass", "amu"}, {"time", "fs"}, {"temperature", "K"}};
  bm["layout"] = "csr-by-sample";
  if (!bm.contains("chunks")) bm["chunks"] = "complete";  // every committed chunk exists: a missing one is damage
  // The loss window of a kill: samples are committed at most this many seconds after their
  // write (when the store keeps up). Recorded so a reader of the store can tell.
  bm["commit_interval_s"] = cfg_.commit_interval;
  a["batchmd"] = bm;
  return a;
}

void TrajectoryStore::create(const Batch& batch, const std::vector<std::int64_t>& idx) {
  const auto* ap = batch.atoms_ptr_data();
  const auto* ep = batch.edges_ptr().data<std::int64_t>();
  double atoms = 0, edges = 0;
  for (auto s : idx) {
    atoms += static_cast<double>(ap[s + 1] - ap[s]);
    edges += static_cast<double>(ep[s + 1] - ep[s]);
  }
  atoms /= static_cast<double>(idx.size());
  edges = std::max(1.0, edges / static_cast<double>(idx.size()));
  for (const auto& name : cfg_.only_fields)
    if (!batch.has(name))
      throw InvalidArgument("ZarrData: only_fields names '" + name + "', which the batch does not have");
  for (const auto& [k, o] : cfg_.fields) {
    if (!batch.has(k)) throw InvalidArgument("ZarrData: override for field '" + k + "', which the batch does not have");
    const DType dt = batch.get(k).dtype();
    if (o.precision && dt != DType::Float32 && dt != DType::Float64)
      throw InvalidArgument("ZarrData: precision for field '" + k + "' (" + std::string(dtype_name(dt)) +
                            "): only float fields can be stored at a fixed precision");
  }
  fields.clear();  // from an earlier attempt that failed part way
  arrays.clear();
  for (const auto& [k, f] : batch.fields())
    if (cfg_.only_fields.empty() ||
        std::find(cfg_.only_fields.begin(), cfg_.only_fields.end(), k) != cfg_.only_fields.end())
      fields.push_back(FieldDef{k, f.level, f.tensor.dtype(), trailing_of(f.tensor)});
  // The root document comes last, with its trajectory attributes, once every array exists:
  // until then a reader (or a writer after a kill) finds no store here, never a root without
  // num_samples or fields without arrays.
  lock_->check();
  layout_started_ = true;
  auto meta_g = zarr::Group::create(store_, "meta", cfg_.format);
  auto core_g = zarr::Group::create(store_, "core", cfg_.format);
  zarr::Group::create(store_, "custom", cfg_.format);
  const zarr::CompressorConfig& comp = cfg_.compressor;
  // Bookkeeping arrays get small chunks: every append rewrites their unfinished tail chunk.
  const std::int64_t meta_bytes = std::min<std::int64_t>(cfg_.chunk_bytes, 1 << 16);
  const std::int64_t ptr_rows = std::max<std::int64_t>(1, meta_bytes / 8);
  atoms_ptr = meta_g.create_array("atoms_ptr", meta_for("atoms_ptr", Level::System, DType::Int64, {}, ptr_rows, comp));
  edges_ptr = meta_g.create_array("edges_ptr", meta_for("edges_ptr", Level::System, DType::Int64, {}, ptr_rows, comp));
  samples_mask =
      meta_g.create_array("samples_mask", meta_for("samples_mask", Level::System, DType::Bool, {}, meta_bytes, comp));
  atoms_mask =
      meta_g.create_array("atoms_mask", meta_for("atoms_mask", Level::Atom, DType::Bool, {}, meta_bytes, comp));
  edges_mask =
      meta_g.create_array("edges_mask", meta_for("edges_mask", Level::Edge, DType::Bool, {}, meta_bytes, comp));
  for (const auto& f : fields) {
    auto it = cfg_.fields.find(f.name);
    const zarr::CompressorConfig& c = it != cfg_.fields.end() && it->second.compressor ? *it->second.compressor : comp;
    const double per_write = f.level == Level::Atom ? atoms : f.level == Level::Edge ? edges : 1.0;
    const auto rows_per_write = static_cast<std::int64_t>(std::llround(per_write * static_cast<double>(idx.size())));
    zarr::ArrayMeta am =
        meta_for(f.name, f.level, f.dtype, f.trailing, chunk_rows_for(f, atoms, edges, rows_per_write), c);
    if (it != cfg_.fields.end() && it->second.precision)
      am.quantize = zarr::FixedScaleOffset{1.0 / *it->second.precision, 0.0, DType::Int32};
    arrays.push_back(core_g.create_array(f.name, am));
  }
  const std::int64_t zero = 0;
  atoms_ptr->append(reinterpret_cast<const std::byte*>(&zero), 1);
  edges_ptr->append(reinterpret_cast<const std::byte*>(&zero), 1);
  atoms_ptr->commit_rows(1);
  edges_ptr->commit_rows(1);
  const nlohmann::json attrs = root_attributes();
  // v2 keeps the attributes beside .zgroup: write them first, so that the root is never a
  // group without them.
  if (cfg_.format == zarr::ZarrFormat::V2) store_->set(zarr::kV2Attrs, zarr::dump_json(attrs));
  root = zarr::Group::create(store_, "", cfg_.format, attrs);
  root_written_ = true;
  initialized = true;
}

/// Re-opens a trajectory for appending; drops anything a killed writer left past the last
/// committed sample.
void TrajectoryStore::open_existing() {
  root = zarr::Group::open(store_, "");
  root_written_ = true;
  const auto attrs = root->attributes();
  if (!attrs.contains("num_samples") || !attrs["num_samples"].is_number_integer() || !attrs.contains("fields"))
    throw FormatError(url_ + ": not a trajectory store (root attributes 'num_samples' and 'fields' missing)");
  if (attrs.contains("batchmd") && attrs["batchmd"].is_object()) {
    run_attrs_ = attrs["batchmd"];
  }
  if (!run_attrs_.contains("chunks")) run_attrs_["chunks"] = "unknown";  // a store we did not begin: no promise
  n_samples = attrs["num_samples"].get<std::int64_t>();
  if (root->format() != cfg_.format) cfg_.format = root->format();
  atoms_ptr = root->open_array("meta/atoms_ptr");
  edges_ptr = root->open_array("meta/edges_ptr");
  samples_mask = root->open_array("meta/samples_mask");
  atoms_mask = root->open_array("meta/atoms_mask");
  edges_mask = root->open_array("meta/edges_mask");
  if (atoms_ptr->rows() < n_samples + 1 || edges_ptr->rows() < n_samples + 1)
    throw FormatError(url_ + ": meta/atoms_ptr or meta/edges_ptr is shorter than num_samples + 1");
  n_atoms = atoms_ptr->read<std::int64_t>(n_samples, 1)[0];
  n_edges = edges_ptr->read<std::int64_t>(n_samples, 1)[0];
  truncate(*atoms_ptr, "meta/atoms_ptr", n_samples + 1);
  truncate(*edges_ptr, "meta/edges_ptr", n_samples + 1);
  truncate(*samples_mask, "meta/samples_mask", n_samples);
  truncate(*atoms_mask, "meta/atoms_mask", n_atoms);
  truncate(*edges_mask, "meta/edges_mask", n_edges);
  const auto& core = attrs["fields"]["core"];
  if (!core.is_object()) throw FormatError(url_ + ": root attribute fields.core is not an object");
  for (auto it = core.begin(); it != core.end(); ++it) {
    const Level level = level_from_name(it.value().get<std::string>());
    zarr::Array a = root->open_array("core/" + it.key());
    const auto& shape = a.meta().shape;
    fields.push_back(FieldDef{it.key(), level, a.meta().dtype, Shape(shape.begin() + 1, shape.end())});
    const std::int64_t want = level == Level::Atom ? n_atoms : level == Level::Edge ? n_edges : n_samples;
    truncate(a, "core/" + it.key(), want);
    arrays.push_back(std::move(a));
  }
  initialized = n_samples > 0 || !fields.empty();
}

void TrajectoryStore::truncate(zarr::Array& a, const std::string& path, std::int64_t rows) {
  if (a.rows() < rows)
    throw FormatError(url_ + ": " + path + " has " + std::to_string(a.rows()) +
                      " rows but the committed samples need " + std::to_string(rows));
  if (a.rows() == rows) return;
  zarr::ArrayMeta am = a.meta();
  am.shape[0] = rows;
  zarr::Array::create(store_, path, am);  // rewrite the metadata with the committed extent
  a = zarr::Array::open(store_, path);
}

void TrajectoryStore::check_schema(const Batch& batch) const {
  bool same = !cfg_.only_fields.empty() || batch.fields().size() == fields.size();
  for (const auto& f : fields) {
    if (!batch.has(f.name)) {
      same = false;
      break;
    }
    const Tensor& t = batch.get(f.name);
    same = same && batch.level(f.name) == f.level && t.dtype() == f.dtype && trailing_of(t) == f.trailing;
  }
  if (!same) {
    std::string have, want;
    for (const auto& [k, f] : batch.fields()) have += " " + k;
    for (const auto& f : fields) want += " " + f.name;
    throw InvalidArgument("ZarrData(" + url_ + ").write: the batch's fields (" + have +
                          " ) differ from the trajectory's (" + want + " ) in name, level, dtype or shape");
  }
}

void TrajectoryStore::write_root_attributes() {
  nlohmann::json attrs;
  {
    std::lock_guard lk(attrs_m_);
    attrs = root_attributes();
    run_attrs_dirty_ = false;
  }
  lock_->check();
  root->set_attributes(attrs);
}

void TrajectoryStore::set_run_attributes(const nlohmann::json& attrs) {
  std::lock_guard lk(attrs_m_);
  for (auto it = attrs.begin(); it != attrs.end(); ++it) run_attrs_[it.key()] = it.value();
  run_attrs_dirty_ = true;
}

void TrajectoryStore::write_run_attributes_if_dirty() {
  bool dirty;
  {
    std::lock_guard lk(attrs_m_);
    dirty = run_attrs_dirty_ && initialized;
  }
  if (dirty) write_root_attributes();
}

std::vector<zarr::Array*> TrajectoryStore::all_arrays() {
  std::vector<zarr::Array*> all;
  for (auto& a : arrays) all.push_back(&a);
  for (auto* a : {&*atoms_ptr, &*edges_ptr, &*samples_mask, &*atoms_mask, &*edges_mask}) all.push_back(a);
  return all;
}

void TrajectoryStore::reset() {
  lock_->check();
  wipe(keys_but_lock());
  fields.clear();
  arrays.clear();
  atoms_ptr.reset();
  edges_ptr.reset();
  samples_mask.reset();
  atoms_mask.reset();
  edges_mask.reset();
  root.reset();
  initialized = false;
  layout_started_ = root_written_ = false;
  n_samples = n_atoms = n_edges = 0;
}

}  // namespace batchmd::sinks::detail
