// SPDX-License-Identifier: Apache-2.0
// sinks/zarr_data: the ZarrData sink's face — write() selects the systems, copies their rows (or,
// from a GPU batch, starts their copy into pinned staging slots) and queues them; flush(), read(),
// zero() and the model state. The pieces behind it, one file each:
//   zarr_layout      the store under the writer lock, the trajectory's arrays, the root attributes
//   zarr_write_queue the bounded queue and the background writer thread
//   zarr_commit      storing completed chunks and the crash-consistent commit
//   task_pool        the threads that encode and store arrays in parallel
//   trajectory_reader  TrajectoryReader, which reads stores back
#include "batchmd/sinks/zarr_data.hpp"

#include <cstdio>

#include "batchmd/core/error.hpp"
#include "gpu_staging.hpp"
#include "trajectory_layout.hpp"
#include "zarr_commit.hpp"
#include "zarr_layout.hpp"
#include "zarr_write_queue.hpp"

namespace batchmd::sinks {

using detail::gather_rows;

// Members are destroyed in reverse: the queue (its thread commits what is left) before the
// commit protocol it calls, the staging ring after every job's lease, the layout (and the writer
// lock) last.
struct ZarrData::Impl {
  detail::TrajectoryStore layout;
  // Snapshots of GPU batches (made by the first one).
  std::unique_ptr<detail::StagingRing> staging;
  detail::CommitProtocol committer;
  detail::WriteQueue queue;
  // Main-thread state: samples accepted by write().
  std::int64_t accepted = 0;

  Impl(std::shared_ptr<zarr::Store> s, ZarrWriteConfig c)
      : layout(std::move(s), std::move(c)),
        committer(layout, layout.config().workers),
        queue(committer, layout.config().queue_depth, layout.config().commit_interval) {}

  void flush() {
    queue.flush();
    layout.write_run_attributes_if_dirty();
  }

  /// Starts the copy of a GPU batch's selected systems into a staging slot (see gpu_staging.hpp);
  /// the job points at the slot's pinned bytes, which the writer reads after waiting.
  void stage_from_gpu(const Batch& batch, const std::vector<std::int64_t>& idx, detail::WriteJob& job) {
    const int device = batch.device().index;
    if (!staging || staging->device() != device) {  // first GPU write, or a batch on another GPU
      flush();                                      // no lease of the old ring may still be queued
      staging = std::make_unique<detail::StagingRing>(device);
    }
    std::vector<std::string> names;
    for (const auto& f : layout.fields) names.push_back(f.name);
    // The trajectory stores edge_index local to each sample: the gather shifts it per system.
    job.staged = staging->stage(batch, idx, names, detail::EdgeIndexMode::SampleLocal);
    for (const auto& f : job.staged.fields()) job.data.push_back(job.staged.host() + f.offset);
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
  impl_->accepted = impl_->layout.n_samples;
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
  impl_->queue.rethrow();
  const auto idx = selected(batch, mask, name());
  if (idx.empty()) return;
  const auto k = static_cast<std::int64_t>(idx.size());
  if (impl_->accepted + k > capacity_)
    throw CapacityError(name() + " is full: " + std::to_string(k) + " samples do not fit (" +
                        std::to_string(impl_->accepted) + " of " + std::to_string(capacity_) + " used)");
  if (!impl_->layout.initialized) {
    flush();  // wait for nothing in flight before creating the layout
    impl_->layout.create(batch, idx);
  } else {
    impl_->layout.check_schema(batch);
  }
  detail::WriteJob job;
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
  for (const auto& f : impl_->layout.fields)
    job.rows.push_back(f.row_bytes() == 0       ? 0
                       : f.level == Level::Atom ? total_atoms
                       : f.level == Level::Edge ? total_edges
                                                : k);
  if (batch.is_cuda()) {
    impl_->stage_from_gpu(batch, idx, job);
    impl_->queue.enqueue(std::move(job));
    impl_->accepted += k;
    return;
  }
  for (const auto& f : impl_->layout.fields) {
    const Tensor& t = batch.get(f.name);
    const std::int64_t rows = f.level == Level::Atom ? total_atoms : f.level == Level::Edge ? total_edges : k;
    zarr::Bytes bytes = impl_->queue.take_buffer(static_cast<std::size_t>(rows) * t.row_bytes());
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
  impl_->queue.enqueue(std::move(job));
  impl_->accepted += k;
}

void ZarrData::flush() { impl_->flush(); }

void ZarrData::write_model_state(std::int64_t step, const std::vector<double>& state) {
  flush();
  auto& L = impl_->layout;
  if (!L.root) throw InvalidArgument(name() + ": nothing written yet; no samples to attach a model state to");
  L.lock().check();
  if (!zarr::find_node(*L.store(), "restart")) L.root->create_group("restart");
  zarr::ArrayMeta m;
  m.format = L.config().format;
  m.dtype = DType::Float64;
  m.shape = {0};
  m.chunk_rows = std::max<std::int64_t>(1, static_cast<std::int64_t>(state.size()));
  m.attributes = {{"step", step}, {"description", "model state for bitwise restarts (batchmd Model::state)"}};
  zarr::Array a = zarr::Array::create(L.store(), "restart/model_state", m);
  a.append(reinterpret_cast<const std::byte*>(state.data()), static_cast<std::int64_t>(state.size()));
  a.commit_rows(static_cast<std::int64_t>(state.size()));
}

std::int64_t ZarrData::size() const { return impl_->accepted; }

void ZarrData::set_run_attributes(const nlohmann::json& attrs) { impl_->layout.set_run_attributes(attrs); }

Batch ZarrData::read() {
  flush();
  if (impl_->accepted == 0) throw InvalidArgument(name() + ".read: the sink is empty");
  TrajectoryReader r(url_);
  return r.read_range(0, r.num_samples());
}

void ZarrData::zero() {
  flush();
  // The writer is idle; it reads the extents when it wakes.
  impl_->queue.locked([&] {
    impl_->layout.reset();
    impl_->committer.reset();
  });
  impl_->accepted = 0;
}

}  // namespace batchmd::sinks
