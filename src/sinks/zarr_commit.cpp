// SPDX-License-Identifier: Apache-2.0
// sinks/zarr_commit: storing completed chunks and committing (see zarr_commit.hpp).
#include "zarr_commit.hpp"

#include <algorithm>
#include <functional>

namespace batchmd::sinks::detail {

CommitProtocol::CommitProtocol(TrajectoryStore& layout, int workers)
    : layout_(layout),
      pool_(std::make_unique<TaskPool>(workers)),
      e_samples_(layout.n_samples),
      e_atoms_(layout.n_atoms),
      e_edges_(layout.n_edges) {}

/// Stores every chunk that the queued writes complete; the unfinished tail of each array stays
/// in memory (zarr::Array::append_complete) until the next commit.
void CommitProtocol::process(std::vector<WriteJob>& jobs) {
  for (auto& j : jobs)
    if (j.staged) j.staged.wait();  // the snapshot's copy from the GPU has landed
  layout_.lock().check();           // never write over another writer's data
  auto& L = layout_;
  std::vector<std::function<void()>> tasks;
  const auto store_complete = [](zarr::Array& a, const std::byte* data, std::int64_t rows) {
    a.append_complete(data, rows);
  };
  // Per-array tasks: each appends every job's rows to its array (in order).
  for (std::size_t a = 0; a < L.arrays.size(); ++a)
    tasks.emplace_back([&, a] {
      for (auto& j : jobs) store_complete(L.arrays[a], j.data[a], j.rows[a]);
    });
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
  tasks.emplace_back([&] {
    store_complete(*L.atoms_ptr, reinterpret_cast<const std::byte*>(aptr.data()),
                   static_cast<std::int64_t>(aptr.size()));
    store_complete(*L.edges_ptr, reinterpret_cast<const std::byte*>(eptr.data()),
                   static_cast<std::int64_t>(eptr.size()));
  });
  tasks.emplace_back([&] {
    std::vector<std::byte> ones(static_cast<std::size_t>(std::max({new_samples, new_atoms, new_edges})), std::byte{1});
    store_complete(*L.samples_mask, ones.data(), new_samples);
    store_complete(*L.atoms_mask, ones.data(), new_atoms);
    store_complete(*L.edges_mask, ones.data(), new_edges);
  });
  pool_->run_all(tasks);
  e_samples_ += new_samples;
  e_atoms_ = atoms_total;
  e_edges_ = edges_total;
}

/// Makes every encoded sample visible: the held-back tails are stored, then each array's shape,
/// then the root's num_samples.
void CommitProtocol::commit() {
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
