// sinks/zarr_data: the ZarrData sink (background encode/store, crash-consistent commits,
// append to an existing trajectory; snapshots of a GPU batch arrive through pinned staging
// slots) and TrajectoryReader.
#include "batchmd/sinks/zarr_data.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "batchmd/core/error.hpp"
#include "batchmd/zarr/array.hpp"
#include "batchmd/zarr/group.hpp"
#include "gpu_staging.hpp"

namespace batchmd::sinks {

namespace {

constexpr const char* kWriterName = "batchmd";
constexpr const char* kVersion = "0.1.0";

/// A fixed pool that runs a list of tasks and waits for all of them.
class TaskPool {
 public:
  explicit TaskPool(int n) {
    for (int i = 0; i < std::max(1, n); ++i) threads_.emplace_back([this] { loop(); });
  }
  ~TaskPool() {
    {
      std::lock_guard lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  /// Runs every task (in parallel) and rethrows the first exception any of them threw.
  void run_all(std::vector<std::function<void()>>& tasks) {
    std::exception_ptr first;
    std::size_t left = tasks.size();
    std::mutex done_m;
    std::condition_variable done_cv;
    {
      std::lock_guard lk(m_);
      for (auto& t : tasks)
        queue_.push_back([&, task = &t] {
          std::exception_ptr e;
          try {
            (*task)();
          } catch (...) {
            e = std::current_exception();
          }
          std::lock_guard dl(done_m);
          if (e && !first) first = e;
          if (--left == 0) done_cv.notify_all();
        });
    }
    cv_.notify_all();
    std::unique_lock dl(done_m);
    done_cv.wait(dl, [&] { return left == 0; });
    if (first) std::rethrow_exception(first);
  }

 private:
  void loop() {
    for (;;) {
      std::function<void()> f;
      {
        std::unique_lock lk(m_);
        cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
        if (stop_ && queue_.empty()) return;
        f = std::move(queue_.front());
        queue_.pop_front();
      }
      f();
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  bool stop_ = false;
};

struct FieldDef {
  std::string name;
  Level level;
  DType dtype;
  Shape trailing;
  std::size_t row_bytes() const {
    std::size_t n = dtype_size(dtype);
    for (auto d : trailing) n *= static_cast<std::size_t>(d);
    return n;
  }
};

Shape trailing_of(const Tensor& t) { return Shape(t.shape().begin() + 1, t.shape().end()); }

/// Copies the rows of the selected systems of one field, contiguous runs at a time.
void gather_rows(const Tensor& t, const std::int64_t* ptr, const std::vector<std::int64_t>& idx, bool system_level,
                 std::byte* out) {
  const std::size_t rb = t.row_bytes();
  std::size_t i = 0;
  while (i < idx.size()) {
    std::size_t j = i + 1;
    while (j < idx.size() && idx[j] == idx[j - 1] + 1) ++j;
    const std::int64_t first = system_level ? idx[i] : ptr[idx[i]];
    const std::int64_t last = system_level ? idx[j - 1] + 1 : ptr[idx[j - 1] + 1];
    const std::size_t n = static_cast<std::size_t>(last - first) * rb;
    if (n) std::memcpy(out, t.bytes() + static_cast<std::size_t>(first) * rb, n);
    out += n;
    i = j;
  }
}

std::string dim_name(const std::string& field, std::size_t axis, Level level) {
  if (axis == 0) return level == Level::Atom ? "atom" : level == Level::Edge ? "edge" : "sample";
  return field + "_dim" + std::to_string(axis);
}

}  // namespace

// ====================================================================== ZarrData

struct ZarrData::Impl {
  struct Job {
    std::int64_t samples = 0;
    std::vector<std::int64_t> atoms, edges;  // per sample
    std::vector<const std::byte*> data;      // one per field, in fields order ...
    std::vector<std::int64_t> rows;          // ... with its row count
    std::vector<zarr::Bytes> owned;          // from a CPU batch: the bytes `data` points into
    detail::StagingLease staged;             // from a GPU batch: pinned bytes, valid after wait()
  };

  std::string url;
  std::shared_ptr<zarr::Store> store;
  ZarrWriteConfig cfg;
  bool initialized = false;
  std::vector<FieldDef> fields;
  std::vector<zarr::Array> arrays;  // parallel to fields
  std::optional<zarr::Array> atoms_ptr, edges_ptr, samples_mask, atoms_mask, edges_mask;
  std::optional<zarr::Group> root;
  nlohmann::json run_attrs = nlohmann::json::object();
  bool run_attrs_dirty = false;

  // Writer-thread state: committed totals.
  std::int64_t n_samples = 0, n_atoms = 0, n_edges = 0;
  // Main-thread state: samples accepted by write().
  std::int64_t accepted = 0;

  // Snapshots of GPU batches (made by the first one). Declared before the queue: it must
  // outlive every Job's lease.
  std::unique_ptr<detail::StagingRing> staging;

  std::mutex m;
  std::condition_variable cv_work, cv_space, cv_idle;
  std::deque<Job> queue;
  bool busy = false, stop = false;
  std::exception_ptr error;
  std::unique_ptr<TaskPool> pool;
  std::thread writer;

  Impl(std::string u, ZarrWriteConfig c) : url(std::move(u)), cfg(std::move(c)) {
    if (cfg.queue_depth < 1) throw InvalidArgument("ZarrData: queue_depth must be >= 1");
    if (cfg.workers < 1) throw InvalidArgument("ZarrData: workers must be >= 1");
    if (cfg.chunk_bytes < 1) throw InvalidArgument("ZarrData: chunk_bytes must be >= 1");
    if (cfg.chunk_samples < 0 || cfg.chunks_per_shard < 0)
      throw InvalidArgument("ZarrData: chunk_samples and chunks_per_shard must be >= 0");
    if (cfg.chunks_per_shard > 0 && cfg.format == zarr::ZarrFormat::V2)
      throw InvalidArgument("ZarrData: sharding needs Zarr v3");
    for (const auto& [k, o] : cfg.fields)
      if (o.chunk_rows && *o.chunk_rows < 1)
        throw InvalidArgument("ZarrData: chunk_rows of field '" + k + "' must be >= 1");
    store = zarr::open_store(url);
    const bool exists = zarr::find_node(*store, "").has_value();
    if (exists && !cfg.append)
      throw InvalidArgument("ZarrData: '" + url +
                            "' already holds a Zarr store; choose a new path or open it to append");
    if (exists) open_existing();
    pool = std::make_unique<TaskPool>(cfg.workers);
    writer = std::thread([this] { loop(); });
  }

  ~Impl() {
    {
      std::lock_guard lk(m);
      stop = true;
    }
    cv_work.notify_all();
    if (writer.joinable()) writer.join();
  }

  // ---- layout

  /// rows_per_write: rows of this field's level in the first write.
  std::int64_t chunk_rows_for(const FieldDef& f, double atoms_per_sample, double edges_per_sample,
                              std::int64_t rows_per_write) const {
    auto it = cfg.fields.find(f.name);
    if (it != cfg.fields.end() && it->second.chunk_rows) return *it->second.chunk_rows;
    if (cfg.chunk_samples > 0) {
      const double scale = f.level == Level::Atom ? atoms_per_sample : f.level == Level::Edge ? edges_per_sample : 1.0;
      return std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(cfg.chunk_samples) * scale));
    }
    const auto rb = static_cast<std::int64_t>(std::max<std::size_t>(1, f.row_bytes()));
    // Snapshots of a whole batch repeat the same row count every write: chunks of a whole number
    // of writes end exactly where a write ends, so no append rewrites an unfinished chunk.
    const std::int64_t write_bytes = rows_per_write * rb;
    if (rows_per_write > 0 && write_bytes <= 4 * cfg.chunk_bytes) {
      const double per_chunk = static_cast<double>(cfg.chunk_bytes) / static_cast<double>(write_bytes);
      return std::max<std::int64_t>(1, std::llround(per_chunk)) * rows_per_write;
    }
    return std::max<std::int64_t>(1, cfg.chunk_bytes / rb);
  }

  zarr::ArrayMeta meta_for(const std::string& name, Level level, DType dtype, const Shape& trailing,
                           std::int64_t chunk_rows, const zarr::CompressorConfig& comp) const {
    zarr::ArrayMeta am;
    am.format = cfg.format;
    am.dtype = dtype;
    am.shape = {0};
    am.shape.insert(am.shape.end(), trailing.begin(), trailing.end());
    am.chunk_rows = chunk_rows;
    am.shard_rows = cfg.chunks_per_shard > 0 ? chunk_rows * cfg.chunks_per_shard : 0;
    am.compressor = comp;
    for (std::size_t a = 0; a < am.shape.size(); ++a) am.dimension_names.push_back(dim_name(name, a, level));
    return am;
  }

  nlohmann::json root_attributes() const {
    nlohmann::json core = nlohmann::json::object();
    for (const auto& f : fields) core[f.name] = std::string(level_name(f.level));
    nlohmann::json a;
    a["num_samples"] = n_samples;
    a["fields"] = {{"core", core}, {"custom", nlohmann::json::object()}};
    nlohmann::json bm = run_attrs;
    bm["writer"] = kWriterName;
    bm["version"] = kVersion;
    bm["units"] = {{"length", "Å"}, {"energy", "eV"}, {"mass", "amu"}, {"time", "fs"}, {"temperature", "K"}};
    bm["layout"] = "csr-by-sample";
    a["batchmd"] = bm;
    return a;
  }

  void create_layout(const Batch& batch, const std::vector<std::int64_t>& idx) {
    const auto* ap = batch.atoms_ptr_data();
    const auto* ep = batch.edges_ptr().data<std::int64_t>();
    double atoms = 0, edges = 0;
    for (auto s : idx) {
      atoms += static_cast<double>(ap[s + 1] - ap[s]);
      edges += static_cast<double>(ep[s + 1] - ep[s]);
    }
    atoms /= static_cast<double>(idx.size());
    edges = std::max(1.0, edges / static_cast<double>(idx.size()));
    for (const auto& name : cfg.only_fields)
      if (!batch.has(name))
        throw InvalidArgument("ZarrData: only_fields names '" + name + "', which the batch does not have");
    for (const auto& [k, f] : batch.fields())
      if (cfg.only_fields.empty() ||
          std::find(cfg.only_fields.begin(), cfg.only_fields.end(), k) != cfg.only_fields.end())
        fields.push_back(FieldDef{k, f.level, f.tensor.dtype(), trailing_of(f.tensor)});
    // The root gets its trajectory attributes last, once every array exists: until then a
    // reader sees a plain group ("not a trajectory"), never fields without arrays.
    root = zarr::Group::create(store, "", cfg.format);
    auto meta_g = root->create_group("meta");
    auto core_g = root->create_group("core");
    root->create_group("custom");
    const zarr::CompressorConfig& comp = cfg.compressor;
    // Bookkeeping arrays get small chunks: every append rewrites their unfinished tail chunk.
    const std::int64_t meta_bytes = std::min<std::int64_t>(cfg.chunk_bytes, 1 << 16);
    const std::int64_t ptr_rows = std::max<std::int64_t>(1, meta_bytes / 8);
    atoms_ptr =
        meta_g.create_array("atoms_ptr", meta_for("atoms_ptr", Level::System, DType::Int64, {}, ptr_rows, comp));
    edges_ptr =
        meta_g.create_array("edges_ptr", meta_for("edges_ptr", Level::System, DType::Int64, {}, ptr_rows, comp));
    samples_mask =
        meta_g.create_array("samples_mask", meta_for("samples_mask", Level::System, DType::Bool, {}, meta_bytes, comp));
    atoms_mask =
        meta_g.create_array("atoms_mask", meta_for("atoms_mask", Level::Atom, DType::Bool, {}, meta_bytes, comp));
    edges_mask =
        meta_g.create_array("edges_mask", meta_for("edges_mask", Level::Edge, DType::Bool, {}, meta_bytes, comp));
    for (const auto& f : fields) {
      auto it = cfg.fields.find(f.name);
      const zarr::CompressorConfig& c = it != cfg.fields.end() && it->second.compressor ? *it->second.compressor : comp;
      const double per_write = f.level == Level::Atom ? atoms : f.level == Level::Edge ? edges : 1.0;
      const auto rows_per_write = static_cast<std::int64_t>(std::llround(per_write * static_cast<double>(idx.size())));
      arrays.push_back(core_g.create_array(
          f.name, meta_for(f.name, f.level, f.dtype, f.trailing, chunk_rows_for(f, atoms, edges, rows_per_write), c)));
    }
    for (const auto& [k, o] : cfg.fields)
      if (!batch.has(k))
        throw InvalidArgument("ZarrData: override for field '" + k + "', which the batch does not have");
    const std::int64_t zero = 0;
    atoms_ptr->append(reinterpret_cast<const std::byte*>(&zero), 1);
    edges_ptr->append(reinterpret_cast<const std::byte*>(&zero), 1);
    atoms_ptr->commit_rows(1);
    edges_ptr->commit_rows(1);
    root->set_attributes(root_attributes());
    initialized = true;
  }

  /// Re-opens a trajectory for appending; drops anything a killed writer left past the last
  /// committed sample.
  void open_existing() {
    root = zarr::Group::open(store, "");
    const auto attrs = root->attributes();
    if (!attrs.contains("num_samples") || !attrs["num_samples"].is_number_integer() || !attrs.contains("fields"))
      throw FormatError(url + ": not a trajectory store (root attributes 'num_samples' and 'fields' missing)");
    if (attrs.contains("batchmd") && attrs["batchmd"].is_object()) {
      run_attrs = attrs["batchmd"];
    }
    n_samples = attrs["num_samples"].get<std::int64_t>();
    if (root->format() != cfg.format) cfg.format = root->format();
    atoms_ptr = root->open_array("meta/atoms_ptr");
    edges_ptr = root->open_array("meta/edges_ptr");
    samples_mask = root->open_array("meta/samples_mask");
    atoms_mask = root->open_array("meta/atoms_mask");
    edges_mask = root->open_array("meta/edges_mask");
    if (atoms_ptr->rows() < n_samples + 1 || edges_ptr->rows() < n_samples + 1)
      throw FormatError(url + ": meta/atoms_ptr or meta/edges_ptr is shorter than num_samples + 1");
    n_atoms = atoms_ptr->read<std::int64_t>(n_samples, 1)[0];
    n_edges = edges_ptr->read<std::int64_t>(n_samples, 1)[0];
    truncate(*atoms_ptr, "meta/atoms_ptr", n_samples + 1);
    truncate(*edges_ptr, "meta/edges_ptr", n_samples + 1);
    truncate(*samples_mask, "meta/samples_mask", n_samples);
    truncate(*atoms_mask, "meta/atoms_mask", n_atoms);
    truncate(*edges_mask, "meta/edges_mask", n_edges);
    const auto& core = attrs["fields"]["core"];
    if (!core.is_object()) throw FormatError(url + ": root attribute fields.core is not an object");
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

  void truncate(zarr::Array& a, const std::string& path, std::int64_t rows) {
    if (a.rows() < rows)
      throw FormatError(url + ": " + path + " has " + std::to_string(a.rows()) +
                        " rows but the committed samples need " + std::to_string(rows));
    if (a.rows() == rows) return;
    zarr::ArrayMeta am = a.meta();
    am.shape[0] = rows;
    zarr::Array::create(store, path, am);  // rewrite the metadata with the committed extent
    a = zarr::Array::open(store, path);
  }

  void check_schema(const Batch& batch) const {
    bool same = !cfg.only_fields.empty() || batch.fields().size() == fields.size();
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
      throw InvalidArgument("ZarrData(" + url + ").write: the batch's fields (" + have +
                            " ) differ from the trajectory's (" + want + " ) in name, level, dtype or shape");
    }
  }

  /// Starts the copy of a GPU batch's selected systems into a staging slot (see gpu_staging.hpp);
  /// the job points at the slot's pinned bytes, which the writer reads after waiting.
  void stage_from_gpu(const Batch& batch, const std::vector<std::int64_t>& idx, Job& job) {
    const int device = batch.device().index;
    if (!staging || staging->device() != device) {  // first GPU write, or a batch on another GPU
      flush();                                      // no lease of the old ring may still be queued
      staging = std::make_unique<detail::StagingRing>(device);
    }
    std::vector<std::string> names;
    for (const auto& f : fields) names.push_back(f.name);
    // The trajectory stores edge_index local to each sample: the gather shifts it per system.
    job.staged = staging->stage(batch, idx, names, detail::EdgeIndexMode::SampleLocal);
    for (const auto& f : job.staged.fields()) job.data.push_back(job.staged.host() + f.offset);
  }

  // ---- background writer

  void rethrow_locked() {
    if (error) std::rethrow_exception(error);
  }

  void enqueue(Job job) {
    std::unique_lock lk(m);
    cv_space.wait(lk, [&] { return queue.size() < cfg.queue_depth || error; });
    rethrow_locked();
    queue.push_back(std::move(job));
    cv_work.notify_one();
  }

  void loop() {
    for (;;) {
      std::vector<Job> jobs;
      {
        std::unique_lock lk(m);
        cv_work.wait(lk, [&] { return stop || !queue.empty(); });
        if (queue.empty() && stop) return;
        while (!queue.empty()) {
          jobs.push_back(std::move(queue.front()));
          queue.pop_front();
        }
        busy = true;
      }
      cv_space.notify_all();
      std::exception_ptr e;
      if (!error) {
        try {
          process(jobs);
        } catch (...) {
          e = std::current_exception();
        }
      }
      {
        std::lock_guard lk(m);
        if (e && !error) error = e;
        busy = false;
      }
      cv_idle.notify_all();
      cv_space.notify_all();
    }
  }

  void process(std::vector<Job>& jobs) {
    for (auto& j : jobs)
      if (j.staged) j.staged.wait();  // the snapshot's copy from the GPU has landed
    std::vector<std::function<void()>> tasks;
    // Per-array tasks: each appends every job's rows to its array (in order).
    for (std::size_t a = 0; a < arrays.size(); ++a)
      tasks.emplace_back([&, a] {
        for (auto& j : jobs) arrays[a].append(j.data[a], j.rows[a]);
      });
    std::int64_t atoms_total = n_atoms, edges_total = n_edges;
    std::vector<std::int64_t> aptr, eptr;
    std::int64_t new_samples = 0, new_atoms = 0, new_edges = 0;
    for (auto& j : jobs) {
      for (std::size_t s = 0; s < j.atoms.size(); ++s) {
        atoms_total += j.atoms[s];
        edges_total += j.edges[s];
        aptr.push_back(atoms_total);
        eptr.push_back(edges_total);
      }
      new_samples += j.samples;
    }
    new_atoms = atoms_total - n_atoms;
    new_edges = edges_total - n_edges;
    tasks.emplace_back([&] {
      atoms_ptr->append(reinterpret_cast<const std::byte*>(aptr.data()), static_cast<std::int64_t>(aptr.size()));
      edges_ptr->append(reinterpret_cast<const std::byte*>(eptr.data()), static_cast<std::int64_t>(eptr.size()));
    });
    tasks.emplace_back([&] {
      std::vector<std::byte> ones(static_cast<std::size_t>(std::max({new_samples, new_atoms, new_edges})),
                                  std::byte{1});
      samples_mask->append(ones.data(), new_samples);
      atoms_mask->append(ones.data(), new_atoms);
      edges_mask->append(ones.data(), new_edges);
    });
    pool->run_all(tasks);
    // Every chunk is stored: now make the samples visible, root attributes last.
    tasks.clear();
    for (auto& a : arrays) tasks.emplace_back([&a] { a.commit_rows(a.rows_encoded()); });
    for (auto* a : {&*atoms_ptr, &*edges_ptr, &*samples_mask, &*atoms_mask, &*edges_mask})
      tasks.emplace_back([a] { a->commit_rows(a->rows_encoded()); });
    pool->run_all(tasks);
    n_samples += new_samples;
    n_atoms = atoms_total;
    n_edges = edges_total;
    nlohmann::json attrs;
    {
      std::lock_guard lk(m);
      attrs = root_attributes();
      run_attrs_dirty = false;
    }
    root->set_attributes(attrs);
  }

  void flush() {
    std::unique_lock lk(m);
    cv_idle.wait(lk, [&] { return (queue.empty() && !busy) || (error && !busy); });
    rethrow_locked();
    if (run_attrs_dirty && initialized) {
      auto attrs = root_attributes();
      run_attrs_dirty = false;
      lk.unlock();
      root->set_attributes(attrs);
    }
  }
};

ZarrData::ZarrData(const std::string& url, std::int64_t capacity, ZarrWriteConfig config)
    : url_(url), capacity_(capacity) {
  if (capacity < 1) throw InvalidArgument("ZarrData capacity must be >= 1 sample, got " + std::to_string(capacity));
  impl_ = std::make_unique<Impl>(url, std::move(config));
  impl_->accepted = impl_->n_samples;
  if (impl_->accepted > capacity_)
    throw CapacityError("ZarrData: '" + url + "' already holds " + std::to_string(impl_->accepted) +
                        " samples, more than the capacity " + std::to_string(capacity_));
}

ZarrData::~ZarrData() {
  try {
    impl_->flush();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "batchmd: ZarrData(%s): error while flushing at close: %s\n", url_.c_str(), e.what());
  }
}

void ZarrData::write(const Batch& batch, const std::vector<bool>& mask) {
  {
    std::lock_guard lk(impl_->m);
    impl_->rethrow_locked();
  }
  const auto idx = selected(batch, mask, name());
  if (idx.empty()) return;
  const auto k = static_cast<std::int64_t>(idx.size());
  if (impl_->accepted + k > capacity_)
    throw CapacityError(name() + " is full: " + std::to_string(k) + " samples do not fit (" +
                        std::to_string(impl_->accepted) + " of " + std::to_string(capacity_) + " used)");
  if (!impl_->initialized) {
    flush();  // wait for nothing in flight before creating the layout
    impl_->create_layout(batch, idx);
  } else {
    impl_->check_schema(batch);
  }
  Impl::Job job;
  job.samples = k;
  const auto* ap = batch.atoms_ptr_data();
  const auto* ep = batch.edges_ptr().data<std::int64_t>();
  for (auto s : idx) {
    job.atoms.push_back(ap[s + 1] - ap[s]);
    job.edges.push_back(ep[s + 1] - ep[s]);
  }
  std::int64_t total_atoms = 0, total_edges = 0;
  for (std::size_t i = 0; i < idx.size(); ++i) {
    total_atoms += job.atoms[i];
    total_edges += job.edges[i];
  }
  for (const auto& f : impl_->fields)
    job.rows.push_back(f.row_bytes() == 0       ? 0
                       : f.level == Level::Atom ? total_atoms
                       : f.level == Level::Edge ? total_edges
                                                : k);
  if (batch.is_cuda()) {
    impl_->stage_from_gpu(batch, idx, job);
    impl_->enqueue(std::move(job));
    impl_->accepted += k;
    return;
  }
  for (const auto& f : impl_->fields) {
    const Tensor& t = batch.get(f.name);
    const std::int64_t rows = f.level == Level::Atom ? total_atoms : f.level == Level::Edge ? total_edges : k;
    zarr::Bytes bytes(static_cast<std::size_t>(rows) * t.row_bytes());
    gather_rows(t, f.level == Level::Atom ? ap : ep, idx, f.level == Level::System, bytes.data());
    if (f.name == kEdgeIndex && t.dtype() == DType::Int64) {  // stored per sample: local atom indices
      auto* v = reinterpret_cast<std::int64_t*>(bytes.data());
      std::size_t e = 0;
      for (auto s : idx)
        for (std::int64_t r = ep[s]; r < ep[s + 1]; ++r, ++e)
          for (std::int64_t c = 0; c < t.row_numel(); ++c)
            v[e * static_cast<std::size_t>(t.row_numel()) + static_cast<std::size_t>(c)] -= ap[s];
    }
    job.owned.push_back(std::move(bytes));
  }
  for (const auto& bytes : job.owned) job.data.push_back(bytes.data());
  impl_->enqueue(std::move(job));
  impl_->accepted += k;
}

void ZarrData::flush() { impl_->flush(); }

void ZarrData::write_model_state(std::int64_t step, const std::vector<double>& state) {
  flush();
  if (!impl_->root) throw InvalidArgument(name() + ": nothing written yet; no samples to attach a model state to");
  if (!zarr::find_node(*impl_->store, "restart")) impl_->root->create_group("restart");
  zarr::ArrayMeta m;
  m.format = impl_->cfg.format;
  m.dtype = DType::Float64;
  m.shape = {0};
  m.chunk_rows = std::max<std::int64_t>(1, static_cast<std::int64_t>(state.size()));
  m.attributes = {{"step", step}, {"description", "model state for bitwise restarts (batchmd Model::state)"}};
  zarr::Array a = zarr::Array::create(impl_->store, "restart/model_state", m);
  a.append(reinterpret_cast<const std::byte*>(state.data()), static_cast<std::int64_t>(state.size()));
  a.commit_rows(static_cast<std::int64_t>(state.size()));
}

std::int64_t ZarrData::size() const { return impl_->accepted; }

void ZarrData::set_run_attributes(const nlohmann::json& attrs) {
  std::lock_guard lk(impl_->m);
  for (auto it = attrs.begin(); it != attrs.end(); ++it) impl_->run_attrs[it.key()] = it.value();
  impl_->run_attrs_dirty = true;
}

Batch ZarrData::read() {
  flush();
  if (impl_->accepted == 0) throw InvalidArgument(name() + ".read: the sink is empty");
  TrajectoryReader r(url_);
  return r.read_range(0, r.num_samples());
}

void ZarrData::zero() {
  flush();
  for (const auto& key : impl_->store->list("")) impl_->store->erase(key);
  impl_->fields.clear();
  impl_->arrays.clear();
  impl_->atoms_ptr.reset();
  impl_->edges_ptr.reset();
  impl_->samples_mask.reset();
  impl_->atoms_mask.reset();
  impl_->edges_mask.reset();
  impl_->root.reset();
  impl_->initialized = false;
  impl_->n_samples = impl_->n_atoms = impl_->n_edges = 0;
  impl_->accepted = 0;
}

// ====================================================================== TrajectoryReader

struct TrajectoryReader::Impl {
  std::string url;
  std::shared_ptr<zarr::Store> store;
  std::optional<zarr::Group> root;
  nlohmann::json attrs;
  int format = 3;
  std::int64_t n = 0;
  std::vector<std::int64_t> aptr, eptr;
  struct F {
    std::string group, name;
    Level level;
    zarr::Array array;
  };
  std::vector<F> fields;
  mutable std::optional<std::vector<std::int64_t>> system_ids;

