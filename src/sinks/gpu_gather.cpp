// SPDX-License-Identifier: Apache-2.0
// sinks/gpu_gather: host side of the fused gather — planning fields and pieces from a batch's
// pointer arrays, and getting the descriptor table to the kernel (inline, or uploaded through a
// ring of pinned buffers on a side stream), and keeping the last plan_systems table for a
// repeated selection (GatherKey). The kernel is in gpu_gather.cu.
#include "gpu_gather.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>

#include "batchmd/core/error.hpp"

namespace batchmd::sinks::detail {

namespace {

constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();

int level_index(Level l) { return l == Level::Atom ? 0 : l == Level::Edge ? 1 : 2; }

/// Sample-local edge indices shift by each system's own first atom: one run per system then.
bool splits_systems(std::span<const GatherFieldSpec> fields, EdgeIndexMode mode) {
  if (mode != EdgeIndexMode::SampleLocal) return false;
  for (const GatherFieldSpec& f : fields)
    if (f.edge_index) return true;
  return false;
}

/// The end of the run of selected systems that starts at idx[i] (consecutive systems, unless split).
std::size_t run_end(std::span<const std::int64_t> idx, std::size_t i, bool split) {
  std::size_t j = i + 1;
  while (!split && j < idx.size() && idx[j] == idx[j - 1] + 1) ++j;
  return j;
}

}  // namespace

// ---------------------------------------------------------------- GatherPlan

void GatherPlan::add_field(const void* src, void* dst, std::size_t row_bytes, Level level, bool edge_index) {
  if (!pieces_.empty()) throw InvalidArgument("GatherPlan: fields must be added before runs");
  if (row_bytes > static_cast<std::size_t>(kInt32Max))
    throw InvalidArgument("GatherPlan: rows of " + std::to_string(row_bytes) + " bytes are too large");
  GatherFieldDesc f{};
  f.src = static_cast<const std::byte*>(src);
  f.dst = static_cast<std::byte*>(dst);
  f.row_bytes = static_cast<std::uint32_t>(row_bytes);
  f.level = static_cast<std::uint8_t>(level_index(level));
  f.edge_index = edge_index ? 1 : 0;
  if (edge_index && (row_bytes % 8 != 0 || reinterpret_cast<std::uintptr_t>(src) % 8 != 0 ||
                     reinterpret_cast<std::uintptr_t>(dst) % 8 != 0))
    throw InvalidArgument("GatherPlan: an edge_index field must hold aligned int64 values");
  fields_.push_back(f);
  row_bytes_[f.level] += static_cast<std::int64_t>(row_bytes);
  widest_[f.level] = std::max<std::int64_t>(widest_[f.level], static_cast<std::int64_t>(row_bytes));
}

void GatherPlan::add_run(const std::int64_t src_row[3], const std::int64_t dst_row[3], const std::int64_t rows[3],
                         std::int64_t edge_add, std::int64_t piece_bytes) {
  // As many pieces as the level whose widest field has the most bytes needs; every level's rows
  // are divided evenly among them.
  std::int64_t n = 1;
  for (int l = 0; l < 3; ++l) {
    if (rows[l] < 0 || src_row[l] < 0 || dst_row[l] < 0 || src_row[l] + rows[l] > kInt32Max ||
        dst_row[l] + rows[l] > kInt32Max)
      throw InvalidArgument("GatherPlan: rows out of range (a gather moves at most 2^31 - 1 rows per level)");
    if (widest_[l] > 0)
      n = std::max(n, (rows[l] * widest_[l] + std::max<std::int64_t>(piece_bytes, 1) - 1) /
                          std::max<std::int64_t>(piece_bytes, 1));
  }
  for (std::int64_t p = 0; p < n; ++p) {
    GatherPiece piece{};
    piece.edge_add = edge_add;
    bool any = false;
    for (int l = 0; l < 3; ++l) {
      const std::int64_t begin = rows[l] * p / n, end = rows[l] * (p + 1) / n;
      piece.src_row[l] = static_cast<std::int32_t>(src_row[l] + begin);
      piece.dst_row[l] = static_cast<std::int32_t>(dst_row[l] + begin);
      piece.rows[l] = static_cast<std::int32_t>(end - begin);
      any = any || end > begin;
    }
    if (any) pieces_.push_back(piece);
  }
  for (int l = 0; l < 3; ++l) rows_[l] += rows[l];
}

std::int64_t GatherPlan::copy_bytes() const {
  return rows_[0] * row_bytes_[0] + rows_[1] * row_bytes_[1] + rows_[2] * row_bytes_[2];
}

std::size_t GatherPlan::table_bytes() const {
  return fields_.size() * sizeof(GatherFieldDesc) + pieces_.size() * sizeof(GatherPiece);
}

void GatherPlan::write_table(std::byte* out) const {
  const std::size_t fb = fields_.size() * sizeof(GatherFieldDesc);
  if (fb) std::memcpy(out, fields_.data(), fb);
  if (!pieces_.empty()) std::memcpy(out + fb, pieces_.data(), pieces_.size() * sizeof(GatherPiece));
}

std::int64_t gather_piece_bytes(std::int64_t widest_bytes, std::int64_t n_runs, std::size_t n_fields) {
  const auto nf = static_cast<std::int64_t>(std::max<std::size_t>(n_fields, 1));
  // About one wave of items: pieces of widest_bytes * n_fields / kGatherWaveItems.
  std::int64_t piece = std::clamp((widest_bytes * nf + kGatherWaveItems - 1) / kGatherWaveItems, kGatherPieceBytes,
                                  kGatherMaxPieceBytes);
  // Up to 4x kGatherPieceBytes where that lets the table stay inline (a whole large batch then
  // needs no upload).
  const auto fit = static_cast<std::int64_t>(
      (kGatherInlineBytes - std::min(kGatherInlineBytes, n_fields * sizeof(GatherFieldDesc))) / sizeof(GatherPiece));
  if (n_runs < fit)
    piece = std::max(piece, std::clamp((widest_bytes + (fit - n_runs) - 1) / (fit - n_runs), kGatherPieceBytes,
                                       4 * kGatherPieceBytes));
  return piece;
}

void plan_systems(GatherPlan& plan, const Batch& src, std::span<const std::int64_t> idx,
                  std::span<const GatherFieldSpec> fields, std::int64_t dst_atom0, std::int64_t dst_edge0,
                  std::int64_t dst_system0, EdgeIndexMode mode) {
  std::int64_t widest[3] = {0, 0, 0};
  for (const GatherFieldSpec& f : fields) {
    const std::int64_t dst0 = f.level == Level::Atom ? dst_atom0 : f.level == Level::Edge ? dst_edge0 : dst_system0;
    const std::size_t rb = f.src->row_bytes();
    // The destination pointer carries the offset, so piece rows count from this write's start.
    plan.add_field(f.src->bytes(), f.dst + static_cast<std::size_t>(dst0) * rb, rb, f.level, f.edge_index);
    const int l = level_index(f.level);
    widest[l] = std::max(widest[l], static_cast<std::int64_t>(rb));
  }
  const std::int64_t* ap = src.atoms_ptr_data();
  const std::int64_t* ep = src.edges_ptr().data<std::int64_t>();
  // Runs of consecutive systems (GatherKey keys plans by the same runs).
  struct Run {
    std::int64_t src_row[3], dst_row[3], rows[3], edge_add;
  };
  std::vector<Run> runs;
  const bool split_systems = splits_systems(fields, mode);
  std::int64_t da = 0, de = 0, ds = 0;  // destination rows, relative to dst_*0
  std::int64_t widest_bytes = 0;        // over runs, of the level whose widest field has the most
  for (std::size_t i = 0; i < idx.size();) {
    const std::size_t j = run_end(idx, i, split_systems);
    const std::int64_t first = idx[i], last = idx[j - 1];
    if (first < 0 || last >= src.n_systems())
      throw InvalidArgument("plan_systems: system index out of range for a batch of " +
                            std::to_string(src.n_systems()) + " systems");
    Run r{{ap[first], ep[first], first},
          {da, de, ds},
          {ap[last + 1] - ap[first], ep[last + 1] - ep[first], last - first + 1},
          mode == EdgeIndexMode::Rebase ? dst_atom0 + da - ap[first] : -ap[first]};
    runs.push_back(r);
    widest_bytes += std::max({r.rows[0] * widest[0], r.rows[1] * widest[1], r.rows[2] * widest[2]});
    da += r.rows[0];
    de += r.rows[1];
    ds += r.rows[2];
    i = j;
  }
  const std::int64_t piece_bytes =
      gather_piece_bytes(widest_bytes, static_cast<std::int64_t>(runs.size()), fields.size());
  for (const Run& r : runs) plan.add_run(r.src_row, r.dst_row, r.rows, r.edge_add, piece_bytes);
}

GatherBase systems_base(std::int64_t dst_atom0, std::int64_t dst_edge0, std::int64_t dst_system0, EdgeIndexMode mode) {
  GatherBase b;
  b.rows[0] = dst_atom0;
  b.rows[1] = dst_edge0;
  b.rows[2] = dst_system0;
  b.edge_add = mode == EdgeIndexMode::Rebase ? dst_atom0 : 0;
  return b;
}

std::vector<std::int64_t> all_systems(const Batch& b) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(b.n_systems()));
  std::iota(v.begin(), v.end(), std::int64_t{0});
  return v;
}

