// SPDX-License-Identifier: Apache-2.0
// sinks/gpu_buffer: GPUBuffer — schema and capacity checks on the host, then one fused gather
// (gpu_gather.hpp) per write and per read; a write repeating the last one's selection reuses its
// gather table (FusedGather::launch_systems), and one repeating its mask over unchanged offsets
// skips the per-system work too (write_again). The steady-state write allocates nothing.
#include "batchmd/sinks/gpu_buffer.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "gpu_gather.hpp"
#include "mask_words.hpp"

namespace batchmd::sinks {

namespace {

Shape trailing(const Tensor& t) { return Shape(t.shape().begin() + (t.ndim() ? 1 : 0), t.shape().end()); }

/// trailing(a) == trailing(b), without building them.
bool same_trailing(const Tensor& a, const Tensor& b) {
  const std::size_t skip_a = a.ndim() ? 1 : 0, skip_b = b.ndim() ? 1 : 0;
  return std::equal(a.shape().begin() + static_cast<std::ptrdiff_t>(skip_a), a.shape().end(),
                    b.shape().begin() + static_cast<std::ptrdiff_t>(skip_b), b.shape().end());
}

std::string describe(const Field& f) {
  return std::string(level_name(f.level)) + ", " + std::string(dtype_name(f.tensor.dtype())) + ", rows x " +
         shape_str(trailing(f.tensor));
}

Device checked_device(const Device& d) {
  if (d.is_cpu())
    throw InvalidArgument(
        "GPUBuffer keeps snapshots in GPU memory and needs a CUDA device, not 'cpu' "
        "(HostMemory keeps them in host memory)");
  try {
    cuda::require(d);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(std::string("GPUBuffer: ") + e.what());
  }
  return d;
}

}  // namespace

GPUBuffer::GPUBuffer(std::int64_t capacity, std::int64_t max_atoms, std::int64_t max_edges, Device device)
    : capacity_(capacity), max_atoms_(max_atoms), max_edges_(max_edges), device_(checked_device(device)) {
  if (capacity < 1) throw InvalidArgument("GPUBuffer capacity must be >= 1 sample, got " + std::to_string(capacity));
  if (max_atoms < 1) throw InvalidArgument("GPUBuffer max_atoms must be >= 1, got " + std::to_string(max_atoms));
  if (max_edges < 0) throw InvalidArgument("GPUBuffer max_edges must be >= 0, got " + std::to_string(max_edges));
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  if (max_atoms > kMax / capacity || (max_edges > 0 && max_edges > kMax / capacity))
    throw InvalidArgument("GPUBuffer: capacity x max_atoms (or max_edges) overflows");
  gather_ = std::make_unique<detail::FusedGather>(device_.index);
}

GPUBuffer::~GPUBuffer() = default;

std::size_t GPUBuffer::allocated_bytes() const {
  std::size_t n = 0;
  for (const auto& [k, f] : storage_) n += f.tensor.capacity_bytes();
  return n;
}

void GPUBuffer::check_schema(const Batch& batch) const {
  for (const auto& [k, f] : batch.fields()) {
    auto it = storage_.find(k);
    if (it == storage_.end()) {
      std::string fixed;  // only for the message
      for (const auto& [name, stored] : storage_) fixed += (fixed.empty() ? "" : ", ") + name;
      throw InvalidArgument("GPUBuffer.write: field '" + k + "' is not in the buffer, whose fields were fixed by " +
                            "its first write (" + fixed + ")");
    }
    const Field& s = it->second;
    if (s.level != f.level || s.tensor.dtype() != f.tensor.dtype() || !same_trailing(s.tensor, f.tensor))
      throw InvalidArgument("GPUBuffer.write: field '" + k + "' is (" + describe(f) + ") but the buffer stores (" +
                            describe(s) + ")");
  }
  for (const auto& [k, f] : storage_)
    if (batch.fields().find(k) == batch.fields().end())  // (has() would build a string)
      throw InvalidArgument("GPUBuffer.write: the batch lacks field '" + k + "' that the buffer stores");
}

void GPUBuffer::allocate(const Batch& batch) {
  std::map<std::string, Field, std::less<>> storage;
  for (const auto& [k, f] : batch.fields()) {
    const std::int64_t rows = f.level == Level::Atom   ? capacity_ * max_atoms_
                              : f.level == Level::Edge ? capacity_ * max_edges_
                                                       : capacity_;
    Shape shape{rows};
    const Shape t = trailing(f.tensor);
    shape.insert(shape.end(), t.begin(), t.end());
    storage.emplace(k, Field{f.level, Tensor(f.tensor.dtype(), shape, device_)});
  }
  atoms_.reserve(static_cast<std::size_t>(capacity_));  // host bytes far fewer than the GPU storage's
  edges_.reserve(static_cast<std::size_t>(capacity_));
  storage_ = std::move(storage);  // only once every tensor is allocated (out of GPU memory: nothing changes)
  allocated_ = true;
}

void GPUBuffer::check_room(std::int64_t k) const {
  if (size() + k > capacity_)
    throw CapacityError(name() + " is full: " + std::to_string(k) + " samples do not fit (" + std::to_string(size()) +
                        " of " + std::to_string(capacity_) + " used)");
}

void GPUBuffer::gathered_fields(const Batch& src) {
  fields_.clear();
  for (auto& [name, f] : storage_) {
    const Tensor& t = src.get(name);
    fields_.push_back(
        detail::GatherFieldSpec{&t, f.tensor.bytes(), f.level, name == kEdgeIndex && t.dtype() == DType::Int64});
  }
}

// A write with the last write's mask over a batch on this device whose atom and edge offsets are
// the last write's (every system's, compared whole: two memcmp): the same systems, sizes and
// capacity checks, so the per-system work is skipped — the last write's counts are appended and
// its gather table launched at this write's rows. About 64 systems per word-compare instead of
// ~9 ns per selected system (docs/benchmarks.md, "GPUBuffer with a repeated mask").
bool GPUBuffer::write_again(const Batch& batch, const std::vector<bool>& mask) {
  if (!last_.valid || batch.device() != device_ || mask.size() != static_cast<std::size_t>(batch.n_systems()))
    return false;
  const std::size_t n1 = mask.size() + 1;
  const std::int64_t* ap = batch.atoms_ptr_data();
  const std::int64_t* ep = batch.edges_ptr().data<std::int64_t>();
  if (last_.ap.size() != n1 || std::memcmp(last_.ap.data(), ap, n1 * sizeof(std::int64_t)) != 0 ||
      std::memcmp(last_.ep.data(), ep, n1 * sizeof(std::int64_t)) != 0)
    return false;
  detail::mask_words(mask, words_);
  if (words_ != last_.mask) return false;
  check_schema(batch);
  check_room(static_cast<std::int64_t>(last_.atoms.size()));
  gathered_fields(batch);
  if (!gather_->relaunch_systems(batch, fields_, n_atoms_, n_edges_, size(), detail::EdgeIndexMode::Rebase))
    return false;
  atoms_.insert(atoms_.end(), last_.atoms.begin(), last_.atoms.end());
  edges_.insert(edges_.end(), last_.edges.begin(), last_.edges.end());
  n_atoms_ += last_.n_atoms;
  n_edges_ += last_.n_edges;
  return true;
}

void GPUBuffer::write(const Batch& batch, const std::vector<bool>& mask) {
  if (write_again(batch, mask)) return;
  last_.valid = false;
  selected(batch, mask, "GPUBuffer", idx_);
  const std::vector<std::int64_t>& idx = idx_;
  if (idx.empty()) return;
  if (allocated_) check_schema(batch);
  const auto k = static_cast<std::int64_t>(idx.size());
  check_room(k);
  const std::int64_t* ap = batch.atoms_ptr_data();
  const std::int64_t* ep = batch.edges_ptr().data<std::int64_t>();
  for (auto s : idx) {
    if (ap[s + 1] - ap[s] > max_atoms_)
      throw CapacityError(name() + ": system " + std::to_string(s) + " has " + std::to_string(ap[s + 1] - ap[s]) +
                          " atoms, more than max_atoms = " + std::to_string(max_atoms_));
    if (ep[s + 1] - ep[s] > max_edges_)
      throw CapacityError(name() + ": system " + std::to_string(s) + " has " + std::to_string(ep[s + 1] - ep[s]) +
                          " edges, more than max_edges = " + std::to_string(max_edges_));
  }
  if (!allocated_) allocate(batch);

  // The gather reads the source on this GPU: bring any other batch here first (rare path).
  const Batch* src = &batch;
  std::span<const std::int64_t> src_idx = idx;
  std::optional<Batch> moved;  // constructed only on this path (a Batch allocates)
  std::vector<std::int64_t> moved_idx;
  if (batch.device() != device_) {
    moved = batch.index_select(idx);
    if (moved->is_cuda()) moved = moved->to(Device::cpu());  // another GPU: through the host
    moved = moved->to(device_);
    moved_idx = detail::all_systems(*moved);
    src = &*moved;
    src_idx = moved_idx;
  }
  gathered_fields(*src);
  // edge_index is rebased onto the buffer's atom rows, so read() returns it global. The plan is
  // made at row 0 and launched at this write's rows: a repeated selection reuses the last table.
  gather_->launch_systems(*src, src_idx, fields_, n_atoms_, n_edges_, size(), detail::EdgeIndexMode::Rebase);
  // `moved` may be freed now: the caching allocator orders reuse on the stream

  last_.atoms.clear();
  last_.edges.clear();
  last_.n_atoms = last_.n_edges = 0;
  for (auto s : idx) {
    last_.atoms.push_back(ap[s + 1] - ap[s]);
    last_.edges.push_back(ep[s + 1] - ep[s]);
    last_.n_atoms += ap[s + 1] - ap[s];
    last_.n_edges += ep[s + 1] - ep[s];
  }
  atoms_.insert(atoms_.end(), last_.atoms.begin(), last_.atoms.end());
  edges_.insert(edges_.end(), last_.edges.begin(), last_.edges.end());
  n_atoms_ += last_.n_atoms;
  n_edges_ += last_.n_edges;
  if (batch.device() == device_) {  // (a moved batch's table is of the copy: not reusable as is)
    const std::size_t n1 = static_cast<std::size_t>(batch.n_systems()) + 1;
    last_.ap.assign(ap, ap + n1);
    last_.ep.assign(ep, ep + n1);
    detail::mask_words(mask, last_.mask);
    last_.valid = true;
  }
}

Batch GPUBuffer::read() {
  if (size() == 0) throw InvalidArgument(name() + ".read: the buffer is empty");
  std::map<std::string, Field, std::less<>> fields;
  detail::GatherPlan plan;
  for (const auto& [k, f] : storage_) {
    const std::int64_t rows = f.level == Level::Atom ? n_atoms_ : f.level == Level::Edge ? n_edges_ : size();
    Shape shape = f.tensor.shape();
    shape[0] = rows;
    Tensor t(f.tensor.dtype(), shape, device_);
    plan.add_field(f.tensor.bytes(), t.bytes(), f.tensor.row_bytes(), f.level);
    fields.emplace(k, Field{f.level, std::move(t)});
  }
  // Every stored row, in one gather (edge_index is already global to the buffer).
  const std::int64_t zero[3] = {0, 0, 0}, rows[3] = {n_atoms_, n_edges_, size()};
  plan.add_run(zero, zero, rows, 0);
  gather_->launch(plan);
  return Batch::from_parts(atoms_, edges_, std::move(fields));
}

void GPUBuffer::zero() {
  atoms_.clear();
  edges_.clear();
  n_atoms_ = n_edges_ = 0;
}

void GPUBuffer::flush() { cuda::synchronize(cuda::compute_stream(device_.index)); }

}  // namespace batchmd::sinks
