// SPDX-License-Identifier: Apache-2.0
// sinks/gpu_gather (internal): the fused gather that every GPU sink copies through — one kernel
// launch copies the selected systems of every field, however many fields and systems there are.
// The host builds a small descriptor table: the fields (src and dst pointers, row bytes, level)
// and the pieces (runs of consecutive selected systems, split so that no warp copies more than a
// bounded number of bytes: src and dst rows and row counts per level, and the shift applied to
// edge_index). The kernel runs one group of threads per (piece, field) — a warp when the items
// are small, four warps when they are large — with 16/8/4-byte vector copies as wide as the
// source's and destination's relative alignment allows. A table that fits is passed inline as a kernel parameter (no
// upload); a larger one is uploaded from a reused pinned buffer on a side stream, which overlaps the work already
// queued on the compute stream. Destination base rows are launch arguments, so a plan made at destination row 0 can be
// launched again at any offset: FusedGather::launch_systems keeps the last plan_systems table (and its device copy) and
// reuses it while the selection, the selected systems' offsets and the fields stay the same (GPUBuffer writes with a
// repeating mask).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "batchmd/core/cuda.hpp"
#include "batchmd/data/batch.hpp"

namespace batchmd::sinks::detail {

/// One field of a gather (plain data: the same layout on the host and the GPU).
struct GatherFieldDesc {
  const std::byte* src;  ///< row 0 of the source
  std::byte* dst;        ///< where row 0 of the pieces' destination rows is
  std::uint32_t row_bytes;
  std::uint8_t level;       ///< 0 atom, 1 edge, 2 system
  std::uint8_t edge_index;  ///< int64 edge indices: shifted by the piece's edge_add
  std::uint8_t pad[2];
};

/// Rows copied for every field: rows[l] rows of level l from src_row[l] to dst_row[l].
struct GatherPiece {
  std::int64_t edge_add;
  std::int32_t src_row[3];
  std::int32_t dst_row[3];
  std::int32_t rows[3];
  std::int32_t pad;
};

/// Per-launch destination base rows, added by the kernel to every piece: rows[l] to its dst_row[l]
/// (0 atom, 1 edge, 2 system) and edge_add to its edge_add. Zero: the plan's rows as they are.
struct GatherBase {
  std::int64_t rows[3] = {0, 0, 0};
  std::int64_t edge_add = 0;
};
/// Bytes of one (piece, field) copy are kept near this (more pieces: more warps in parallel)...
inline constexpr std::int64_t kGatherPieceBytes = 16384;
/// ...unless that gives a large gather more items (fields x pieces) than about this many: one wave
/// of the kernel's resident four-warp groups on a 132-SM GPU (4 blocks of 2 groups an SM: 1,056).
/// More items than one wave leave the last wave part empty; an H100 measured an all-systems
/// float32 gather of 4,096 systems at 0.84x of a device-to-device copy with 16 KB pieces (three
/// waves of items) and 0.88-0.90x with 64 KB ones (one wave), float64 0.83x -> 0.88-0.89x with
/// 128 KB ones (docs/benchmarks.md, wave 21).
inline constexpr std::int64_t kGatherWaveItems = 1024;
/// The largest piece the wave rule picks (the largest measured).
inline constexpr std::int64_t kGatherMaxPieceBytes = 131072;
/// Piece bytes for a gather of n_fields fields over n_runs runs whose widest level holds
/// widest_bytes: kGatherPieceBytes, larger (up to kGatherMaxPieceBytes) where that keeps the items
/// near one wave, and up to 4x larger where that lets the table stay inline (kGatherInlineBytes).
std::int64_t gather_piece_bytes(std::int64_t widest_bytes, std::int64_t n_runs, std::size_t n_fields);
/// The largest table passed inline as a kernel parameter (CUDA allows 32,764 bytes of them).
inline constexpr std::size_t kGatherInlineBytes = 32000;
/// The largest table a cached launch (FusedGather::launch_systems) passes inline. A launch with
/// kilobytes of parameters costs the host several microseconds more than one reading a device
/// table (H100, 19 KB of table for 4,096 systems: GPUBuffer.write's host time 21 -> 13 us, and
/// the kernel itself no slower), so a table that may be launched again is uploaded once instead.
inline constexpr std::size_t kGatherCachedInlineBytes = 2048;

/// How edge_index values (int64 atom indices) are rewritten while gathering.
enum class EdgeIndexMode {
  /// Rebased onto the destination's atom rows: an index pointing at source atom row r points at
  /// the row that atom lands in (what index_select does; GPUBuffer, HostMemory).
  Rebase,
  /// Local to each sample: the system's first atom becomes 0 (the trajectory layout; ZarrData).
  SampleLocal,
};

/// The fields and pieces of one gather, built on the host.
class GatherPlan {
 public:
  /// A field whose rows live at src / go to dst (row 0 of the destination rows the pieces name).
  /// edge_index: int64 values that get each piece's edge_add.
  void add_field(const void* src, void* dst, std::size_t row_bytes, Level level, bool edge_index = false);
  /// Rows [src_row, src_row + rows) of each level go to [dst_row, dst_row + rows) of every field;
  /// split into pieces of about `piece_bytes` per field (the widest field of each level decides).
  /// Call after every add_field. Row numbers must fit int32 (InvalidArgument otherwise).
  void add_run(const std::int64_t src_row[3], const std::int64_t dst_row[3], const std::int64_t rows[3],
               std::int64_t edge_add, std::int64_t piece_bytes = kGatherPieceBytes);
  const std::vector<GatherFieldDesc>& fields() const { return fields_; }
  const std::vector<GatherPiece>& pieces() const { return pieces_; }
  std::int64_t items() const { return static_cast<std::int64_t>(fields_.size() * pieces_.size()); }
  bool empty() const { return items() == 0; }
  /// Bytes the plan copies: every field's rows of every piece.
  std::int64_t copy_bytes() const;
  /// Bytes of the table: the fields, then the pieces.
  std::size_t table_bytes() const;
  void write_table(std::byte* out) const;

