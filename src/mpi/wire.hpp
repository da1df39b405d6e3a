// SPDX-License-Identifier: Apache-2.0
// mpi/wire: a Batch as one flat byte buffer and back — what ranks send each other (a rank's
// snapshot rows, its final systems). Bytes are copied as they are (same host architecture on
// every rank: the format carries a magic and a version, not byte-order conversion).
//
// Layout (all integers int64, little-endian on the machines MPI runs here):
//   magic "BMDWIRE1", n_systems S, n_fields F, atoms per system [S], edges per system [S],
//   then per field: name length, name bytes (padded to 8), level, dtype, ndim, shape [ndim],
//   data bytes, data (padded to 8).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "batchmd/data/batch.hpp"

namespace batchmd::mpi::wire {

/// Appends `batch` (any device; a GPU batch is copied to the host first) to `out`.
void pack(const Batch& batch, std::vector<std::byte>& out);
/// The batch packed into `bytes` (a CPU batch). Throws FormatError naming what is wrong when the
/// buffer is not a whole packed batch.
Batch unpack(std::span<const std::byte> bytes);
/// A message of the pipeline, inflight and snapshot streams: a header of two int64 (kind, value),
/// then the packed batch when there is one (kMessageHeader bytes to skip before unpack).
inline constexpr std::size_t kMessageHeader = 2 * sizeof(std::int64_t);
std::vector<std::byte> message(std::int64_t kind, std::int64_t value, const Batch* batch);

/// A message() read back: its kind, its value and its batch (an empty Batch, has_batch false,
/// when none was sent).
struct Message {
  std::int64_t kind = 0, value = 0;
  Batch batch;
  bool has_batch = false;
};
/// Reads a message() of the stream `stream` ("pipeline", "inflight", "snapshot") that rank `from`
/// sent. Throws FormatError naming the stream and the rank when the bytes are shorter than the
/// header, when the kind lies outside [first_kind, last_kind], or when the batch is not a whole
/// packed batch.
Message read_message(std::span<const std::byte> bytes, std::string_view stream, int from, std::int64_t first_kind,
                     std::int64_t last_kind);

}  // namespace batchmd::mpi::wire
