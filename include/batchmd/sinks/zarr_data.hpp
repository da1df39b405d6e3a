// SPDX-License-Identifier: Apache-2.0
// sinks/zarr_data: ZarrData, the trajectory sink that appends samples to a Zarr store (v3 or v2)
// in the CSR layout of TRAJECTORY_FORMAT.md, with encoding and I/O on background threads; and
// TrajectoryReader, which reads such stores (ours, or the Python ALCHEMI toolkit's) back.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "batchmd/sinks/data_sink.hpp"
#include "batchmd/zarr/codec.hpp"
#include "batchmd/zarr/metadata.hpp"
#include "batchmd/zarr/store.hpp"

namespace batchmd::sinks {

/// Per-field choices that override ZarrWriteConfig's defaults.
struct ZarrFieldOverride {
  std::optional<zarr::CompressorConfig> compressor{};
  std::optional<std::int64_t> chunk_rows{};  ///< rows (atoms, edges or samples) per chunk
  /// Lossy: store this float field at a fixed precision (in its own units, e.g. 1e-3 Å for
  /// positions), every value within half of it, as int32 (zarr::FixedScaleOffset with scale =
  /// 1 / precision). Far smaller after zstd. A value beyond ±2^31 precision (or NaN) fails the
  /// write. Not with sharding. A trajectory stored so cannot restart a run exactly.
  std::optional<double> precision{};
};

struct ZarrWriteConfig {
  zarr::ZarrFormat format = zarr::ZarrFormat::V3;
  /// Default: zstd level 1 (fast, ~1.1-1.5x smaller for MD floats). {"none"} to store raw.
  zarr::CompressorConfig compressor{"zstd", 1, true, false};
  /// Target uncompressed bytes per chunk; each array's chunk_rows = chunk_bytes / row bytes.
  std::int64_t chunk_bytes = 1 << 20;
  /// If > 0: samples per chunk instead (atom/edge arrays scale it by the first write's mean
  /// atoms/edges per sample).
  std::int64_t chunk_samples = 0;
  /// v3 only: chunks per shard (0 = no sharding).
  std::int64_t chunks_per_shard = 0;
  std::map<std::string, ZarrFieldOverride> fields;
  /// Record only these fields (empty: every field of the batch). A trajectory recorded this way
  /// is for analysis; restarting needs every field.
  std::vector<std::string> only_fields;
  /// Writes that may wait for the background writer before write() blocks (back-pressure).
  std::size_t queue_depth = 4;
  /// Threads that encode and store chunks in parallel, chunks of one array included, while the
  /// writer takes the next writes; at most 2 x workers + 2 finished chunks wait for them in memory.
  int workers = 2;
  /// Seconds between commits (the loss window of a kill). Chunks are stored as they fill; the
  /// unfinished tail chunk of each array and the metadata (array shapes, the root's num_samples)
  /// are written at a commit: at most this long after write() accepted a sample (when the store
  /// keeps up with the data rate: add the queue, at most queue_depth writes), at flush(), and at
  /// close. A killed run keeps whole samples up to its last commit. 0: commit after every write
  /// the background writer takes (every sample survives a kill once stored; the slowest for
  /// small, frequent writes, which then rewrite unfinished chunks and ~15 metadata documents).
  double commit_interval = 1.0;
  /// Open an existing trajectory at the URL and append to it (else it must not exist).
  bool append = false;
};

/// A DataSink that appends samples to a Zarr trajectory store. write() copies the selected
/// systems and returns; encoding, compression and store writes run on background threads behind
/// a bounded queue. From a GPU batch the copy itself is asynchronous: the systems are gathered
/// on the GPU and copied to pinned staging memory on the copy stream, and the background writer
/// waits for that copy before it encodes (write() waits only when every staging slot is busy). Samples become visible
/// (and survive a kill) in whole writes: chunks first, then array shapes, then the root's num_samples. An error on a
/// background thread is raised by the next write() or flush(), and every call after it.
///
/// One writer per store: the constructor takes the store's writer lock (zarr/lock.hpp) before it
/// reads or writes anything, and the destructor releases it. Readers (TrajectoryReader) never wait.
class ZarrData : public DataSink {
 public:
  /// url: a path, file://path, memory://name, s3:// or gs://. capacity: samples.
  /// Throws zarr::StoreLockedError (naming the holder: host, pid, start time) when another writer
  /// holds the store; InvalidArgument when the store holds samples and config.append is false, or
  /// holds files but no Zarr store. A store left by a writer that died before its first commit
  /// (or that holds 0 samples of a batchmd writer) is cleared and written anew. Creates nothing
  /// until the first write except the lock (and, for a file store, its directory); a ZarrData
  /// destroyed before any write leaves no trace.
  explicit ZarrData(const std::string& url, std::int64_t capacity = 1'000'000, ZarrWriteConfig config = {});
  /// The same on a Store object (one built with options open_store does not set, or a wrapper).
  /// read() reopens the store by its url().
  explicit ZarrData(std::shared_ptr<zarr::Store> store, std::int64_t capacity = 1'000'000, ZarrWriteConfig config = {});
  ~ZarrData() override;  // flushes; errors at that point are printed, not thrown
  std::string name() const override { return "ZarrData(" + url_ + ")"; }
  using DataSink::write;
  void write(const Batch& batch, const std::vector<bool>& mask) override;
  /// flush(), then every sample as one Batch.
  Batch read() override;
  /// Removes every sample (the store is reset to an empty trajectory).
  void zero() override;
  void flush() override;
  std::int64_t size() const override;
  std::int64_t capacity() const override { return capacity_; }
  const std::string& url() const { return url_; }
  /// Flushes, then stores a model's restart state (Model::state()) for the samples written at
  /// `step`, replacing any earlier one (restart/model_state).
  void write_model_state(std::int64_t step, const std::vector<double>& state);
  /// Attributes stored under the root's "batchmd" attribute (e.g. run configuration), written
  /// with the next commit.
  void set_run_attributes(const nlohmann::json& attrs);

