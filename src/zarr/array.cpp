// SPDX-License-Identifier: Apache-2.0
// Array: appends encode only the chunks they touch (the unfinished tail is kept in memory), reads
// go through an LRU cache of decoded chunks. Committed rows never change, so a cached chunk is
// good for every row that was committed when it was fetched.
#include "batchmd/zarr/array.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "batchmd/core/dtype.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/zarr/read_limits.hpp"
#include "sharding.hpp"

namespace batchmd::zarr {

using nlohmann::json;

namespace {

template <typename T>
void append_value(Bytes& out, T v) {
  const auto* b = reinterpret_cast<const std::byte*>(&v);
  out.insert(out.end(), b, b + sizeof(T));
}

Bytes fill_element(DType t, double v) {
  Bytes e;
  switch (t) {
    case DType::Float32:
      append_value(e, static_cast<float>(v));
      break;
    case DType::Float64:
      append_value(e, v);
      break;
    case DType::Int32:
      append_value(e, static_cast<std::int32_t>(v));
      break;
    case DType::Int64:
      append_value(e, static_cast<std::int64_t>(v));
      break;
    case DType::Bool:
      append_value(e, static_cast<std::uint8_t>(v != 0.0));
      break;
    case DType::UInt8:
      append_value(e, static_cast<std::uint8_t>(v));
      break;
  }
  return e;
}

// A least-recently-used cache of immutable values, each good for rows < valid_rows.
template <typename V>
class LruCache {
 public:
  struct Entry {
    std::shared_ptr<const V> value;
    std::int64_t valid_rows = 0;
  };

  explicit LruCache(std::size_t capacity) : capacity_(capacity) {}

  std::optional<Entry> get(std::int64_t key) {
    const std::lock_guard lock(mutex_);
    const auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->entry;
  }

  void put(std::int64_t key, Entry entry, std::size_t cost) {
    const std::lock_guard lock(mutex_);
    if (const auto it = index_.find(key); it != index_.end()) {
      used_ -= it->second->cost;
      order_.erase(it->second);
      index_.erase(it);
    }
    order_.push_front({key, std::move(entry), cost});
    index_[key] = order_.begin();
    used_ += cost;
    evict();
  }

  void set_capacity(std::size_t capacity) {
    const std::lock_guard lock(mutex_);
    capacity_ = capacity;
    evict();
  }

 private:
  struct Node {
    std::int64_t key;
    Entry entry;
    std::size_t cost;
  };
  // Drops least recently used entries down to the capacity, always keeping the newest.
  void evict() {
    while (used_ > capacity_ && order_.size() > 1) {
      used_ -= order_.back().cost;
      index_.erase(order_.back().key);
      order_.pop_back();
    }
  }

  std::mutex mutex_;
  std::size_t capacity_;
  std::size_t used_ = 0;
  std::list<Node> order_;
  std::unordered_map<std::int64_t, typename std::list<Node>::iterator> index_;
};

}  // namespace

struct Array::Impl {
  std::shared_ptr<Store> store;
  std::string path;
  ArrayDocument doc;
  std::size_t row_bytes = 0;
  std::size_t chunk_bytes = 0;
  std::int64_t chunks_per_shard = 1;
  std::unique_ptr<CodecPipeline> pipeline;
  std::unique_ptr<CodecPipeline> index;  // sharded arrays only
  std::atomic<std::int64_t> committed{0};
  std::atomic<bool> strict{false};  // see Array::require_chunks

  // A chunk of fill values, made at first need (its size comes from the metadata: an array that
  // claims huge chunks costs nothing until one is read).
  mutable std::once_flag fill_once;
  mutable std::shared_ptr<const Bytes> fill_chunk_;
  mutable std::atomic<const Bytes*> fill_raw{nullptr};  // fill_chunk_.get() once made

