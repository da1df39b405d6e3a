// SPDX-License-Identifier: Apache-2.0
// sinks/data_sink: mask handling shared by sinks, and the HostMemory sink. A CPU write gathers
// the selected systems into one pageable block. Its GPU path gathers
// each write on the GPU (staging ring) and copies it straight into pinned arenas, where it stays;
// only when pinned memory cannot be had does a worker copy each landed slot into pageable memory.
#include "batchmd/sinks/data_sink.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <future>
#include <mutex>
#include <thread>
#include <utility>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "gpu_staging.hpp"
#include "mask_words.hpp"
#include "trajectory_layout.hpp"

namespace batchmd::sinks {

void DataSink::selected(const Batch& batch, const std::vector<bool>& mask, const std::string& sink,
                        std::vector<std::int64_t>& idx) {
  if (mask.size() != static_cast<std::size_t>(batch.n_systems()))
    throw InvalidArgument(sink + ".write: mask has " + std::to_string(mask.size()) + " entries but the batch has " +
                          std::to_string(batch.n_systems()) + " systems");
  thread_local std::vector<std::uint64_t> words;  // capacity kept: no allocation per write
  detail::mask_words(mask, words);
  idx.clear();
  detail::set_bits(words, idx);
}

std::vector<std::int64_t> DataSink::selected(const Batch& batch, const std::vector<bool>& mask,
                                             const std::string& sink) {
  std::vector<std::int64_t> idx;
  selected(batch, mask, sink, idx);
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
  std::vector<detail::StagedField> fields;  // where each field is in `host`
  std::size_t bytes = 0;
  const std::byte* host = nullptr;  // the block once it has landed: in an arena or in `data`
  HostBytes data;                   // pageable: a CPU write, or the worker's copy of a GPU one
  std::size_t allocated = 0;        // of `data`
};

// ---------------------------------------------------------------- pinned arenas

namespace {

std::atomic<std::size_t> g_arena_bytes{detail::PinnedArenaLimits{}.arena_bytes};
std::atomic<std::size_t> g_max_pinned{detail::PinnedArenaLimits{}.max_pinned};
std::atomic<std::size_t> g_pinned{0};  // bytes held by live arenas
std::atomic<bool> g_wait{detail::PinnedArenaLimits{}.wait};

/// A pinned arena of `bytes`, or nullptr if pinned memory cannot be had (or max_pinned forbids,
/// unless `beyond_limit`: a sink's own reservation, HostMemory::reserve_pinned). Counted in
/// g_pinned either way (arena_free uncounts it).
std::byte* arena_alloc(std::size_t bytes, int device, bool beyond_limit = false) noexcept {
  const std::size_t limit = beyond_limit ? std::size_t(-1) : g_max_pinned.load();
  std::size_t held = g_pinned.load();
  do {
    if (bytes > limit || held > limit - bytes) return nullptr;
  } while (!g_pinned.compare_exchange_weak(held, held + bytes));
  void* p = cuda::try_alloc_pinned(bytes, device);
  if (!p) g_pinned -= bytes;
  return static_cast<std::byte*>(p);
}

void arena_free(std::byte* p, std::size_t bytes) noexcept {
  if (!p) return;
  cuda::free_pinned(p);
  g_pinned -= bytes;
}

std::size_t align_up(std::size_t n) {
  return (n + detail::kStagingAlign - 1) / detail::kStagingAlign * detail::kStagingAlign;
}

}  // namespace

namespace detail {
PinnedArenaLimits pinned_arena_limits() noexcept { return {g_arena_bytes.load(), g_max_pinned.load(), g_wait.load()}; }
void set_pinned_arena_limits(const PinnedArenaLimits& limits) noexcept {
  g_arena_bytes = std::max<std::size_t>(limits.arena_bytes, 1);
  g_max_pinned = limits.max_pinned;
  g_wait = limits.wait;
}
std::size_t pinned_arena_bytes() noexcept { return g_pinned.load(); }
}  // namespace detail

/// Pinned host memory that GPU writes are copied into and stay in: arenas (cudaHostAlloc'd) used
/// in order, each block at the next aligned offset of the current arena. While the current arena
/// fills, the next one is allocated on another thread (std::async), sized by what the sink may
/// still have to hold, so growing rarely stalls the writer. Kept across zero() and reused from
/// the first. Writer thread only (HostMemory is not thread-safe).
struct HostMemory::Arenas {
  struct Arena {
    std::byte* data;
    std::size_t bytes;
    std::size_t used;
  };
  std::vector<Arena> list;
  std::size_t current = 0;  // blocks go here or into a later arena
  std::future<std::byte*> next;
  std::size_t next_bytes = 0;
  bool failed = false;  // pinned memory could not be had: no new arena is tried

