// SPDX-License-Identifier: Apache-2.0
// sinks/zarr_commit: storing completed chunks and committing (see zarr_commit.hpp).
#include "zarr_commit.hpp"

#include <algorithm>
#include <functional>

namespace batchmd::sinks::detail {

ChunksInFlight::~ChunksInFlight() {
  std::unique_lock lk(m_);
  done_.wait(lk, [&] { return in_flight_ == 0; });
}

void ChunksInFlight::rethrow_locked() {
  if (error_) std::rethrow_exception(error_);
}

void ChunksInFlight::rethrow() {
  std::lock_guard lk(m_);
  rethrow_locked();
}

void ChunksInFlight::submit(const zarr::Array& array, std::string key, zarr::Bytes raw) {
  {
    std::unique_lock lk(m_);
    done_.wait(lk, [&] { return in_flight_ < limit_ || error_; });
    rethrow_locked();
    ++in_flight_;
  }
  pool_.post([this, &array, key = std::move(key), raw = std::move(raw)]() mutable {
    std::exception_ptr e;
    try {
      array.store_chunk(key, raw);
    } catch (...) {
      e = std::current_exception();
    }
    // Notified under the lock: once in_flight_ reads 0 the destructor may end this object.
    std::lock_guard lk(m_);
    if (e && !error_) error_ = e;
    if (spare_.size() < limit_) spare_.push_back(std::move(raw));
    --in_flight_;
    done_.notify_all();
  });
}

void ChunksInFlight::wait() {
  std::unique_lock lk(m_);
  done_.wait(lk, [&] { return in_flight_ == 0; });
  rethrow_locked();
}

void ChunksInFlight::take_spare(std::vector<zarr::Bytes>& out) {
  std::lock_guard lk(m_);
  for (auto& b : spare_) out.push_back(std::move(b));
  spare_.clear();
}

CommitProtocol::CommitProtocol(TrajectoryStore& layout, int workers)
    : layout_(layout),
      pool_(std::make_unique<TaskPool>(workers)),
      // Two chunks per worker keep every worker busy while the writer copies the next rows.
      chunks_(*pool_, 2 * static_cast<std::size_t>(std::max(1, workers)) + 2),
      e_samples_(layout.n_samples),
      e_atoms_(layout.n_atoms),
      e_edges_(layout.n_edges) {}

void CommitProtocol::append(zarr::Array& a, std::vector<Rows> pieces, std::vector<std::function<void()>>& serial) {
  if (a.sharded()) {  // a shard packs its chunks in order: one task appends every piece, in order
    serial.emplace_back([&a, pieces = std::move(pieces)] {
      for (const auto& [data, rows] : pieces) a.append_complete(data, rows);
    });
    return;
  }
  for (const auto& [data, rows] : pieces) a.append_chunks(data, rows, done_, spare_);
  for (auto& [key, raw] : done_) chunks_.submit(a, std::move(key), std::move(raw));
  done_.clear();
}

/// Copies the queued writes' rows into their arrays and hands every chunk they complete to the
/// pool; the unfinished tail of each array stays in memory until the next commit.
void CommitProtocol::process(std::vector<WriteJob>& jobs) {
  chunks_.rethrow();  // an earlier chunk failed: report it before taking more
  for (auto& j : jobs)
    if (j.staged) j.staged.wait();  // the snapshot's copy from the GPU has landed
  layout_.lock().check();           // never write over another writer's data
  auto& L = layout_;
  // Sharded arrays' appends; they read the jobs and the index rows built below until run_all.
  std::vector<std::function<void()>> serial;
  std::int64_t atoms_total = e_atoms_, edges_total = e_edges_;
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
  const std::int64_t new_atoms = atoms_total - e_atoms_, new_edges = edges_total - e_edges_;
  const std::vector<std::byte> ones(static_cast<std::size_t>(std::max({new_samples, new_atoms, new_edges})),
                                    std::byte{1});
  chunks_.take_spare(spare_);  // buffers of chunks stored since the last batch
  for (std::size_t a = 0; a < L.arrays.size(); ++a) {
    std::vector<Rows> pieces;
    for (auto& j : jobs) pieces.emplace_back(j.data[a], j.rows[a]);
    append(L.arrays[a], std::move(pieces), serial);
  }
  append(*L.atoms_ptr, {{reinterpret_cast<const std::byte*>(aptr.data()), static_cast<std::int64_t>(aptr.size())}},
         serial);
  append(*L.edges_ptr, {{reinterpret_cast<const std::byte*>(eptr.data()), static_cast<std::int64_t>(eptr.size())}},
         serial);
  append(*L.samples_mask, {{ones.data(), new_samples}}, serial);
  append(*L.atoms_mask, {{ones.data(), new_atoms}}, serial);
  append(*L.edges_mask, {{ones.data(), new_edges}}, serial);
  if (!serial.empty()) pool_->run_all(serial);
  e_samples_ += new_samples;
  e_atoms_ = atoms_total;
  e_edges_ = edges_total;
}

/// Makes every encoded sample visible: the chunks in flight land, the held-back tails are
/// stored, then each array's shape, then the root's num_samples.
void CommitProtocol::commit() {
  chunks_.wait();
  layout_.lock().check();
  const std::vector<zarr::Array*> all = layout_.all_arrays();
  std::vector<std::function<void()>> tasks;
  for (auto* a : all) tasks.emplace_back([a] { a->store_tail(); });
  pool_->run_all(tasks);
  // Every chunk is stored: now make the samples visible, root attributes last.
  tasks.clear();
  for (auto* a : all) tasks.emplace_back([a] { a->commit_rows(a->rows_encoded()); });
  pool_->run_all(tasks);
  layout_.n_samples = e_samples_;
  layout_.n_atoms = e_atoms_;
  layout_.n_edges = e_edges_;
  layout_.write_root_attributes();
  last_commit_ = Clock::now();
}

}  // namespace batchmd::sinks::detail
