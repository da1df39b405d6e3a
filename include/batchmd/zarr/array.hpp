// SPDX-License-Identifier: Apache-2.0
// zarr/array: a Zarr array (v2 or v3) in a Store, chunked along its leading axis: appending
// rows (encode, store, commit as separate steps) and reading rows back through a chunk cache.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "batchmd/zarr/metadata.hpp"
#include "batchmd/zarr/store.hpp"

namespace batchmd::zarr {

/// An encoded chunk (or shard) ready for Store::set: its full key and its bytes.
using EncodedChunk = std::pair<std::string, Bytes>;

/// One array. Reading is safe from several threads at once; the writing calls (encode_rows,
/// append, commit_rows, set_attributes) serialise among themselves. Rows are `row_bytes()` of
/// raw host-order elements each, in C order.
class Array {
 public:
  /// Writes the metadata document(s) of a new array at `path` ("" = store root) and returns it.
  /// Replaces any metadata already there. InvalidArgument for a bad meta.
  static Array create(std::shared_ptr<Store> store, const std::string& path, const ArrayMeta& meta);
  /// Opens the array at `path`, v3 (zarr.json) or v2 (.zarray); FormatError when there is none
  /// or its metadata is bad, naming the store, key and field.
  static Array open(std::shared_ptr<Store> store, const std::string& path);

  Array(Array&&) noexcept;
  Array& operator=(Array&&) noexcept;
  ~Array();

  /// Rows visible to readers: the leading extent of the committed metadata.
  std::int64_t rows() const;
  /// Rows encoded so far (>= rows() while appends await their commit).
  std::int64_t rows_encoded() const;
  /// The committed metadata (shape[0] == rows()). Not to be read while commit_rows runs.
  const ArrayMeta& meta() const;
  const ChunkLayout& layout() const;
  const std::string& path() const;
  const std::shared_ptr<Store>& store() const;
  std::size_t row_bytes() const;

  /// Encodes rows [start_row, start_row + n_rows) from `data` (n_rows * row_bytes() bytes) and
  /// returns every chunk (or shard) they touch, with its full key; writes nothing to the store.
  /// `start_row` must equal rows_encoded(): the array keeps the raw rows of its unfinished last
  /// chunk (and the encoded chunks of its unfinished shard) from the previous call, so the cost
  /// depends on n_rows and the chunk/shard size, never on the size of the array.
  std::vector<EncodedChunk> encode_rows(std::int64_t start_row, const std::byte* data, std::int64_t n_rows);
  /// encode_rows, holding back what is not finished: returns only the chunks (sharded: shards)
  /// that these rows complete, each encoded once, straight from `data` where a chunk lies whole
  /// in it. The rows of the unfinished last chunk (shard) stay in memory until encode_tail() —
  /// call it, and store what it returns, before committing those rows. This is the streaming
  /// writer's path: every byte is encoded and written once, however small the appends.
  std::vector<EncodedChunk> encode_complete(std::int64_t start_row, const std::byte* data, std::int64_t n_rows);
  /// The unfinished last chunk (sharded: shard) as it stands, padded with the fill value, when
  /// encode_complete held back rows since it was last returned; otherwise nothing.
  std::vector<EncodedChunk> encode_tail();
  /// encode_complete and Store::set of each chunk as it is made (unsharded arrays: a chunk of raw
  /// little-endian bytes is stored straight from `data`, with no copy). Not yet visible: call
  /// store_tail(), then commit_rows().
  void append_complete(const std::byte* data, std::int64_t n_rows);
  /// encode_tail() and Store::set of what it returns.
  void store_tail();
  /// The streaming writer's path with the encoding left to the caller, so that chunks of one
  /// array can be encoded on several threads (unsharded arrays only: InvalidArgument otherwise).
  /// Copies rows [rows_encoded(), + n_rows) into the array's unfinished chunk; every chunk they
  /// complete is moved to the end of `done` as (key, raw rows) — pass each to store_chunk, from
  /// any thread and in any order, and call store_tail() after all of them have returned, before
  /// committing. New chunk buffers are taken from `spare` when it has any (recycle done's).
  void append_chunks(const std::byte* data, std::int64_t n_rows, std::vector<EncodedChunk>& done,
                     std::vector<Bytes>& spare);
  /// Encodes one whole chunk's raw rows (a chunk from append_chunks) and stores it under `key`.
  /// Safe to call from several threads at once for different keys.
  void store_chunk(const std::string& key, std::span<const std::byte> raw) const;
  /// Whether the array has a sharding codec (append_chunks refuses those).
  bool sharded() const;
  /// encode_rows(rows_encoded(), ...) and Store::set of each chunk. Not yet visible: see commit_rows.
  void append(const std::byte* data, std::int64_t n_rows);
  /// Rewrites the metadata with shape[0] = n (atomic replace), making rows [0, n) visible.
  /// Call it only once the chunks of those rows are stored. rows() <= n <= rows_encoded():
  /// committed rows never change, which is what lets readers cache them.
  void commit_rows(std::int64_t n);
  /// Replaces the user attributes (v3: zarr.json; v2: .zattrs), atomically.
  void set_attributes(const nlohmann::json& attributes);

  /// Copies rows [start, start + n) into `out` (n * row_bytes() bytes). InvalidArgument for rows
  /// outside [0, rows()); FormatError naming the key for a corrupt chunk, and for a missing one
  /// when require_chunks(true); otherwise missing chunks read as fill_value. Decoded chunks are
  /// cached, so a sequential scan decodes each chunk once.
  void read_rows(std::int64_t start, std::int64_t n, std::byte* out) const;
  /// Typed convenience: rows [start, start + n) as elements of T, which must match the dtype
  /// (bool arrays read as std::uint8_t). The range is checked, and its size against
  /// max_read_bytes() (CapacityError), before anything is allocated.
  template <typename T>
  std::vector<T> read(std::int64_t start, std::int64_t n) const {
    check_element_type(dtype_of<T>());
    std::vector<T> out(checked_read_bytes(start, n) / sizeof(T));
    read_rows(start, n, reinterpret_cast<std::byte*>(out.data()));
    return out;
  }
  /// Makes a chunk (or inner chunk of a shard) missing inside the committed rows a FormatError
  /// naming its key, instead of the fill value: for stores whose writer promises every chunk it
  /// commits (batchmd's trajectories say so in the root attribute batchmd.chunks = "complete";
  /// Group::open_array sets this for arrays below such a group). Off by default, as Zarr says.
  void require_chunks(bool on);
  bool requires_chunks() const;
  /// Bytes of decoded chunks the cache may hold (at least one chunk is always kept). Default 64 MiB.
  void set_cache_capacity(std::size_t bytes);

 private:
  struct Impl;
  explicit Array(std::unique_ptr<Impl> impl);
  void check_element_type(DType t) const;
  std::vector<EncodedChunk> encode_locked(std::int64_t start_row, const std::byte* data, std::int64_t n_rows,
                                          bool hold_tail, Store* direct);
  std::vector<EncodedChunk> encode_tail_locked();
  /// n * row_bytes() after checking [start, start + n) and the read budget.
  std::size_t checked_read_bytes(std::int64_t start, std::int64_t n) const;

  std::unique_ptr<Impl> impl_;
};

}  // namespace batchmd::zarr