 private:
  struct Impl;
  std::string url_;
  std::int64_t capacity_;
  std::unique_ptr<Impl> impl_;
};

/// Reads a trajectory store: samples by index, range, list, or by system_id, into a Batch.
/// Sees the consistent prefix of samples committed when it was opened (refresh() to see more).
class TrajectoryReader {
 public:
  explicit TrajectoryReader(const std::string& url);
  ~TrajectoryReader();
  TrajectoryReader(TrajectoryReader&&) noexcept;

  /// Samples written, soft-deleted ones included (they keep their index).
  std::int64_t num_samples() const;
  /// Per sample: false where meta/samples_mask marks it deleted (all true without the array).
  /// read* return deleted samples as stored; samples_of_system, read_system and
  /// last_snapshot_per_system leave them out.
  const std::vector<bool>& live_samples() const;
  /// Re-reads the root attributes: samples appended since are visible afterwards.
  void refresh();
  Batch read(std::int64_t i) const;
  /// Samples [start, stop).
  Batch read_range(std::int64_t start, std::int64_t stop) const;
  Batch read_indices(const std::vector<std::int64_t>& indices) const;
  /// Every sample whose system_id field equals `system_id`, in order.
  Batch read_system(std::int64_t system_id) const;
  /// The system_id of every sample (read once, then cached); InvalidArgument without the field.
  const std::vector<std::int64_t>& system_ids() const;
  /// Sample indices of a system (needs a system_id field).
  std::vector<std::int64_t> samples_of_system(std::int64_t system_id) const;
  /// The model state stored for restarting at `step`, if the store holds one for that step.
  std::optional<std::vector<double>> model_state(std::int64_t step) const;
  /// Per-sample atom counts.
  std::vector<std::int64_t> atom_counts() const;

  struct FieldInfo {
    std::string group;  ///< "core" or "custom"
    std::string name;
    Level level;
    DType dtype;
    Shape shape;         ///< stored shape (leading axis = rows stored)
    std::string codecs;  ///< the compressor ("zstd", "none", ...), "fixedscaleoffset+" first at a fixed precision
    std::int64_t chunk_rows;
    std::uint64_t stored_bytes;  ///< bytes of its chunks in the store
  };
  std::vector<FieldInfo> fields() const;
  int zarr_format() const;
  /// The root's "batchmd" attribute (empty object for stores we did not write).
  nlohmann::json batchmd_attributes() const;
  const std::string& url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The last sample of every system (by system_id; ordered by system_id), e.g. to restart a
/// run. Throws InvalidArgument if the store has no samples or no system_id field.
Batch last_snapshot_per_system(const TrajectoryReader& reader);

}  // namespace batchmd::sinks
