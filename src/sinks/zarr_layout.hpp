// SPDX-License-Identifier: Apache-2.0
// sinks/zarr_layout: the trajectory store a ZarrData writes into — what the store must hold before
// a write (taken under the writer lock: refused, cleared after a dead writer, or opened to
// append), the arrays of the CSR layout (TRAJECTORY_FORMAT.md) made at the first write from the
// batch's fields, the chunk shapes chosen for them, and the root attributes that a commit writes.
//
// It holds the committed extent (n_samples/n_atoms/n_edges) because that is what the root
// document says; the commit protocol (zarr_commit.hpp) moves it. No threads here: the layout is
// made and reset on the caller's thread while the writer is idle, and the writer thread uses the
// arrays only between those moments.
#pragma once
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "batchmd/sinks/zarr_data.hpp"
#include "batchmd/zarr/array.hpp"
#include "batchmd/zarr/group.hpp"
#include "batchmd/zarr/lock.hpp"
#include "trajectory_layout.hpp"

namespace batchmd::sinks::detail {

class TrajectoryStore {
 public:
  /// Validates cfg, takes the store's writer lock and prepares the store (see prepare()).
  TrajectoryStore(std::shared_ptr<zarr::Store> store, ZarrWriteConfig cfg);
  /// Removes a layout whose root document was never written (no one could use it).
  ~TrajectoryStore();
  TrajectoryStore(const TrajectoryStore&) = delete;
  TrajectoryStore& operator=(const TrajectoryStore&) = delete;

  /// Makes the arrays and, last, the root document for the fields of `batch` (only_fields),
  /// with chunk shapes from the first write's systems `idx`.
  void create(const Batch& batch, const std::vector<std::int64_t>& idx);
  /// InvalidArgument naming both field lists when the batch's fields differ from the store's.
  void check_schema(const Batch& batch) const;
  /// The root attributes for the committed extent (n_samples) and the run attributes.
  nlohmann::json root_attributes() const;
  /// Writes root_attributes() to the root document (the last step of a commit).
  void write_root_attributes();
  /// Merges attributes into the root's "batchmd" attribute (written by the next commit or flush).
  void set_run_attributes(const nlohmann::json& attrs);
  /// Writes pending run attributes now (a flush with nothing to commit).
  void write_run_attributes_if_dirty();
  /// Every array of the layout: the fields', then the five bookkeeping arrays.
  std::vector<zarr::Array*> all_arrays();
  /// Erases everything but the lock and forgets the layout (ZarrData::zero).
  void reset();

  const std::string& url() const { return url_; }
  const std::shared_ptr<zarr::Store>& store() const { return store_; }
  zarr::WriterLock& lock() { return *lock_; }
  const ZarrWriteConfig& config() const { return cfg_; }

  bool initialized = false;  ///< the layout exists (made here or opened to append)
  std::vector<FieldDef> fields;
  std::vector<zarr::Array> arrays;  // parallel to fields
  std::optional<zarr::Array> atoms_ptr, edges_ptr, samples_mask, atoms_mask, edges_mask;
  std::optional<zarr::Group> root;
  /// Committed totals: what the root's num_samples and the arrays' shapes say.
  std::int64_t n_samples = 0, n_atoms = 0, n_edges = 0;

 private:
  std::vector<std::string> keys_but_lock() const;
  void wipe(const std::vector<std::string>& keys);
  bool unused_trajectory() const;
  void prepare();
  void open_existing();
  void truncate(zarr::Array& a, const std::string& path, std::int64_t rows);
  std::int64_t chunk_rows_for(const FieldDef& f, double atoms_per_sample, double edges_per_sample,
                              std::int64_t rows_per_write) const;
  zarr::ArrayMeta meta_for(const std::string& name, Level level, DType dtype, const Shape& trailing,
                           std::int64_t chunk_rows, const zarr::CompressorConfig& comp) const;

  std::string url_;
  std::shared_ptr<zarr::Store> store_;
  std::unique_ptr<zarr::WriterLock> lock_;  // released before the store (declared after it)
  ZarrWriteConfig cfg_;
  bool layout_started_ = false, root_written_ = false;
  // The run attributes are set on the caller's thread and read by the commit on the writer's.
  mutable std::mutex attrs_m_;
  nlohmann::json run_attrs_ = nlohmann::json::object();
  bool run_attrs_dirty_ = false;
};

}  // namespace batchmd::sinks::detail