  // Write state, under write_mutex.
  std::mutex write_mutex;
  std::int64_t encoded_rows = 0;
  bool tail_loaded = false;                       // see load_tail
  Bytes tail_raw;                                 // rows of the unfinished last chunk
  bool tail_unstored = false;                     // encode_complete held back rows: see encode_tail
  bool identity = false;                          // encoding a chunk changes no byte (raw little-endian)
  std::vector<std::optional<Bytes>> shard_slots;  // encoded chunks of the unfinished last shard

  mutable LruCache<Bytes> chunks{64u << 20};
  mutable LruCache<std::vector<sharding::Extent>> shard_indexes{4u << 20};

  Impl(std::shared_ptr<Store> s, std::string p, ArrayDocument d)
      : store(std::move(s)), path(std::move(p)), doc(std::move(d)) {
    const ArrayMeta& m = doc.meta;
    std::size_t row_elements = 1;
    for (std::size_t i = 1; i < m.shape.size(); ++i) row_elements *= static_cast<std::size_t>(m.shape[i]);
    row_bytes = row_elements * dtype_size(m.dtype);
    chunk_bytes = row_bytes * static_cast<std::size_t>(m.chunk_rows);
    pipeline = std::make_unique<CodecPipeline>(
        doc.layout.codecs, ChunkSpec{m.dtype, row_elements * static_cast<std::size_t>(m.chunk_rows)}, m.quantize);
    if (m.shard_rows > 0) {
      chunks_per_shard = m.shard_rows / m.chunk_rows;
      index = std::make_unique<CodecPipeline>(
          sharding::index_pipeline(doc.layout.index_codecs, static_cast<std::size_t>(chunks_per_shard)));
    }
    committed = m.shape[0];
    encoded_rows = m.shape[0];
    const json& codecs = doc.layout.codecs;
    identity = std::endian::native == std::endian::little && !m.quantize && codecs.size() == 1 &&
               codecs[0].value("name", "") == "bytes" &&
               codecs[0].value("configuration", json::object()).value("endian", "little") == "little";
  }

  const std::shared_ptr<const Bytes>& fill_chunk() const {
    std::call_once(fill_once, [&] {
      check_read_size(static_cast<double>(chunk_bytes), where(path) + ": a chunk of fill values");
      const Bytes element = fill_element(doc.meta.dtype, doc.meta.fill_value);
      auto fill = std::make_shared<Bytes>(chunk_bytes);  // zeros: the usual fill value
      if (std::any_of(element.begin(), element.end(), [](std::byte b) { return b != std::byte{0}; }))
        for (std::size_t i = 0; i + element.size() <= chunk_bytes; i += element.size())
          std::memcpy(fill->data() + i, element.data(), element.size());
      fill_chunk_ = std::move(fill);
      fill_raw = fill_chunk_.get();
    });
    return fill_chunk_;
  }

  // What a chunk that was never written reads as: the fill value, unless the store's writer
  // promised every chunk inside the committed rows (require_chunks).
  std::shared_ptr<const Bytes> missing(const std::string& k, std::int64_t ci) const {
    if (strict.load()) {
      corrupt(k, "chunk " + std::to_string(ci) + " (rows " + std::to_string(ci * doc.meta.chunk_rows) + ".." +
                     std::to_string((ci + 1) * doc.meta.chunk_rows - 1) +
                     ") is missing inside the committed rows; the store's writer promises every chunk "
                     "(batchmd.chunks = \"complete\"), so the store is damaged");
    }
    return fill_chunk();
  }

  // Sharded arrays: the unfinished shard's slots (writing only).
  void ensure_shard_slots() {
    if (shard_slots.size() != static_cast<std::size_t>(chunks_per_shard))
      shard_slots.assign(static_cast<std::size_t>(chunks_per_shard), std::nullopt);
  }

  bool sharded() const { return doc.meta.shard_rows > 0; }
  std::string key(const char* name) const { return join_key(path, name); }
  // Key of chunk `i` (unsharded) or shard `i` (sharded).
  std::string object_key(std::int64_t i) const {
    return join_key(path, chunk_key(doc.layout, doc.meta.shape.size(), i));
  }
  std::string where(const std::string& k) const { return store->url() + "/" + k; }