// ---------------------------------------------------------------- GatherKey

bool GatherKey::same_fields(const Batch& src, std::span<const GatherFieldSpec> fields, EdgeIndexMode mode) const {
  if (!set_ || mode != mode_ || src.n_systems() != n_systems_ || fields.size() != fields_.size()) return false;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const GatherFieldSpec& f = fields[i];
    const Field& k = fields_[i];
    if (f.src->bytes() != k.src || f.dst != k.dst || f.src->row_bytes() != k.row_bytes || f.level != k.level ||
        f.edge_index != k.edge_index)
      return false;
  }
  return true;
}

bool GatherKey::matches(const Batch& src, std::span<const std::int64_t> idx, std::span<const GatherFieldSpec> fields,
                        EdgeIndexMode mode) const {
  if (idx.size() != idx_.size() || !same_fields(src, fields, mode)) return false;
  // Branch-free accumulations (vectorisable); idx first, so the offsets read below are in range.
  std::uint64_t diff = 0;
  for (std::size_t i = 0; i < idx.size(); ++i) diff |= static_cast<std::uint64_t>(idx[i] ^ idx_[i]);
  if (diff != 0) return false;
  // The plan reads the offsets only at the ends of runs (the same runs, since idx, the edge
  // flags and the mode are the same).
  const std::int64_t* ap = src.atoms_ptr_data();
  const std::int64_t* ep = src.edges_ptr().data<std::int64_t>();
  const std::int64_t* k = offsets_.data();
  for (std::size_t r = 0; r < run_ends_.size(); r += 2, k += 4) {
    const std::int64_t s0 = run_ends_[r], s1 = run_ends_[r + 1];
    diff |= static_cast<std::uint64_t>((ap[s0] ^ k[0]) | (ap[s1] ^ k[1]) | (ep[s0] ^ k[2]) | (ep[s1] ^ k[3]));
  }
  return diff == 0;
}