  Arenas() = default;
  Arenas(const Arenas&) = delete;
  Arenas& operator=(const Arenas&) = delete;
  ~Arenas() {
    if (next.valid()) {
      try {
        arena_free(next.get(), next_bytes);
      } catch (...) {
      }
    }
    for (const Arena& a : list) arena_free(a.data, a.bytes);
  }

  void reset() noexcept {
    for (Arena& a : list) a.used = 0;
    current = 0;
  }
  std::size_t allocated() const {
    std::size_t n = 0;
    for (const Arena& a : list) n += a.bytes;
    return n;
  }

  /// Room for a block of `bytes`, or nullptr if it needs a new arena and pinned memory cannot be
  /// had (then and later: the caller falls back to pageable memory). `expected`: the bytes the
  /// sink may still be asked to hold, this block included; a new arena is no larger than that.
  std::byte* take(std::size_t bytes, std::size_t expected, int device) {
    const std::size_t need = std::max<std::size_t>(bytes, 1);
    for (;;) {
      for (; current < list.size(); ++current) {
        Arena& a = list[current];
        const std::size_t at = align_up(a.used);
        if (at <= a.bytes && a.bytes - at >= need) {
          a.used = at + need;
          return a.data + at;
        }
      }
      const bool wait = g_wait.load();
      if (next.valid()) {  // the arena allocated ahead (unless `wait`, only once it is there)
        if (!wait && next.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return nullptr;
        const std::size_t size = next_bytes;
        std::byte* p = next.get();
        if (!p) {
          failed = true;
          return nullptr;
        }
        adopt(p, size);
        continue;
      }
      if (failed || !wait) return nullptr;  // not waiting: the caller starts one (allocate_ahead)
      const std::size_t size = std::max(need, std::min(expected, g_arena_bytes.load()));
      std::byte* p = arena_alloc(size, device);
      if (!p) {
        failed = true;
        return nullptr;
      }
      adopt(p, size);
    }
  }
  void adopt(std::byte* p, std::size_t size) {
    try {
      list.push_back(Arena{p, size, 0});
    } catch (...) {
      arena_free(p, size);
      throw;
    }
  }

  /// Starts allocating the next arena on another thread, unless one is on its way or the free
  /// room left covers `expected` (the bytes the sink may still be asked to hold). `block`: the
  /// bytes of the last write (an arena is made to hold several).
  void allocate_ahead(std::size_t expected, std::size_t block, int device) {
    if (failed || next.valid()) return;
    std::size_t room = 0;
    for (std::size_t i = current; i < list.size(); ++i)
      room += list[i].bytes - std::min(list[i].bytes, align_up(list[i].used));
    if (expected <= room) return;
    const std::size_t usual = std::max(g_arena_bytes.load(), block > (std::size_t(-1) / 4) ? block : 4 * block);
    const std::size_t size = std::min(expected - room, usual);
    try {
      next = std::async(std::launch::async, [size, device] { return arena_alloc(size, device); });
      next_bytes = size;
    } catch (...) {  // no thread to be had: the next arena is allocated when it is needed
      next = {};
    }
  }
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
  struct InFlight {  // a copy straight into an arena
    detail::StagingLease lease;
    std::shared_ptr<Staged> staged;
    const std::byte* dst;
  };

  // The ring is declared first so it outlives the worker and every lease in the queues.
  detail::StagingRing ring;
  std::deque<InFlight> in_flight;  // oldest first; the writer's thread only
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
    retire_all();  // the arenas (owned by the sink) must not be freed under a copy
    {
      std::lock_guard lk(m);
      stop = true;
    }
    cv_work.notify_all();
    worker.join();  // the worker empties the queue first
  }