  void open() {
    store = zarr::open_store(url);
    auto node = zarr::find_node(*store, "");
    if (!node) throw FormatError(url + ": no Zarr store here (no zarr.json or .zgroup at the root)");
    if (node->type != zarr::NodeType::Group)
      throw FormatError(url + ": the root is a Zarr array, not a trajectory group");
    format = static_cast<int>(node->format);
    root = zarr::Group::open(store, "");
    load();
  }

  void load() {
    attrs = root->attributes();
    if (!attrs.contains("num_samples") || !attrs["num_samples"].is_number_integer() ||
        attrs["num_samples"].get<std::int64_t>() < 0)
      throw FormatError(url +
                        ": not a trajectory store: root attribute 'num_samples' is missing or not an integer >= 0");
    if (!attrs.contains("fields") || !attrs["fields"].is_object())
      throw FormatError(url + ": not a trajectory store: root attribute 'fields' is missing");
    n = attrs["num_samples"].get<std::int64_t>();
    zarr::Array ap = root->open_array("meta/atoms_ptr");
    if (ap.meta().dtype != DType::Int64 && ap.meta().dtype != DType::Int32)
      throw FormatError(url + ": meta/atoms_ptr must hold integers");
    if (ap.rows() < n + 1)
      throw FormatError(url + ": meta/atoms_ptr has " + std::to_string(ap.rows()) + " entries but num_samples is " +
                        std::to_string(n) + " (needs num_samples + 1)");
    aptr = read_int64(ap, n + 1);
    if (zarr::find_node(*store, "meta/edges_ptr")) {
      zarr::Array ep = root->open_array("meta/edges_ptr");
      if (ep.rows() < n + 1) throw FormatError(url + ": meta/edges_ptr is shorter than num_samples + 1");
      eptr = read_int64(ep, n + 1);
    } else {
      eptr.assign(static_cast<std::size_t>(n + 1), 0);
    }
    for (std::int64_t i = 0; i < n; ++i)
      if (aptr[i + 1] < aptr[i] || eptr[i + 1] < eptr[i])
        throw FormatError(url + ": meta/atoms_ptr or meta/edges_ptr decreases at sample " + std::to_string(i));
    if (aptr[0] != 0 || eptr[0] != 0) throw FormatError(url + ": meta/atoms_ptr and meta/edges_ptr must start at 0");
    fields.clear();
    for (const char* group : {"core", "custom"}) {
      if (!attrs["fields"].contains(group)) continue;
      const auto& g = attrs["fields"][group];
      if (!g.is_object()) throw FormatError(url + ": root attribute fields." + group + " is not an object");
      for (auto it = g.begin(); it != g.end(); ++it) {
        if (!it.value().is_string())
          throw FormatError(url + ": fields." + group + "." + it.key() + " must be \"atom\", \"edge\" or \"system\"");
        Level level;
        try {
          level = level_from_name(it.value().get<std::string>());
        } catch (const InvalidArgument& e) {
          throw FormatError(url + ": fields." + group + "." + it.key() + ": " + e.what());
        }
        zarr::Array a = root->open_array(std::string(group) + "/" + it.key());
        const std::int64_t need = level == Level::Atom ? aptr.back() : level == Level::Edge ? eptr.back() : n;
        if (a.rows() < need)
          throw FormatError(url + ": " + group + "/" + it.key() + " has " + std::to_string(a.rows()) +
                            " rows but the pointer arrays need " + std::to_string(need));
        fields.push_back(F{group, it.key(), level, std::move(a)});
      }
    }
    system_ids.reset();
  }