void GatherKey::assign(const Batch& src, std::span<const std::int64_t> idx, std::span<const GatherFieldSpec> fields,
                       EdgeIndexMode mode) {
  set_ = false;  // until every part is recorded
  mode_ = mode;
  n_systems_ = src.n_systems();
  idx_.assign(idx.begin(), idx.end());
  const std::int64_t* ap = src.atoms_ptr_data();
  const std::int64_t* ep = src.edges_ptr().data<std::int64_t>();
  const bool split = splits_systems(fields, mode);
  run_ends_.clear();
  offsets_.clear();
  for (std::size_t i = 0; i < idx.size();) {
    const std::size_t j = run_end(idx, i, split);
    const std::int64_t s0 = idx[i], s1 = idx[j - 1] + 1;
    run_ends_.insert(run_ends_.end(), {s0, s1});
    offsets_.insert(offsets_.end(), {ap[s0], ap[s1], ep[s0], ep[s1]});
    i = j;
  }
  fields_.clear();
  for (const GatherFieldSpec& f : fields)
    fields_.push_back(Field{f.src->bytes(), f.dst, f.src->row_bytes(), f.level, f.edge_index});
  set_ = true;
}

// ---------------------------------------------------------------- FusedGather

FusedGather::~FusedGather() {
  for (auto& t : tables_) {
    if (!t.uploaded) continue;
    try {
      t.uploaded->sync();  // the upload may still read the pinned table (and write the device one)
    } catch (...) {
    }
  }
#if BATCHMD_WITH_CUDA
  if (upload_) destroy_upload_stream(upload_);
#endif
}

void FusedGather::launch(const GatherPlan& plan, const GatherBase& base) { launch_table(plan, base, nullptr); }

