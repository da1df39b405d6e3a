// SPDX-License-Identifier: Apache-2.0
// sinks/data_sink: mask handling shared by sinks, and the HostMemory sink (its GPU path: a
// staging ring and a copy worker that appends blocks once their bytes land in pinned memory).
#include "batchmd/sinks/data_sink.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "gpu_staging.hpp"

namespace batchmd::sinks {

std::vector<std::int64_t> DataSink::selected(const Batch& batch, const std::vector<bool>& mask,
                                             const std::string& sink) {
  if (mask.size() != static_cast<std::size_t>(batch.n_systems()))
    throw InvalidArgument(sink + ".write: mask has " + std::to_string(mask.size()) + " entries but the batch has " +
                          std::to_string(batch.n_systems()) + " systems");
  std::vector<std::int64_t> idx;
  for (std::size_t s = 0; s < mask.size(); ++s)
    if (mask[s]) idx.push_back(static_cast<std::int64_t>(s));
  return idx;
}

// ---------------------------------------------------------------- HostMemory, GPU path

namespace {

struct FreeHostBytes {
  void operator()(std::byte* p) const noexcept { std::free(p); }
};
using HostBytes = std::unique_ptr<std::byte[], FreeHostBytes>;

/// Uninitialised host memory for a block of `n` bytes. Large blocks are aligned to 2 MiB and
/// marked for transparent huge pages: the copy that first touches them then takes a few hundred
/// page faults instead of thousands (a hint the kernel may ignore). `allocated` gets the size.
HostBytes allocate_host_bytes(std::size_t n, std::size_t& allocated) {
  constexpr std::size_t kHuge = std::size_t(2) << 20;
  void* p = nullptr;
  if (n >= 2 * kHuge) {
    allocated = (n + kHuge - 1) / kHuge * kHuge;
    p = std::aligned_alloc(kHuge, allocated);
#ifdef MADV_HUGEPAGE
    if (p) madvise(p, allocated, MADV_HUGEPAGE);
#endif
  } else {
    allocated = std::max<std::size_t>(n, 1);
    p = std::malloc(allocated);
  }
  if (!p) throw std::bad_alloc();
  return HostBytes(static_cast<std::byte*>(p));
}

}  // namespace

struct HostMemory::Staged {
  std::vector<detail::StagedField> fields;  // where each field is in `data`
  std::size_t bytes = 0;
  HostBytes data;  // filled in by the copy worker
  std::size_t allocated = 0;
};

namespace {

/// memcpy of a large block on a few threads (host copies from pinned memory are otherwise the
/// slowest link after the PCIe transfer, and first-touching fresh pages is slow on one thread).
void parallel_copy(std::byte* dst, const std::byte* src, std::size_t n) {
  constexpr std::size_t kPart = std::size_t(1) << 20;
  if (n == 0) return;
  const auto parts = static_cast<std::int64_t>((n + kPart - 1) / kPart);
  const int threads = static_cast<int>(std::min<std::int64_t>({parts, 8, std::int64_t{num_threads()}}));
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t p = 0; p < parts; ++p) {
    const std::size_t off = static_cast<std::size_t>(p) * kPart;
    std::memcpy(dst + off, src + off, std::min(kPart, n - off));
  }
}

}  // namespace

struct HostMemory::GpuPath {
  struct Item {
    detail::StagingLease lease;
    std::shared_ptr<Staged> staged;
  };

  // The ring is declared first so it outlives the worker and every lease in the queue.
  detail::StagingRing ring;
  std::mutex m;
  std::condition_variable cv_work, cv_idle;
  std::deque<Item> queue;
  std::size_t pending = 0;  // queued or being copied
  bool stop = false;
  std::exception_ptr error;
  std::thread worker;

  explicit GpuPath(int device) : ring(device) {
    worker = std::thread([this] { loop(); });
  }
  ~GpuPath() {
    {
      std::lock_guard lk(m);
      stop = true;
    }
    cv_work.notify_all();
    worker.join();  // the worker empties the queue first
  }

  void push(Item item) {
    {
      std::lock_guard lk(m);
      queue.push_back(std::move(item));
      ++pending;
    }
    cv_work.notify_one();
  }
  void wait_idle() {
    std::unique_lock lk(m);
    cv_idle.wait(lk, [&] { return pending == 0; });
  }
  /// Rethrows (once) a failure of the worker.
  void rethrow() {
    std::lock_guard lk(m);
    if (error) std::rethrow_exception(std::exchange(error, nullptr));
  }