  static std::vector<std::int64_t> read_int64(const zarr::Array& a, std::int64_t rows) {
    if (a.meta().dtype == DType::Int64) return a.read<std::int64_t>(0, rows);
    auto v = a.read<std::int32_t>(0, rows);
    return std::vector<std::int64_t>(v.begin(), v.end());
  }

  Batch range(std::int64_t a, std::int64_t b) const {
    std::map<std::string, Field, std::less<>> out;
    std::vector<std::int64_t> atoms, edges;
    for (std::int64_t i = a; i < b; ++i) {
      atoms.push_back(aptr[i + 1] - aptr[i]);
      edges.push_back(eptr[i + 1] - eptr[i]);
    }
    for (const auto& f : fields) {
      const std::int64_t first = f.level == Level::Atom ? aptr[a] : f.level == Level::Edge ? eptr[a] : a;
      const std::int64_t last = f.level == Level::Atom ? aptr[b] : f.level == Level::Edge ? eptr[b] : b;
      Shape shape = f.array.meta().shape;
      shape[0] = last - first;
      Tensor t(f.array.meta().dtype, shape);
      f.array.read_rows(first, last - first, t.bytes());
      if (f.name == kEdgeIndex && t.dtype() == DType::Int64) {  // local per sample → global in the batch
        auto* v = t.data<std::int64_t>();
        const std::int64_t w = t.row_numel();
        for (std::int64_t i = a; i < b; ++i)
          for (std::int64_t e = eptr[i]; e < eptr[i + 1]; ++e)
            for (std::int64_t c = 0; c < w; ++c) v[(e - eptr[a]) * w + c] += aptr[i] - aptr[a];
      }
      if (out.count(f.name)) throw FormatError(url + ": field '" + f.name + "' is in both core and custom");
      out.emplace(f.name, Field{f.level, std::move(t)});
    }
    return Batch::from_parts(atoms, edges, std::move(out));
  }
};

TrajectoryReader::TrajectoryReader(const std::string& url) : impl_(std::make_unique<Impl>()) {
  impl_->url = url;
  impl_->open();
}
TrajectoryReader::~TrajectoryReader() = default;
TrajectoryReader::TrajectoryReader(TrajectoryReader&&) noexcept = default;

std::int64_t TrajectoryReader::num_samples() const { return impl_->n; }
void TrajectoryReader::refresh() { impl_->load(); }
const std::string& TrajectoryReader::url() const { return impl_->url; }
int TrajectoryReader::zarr_format() const { return impl_->format; }

nlohmann::json TrajectoryReader::batchmd_attributes() const {
  return impl_->attrs.contains("batchmd") ? impl_->attrs["batchmd"] : nlohmann::json::object();
}

Batch TrajectoryReader::read(std::int64_t i) const { return read_range(i, i + 1); }

Batch TrajectoryReader::read_range(std::int64_t start, std::int64_t stop) const {
  if (start < 0 || stop > impl_->n || start > stop)
    throw InvalidArgument(impl_->url + ": samples [" + std::to_string(start) + ", " + std::to_string(stop) +
                          ") out of range (the store holds " + std::to_string(impl_->n) + ")");
  return impl_->range(start, stop);
}

Batch TrajectoryReader::read_indices(const std::vector<std::int64_t>& idx) const {
  for (auto i : idx)
    if (i < 0 || i >= impl_->n)
      throw InvalidArgument(impl_->url + ": sample " + std::to_string(i) + " out of range (the store holds " +
                            std::to_string(impl_->n) + ")");
  std::vector<Batch> parts;
  std::size_t i = 0;
  while (i < idx.size()) {
    std::size_t j = i + 1;
    while (j < idx.size() && idx[j] == idx[j - 1] + 1) ++j;
    parts.push_back(impl_->range(idx[i], idx[j - 1] + 1));
    i = j;
  }
  if (parts.empty()) return impl_->range(0, 0);
  std::vector<const Batch*> ptrs;
  for (auto& p : parts) ptrs.push_back(&p);
  return Batch::concat(ptrs);
}

const std::vector<std::int64_t>& TrajectoryReader::system_ids() const {
  if (!impl_->system_ids) {
    const Impl::F* f = nullptr;
    for (const auto& x : impl_->fields)
      if (x.name == "system_id") f = &x;
    if (!f) throw InvalidArgument(impl_->url + ": the store has no system_id field");
    if (f->array.meta().dtype != DType::Int64) throw FormatError(impl_->url + ": system_id must be int64");
    impl_->system_ids = f->array.read<std::int64_t>(0, impl_->n);
  }
  return *impl_->system_ids;
}

std::vector<std::int64_t> TrajectoryReader::samples_of_system(std::int64_t system_id) const {
  system_ids();
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < impl_->n; ++i)
    if ((*impl_->system_ids)[static_cast<std::size_t>(i)] == system_id) out.push_back(i);
  return out;
}

Batch last_snapshot_per_system(const TrajectoryReader& reader) {
  if (reader.num_samples() == 0) throw InvalidArgument(reader.url() + ": the trajectory holds no samples");
  std::map<std::int64_t, std::int64_t> last;  // system_id → its last sample
  const auto& ids = reader.system_ids();
  for (std::size_t i = 0; i < ids.size(); ++i) last[ids[i]] = static_cast<std::int64_t>(i);
  std::vector<std::int64_t> idx;
  for (const auto& [id, i] : last) idx.push_back(i);
  return reader.read_indices(idx);
}

Batch TrajectoryReader::read_system(std::int64_t system_id) const { return read_indices(samples_of_system(system_id)); }

std::optional<std::vector<double>> TrajectoryReader::model_state(std::int64_t step) const {
  if (!zarr::find_node(*impl_->store, "restart/model_state")) return std::nullopt;
  zarr::Array a = zarr::Array::open(impl_->store, "restart/model_state");
  const auto& attrs = a.meta().attributes;
  if (!attrs.contains("step") || attrs["step"] != step || a.meta().dtype != DType::Float64) return std::nullopt;
  return a.read<double>(0, a.rows());
}

std::vector<std::int64_t> TrajectoryReader::atom_counts() const {
  std::vector<std::int64_t> c;
  for (std::int64_t i = 0; i < impl_->n; ++i) c.push_back(impl_->aptr[i + 1] - impl_->aptr[i]);
  return c;
}

std::vector<TrajectoryReader::FieldInfo> TrajectoryReader::fields() const {
  std::vector<FieldInfo> out;
  for (const auto& f : impl_->fields) {
    FieldInfo info{f.group,
                   f.name,
                   f.level,
                   f.array.meta().dtype,
                   f.array.meta().shape,
                   zarr::compressor_config_of(f.array.layout().codecs).name,
                   f.array.meta().chunk_rows,
                   0};
    const std::string prefix = f.group + "/" + f.name + "/";
    for (const auto& key : impl_->store->list(prefix)) {
      if (key.ends_with("zarr.json") || key.ends_with(".zarray") || key.ends_with(".zattrs")) continue;
      if (auto v = impl_->store->get(key)) info.stored_bytes += v->size();
    }
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace batchmd::sinks