  [[noreturn]] void corrupt(const std::string& k, const std::string& what) const {
    throw FormatError(where(k) + ": " + what);
  }

  Bytes decode(std::span<const std::byte> encoded, const std::string& k) const {
    try {
      return pipeline->decode(encoded);
    } catch (const FormatError& e) {
      corrupt(k, e.what());
    }
  }

  // A whole chunk through the pipeline; a value it cannot store (fixedscaleoffset) names the array.
  Bytes encode_whole(std::span<const std::byte> raw) const {
    try {
      return pipeline->encode(raw);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument(where(path) + ": " + e.what());
    }
  }

  // Stores a whole chunk under `key`: its raw bytes as they are where encoding changes none.
  void store_whole(Store& to, const std::string& key, std::span<const std::byte> raw) const {
    if (identity) {
      to.set(key, raw);
    } else {
      to.set(key, encode_whole(raw));
    }
  }

  Bytes encode(std::span<const std::byte> raw) const {
    if (raw.size() == chunk_bytes) return encode_whole(raw);
    // The last chunk is stored whole; rows past the end hold the fill value.
    Bytes padded(raw.begin(), raw.end());
    const Bytes& fill = *fill_chunk();
    padded.insert(padded.end(), fill.begin() + static_cast<std::ptrdiff_t>(raw.size()), fill.end());
    return encode_whole(padded);
  }

  void write_metadata() const {
    if (doc.meta.format == ZarrFormat::V3) {
      store->set(key(kV3Meta), dump_json(v3_array_json(doc)));
    } else {
      store->set(key(kV2Array), dump_json(v2_array_json(doc)));
    }
  }

  void write_v2_attributes() const { store->set(key(kV2Attrs), dump_json(v2_attributes_json(doc.meta))); }

  std::shared_ptr<const std::vector<sharding::Extent>> parse_index(std::span<const std::byte> shard,
                                                                   const std::string& k) const {
    const std::size_t size = sharding::index_size(*index);
    check_read_size(static_cast<double>(size), where(k) + ": shard index");
    if (shard.size() < size) corrupt(k, "sharding_indexed: shard is shorter than its index (truncated)");
    const auto bytes = doc.layout.index_at_end ? shard.last(size) : shard.first(size);
    try {
      return std::make_shared<const std::vector<sharding::Extent>>(sharding::unpack_index(bytes, *index));
    } catch (const FormatError& e) {
      corrupt(k, std::string("shard index: ") + e.what());
    }
  }

  std::shared_ptr<const Bytes> inner_chunk(std::span<const std::byte> encoded, const sharding::Extent& e,
                                           const std::string& k) const {
    if (encoded.size() != e.nbytes) {
      corrupt(
          k, "sharding_indexed: inner chunk at offset " + std::to_string(e.offset) + " is truncated (shard too short)");
    }
    return std::make_shared<const Bytes>(decode(encoded, k));
  }

  // The decoded chunk `ci`, good at least for rows < need_rows.
  std::shared_ptr<const Bytes> chunk(std::int64_t ci, std::int64_t need_rows) const {
    if (auto hit = chunks.get(ci); hit && hit->valid_rows >= need_rows) return hit->value;
    // Read the commit point first: whatever the store holds afterwards is final below it.
    const std::int64_t valid = committed.load();
    std::shared_ptr<const Bytes> decoded = sharded() ? sharded_chunk(ci, valid) : plain_chunk(ci);
    chunks.put(ci, {decoded, valid}, decoded.get() == fill_raw.load() ? 64 : decoded->size());
    return decoded;
  }

  std::shared_ptr<const Bytes> plain_chunk(std::int64_t ci) const {
    const std::string k = object_key(ci);
    const auto encoded = store->get(k);
    if (!encoded) return missing(k, ci);  // never written: fill value (Zarr), or damage (require_chunks)
    return std::make_shared<const Bytes>(decode(*encoded, k));
  }

