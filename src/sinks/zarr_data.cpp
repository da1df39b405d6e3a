// SPDX-License-Identifier: Apache-2.0
// sinks/zarr_data: the ZarrData sink — background encode/store behind a bounded queue,
// crash-consistent commits (chunks, then array shapes, then the root's num_samples), append to an
// existing trajectory; snapshots of a GPU batch arrive through pinned staging slots. The reader is
// in trajectory_reader.cpp, the field layout in trajectory_layout.hpp.
//
// One writer at a time: the store's writer lock (zarr/lock.hpp) is taken before anything is
// read or written and held until destruction. Under it, a store that a killed writer left before
// its first commit (leftovers without a root document, or a batchmd root with 0 samples) is
// cleared and reused, so whatever the moment of a kill the path opens as a store or can be
// written again. The root document is written last when the layout is created, so until then
// readers see no store at all rather than a root without num_samples.
#include "batchmd/sinks/zarr_data.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "batchmd/core/error.hpp"
#include "batchmd/core/version.hpp"
#include "batchmd/zarr/array.hpp"
#include "batchmd/zarr/group.hpp"
#include "gpu_staging.hpp"
#include "task_pool.hpp"
#include "trajectory_layout.hpp"

namespace batchmd::sinks {

using detail::dim_name;
using detail::FieldDef;
using detail::gather_rows;
using detail::kWriterName;
using detail::TaskPool;
using detail::trailing_of;

// ====================================================================== ZarrData

struct ZarrData::Impl {
  using Clock = std::chrono::steady_clock;
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
  std::unique_ptr<zarr::WriterLock> lock;  // released before the store (declared after it)
  ZarrWriteConfig cfg;
  bool initialized = false;
  bool layout_started = false, root_written = false;
  std::vector<FieldDef> fields;
  std::vector<zarr::Array> arrays;  // parallel to fields
  std::optional<zarr::Array> atoms_ptr, edges_ptr, samples_mask, atoms_mask, edges_mask;
  std::optional<zarr::Group> root;
  nlohmann::json run_attrs = nlohmann::json::object();
  bool run_attrs_dirty = false;

  // Writer-thread state: committed totals, and totals encoded (stored but for the arrays' held-back
  // tails; visible from the next commit).
  std::int64_t n_samples = 0, n_atoms = 0, n_edges = 0;
  std::int64_t e_samples = 0, e_atoms = 0, e_edges = 0;
  Clock::time_point last_commit = Clock::now();
  // Main-thread state: samples accepted by write().
  std::int64_t accepted = 0;

  // Snapshots of GPU batches (made by the first one). Declared before the queue: it must
  // outlive every Job's lease.
  std::unique_ptr<detail::StagingRing> staging;

  std::mutex m;
  std::condition_variable cv_work, cv_space, cv_idle;
  std::deque<Job> queue;
  bool busy = false, stop = false;
  // flush() takes a ticket and waits until a commit that served it has ended.
  std::uint64_t commit_tickets = 0, commits_served = 0;
  // Buffers of processed CPU writes, reused by the next write() (no allocation or page faults on
  // the step thread once warm); at most spare_limit of them.
  std::vector<zarr::Bytes> spare;
  std::exception_ptr error;
  std::unique_ptr<TaskPool> pool;
  std::thread writer;

  Impl(std::shared_ptr<zarr::Store> s, ZarrWriteConfig c) : url(s->url()), store(std::move(s)), cfg(std::move(c)) {
    if (cfg.queue_depth < 1) throw InvalidArgument("ZarrData: queue_depth must be >= 1");
    if (cfg.workers < 1) throw InvalidArgument("ZarrData: workers must be >= 1");
    if (!(cfg.commit_interval >= 0) || cfg.commit_interval > 86400)
      throw InvalidArgument("ZarrData: commit_interval must be in [0, 86400] seconds, got " +
                            std::to_string(cfg.commit_interval));
    if (cfg.chunk_bytes < 1) throw InvalidArgument("ZarrData: chunk_bytes must be >= 1");
    if (cfg.chunk_samples < 0 || cfg.chunks_per_shard < 0)
      throw InvalidArgument("ZarrData: chunk_samples and chunks_per_shard must be >= 0");
    if (cfg.chunks_per_shard > 0 && cfg.format == zarr::ZarrFormat::V2)
      throw InvalidArgument("ZarrData: sharding needs Zarr v3");
    for (const auto& [k, o] : cfg.fields)
      if (o.chunk_rows && *o.chunk_rows < 1)
        throw InvalidArgument("ZarrData: chunk_rows of field '" + k + "' must be >= 1");
    lock = store->lock_writer(zarr::WriterLockOptions::from_environment());
    prepare_store();
    e_samples = n_samples;
    e_atoms = n_atoms;
    e_edges = n_edges;
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
    if (layout_started && !root_written) {  // a layout without its root: no one can use it
      try {
        wipe(keys_but_lock());
      } catch (const std::exception& e) {
        std::fprintf(stderr, "batchmd: ZarrData(%s): could not remove a half-made layout: %s\n", url.c_str(), e.what());
      }
    }
  }