 private:
  std::vector<GatherFieldDesc> fields_;
  std::vector<GatherPiece> pieces_;
  std::int64_t widest_[3] = {0, 0, 0};     // largest row bytes per level
  std::int64_t row_bytes_[3] = {0, 0, 0};  // the fields' row bytes summed per level
  std::int64_t rows_[3] = {0, 0, 0};       // the pieces' rows summed per level
};

/// A field for plan_systems: its source tensor, row 0 of its destination, and whether it holds
/// int64 edge indices to rewrite.
struct GatherFieldSpec {
  const Tensor* src;
  std::byte* dst;
  Level level;
  bool edge_index;
};
/// Adds to `plan` the copies of systems `idx` of `src` (a batch; its atom and edge offsets are
/// read from the host pointer arrays) for the given fields: they land one after another, in the
/// order of idx, from destination rows dst_atom0 / dst_edge0 / dst_system0 on. Consecutive systems
/// make one run; large runs are split into pieces (larger ones where that keeps the table inline).
void plan_systems(GatherPlan& plan, const Batch& src, std::span<const std::int64_t> idx,
                  std::span<const GatherFieldSpec> fields, std::int64_t dst_atom0, std::int64_t dst_edge0,
                  std::int64_t dst_system0, EdgeIndexMode mode);

/// The base rows at which a plan_systems plan made with dst_atom0 = dst_edge0 = dst_system0 = 0
/// gathers what a plan made at (dst_atom0, dst_edge0, dst_system0) gathers: the rows shift, and
/// Rebase edge indices shift by dst_atom0 too.
GatherBase systems_base(std::int64_t dst_atom0, std::int64_t dst_edge0, std::int64_t dst_system0, EdgeIndexMode mode);

/// What a plan_systems plan made at destination rows 0 depends on: the selection, the atom and
/// edge offsets of the selected systems at the ends of each run of them (values: a batch in
/// flight changes them in place; any change of a selected system's atom or edge count, or of a
/// system before it, moves one), the fields (source and destination row-0 pointers, row bytes,
/// level, edge flag), the number of systems and the mode. Equal keys make equal plans.
class GatherKey {
 public:
  /// Whether plan_systems(src, idx, fields, mode) would make the plan of the last assign():
  /// O(selected systems + runs + fields) compares, no allocation. False before any assign().
  bool matches(const Batch& src, std::span<const std::int64_t> idx, std::span<const GatherFieldSpec> fields,
               EdgeIndexMode mode) const;
  /// Records the key of a plan that plan_systems built (so idx is in range for src).
  void assign(const Batch& src, std::span<const std::int64_t> idx, std::span<const GatherFieldSpec> fields,
              EdgeIndexMode mode);
  void clear() { set_ = false; }
  /// The parts of matches() other than the selection and the offsets: the number of systems, the
  /// fields and the mode (for a caller that knows the selection and offsets are unchanged).
  bool same_fields(const Batch& src, std::span<const GatherFieldSpec> fields, EdgeIndexMode mode) const;

