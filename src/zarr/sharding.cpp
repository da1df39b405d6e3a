// SPDX-License-Identifier: Apache-2.0
// The sharding_indexed shard layout: packing a shard and decoding its index.
#include "sharding.hpp"

#include <cstring>

#include "batchmd/core/error.hpp"

namespace batchmd::zarr::sharding {

CodecPipeline index_pipeline(const nlohmann::json& index_codecs, std::size_t chunks_per_shard) {
  return CodecPipeline(index_codecs, {DType::Int64, 2 * chunks_per_shard});
}

std::size_t index_size(const CodecPipeline& index) {
  // make_array_document/parse_v3_array admit only bytes (+ crc32c), whose size is fixed.
  return *index.encoded_size();
}

Bytes pack(const std::vector<std::optional<Bytes>>& chunks, const CodecPipeline& index, bool index_at_end) {
  const std::uint64_t base = index_at_end ? 0 : index_size(index);
  std::vector<std::uint64_t> entries(2 * chunks.size(), UINT64_MAX);
  std::uint64_t offset = base;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    if (!chunks[i]) continue;
    entries[2 * i] = offset;
    entries[2 * i + 1] = chunks[i]->size();
    offset += chunks[i]->size();
  }
  // Entries are host (little-endian) uint64; the index's bytes codec says the stored order.
  const Bytes encoded_index = index.encode(std::as_bytes(std::span(entries)));
  Bytes shard;
  shard.reserve(offset - base + encoded_index.size());
  if (!index_at_end) shard.insert(shard.end(), encoded_index.begin(), encoded_index.end());
  for (const auto& c : chunks) {
    if (c) shard.insert(shard.end(), c->begin(), c->end());
  }
  if (index_at_end) shard.insert(shard.end(), encoded_index.begin(), encoded_index.end());
  return shard;
}

std::vector<Extent> unpack_index(std::span<const std::byte> encoded, const CodecPipeline& index) {
  const Bytes raw = index.decode(encoded);
  std::vector<Extent> extents(raw.size() / 16);
  for (std::size_t i = 0; i < extents.size(); ++i) {
    std::memcpy(&extents[i].offset, raw.data() + 16 * i, 8);
    std::memcpy(&extents[i].nbytes, raw.data() + 16 * i + 8, 8);
    const Extent& e = extents[i];
    if (!e.missing() && (e.offset == UINT64_MAX || e.nbytes == UINT64_MAX || e.offset + e.nbytes < e.offset)) {
      throw FormatError("sharding_indexed: malformed index entry " + std::to_string(i));
    }
  }
  return extents;
}

}  // namespace batchmd::zarr::sharding
