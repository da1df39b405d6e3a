// SPDX-License-Identifier: Apache-2.0
// zarr/read_limits: bounds on what reading a store may allocate, whatever its metadata claims.
// A crafted or damaged store (a shape of 10^18 rows, a chunk of 2^62 bytes, a codec that inflates
// a kilobyte into gigabytes) gets a clear error, never std::bad_alloc, an abort or the OOM killer.
#pragma once
#include <cstdint>
#include <string>

namespace batchmd::zarr {

/// The largest decoded chunk (the inner chunk of a shard) an array may declare: 2 GiB - 1 (what
/// blosc and zlib can handle in one call). Larger chunks are a FormatError when the array opens.
inline constexpr std::uint64_t kMaxChunkBytes = (std::uint64_t{1} << 31) - 1;

/// The most bytes one read may allocate (one decoded chunk, one Array::read, one batch of
/// samples read by the trajectory reader): set_max_read_bytes() when set, else the memory this
/// process can still use (core/memory), read at each check. Reads of up to 64 MiB are always
/// allowed.
std::uint64_t max_read_bytes();
/// Sets the bound for the whole process (tests, fuzzing, a service with its own budget);
/// 0 restores the default.
void set_max_read_bytes(std::uint64_t bytes);

/// Throws CapacityError "<what>: reading <n> bytes needs more memory than ..." when `bytes` (a
/// double, so that products of claimed sizes cannot overflow first) exceeds max_read_bytes().
void check_read_size(double bytes, const std::string& what);

}  // namespace batchmd::zarr