 private:
  struct Field {
    const std::byte* src;
    const std::byte* dst;
    std::size_t row_bytes;
    Level level;
    bool edge_index;
  };
  bool set_ = false;
  EdgeIndexMode mode_{};
  std::int64_t n_systems_ = 0;
  std::vector<std::int64_t> idx_;
  std::vector<std::int64_t> run_ends_;  // per run of selected systems: its first system, last + 1
  std::vector<std::int64_t> offsets_;   // per run: atoms_ptr and edges_ptr at those two systems
  std::vector<Field> fields_;
};

/// Launches the gather kernel on `stream` (CUDA builds only, gpu_gather.cu): with the table
/// inline if `inline_table` (table_bytes <= kGatherInlineBytes, host memory), else reading it
/// from device memory at `device_table`.
/// `base` is added to every piece's destination rows and edge_add. `copy_bytes` (GatherPlan::
/// copy_bytes) chooses the threads per item: a warp for items of a few kilobytes on average
/// (many systems' rows apart), four warps for larger ones.
void launch_gather_kernel(const std::byte* inline_table, const void* device_table, std::size_t table_bytes,
                          std::int64_t n_fields, std::int64_t n_pieces, std::int64_t copy_bytes, const GatherBase& base,
                          cuda::Stream stream);
/// A non-blocking stream of its own for table uploads (CUDA builds only, gpu_gather.cu).
cuda::Stream create_upload_stream(int device);
void destroy_upload_stream(cuda::Stream s) noexcept;

/// Runs plans as one kernel each on a device's compute stream. Tables too large to pass inline
/// go through a small ring of pinned + device buffers, uploaded on a side stream: the compute
/// stream waits for the upload, the next upload into a slot waits for the kernel that read it,
/// and the host rewrites a pinned buffer only after its upload (it waits only if the ring wraps
/// around onto an upload still in flight). launch_systems keeps its last table (the device copy
/// taken out of the ring, so no later upload overwrites it) and launches it again, at new base
/// rows, while the key matches: no planning, no upload, no host wait.
class FusedGather {
 public:
  explicit FusedGather(int device) : device_(device) {}
  FusedGather(const FusedGather&) = delete;
  FusedGather& operator=(const FusedGather&) = delete;
  /// Waits for uploads still reading the pinned tables.
  ~FusedGather();

  int device() const { return device_; }
  /// Launches the plan's kernel on the device's compute stream, at destination base rows `base`;
  /// returns without waiting.
  void launch(const GatherPlan& plan, const GatherBase& base = GatherBase{});
  /// What plan_systems(plan, src, idx, fields, dst_atom0, dst_edge0, dst_system0, mode) and
  /// launch(plan) do, with the plan made at destination rows 0 and launched at
  /// systems_base(dst_atom0, ...): the previous call's table is reused when its GatherKey matches.
  void launch_systems(const Batch& src, std::span<const std::int64_t> idx, std::span<const GatherFieldSpec> fields,
                      std::int64_t dst_atom0, std::int64_t dst_edge0, std::int64_t dst_system0, EdgeIndexMode mode);
  /// launch_systems for a caller that knows idx and every system's atom and edge offsets are those
  /// of the previous launch_systems call (GPUBuffer's repeated mask): only the fields and mode are
  /// compared before the last table is launched again. False, and nothing launched, when there is
  /// no table to reuse or the fields differ.
  bool relaunch_systems(const Batch& src, std::span<const GatherFieldSpec> fields, std::int64_t dst_atom0,
                        std::int64_t dst_edge0, std::int64_t dst_system0, EdgeIndexMode mode);
  /// Whether the last launch_systems reused the table before it (for tests).
  bool last_was_cached() const { return last_cached_; }

 private:
  struct TableSlot {
    cuda::PinnedBuffer host;
    Tensor device;
    std::unique_ptr<cuda::Event> uploaded, consumed;  // null until first use
  };
  static constexpr int kTableSlots = 4;
  int device_;
  cuda::Stream upload_ = nullptr;
  TableSlot tables_[kTableSlots];
  int next_ = 0;
  std::vector<std::byte> inline_;  // the table when it is passed inline

  /// Launches the cached table at `base` (CUDA builds; false in others).
  bool launch_cached(const GatherBase& base);
  /// Launches `plan`; if `keep`, the device table of an uploaded plan moves there (out of the ring).
  void launch_table(const GatherPlan& plan, const GatherBase& base, Tensor* keep);
  struct Cached {  // launch_systems' last table
    GatherKey key;
    bool valid = false;
    std::int64_t n_fields = 0, n_pieces = 0, copy_bytes = 0;
    std::size_t bytes = 0;
    std::vector<std::byte> inline_table;  // the table, if passed inline
    Tensor device;                        // else its device copy (no ring slot holds it)
  };
  Cached cached_;
  bool last_cached_ = false;
};

/// All systems 0..n-1 of a batch.
std::vector<std::int64_t> all_systems(const Batch& b);

}  // namespace batchmd::sinks::detail