  void loop() {
    for (;;) {
      Item item;
      bool failed = false;
      {
        std::unique_lock lk(m);
        cv_work.wait(lk, [&] { return stop || !queue.empty(); });
        if (queue.empty()) return;
        item = std::move(queue.front());
        queue.pop_front();
        failed = error != nullptr;
      }
      std::exception_ptr e;
      if (!failed) {
        try {
          item.lease.wait();  // the device-to-host copy has landed in the pinned slot
          std::size_t allocated = 0;
          HostBytes data = allocate_host_bytes(item.lease.bytes(), allocated);
          parallel_copy(data.get(), item.lease.host(), item.lease.bytes());
          item.staged->data = std::move(data);
          item.staged->allocated = allocated;
        } catch (...) {
          e = std::current_exception();
        }
      }
      item.lease.release();  // the slot may take the next snapshot
      {
        std::lock_guard lk(m);
        if (e && !error) error = e;
        --pending;
      }
      cv_idle.notify_all();
    }
  }
};

// ---------------------------------------------------------------- HostMemory

HostMemory::HostMemory(std::int64_t capacity) : capacity_(capacity) {
  if (capacity < 1) throw InvalidArgument("HostMemory capacity must be >= 1 sample, got " + std::to_string(capacity));
}

HostMemory::~HostMemory() = default;
HostMemory::HostMemory(HostMemory&&) noexcept = default;
HostMemory& HostMemory::operator=(HostMemory&&) noexcept = default;

void HostMemory::wait_for_gpu(bool rethrow) const {
  if (!gpu_) return;
  gpu_->wait_idle();
  if (rethrow) gpu_->rethrow();
}

void HostMemory::check_schema(const Batch& batch) const {  // every write must carry the same fields as the first
  bool same = schema_.size() == batch.fields().size();
  for (const auto& [k, f] : batch.fields()) {
    auto it = schema_.find(k);
    same = same && it != schema_.end() && it->second.level == f.level && it->second.dtype == f.tensor.dtype() &&
           it->second.row_numel == f.tensor.row_numel();
  }
  if (!same) throw InvalidArgument("HostMemory.write: the batch's fields differ from those already stored");
}

void HostMemory::write(const Batch& batch, const std::vector<bool>& mask) {
  if (gpu_) gpu_->rethrow();  // a failed transfer of an earlier GPU write surfaces here
  const auto idx = selected(batch, mask, name());
  if (idx.empty()) return;
  if (size() + static_cast<std::int64_t>(idx.size()) > capacity_)
    throw CapacityError("HostMemory is full: " + std::to_string(idx.size()) + " samples do not fit (" +
                        std::to_string(size()) + " of " + std::to_string(capacity_) + " used)");
  if (!blocks_.empty()) check_schema(batch);
  Block block = batch.is_cuda() ? gpu_block(batch, idx) : cpu_block(batch, idx);
  if (blocks_.empty()) {
    schema_.clear();
    for (const auto& [k, f] : batch.fields())
      schema_.emplace(k, SchemaField{f.level, f.tensor.dtype(), f.tensor.shape(), f.tensor.row_numel()});
  }
  const auto* ap = batch.atoms_ptr_data();
  const auto* ep = batch.edges_ptr().data<std::int64_t>();
  for (auto s : idx) {
    atoms_.push_back(ap[s + 1] - ap[s]);
    edges_.push_back(ep[s + 1] - ep[s]);
  }
  blocks_.push_back(std::move(block));
}

HostMemory::Block HostMemory::cpu_block(const Batch& batch, const std::vector<std::int64_t>& idx) {
  Block block;
  block.samples = static_cast<std::int64_t>(idx.size());
  if (idx.size() == static_cast<std::size_t>(batch.n_systems())) {
    for (const auto& [k, f] : batch.fields()) block.fields.emplace(k, Field{f.level, f.tensor.clone()});
  } else {
    Batch sub = batch.index_select(idx);
    for (const auto& [k, f] : sub.fields()) block.fields.emplace(k, Field{f.level, sub.get(k).clone()});
  }
  return block;
}

