// SPDX-License-Identifier: Apache-2.0
// Internal: the sharding_indexed shard layout — inner chunks back to back, then an index of
// (offset, nbytes) uint64 pairs, one per inner chunk in C order, encoded by the index codecs.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "batchmd/zarr/codec.hpp"

namespace batchmd::zarr::sharding {

/// Where an inner chunk sits in its shard; both fields all-ones for a chunk not stored.
struct Extent {
  std::uint64_t offset = UINT64_MAX;
  std::uint64_t nbytes = UINT64_MAX;
  bool missing() const { return offset == UINT64_MAX && nbytes == UINT64_MAX; }
};

/// The index codecs for `chunks_per_shard` entries.
CodecPipeline index_pipeline(const nlohmann::json& index_codecs, std::size_t chunks_per_shard);
/// Encoded size of the index.
std::size_t index_size(const CodecPipeline& index);
/// Builds a shard from its encoded inner chunks (nullopt = not stored).
Bytes pack(const std::vector<std::optional<Bytes>>& chunks, const CodecPipeline& index, bool index_at_end);
/// Decodes an index (FormatError when corrupt, or when an extent is malformed).
std::vector<Extent> unpack_index(std::span<const std::byte> encoded, const CodecPipeline& index);

}  // namespace batchmd::zarr::sharding