  std::shared_ptr<const Bytes> sharded_chunk(std::int64_t ci, std::int64_t valid) const {
    const std::int64_t si = ci / chunks_per_shard;
    const auto slot = static_cast<std::size_t>(ci % chunks_per_shard);
    const std::string k = object_key(si);
    const std::int64_t chunk_end = (ci + 1) * doc.meta.chunk_rows;
    // A chunk that was complete when its index was read never moves or changes again, so a
    // ranged read against that index is safe. A chunk still growing is read from one snapshot of
    // the whole shard, which a concurrent append may replace at any moment.
    auto idx = shard_indexes.get(si);
    if (!(idx && chunk_end <= idx->valid_rows) && chunk_end <= valid) {
      const std::size_t size = sharding::index_size(*index);
      check_read_size(static_cast<double>(size), where(k) + ": shard index");
      const auto bytes = doc.layout.index_at_end ? store->get_suffix(k, size) : store->get_range(k, 0, size);
      if (!bytes) return missing(k, ci);
      idx = {{parse_index(*bytes, k), valid}};
      shard_indexes.put(si, *idx, bytes->size());
    }
    if (idx && chunk_end <= idx->valid_rows) {
      const sharding::Extent& e = idx->value->at(slot);
      if (e.missing()) return missing(k, ci);
      // An encoded chunk is at most a little larger than the chunk itself (compressor framing).
      if (e.nbytes > 2 * static_cast<std::uint64_t>(chunk_bytes) + 65536)
        corrupt(k, "sharding_indexed: index entry " + std::to_string(slot) + " claims " + std::to_string(e.nbytes) +
                       " bytes for a chunk of " + std::to_string(chunk_bytes));
      const auto bytes = store->get_range(k, e.offset, e.nbytes);
      if (!bytes) corrupt(k, "shard disappeared while reading");
      return inner_chunk(*bytes, e, k);
    }
    const auto shard = store->get(k);
    if (!shard) return missing(k, ci);
    const auto extents = parse_index(*shard, k);
    shard_indexes.put(si, {extents, valid}, extents->size() * 16);
    const sharding::Extent& e = extents->at(slot);
    if (e.missing()) return missing(k, ci);
    if (e.offset > shard->size()) corrupt(k, "sharding_indexed: index points past the end of the shard");
    const auto available = std::min<std::uint64_t>(e.nbytes, shard->size() - e.offset);
    return inner_chunk(std::span(*shard).subspan(e.offset, available), e, k);
  }