HostMemory::Block HostMemory::gpu_block(const Batch& batch, const std::vector<std::int64_t>& idx) {
  const int device = batch.device().index;
  if (!gpu_ || gpu_->ring.device() != device) {  // first GPU write, or a batch on another GPU
    wait_for_gpu(true);
    gpu_.reset();
    gpu_ = std::make_unique<GpuPath>(device);
  }
  std::vector<std::string> names;
  for (const auto& [k, f] : batch.fields()) names.push_back(k);
  auto staged = std::make_shared<Staged>();
  // edge_index is rebased as index_select would: global to this block, like a CPU write's.
  detail::StagingLease lease = gpu_->ring.stage(batch, idx, names, detail::EdgeIndexMode::Rebase);
  staged->fields = lease.fields();
  staged->bytes = lease.bytes();
  gpu_->push(GpuPath::Item{std::move(lease), staged});
  Block block;
  block.samples = static_cast<std::int64_t>(idx.size());
  block.staged = std::move(staged);
  return block;
}

HostMemory::Part HostMemory::part(const Block& b, const std::string& name) {
  if (b.staged) {
    if (!b.staged->data)
      throw IOError("HostMemory: a snapshot written from the GPU is missing: its transfer failed (reported earlier)");
    for (const auto& f : b.staged->fields)
      if (f.name == name) return Part{b.staged->data.get() + f.offset, f.bytes, f.shape[0]};
    throw InvalidArgument("HostMemory: a stored block lacks field '" + name + "'");
  }
  const Tensor& t = b.fields.find(name)->second.tensor;
  return Part{t.bytes(), t.nbytes(), t.rows()};
}

void HostMemory::flush() { wait_for_gpu(true); }

Batch HostMemory::read() {
  wait_for_gpu(true);
  if (blocks_.empty()) throw InvalidArgument("HostMemory.read: the sink is empty");
  std::map<std::string, Field, std::less<>> fields;
  for (const auto& [k, f] : schema_) {
    std::int64_t rows = 0;
    for (const auto& b : blocks_) rows += part(b, k).rows;
    Shape shape = f.shape;
    shape[0] = rows;
    Tensor t(f.dtype, shape);
    std::size_t off = 0;
    for (const auto& b : blocks_) {
      const Part p = part(b, k);
      if (p.bytes) std::memcpy(t.bytes() + off, p.data, p.bytes);
      off += p.bytes;
    }
    fields.emplace(k, Field{f.level, std::move(t)});
  }
  Batch out = Batch::from_parts(atoms_, edges_, std::move(fields));
  // edge_index is stored global to each written batch; rebase it onto the concatenation.
  if (out.has(kEdgeIndex)) {
    auto* ei = out.get(kEdgeIndex).data<std::int64_t>();
    const auto* ap = out.atoms_ptr_data();
    const auto* ep = out.edges_ptr().data<std::int64_t>();
    std::int64_t sample = 0;
    for (const auto& b : blocks_) {
      const std::int64_t block_samples = b.samples;
      const std::int64_t block_atom0 = ap[sample];
      // Within a block the indices count from the block's first atom (they were global to the
      // written batch or its index_select); shift them by where the block starts.
      for (std::int64_t e = ep[sample]; e < ep[sample + block_samples]; ++e) {
        ei[2 * e] += block_atom0;
        ei[2 * e + 1] += block_atom0;
      }
      sample += block_samples;
    }
  }
  return out;
}

void HostMemory::zero() {
  wait_for_gpu(false);
  blocks_.clear();
  atoms_.clear();
  edges_.clear();
  schema_.clear();
  if (gpu_) gpu_->rethrow();  // a failed transfer is reported once, even if its block is gone
}

std::size_t HostMemory::raw_bytes() const {
  wait_for_gpu(true);
  std::size_t n = 0;
  for (const auto& b : blocks_) {
    for (const auto& [k, f] : b.fields) n += f.tensor.nbytes();
    if (b.staged)
      for (const auto& f : b.staged->fields) n += f.bytes;
  }
  return n;
}

std::size_t HostMemory::allocated_bytes() const {
  wait_for_gpu(true);
  std::size_t n = 0;
  for (const auto& b : blocks_) {
    for (const auto& [k, f] : b.fields) n += f.tensor.capacity_bytes();
    if (b.staged && b.staged->data) n += b.staged->allocated;
  }
  return n;
}

}  // namespace batchmd::sinks