  // ---- the store before the first write

  std::vector<std::string> keys_but_lock() const {
    std::vector<std::string> keys = store->list("");
    std::erase(keys, std::string(zarr::kWriterLockKey));
    return keys;
  }

  void wipe(const std::vector<std::string>& keys) {
    for (const auto& k : keys) store->erase(k);
  }

  /// A trajectory that batchmd created but that holds no sample: what a writer killed (or failed)
  /// before its first commit leaves; a new writer may replace it.
  bool unused_trajectory() const {
    try {
      const auto attrs = zarr::Group::open(store, "").attributes();
      return attrs.contains("num_samples") && attrs["num_samples"] == 0 && attrs.contains("batchmd") &&
             attrs["batchmd"].is_object() && attrs["batchmd"].value("writer", "") == kWriterName;
    } catch (const FormatError&) {
      return false;
    }
  }

  /// Under the writer lock: refuses what must not be written over, clears what a dead writer left
  /// before its first commit, and opens a trajectory to append to.
  void prepare_store() {
    if (!zarr::find_node(*store, "")) {
      const auto left = keys_but_lock();
      if (left.empty()) return;  // a new store: the layout is made at the first write
      if (!lock->took_over())
        throw InvalidArgument("ZarrData: '" + url + "' holds " + std::to_string(left.size()) +
                              " entries but no Zarr store (e.g. '" + left.front() +
                              "'); choose a new path or empty this one");
      wipe(left);  // a batchmd writer died here before its first commit
      return;
    }
    if (!cfg.append) {
      if (unused_trajectory()) {
        wipe(keys_but_lock());
        return;
      }
      throw InvalidArgument("ZarrData: '" + url +
                            "' already holds a Zarr store; choose a new path or open it to append");
    }
    open_existing();
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
    // of writes end exactly where a write ends, so no append rewrites an unfinished chunk. At most
    // kMaxWritesPerChunk writes: a commit stores each array's unfinished chunk whole (padded), so a
    // tiny per-write field (energy: 8 bytes a system) must not get a 1 MiB chunk.
    constexpr std::int64_t kMaxWritesPerChunk = 64;
    const std::int64_t write_bytes = rows_per_write * rb;
    if (rows_per_write > 0 && write_bytes <= 4 * cfg.chunk_bytes) {
      const double per_chunk = static_cast<double>(cfg.chunk_bytes) / static_cast<double>(write_bytes);
      return std::clamp<std::int64_t>(std::llround(per_chunk), 1, kMaxWritesPerChunk) * rows_per_write;
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
    bm["version"] = build_info().version;
    bm["build"] = build_info_json();  // which build wrote (last appended to) the store
    bm["units"] = {{"length", "Å"}, {"energy", "eV"}, {"mass", "amu"}, {"time", "fs"}, {"temperature", "K"}};
    bm["layout"] = "csr-by-sample";
    if (!bm.contains("chunks")) bm["chunks"] = "complete";  // every committed chunk exists: a missing one is damage
    // The loss window of a kill: samples are committed at most this many seconds after their
    // write (when the store keeps up). Recorded so a reader of the store can tell.
    bm["commit_interval_s"] = cfg.commit_interval;
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
    for (const auto& [k, o] : cfg.fields)
      if (!batch.has(k))
        throw InvalidArgument("ZarrData: override for field '" + k + "', which the batch does not have");
    fields.clear();  // from an earlier attempt that failed part way
    arrays.clear();
    for (const auto& [k, f] : batch.fields())
      if (cfg.only_fields.empty() ||
          std::find(cfg.only_fields.begin(), cfg.only_fields.end(), k) != cfg.only_fields.end())
        fields.push_back(FieldDef{k, f.level, f.tensor.dtype(), trailing_of(f.tensor)});
    // The root document comes last, with its trajectory attributes, once every array exists:
    // until then a reader (or a writer after a kill) finds no store here, never a root without
    // num_samples or fields without arrays.
    lock->check();
    layout_started = true;
    auto meta_g = zarr::Group::create(store, "meta", cfg.format);
    auto core_g = zarr::Group::create(store, "core", cfg.format);
    zarr::Group::create(store, "custom", cfg.format);
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
    const std::int64_t zero = 0;
    atoms_ptr->append(reinterpret_cast<const std::byte*>(&zero), 1);
    edges_ptr->append(reinterpret_cast<const std::byte*>(&zero), 1);
    atoms_ptr->commit_rows(1);
    edges_ptr->commit_rows(1);
    const nlohmann::json attrs = root_attributes();
    // v2 keeps the attributes beside .zgroup: write them first, so that the root is never a
    // group without them.
    if (cfg.format == zarr::ZarrFormat::V2) store->set(zarr::kV2Attrs, zarr::dump_json(attrs));
    root = zarr::Group::create(store, "", cfg.format, attrs);
    root_written = true;
    initialized = true;
  }

  /// Re-opens a trajectory for appending; drops anything a killed writer left past the last
  /// committed sample.
  void open_existing() {
    root = zarr::Group::open(store, "");
    root_written = true;
    const auto attrs = root->attributes();
    if (!attrs.contains("num_samples") || !attrs["num_samples"].is_number_integer() || !attrs.contains("fields"))
      throw FormatError(url + ": not a trajectory store (root attributes 'num_samples' and 'fields' missing)");
    if (attrs.contains("batchmd") && attrs["batchmd"].is_object()) {
      run_attrs = attrs["batchmd"];
    }
    if (!run_attrs.contains("chunks")) run_attrs["chunks"] = "unknown";  // a store we did not begin: no promise
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

  /// The writer thread: takes every queued write, encodes and stores what completes a chunk,
  /// and commits when the interval since the last commit has passed, when flush() asks, or at
  /// the end; waits for the commit deadline when there is nothing else to do.
  void loop() {
    const auto interval =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(cfg.commit_interval));
    for (;;) {
      std::vector<Job> jobs;
      bool asked = false, ending = false;
      std::uint64_t ticket = 0;
      {
        std::unique_lock lk(m);
        const auto ready = [&] { return stop || !queue.empty() || commits_served < commit_tickets; };
        if (e_samples > n_samples && !error)
          cv_work.wait_until(lk, last_commit + interval, ready);
        else
          cv_work.wait(lk, ready);
        while (!queue.empty()) {
          jobs.push_back(std::move(queue.front()));
          queue.pop_front();
        }
        ticket = commit_tickets;
        asked = commits_served < ticket;
        ending = stop;
        busy = true;
      }
      cv_space.notify_all();
      std::exception_ptr e;
      if (!error) {
        try {
          if (!jobs.empty()) process(jobs);
          if (e_samples > n_samples && (asked || ending || Clock::now() - last_commit >= interval)) commit();
        } catch (...) {
          e = std::current_exception();
        }
      }
      for (auto& j : jobs) recycle(j);
      {
        std::lock_guard lk(m);
        if (e && !error) error = e;
        busy = false;
        commits_served = std::max(commits_served, ticket);
        if (ending && queue.empty()) {
          cv_idle.notify_all();
          return;
        }
      }
      cv_idle.notify_all();
      cv_space.notify_all();
    }
  }

  /// Keeps a processed write's buffers for the next write() (bounded).
  void recycle(Job& j) {
    std::lock_guard lk(m);
    const std::size_t spare_limit = (cfg.queue_depth + 2) * std::max<std::size_t>(1, fields.size());
    for (auto& b : j.owned)
      if (spare.size() < spare_limit) spare.push_back(std::move(b));
    j.owned.clear();
  }

  zarr::Bytes take_buffer(std::size_t bytes) {
    zarr::Bytes b;
    {
      std::lock_guard lk(m);
      if (!spare.empty()) {
        b = std::move(spare.back());
        spare.pop_back();
      }
    }
    b.resize(bytes);  // the same size as last time: no allocation, no initialisation
    return b;
  }

  /// Stores every chunk that the queued writes complete; the unfinished tail of each array stays
  /// in memory (zarr::Array::encode_complete) until the next commit.
  void process(std::vector<Job>& jobs) {
    for (auto& j : jobs)
      if (j.staged) j.staged.wait();  // the snapshot's copy from the GPU has landed
    lock->check();                    // never write over another writer's data
    std::vector<std::function<void()>> tasks;
    const auto store_complete = [](zarr::Array& a, const std::byte* data, std::int64_t rows) {
      a.append_complete(data, rows);
    };
    // Per-array tasks: each appends every job's rows to its array (in order).
    for (std::size_t a = 0; a < arrays.size(); ++a)
      tasks.emplace_back([&, a] {
        for (auto& j : jobs) store_complete(arrays[a], j.data[a], j.rows[a]);
      });
    std::int64_t atoms_total = e_atoms, edges_total = e_edges;
    std::vector<std::int64_t> aptr, eptr;
    std::int64_t new_samples = 0;
    for (auto& j : jobs) {
      for (std::size_t s = 0; s < j.atoms.size(); ++s) {
        atoms_total += j.atoms[s];
        edges_total += j.edges[s];
        aptr.push_back(atoms_total);
        eptr.push_back(edges_total);
      }
      new_samples += j.samples;
    }
    const std::int64_t new_atoms = atoms_total - e_atoms, new_edges = edges_total - e_edges;
    tasks.emplace_back([&] {
      store_complete(*atoms_ptr, reinterpret_cast<const std::byte*>(aptr.data()),
                     static_cast<std::int64_t>(aptr.size()));
      store_complete(*edges_ptr, reinterpret_cast<const std::byte*>(eptr.data()),
                     static_cast<std::int64_t>(eptr.size()));
    });
    tasks.emplace_back([&] {
      std::vector<std::byte> ones(static_cast<std::size_t>(std::max({new_samples, new_atoms, new_edges})),
                                  std::byte{1});
      store_complete(*samples_mask, ones.data(), new_samples);
      store_complete(*atoms_mask, ones.data(), new_atoms);
      store_complete(*edges_mask, ones.data(), new_edges);
    });
    pool->run_all(tasks);
    e_samples += new_samples;
    e_atoms = atoms_total;
    e_edges = edges_total;
  }

  /// Makes every encoded sample visible: the held-back tails are stored, then each array's shape,
  /// then the root's num_samples (TRAJECTORY_FORMAT.md, "Growth and commits").
  void commit() {
    lock->check();
    std::vector<zarr::Array*> all;
    for (auto& a : arrays) all.push_back(&a);
    for (auto* a : {&*atoms_ptr, &*edges_ptr, &*samples_mask, &*atoms_mask, &*edges_mask}) all.push_back(a);
    std::vector<std::function<void()>> tasks;
    for (auto* a : all) tasks.emplace_back([a] { a->store_tail(); });
    pool->run_all(tasks);
    // Every chunk is stored: now make the samples visible, root attributes last.
    tasks.clear();
    for (auto* a : all) tasks.emplace_back([a] { a->commit_rows(a->rows_encoded()); });
    pool->run_all(tasks);
    n_samples = e_samples;
    n_atoms = e_atoms;
    n_edges = e_edges;
    nlohmann::json attrs;
    {
      std::lock_guard lk(m);
      attrs = root_attributes();
      run_attrs_dirty = false;
    }
    lock->check();
    root->set_attributes(attrs);
    last_commit = Clock::now();
  }

  /// Waits until every accepted write is committed.
  void flush() {
    std::unique_lock lk(m);
    const std::uint64_t ticket = ++commit_tickets;
    cv_work.notify_one();
    cv_idle.wait(lk, [&] { return (queue.empty() && !busy && commits_served >= ticket) || (error && !busy); });
    rethrow_locked();
    if (run_attrs_dirty && initialized) {
      auto attrs = root_attributes();
      run_attrs_dirty = false;
      lk.unlock();
      lock->check();
      root->set_attributes(attrs);
    }
  }
};

ZarrData::ZarrData(const std::string& url, std::int64_t capacity, ZarrWriteConfig config)
    : ZarrData(zarr::open_store(url), capacity, std::move(config)) {
  url_ = url;
}

ZarrData::ZarrData(std::shared_ptr<zarr::Store> store, std::int64_t capacity, ZarrWriteConfig config)
    : url_(store ? store->url() : std::string()), capacity_(capacity) {
  if (!store) throw InvalidArgument("ZarrData: null store");
  if (capacity < 1) throw InvalidArgument("ZarrData capacity must be >= 1 sample, got " + std::to_string(capacity));
  impl_ = std::make_unique<Impl>(std::move(store), std::move(config));
  impl_->accepted = impl_->n_samples;
  if (impl_->accepted > capacity_)
    throw CapacityError("ZarrData: '" + url_ + "' already holds " + std::to_string(impl_->accepted) +
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
    zarr::Bytes bytes = impl_->take_buffer(static_cast<std::size_t>(rows) * t.row_bytes());
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
  impl_->lock->check();
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
  impl_->lock->check();
  impl_->wipe(impl_->keys_but_lock());
  impl_->fields.clear();
  impl_->arrays.clear();
  impl_->atoms_ptr.reset();
  impl_->edges_ptr.reset();
  impl_->samples_mask.reset();
  impl_->atoms_mask.reset();
  impl_->edges_mask.reset();
  impl_->root.reset();
  impl_->initialized = false;
  impl_->layout_started = impl_->root_written = false;
  impl_->n_samples = impl_->n_atoms = impl_->n_edges = 0;
  {
    std::lock_guard lk(impl_->m);  // the writer reads e_samples when it wakes
    impl_->e_samples = impl_->e_atoms = impl_->e_edges = 0;
  }
  impl_->accepted = 0;
}

}  // namespace batchmd::sinks