  // Brings back the unfinished tail of an opened array: the raw rows of its last chunk and the
  // encoded chunks of its last shard. Once per Array, bounded by one shard.
  void load_tail() {
    if (tail_loaded) return;
    const std::int64_t rows = encoded_rows;
    const std::int64_t c = doc.meta.chunk_rows;
    tail_raw.clear();
    if (rows % c != 0) {
      const auto decoded = chunk(rows / c, rows);
      tail_raw.assign(decoded->begin(), decoded->begin() + static_cast<std::ptrdiff_t>((rows % c) * row_bytes));
    }
    if (sharded()) ensure_shard_slots();
    if (sharded() && rows % doc.meta.shard_rows != 0) {
      const std::int64_t si = rows / doc.meta.shard_rows;
      const std::string k = object_key(si);
      shard_slots.assign(static_cast<std::size_t>(chunks_per_shard), std::nullopt);
      if (const auto shard = store->get(k)) {
        const auto extents = parse_index(*shard, k);
        for (std::int64_t ci = si * chunks_per_shard; ci < rows / c; ++ci) {
          const sharding::Extent& e = extents->at(static_cast<std::size_t>(ci % chunks_per_shard));
          if (e.missing()) continue;
          if (e.offset > shard->size() || shard->size() - e.offset < e.nbytes) {
            corrupt(k, "sharding_indexed: inner chunk extends past the end of the shard");
          }
          const auto begin = shard->begin() + static_cast<std::ptrdiff_t>(e.offset);
          shard_slots[static_cast<std::size_t>(ci % chunks_per_shard)] =
              Bytes(begin, begin + static_cast<std::ptrdiff_t>(e.nbytes));
        }
      }
    }
    tail_loaded = true;
  }
};

Array::Array(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Array::Array(Array&&) noexcept = default;
Array& Array::operator=(Array&&) noexcept = default;
Array::~Array() = default;

Array Array::create(std::shared_ptr<Store> store, const std::string& path, const ArrayMeta& meta) {
  if (!store) throw InvalidArgument("Array::create: null store");
  auto impl = std::make_unique<Impl>(store, node_path(path), make_array_document(meta));
  if (meta.format == ZarrFormat::V2) impl->write_v2_attributes();
  impl->write_metadata();
  // A new array's rows (if any) are all fill: nothing to load from the store.
  impl->tail_loaded = meta.shape[0] == 0;
  if (impl->sharded()) impl->ensure_shard_slots();
  return Array(std::move(impl));
}

Array Array::open(std::shared_ptr<Store> store, const std::string& path) {
  if (!store) throw InvalidArgument("Array::open: null store");
  const std::string p = node_path(path);
  const std::string v3_key = join_key(p, kV3Meta);
  if (const auto bytes = store->get(v3_key)) {
    const std::string where = store->url() + "/" + v3_key;
    const json doc = parse_json(*bytes, where);
    if (doc.is_object() && doc.value("node_type", json()) == "group") {
      throw FormatError(where + ": node_type is 'group', not an array");
    }
    return Array(std::make_unique<Impl>(store, p, parse_v3_array(doc, where)));
  }
  const std::string v2_key = join_key(p, kV2Array);
  if (const auto bytes = store->get(v2_key)) {
    const std::string where = store->url() + "/" + v2_key;
    const json zarray = parse_json(*bytes, where);
    const std::string attrs_key = join_key(p, kV2Attrs);
    const auto attrs = store->get(attrs_key);
    const json zattrs = attrs ? parse_json(*attrs, store->url() + "/" + attrs_key) : json::object();
    return Array(std::make_unique<Impl>(store, p, parse_v2_array(zarray, zattrs, where)));
  }
  throw FormatError(store->url() + "/" + p + ": no Zarr array here (neither " + kV3Meta + " nor " + kV2Array + ")");
}

std::int64_t Array::rows() const { return impl_->committed.load(); }

std::int64_t Array::rows_encoded() const {
  const std::lock_guard lock(impl_->write_mutex);
  return impl_->encoded_rows;
}

const ArrayMeta& Array::meta() const { return impl_->doc.meta; }
const ChunkLayout& Array::layout() const { return impl_->doc.layout; }
const std::string& Array::path() const { return impl_->path; }
const std::shared_ptr<Store>& Array::store() const { return impl_->store; }
std::size_t Array::row_bytes() const { return impl_->row_bytes; }

std::vector<EncodedChunk> Array::encode_rows(std::int64_t start_row, const std::byte* data, std::int64_t n_rows) {
  const std::lock_guard lock(impl_->write_mutex);
  return encode_locked(start_row, data, n_rows, false, nullptr);
}

std::vector<EncodedChunk> Array::encode_complete(std::int64_t start_row, const std::byte* data, std::int64_t n_rows) {
  const std::lock_guard lock(impl_->write_mutex);
  return encode_locked(start_row, data, n_rows, true, nullptr);
}

void Array::append_complete(const std::byte* data, std::int64_t n_rows) {
  const std::lock_guard lock(impl_->write_mutex);
  Store* direct = impl_->sharded() ? nullptr : impl_->store.get();
  for (const auto& [key, bytes] : encode_locked(impl_->encoded_rows, data, n_rows, true, direct))
    impl_->store->set(key, bytes);
}

void Array::store_tail() {
  const std::lock_guard lock(impl_->write_mutex);
  for (const auto& [key, bytes] : encode_tail_locked()) impl_->store->set(key, bytes);
}

bool Array::sharded() const { return impl_->sharded(); }

void Array::append_chunks(const std::byte* data, std::int64_t n_rows, std::vector<EncodedChunk>& done,
                          std::vector<Bytes>& spare) {
  const std::lock_guard lock(impl_->write_mutex);
  Impl& s = *impl_;
  const std::string name = s.where(s.path);
  if (s.sharded()) throw InvalidArgument(name + ": append_chunks: the array is sharded");
  if (n_rows < 0) throw InvalidArgument(name + ": append_chunks: n_rows must be >= 0");
  if (n_rows == 0) return;
  if (data == nullptr) throw InvalidArgument(name + ": append_chunks: null data");
  s.load_tail();
  const std::int64_t c = s.doc.meta.chunk_rows;
  const std::int64_t end = s.encoded_rows + n_rows;
  std::int64_t row = s.encoded_rows;
  for (const std::byte* p = data; row < end;) {
    const std::int64_t take = std::min(end - row, c - row % c);
    const std::size_t bytes = static_cast<std::size_t>(take) * s.row_bytes;
    if (s.tail_raw.capacity() < s.chunk_bytes) s.tail_raw.reserve(s.chunk_bytes);
    s.tail_raw.insert(s.tail_raw.end(), p, p + bytes);
    p += bytes;
    row += take;
    s.encoded_rows = row;  // each chunk's rows are in tail_raw or in `done`: nothing to undo
    if (row % c == 0) {
      done.emplace_back(s.object_key(row / c - 1), std::move(s.tail_raw));
      s.tail_raw.clear();
      if (!spare.empty()) {
        s.tail_raw = std::move(spare.back());
        spare.pop_back();
        s.tail_raw.clear();
      }
    }
  }
  s.tail_unstored = row % c != 0;
}

void Array::store_chunk(const std::string& key, std::span<const std::byte> raw) const {
  const Impl& s = *impl_;
  if (raw.size() != s.chunk_bytes) {
    throw InvalidArgument(s.where(key) + ": store_chunk: " + std::to_string(raw.size()) + " bytes is not one chunk (" +
                          std::to_string(s.chunk_bytes) + ")");
  }
  s.store_whole(*s.store, key, raw);
}

std::vector<EncodedChunk> Array::encode_locked(std::int64_t start_row, const std::byte* data, std::int64_t n_rows,
                                               bool hold_tail, Store* direct) {
  Impl& s = *impl_;
  const std::string name = s.where(s.path);
  if (n_rows < 0) throw InvalidArgument(name + ": encode_rows: n_rows must be >= 0");
  if (start_row != s.encoded_rows) {
    throw InvalidArgument(name + ": encode_rows: appends must continue at row " + std::to_string(s.encoded_rows) +
                          ", got start_row " + std::to_string(start_row));
  }
  if (n_rows == 0) return {};
  if (data == nullptr) throw InvalidArgument(name + ": encode_rows: null data");
  s.load_tail();

  // Encode first, so that a codec error leaves the array as it was: the rows are appended to the
  // tail in place (undone by shrinking it back), whole chunks are encoded straight from `data`
  // (no copy), and a new partial tail is built aside.
  const std::int64_t c = s.doc.meta.chunk_rows;
  const std::int64_t end = start_row + n_rows;
  const std::size_t old_tail = s.tail_raw.size();
  std::vector<std::pair<std::int64_t, Bytes>> encoded;  // (chunk index, bytes)
  bool tail_consumed = false;                           // the old tail became a whole chunk
  std::optional<std::span<const std::byte>> new_tail;   // a partial chunk after the old tail
  // A whole chunk: stored at once (`direct`; raw bytes need no encoding, so no copy), or kept.
  const auto whole = [&](std::int64_t ci, std::span<const std::byte> raw) {
    if (direct) {
      s.store_whole(*direct, s.object_key(ci), raw);
    } else {
      encoded.emplace_back(ci, s.encode_whole(raw));
    }
  };
  std::int64_t row = start_row;
  try {
    for (const std::byte* p = data; row < end;) {
      const std::int64_t take = std::min(end - row, c - row % c);
      const std::size_t bytes = static_cast<std::size_t>(take) * s.row_bytes;
      const bool completes = (row + take) % c == 0;
      if (row % c != 0) {  // continues the old tail (only the first piece can)
        if (s.tail_raw.capacity() < s.chunk_bytes) s.tail_raw.reserve(s.chunk_bytes);  // grows once
        s.tail_raw.insert(s.tail_raw.end(), p, p + bytes);
        if (completes) {
          whole(row / c, s.tail_raw);
          tail_consumed = true;
        } else if (!hold_tail) {
          encoded.emplace_back(row / c, s.encode(s.tail_raw));
        }
      } else if (completes) {  // a whole chunk of the caller's rows
        whole(row / c, std::span(p, bytes));
      } else {  // the start of a new tail
        new_tail.emplace(p, bytes);
        if (!hold_tail) encoded.emplace_back(row / c, s.encode(*new_tail));
      }
      p += bytes;
      row += take;
    }
  } catch (...) {
    s.tail_raw.resize(old_tail);
    throw;
  }
  if (tail_consumed || new_tail) {  // the buffer is kept: the next chunk's rows fill it again
    s.tail_raw.clear();
    if (new_tail) {
      if (s.tail_raw.capacity() < s.chunk_bytes) s.tail_raw.reserve(s.chunk_bytes);
      s.tail_raw.insert(s.tail_raw.end(), new_tail->begin(), new_tail->end());
    }
  }
  std::vector<EncodedChunk> out;
  if (!s.sharded()) {
    for (auto& [ci, bytes] : encoded) out.emplace_back(s.object_key(ci), std::move(bytes));
  } else {
    // A shard is written when its last chunk fills, or (not holding the tail back) at the end of
    // the rows (a partial shard).
    const std::int64_t per = s.chunks_per_shard;
    for (std::size_t i = 0; i < encoded.size(); ++i) {
      const std::int64_t ci = encoded[i].first;
      s.shard_slots[static_cast<std::size_t>(ci % per)] = std::move(encoded[i].second);
      const bool last = i + 1 == encoded.size();
      const bool shard_full = ci % per == per - 1 && (ci + 1) * c <= row;  // its last chunk is whole
      if (shard_full || (last && !hold_tail)) {
        out.emplace_back(s.object_key(ci / per), sharding::pack(s.shard_slots, *s.index, s.doc.layout.index_at_end));
      }
      if (shard_full) s.shard_slots.assign(static_cast<std::size_t>(per), std::nullopt);
    }
  }
  s.encoded_rows = row;
  // Held back: rows of an unfinished chunk, or whole chunks of an unfinished shard.
  s.tail_unstored = hold_tail && (row % (s.sharded() ? s.doc.meta.shard_rows : c) != 0);
  return out;
}

std::vector<EncodedChunk> Array::encode_tail() {
  const std::lock_guard lock(impl_->write_mutex);
  return encode_tail_locked();
}

std::vector<EncodedChunk> Array::encode_tail_locked() {
  Impl& s = *impl_;
  if (!s.tail_unstored) return {};
  const std::int64_t c = s.doc.meta.chunk_rows;
  const std::int64_t ci = s.encoded_rows / c;
  std::vector<EncodedChunk> out;
  if (!s.sharded()) {
    out.emplace_back(s.object_key(ci), s.encode(s.tail_raw));
  } else {
    const std::int64_t per = s.chunks_per_shard;
    if (s.encoded_rows % c != 0) s.shard_slots[static_cast<std::size_t>(ci % per)] = s.encode(s.tail_raw);
    out.emplace_back(s.object_key(ci / per), sharding::pack(s.shard_slots, *s.index, s.doc.layout.index_at_end));
  }
  s.tail_unstored = false;
  return out;
}

void Array::append(const std::byte* data, std::int64_t n_rows) {
  for (const auto& [key, bytes] : encode_rows(rows_encoded(), data, n_rows)) impl_->store->set(key, bytes);
}

void Array::commit_rows(std::int64_t n) {
  Impl& s = *impl_;
  const std::lock_guard lock(s.write_mutex);
  if (n < s.committed.load() || n > s.encoded_rows) {
    throw InvalidArgument(s.where(s.path) + ": commit_rows(" + std::to_string(n) + ") must lie in [" +
                          std::to_string(s.committed.load()) + ", " + std::to_string(s.encoded_rows) +
                          "] (committed rows .. rows encoded)");
  }
  s.doc.meta.shape[0] = n;
  s.write_metadata();
  s.committed = n;
}

void Array::set_attributes(const json& attributes) {
  Impl& s = *impl_;
  if (!attributes.is_object()) throw InvalidArgument(s.where(s.path) + ": attributes must be a JSON object");
  const std::lock_guard lock(s.write_mutex);
  s.doc.meta.attributes = attributes;
  if (s.doc.meta.format == ZarrFormat::V2) {
    s.write_v2_attributes();
  } else {
    s.write_metadata();
  }
}

void Array::read_rows(std::int64_t start, std::int64_t n, std::byte* out) const {
  const Impl& s = *impl_;
  const std::int64_t rows = s.committed.load();
  if (start < 0 || n < 0 || start > rows || n > rows - start) {
    throw InvalidArgument(s.where(s.path) + ": rows [" + std::to_string(start) + ", " + std::to_string(start + n) +
                          ") are outside the array's " + std::to_string(rows) + " rows");
  }
  if (n > 0 && out == nullptr) throw InvalidArgument(s.where(s.path) + ": read_rows: null output");
  const std::int64_t c = s.doc.meta.chunk_rows;
  std::int64_t row = start;
  const std::int64_t end = start + n;
  while (row < end) {
    const std::int64_t ci = row / c;
    const std::int64_t stop = std::min(end, (ci + 1) * c);
    const auto decoded = s.chunk(ci, stop);
    const std::size_t offset = static_cast<std::size_t>(row - ci * c) * s.row_bytes;
    const std::size_t bytes = static_cast<std::size_t>(stop - row) * s.row_bytes;
    std::memcpy(out, decoded->data() + offset, bytes);
    out += bytes;
    row = stop;
  }
}

void Array::set_cache_capacity(std::size_t bytes) { impl_->chunks.set_capacity(bytes); }

void Array::require_chunks(bool on) { impl_->strict = on; }
bool Array::requires_chunks() const { return impl_->strict.load(); }

std::size_t Array::checked_read_bytes(std::int64_t start, std::int64_t n) const {
  const Impl& s = *impl_;
  const std::int64_t rows = s.committed.load();
  if (start < 0 || n < 0 || start > rows || n > rows - start) {
    throw InvalidArgument(s.where(s.path) + ": rows [" + std::to_string(start) + ", " + std::to_string(start + n) +
                          ") are outside the array's " + std::to_string(rows) + " rows");
  }
  const double bytes = static_cast<double>(n) * static_cast<double>(s.row_bytes);
  check_read_size(bytes, s.where(s.path) + ": rows [" + std::to_string(start) + ", " + std::to_string(start + n) + ")");
  return static_cast<std::size_t>(n) * s.row_bytes;
}

void Array::check_element_type(DType t) const {
  const DType have = impl_->doc.meta.dtype;
  if (t != have && !(have == DType::Bool && t == DType::UInt8)) {
    throw InvalidArgument(impl_->where(impl_->path) + ": array holds " + std::string(dtype_name(have)) + ", not " +
                          std::string(dtype_name(t)));
  }
}

}  // namespace batchmd::zarr