  /// Waits for the oldest copy into an arena; records its failure (the block stays missing).
  void retire_oldest() {
    InFlight f = std::move(in_flight.front());
    in_flight.pop_front();
    try {
      f.lease.wait();
      f.staged->host = f.dst;
    } catch (...) {
      std::lock_guard lk(m);
      if (!error) error = std::current_exception();
    }
  }  // the slot is released with f.lease
  void retire_all() {
    while (!in_flight.empty()) retire_oldest();
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
          item.staged->host = item.staged->data.get();
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

// ---------------------------------------------------------------- HostMemory, CPU path

/// Pageable blocks for CPU writes, made ready on a thread of their own: allocated and every page
/// faulted in, so that a write only copies (faulting ~90 fresh pages of a 0.35 MB snapshot in on
/// the step thread cost more than the copy itself). The thread keeps up to kReady blocks of the
/// size the last write asked for, no more than the sink may still be asked to hold. A write whose
/// size has no ready block allocates its own, as without this.
struct HostMemory::Ahead {
  static constexpr std::size_t kReady = 2;
  struct Ready {
    HostBytes data;
    std::size_t bytes;
  };
  std::mutex m;
  std::condition_variable cv;
  std::deque<Ready> ready;
  std::size_t want = 0;    // bytes of the blocks to make
  std::size_t budget = 0;  // blocks the sink may still be asked to hold (ready ones included)
  bool stop = false;
  std::thread worker;

  Ahead() {
    worker = std::thread([this] { loop(); });
  }
  ~Ahead() {
    {
      std::lock_guard lk(m);
      stop = true;
    }
    cv.notify_all();
    worker.join();
  }

  /// A ready block of exactly `bytes`, or an empty one. `blocks_left`: writes of this size the
  /// sink may still take after this one; the thread makes the next blocks for those.
  HostBytes take(std::size_t bytes, std::size_t blocks_left) {
    HostBytes out;
    {
      std::lock_guard lk(m);
      if (bytes != want) ready.clear();  // another size: the ready blocks would not be used
      if (!ready.empty()) {
        out = std::move(ready.front().data);
        ready.pop_front();
      }
      want = bytes;
      budget = blocks_left;
      while (ready.size() > budget) ready.pop_back();  // more than the sink can still take
    }
    cv.notify_one();
    return out;
  }
  /// Bytes of the ready blocks (memory the sink holds beyond its samples).
  std::size_t ready_bytes() {
    std::lock_guard lk(m);
    std::size_t n = 0;
    for (const Ready& r : ready) n += r.bytes;
    return n;
  }
  /// Frees the ready blocks (the sink is full, or emptied).
  void drop() {
    std::lock_guard lk(m);
    ready.clear();
    budget = 0;
  }

  void loop() {
    std::unique_lock lk(m);
    for (;;) {
      cv.wait(lk, [&] { return stop || (want > 0 && ready.size() < std::min(kReady, budget)); });
      if (stop) return;
      const std::size_t bytes = want;
      lk.unlock();
      auto* p = static_cast<std::byte*>(std::malloc(bytes));
      if (p) {
#ifdef MADV_POPULATE_WRITE
        // Whole pages inside the block only (a malloc'd block shares its edges with others).
        const auto page = static_cast<std::uintptr_t>(4096);
        const auto first = (reinterpret_cast<std::uintptr_t>(p) + page - 1) / page * page;
        const auto last = (reinterpret_cast<std::uintptr_t>(p) + bytes) / page * page;
        if (last <= first || madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE) != 0)
#endif
          for (std::size_t i = 0; i < bytes; i += 4096) p[i] = std::byte{0};  // not yet shared: safe to write
      }
      lk.lock();
      if (!p) {  // no memory now: writes allocate their own (and report the failure)
        want = 0;
        continue;
      }
      HostBytes block(p);
      if (bytes == want && ready.size() < std::min(kReady, budget)) ready.push_back(Ready{std::move(block), bytes});
      // else the size changed or the sink filled meanwhile, and `block` is freed here
    }
  }
};

// ---------------------------------------------------------------- HostMemory

HostMemory::HostMemory(std::int64_t capacity) : capacity_(capacity) {
  if (capacity < 1) throw InvalidArgument("HostMemory capacity must be >= 1 sample, got " + std::to_string(capacity));
}

// The GPU path goes first: it waits for copies still landing in the arenas.
HostMemory::~HostMemory() { gpu_.reset(); }
HostMemory::HostMemory(HostMemory&&) noexcept = default;
HostMemory& HostMemory::operator=(HostMemory&& o) noexcept {
  if (this != &o) {
    gpu_.reset();
    capacity_ = o.capacity_;
    blocks_ = std::move(o.blocks_);
    atoms_ = std::move(o.atoms_);
    edges_ = std::move(o.edges_);
    schema_ = std::move(o.schema_);
    arenas_ = std::move(o.arenas_);
    gpu_ = std::move(o.gpu_);
    ahead_ = std::move(o.ahead_);
  }
  return *this;
}

void HostMemory::wait_for_gpu(bool rethrow) const {
  if (!gpu_) return;
  gpu_->retire_all();
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
  // One allocation per write, each field's rows of the selected systems gathered straight from
  // the batch at 64-byte offsets: no per-field tensors, no zero fill before the copy, no
  // intermediate index_select batch.
  const std::int64_t* ap = batch.atoms_ptr_data();
  const std::int64_t* ep = batch.edges_ptr().data<std::int64_t>();
  std::vector<std::string> names;
  for (const auto& [k, f] : batch.fields()) names.push_back(k);
  auto staged = std::make_shared<Staged>();
  std::size_t total = 0;
  staged->fields = detail::staging_layout(batch, idx, names, total, 64);  // 64: less padding than a GPU slot's
  staged->bytes = total;
  // Plain malloc (not allocate_host_bytes' 2 MiB-rounded huge blocks): a CPU sink holds its
  // snapshots in their raw bytes plus the alignment padding. Ready blocks come from `ahead_`.
  staged->allocated = std::max<std::size_t>(total, 1);
  if (!ahead_) ahead_ = std::make_unique<Ahead>();
  const auto samples_left = capacity_ - size() - static_cast<std::int64_t>(idx.size());
  const auto blocks_left = static_cast<std::size_t>(std::max<std::int64_t>(samples_left, 0)) / idx.size();
  staged->data = ahead_->take(staged->allocated, blocks_left);
  if (!staged->data) staged->data = HostBytes(static_cast<std::byte*>(std::malloc(staged->allocated)));
  if (!staged->data) throw std::bad_alloc();
  std::byte* dst = staged->data.get();
  const bool all = idx.size() == static_cast<std::size_t>(batch.n_systems());
  for (const detail::StagedField& f : staged->fields) {
    const Tensor& t = batch.get(f.name);
    if (all) {
      if (f.bytes) std::memcpy(dst + f.offset, t.bytes(), f.bytes);
      continue;
    }
    detail::gather_rows(t, f.level == Level::Atom ? ap : ep, idx, f.level == Level::System, dst + f.offset);
    if (f.name == kEdgeIndex && f.dtype == DType::Int64) {  // rebased onto this block's atoms, as index_select does
      auto* v = reinterpret_cast<std::int64_t*>(dst + f.offset);
      const auto per_row = static_cast<std::size_t>(t.row_numel());
      std::size_t e = 0;
      std::int64_t block_atom = 0;
      for (auto s : idx) {
        const std::int64_t delta = block_atom - ap[s];
        for (std::int64_t r = ep[s]; r < ep[s + 1]; ++r, ++e)
          for (std::size_t c = 0; c < per_row; ++c) v[e * per_row + c] += delta;
        block_atom += ap[s + 1] - ap[s];
      }
    }
  }
  staged->host = dst;
  Block block;
  block.samples = static_cast<std::int64_t>(idx.size());
  block.staged = std::move(staged);
  return block;
}

void HostMemory::use_gpu(int device) {
  if (gpu_ && gpu_->ring.device() == device) return;
  wait_for_gpu(true);  // the first GPU write (or reservation), or a batch on another GPU
  gpu_.reset();
  gpu_ = std::make_unique<GpuPath>(device);
}

HostMemory::Block HostMemory::gpu_block(const Batch& batch, const std::vector<std::int64_t>& idx) {
  const int device = batch.device().index;
  use_gpu(device);
  std::vector<std::string> names;
  for (const auto& [k, f] : batch.fields()) names.push_back(k);
  // Room in a pinned arena, bounded by what the sink may still hold at this write's bytes per
  // sample; nullptr when pinned memory cannot be had or the next arena is still being allocated
  // (the worker then makes a pageable copy).
  std::size_t total = 0;
  detail::staging_layout(batch, idx, names, total);
  const auto samples = static_cast<std::size_t>(idx.size());
  const std::size_t per_sample = (align_up(total) + samples - 1) / samples;
  const auto expected_bytes = [&](std::int64_t samples_left) {
    const auto n = static_cast<std::size_t>(std::max<std::int64_t>(samples_left, 0));
    return per_sample == 0 || n <= std::size_t(-1) / per_sample ? n * per_sample : std::size_t(-1);
  };
  const std::int64_t left = capacity_ - size();  // this write's samples included
  if (!arenas_) arenas_ = std::make_unique<Arenas>();
  std::byte* dst = arenas_->take(total, expected_bytes(left), device);
  // The next arena, on another thread, for what the sink may still hold after this write (this
  // write's bytes too when it goes the pageable way: the room is then still free).
  arenas_->allocate_ahead(expected_bytes(dst ? left - static_cast<std::int64_t>(samples) : left), total, device);
  // Never hold every staging slot here (stage would wait for one forever): wait for the oldest
  // copy into an arena instead (back-pressure, as when the worker holds the slots).
  while (gpu_->in_flight.size() >= gpu_->ring.slots()) gpu_->retire_oldest();
  auto staged = std::make_shared<Staged>();
  // edge_index is rebased as index_select would: global to this block, like a CPU write's.
  detail::StagingLease lease = gpu_->ring.stage(batch, idx, names, detail::EdgeIndexMode::Rebase, dst);
  staged->fields = lease.fields();
  staged->bytes = lease.bytes();
  if (dst)
    gpu_->in_flight.push_back(GpuPath::InFlight{std::move(lease), staged, dst});
  else
    gpu_->push(GpuPath::Item{std::move(lease), staged});
  Block block;
  block.samples = static_cast<std::int64_t>(idx.size());
  block.staged = std::move(staged);
  return block;
}

HostMemory::Part HostMemory::part(const Block& b, const std::string& name) {
  if (!b.staged->host)
    throw IOError("HostMemory: a snapshot written from the GPU is missing: its transfer failed (reported earlier)");
  for (const auto& f : b.staged->fields)
    if (f.name == name) return Part{b.staged->host + f.offset, f.bytes, f.shape[0]};
  throw InvalidArgument("HostMemory: a stored block lacks field '" + name + "'");
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
  if (ahead_) ahead_->drop();
  if (arenas_) arenas_->reset();  // no copy is in flight any more: the arenas are reused
  if (gpu_) gpu_->rethrow();      // a failed transfer is reported once, even if its block is gone
}

std::size_t HostMemory::raw_bytes() const {
  wait_for_gpu(true);
  std::size_t n = 0;
  for (const auto& b : blocks_) {
    for (const auto& f : b.staged->fields) n += f.bytes;
  }
  return n;
}

void HostMemory::reserve_pinned(std::size_t bytes, const Device& device) {
  if (device.is_cpu())
    throw InvalidArgument("HostMemory.reserve_pinned: pinned memory is for writes from a GPU batch, not from 'cpu'");
  try {
    cuda::require(device);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(std::string("HostMemory.reserve_pinned: ") + e.what());
  }
  use_gpu(device.index);
  if (bytes == 0) return;
  if (!arenas_) arenas_ = std::make_unique<Arenas>();
  std::byte* p = arena_alloc(bytes, device.index, true);
  if (!p)
    throw CapacityError("HostMemory.reserve_pinned: " + std::to_string(bytes) +
                        " bytes of pinned host memory could not be allocated");
  arenas_->adopt(p, bytes);
}

std::size_t HostMemory::allocated_bytes() const {
  wait_for_gpu(true);
  std::size_t n = 0;
  for (const auto& b : blocks_) {
    if (b.staged->data) n += b.staged->allocated;
  }
  if (arenas_) n += arenas_->allocated();
  if (ahead_) n += ahead_->ready_bytes();
  return n;
}

}  // namespace batchmd::sinks