void FusedGather::launch_systems(const Batch& src, std::span<const std::int64_t> idx,
                                 std::span<const GatherFieldSpec> fields, std::int64_t dst_atom0,
                                 std::int64_t dst_edge0, std::int64_t dst_system0, EdgeIndexMode mode) {
  const GatherBase base = systems_base(dst_atom0, dst_edge0, dst_system0, mode);
  Cached& c = cached_;
  last_cached_ = false;
  if (c.valid && c.key.matches(src, idx, fields, mode) && launch_cached(base)) return;
  c.valid = false;
  GatherPlan plan;
  plan_systems(plan, src, idx, fields, 0, 0, 0, mode);
  if (plan.empty()) return;
  // The previous device copy is released in stream order (kernels already queued still read it).
  c.device = Tensor();
  launch_table(plan, base, &c.device);
  c.n_fields = static_cast<std::int64_t>(plan.fields().size());
  c.n_pieces = static_cast<std::int64_t>(plan.pieces().size());
  c.copy_bytes = plan.copy_bytes();
  c.bytes = plan.table_bytes();
  if (c.device.defined()) {
    c.inline_table.clear();
  } else {
    c.inline_table.resize(c.bytes);
    plan.write_table(c.inline_table.data());
  }
  c.key.assign(src, idx, fields, mode);
  c.valid = true;
}

bool FusedGather::relaunch_systems(const Batch& src, std::span<const GatherFieldSpec> fields, std::int64_t dst_atom0,
                                   std::int64_t dst_edge0, std::int64_t dst_system0, EdgeIndexMode mode) {
  last_cached_ = false;
  if (!cached_.valid || !cached_.key.same_fields(src, fields, mode)) return false;
  return launch_cached(systems_base(dst_atom0, dst_edge0, dst_system0, mode));
}

bool FusedGather::launch_cached(const GatherBase& base) {
#if BATCHMD_WITH_CUDA
  // The same table as last time, at other base rows: the inline bytes, or the device copy that
  // only this cache holds (kernels reading it are ordered on the compute stream).
  const Cached& c = cached_;
  cuda::set_device(device_);
  launch_gather_kernel(c.device.defined() ? nullptr : c.inline_table.data(),
                       c.device.defined() ? c.device.raw() : nullptr, c.bytes, c.n_fields, c.n_pieces, c.copy_bytes,
                       base, cuda::compute_stream(device_));
  last_cached_ = true;
  return true;
#else
  (void)base;
  return false;
#endif
}

void FusedGather::launch_table(const GatherPlan& plan, const GatherBase& base, Tensor* keep) {
  if (plan.empty()) return;
  const std::size_t bytes = plan.table_bytes();
  const auto n_fields = static_cast<std::int64_t>(plan.fields().size());
  const auto n_pieces = static_cast<std::int64_t>(plan.pieces().size());
  cuda::set_device(device_);
  const cuda::Stream compute = cuda::compute_stream(device_);
#if BATCHMD_WITH_CUDA
  // The common case: no upload at all. A table kept for later launches goes inline only when
  // small: relaunching it from device memory costs the host less than passing it again.
  if (bytes <= (keep ? kGatherCachedInlineBytes : kGatherInlineBytes)) {
    inline_.resize(bytes);
    plan.write_table(inline_.data());
    launch_gather_kernel(inline_.data(), nullptr, bytes, n_fields, n_pieces, plan.copy_bytes(), base, compute);
    return;
  }
  if (!upload_) upload_ = create_upload_stream(device_);
  TableSlot& t = tables_[next_];
  next_ = (next_ + 1) % kTableSlots;
  if (t.uploaded) {
    t.uploaded->sync();  // its last upload must have read the pinned table (almost always done)
  } else {
    t.uploaded = std::make_unique<cuda::Event>();
    t.consumed = std::make_unique<cuda::Event>();
  }
  if (t.host.capacity() < bytes) t.host.reserve(2 * bytes);
  plan.write_table(t.host.data());
  if (!t.device.defined() || t.device.nbytes() < bytes) {
    // The new buffer is zeroed on the compute stream: the upload must come after that too.
    t.device = Tensor(DType::UInt8, {static_cast<std::int64_t>(2 * bytes)}, Device{Device::Kind::CUDA, device_});
    t.consumed->record(compute);
  }
  t.consumed->wait(upload_);  // the kernel that last read this device table has finished
  cuda::copy_async(t.device.raw(), t.host.data(), bytes, upload_);
  t.uploaded->record(upload_);
  t.uploaded->wait(compute);
  launch_gather_kernel(nullptr, t.device.raw(), bytes, n_fields, n_pieces, plan.copy_bytes(), base, compute);
  t.consumed->record(compute);
  // Kept: the table leaves the ring (the slot allocates a new one when next used), so no upload
  // can overwrite it while later launches read it. Its upload is ordered before them through
  // this kernel, which waited for it on the compute stream.
  if (keep) *keep = std::move(t.device);
#else
  (void)bytes, (void)n_fields, (void)n_pieces, (void)compute, (void)base, (void)keep;
  throw InvalidArgument("FusedGather: this build of batchmd has no CUDA backend");
#endif
}

}  // namespace batchmd::sinks::detail
