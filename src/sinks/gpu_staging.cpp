// SPDX-License-Identifier: Apache-2.0
// sinks/gpu_staging: the staging ring that moves snapshots from a GPU batch into pinned host
// memory asynchronously (gather on the compute stream, device-to-host copy on the copy stream).
#include "gpu_staging.hpp"

#include "batchmd/core/error.hpp"

namespace batchmd::sinks::detail {

// ---------------------------------------------------------------- StagingLease

StagingLease& StagingLease::operator=(StagingLease&& o) noexcept {
  if (this != &o) {
    release();
    ring_ = o.ring_;
    slot_ = o.slot_;
    o.ring_ = nullptr;
  }
  return *this;
}

void StagingLease::release() noexcept {
  if (ring_) ring_->release(slot_);
  ring_ = nullptr;
}

void StagingLease::wait() const { ring_->slots_[slot_].landed->sync(); }
const std::byte* StagingLease::host() const { return ring_->slots_[slot_].dst; }
std::size_t StagingLease::bytes() const { return ring_->slots_[slot_].bytes; }
const std::vector<StagedField>& StagingLease::fields() const { return ring_->slots_[slot_].fields; }

// ---------------------------------------------------------------- layout

std::vector<StagedField> staging_layout(const Batch& batch, std::span<const std::int64_t> idx,
                                        std::span<const std::string> names, std::size_t& total, std::size_t align) {
  const std::int64_t* ap = batch.atoms_ptr_data();
  const std::int64_t* ep = batch.edges_ptr().data<std::int64_t>();
  std::int64_t atoms = 0, edges = 0;
  for (auto s : idx) {
    atoms += ap[s + 1] - ap[s];
    edges += ep[s + 1] - ep[s];
  }
  std::vector<StagedField> layout;
  total = 0;
  for (const std::string& name : names) {
    const Tensor& t = batch.get(name);
    const Level level = batch.level(name);
    Shape shape = t.shape();
    shape[0] = level == Level::Atom ? atoms : level == Level::Edge ? edges : static_cast<std::int64_t>(idx.size());
    const std::size_t bytes = static_cast<std::size_t>(shape[0]) * t.row_bytes();
    total = (total + align - 1) / align * align;
    layout.push_back(StagedField{name, level, t.dtype(), std::move(shape), total, bytes});
    total += bytes;
  }
  return layout;
}

// ---------------------------------------------------------------- StagingRing

StagingRing::StagingRing(int device, std::size_t slots)
    : device_(device), gather_(device), n_slots_(slots), slots_(std::make_unique<Slot[]>(slots)) {
  if (slots < 1) throw InvalidArgument("StagingRing needs at least one slot");
  cuda::require(Device{Device::Kind::CUDA, device});
}

StagingRing::~StagingRing() {
  for (std::size_t i = 0; i < n_slots_; ++i) {
    if (!slots_[i].landed) continue;
    try {
      slots_[i].landed->sync();  // the copy stream may still read the device buffer / fill the pinned one
    } catch (...) {
    }
  }
}

void StagingRing::release(std::size_t slot) noexcept {
  {
    std::lock_guard lk(m_);
    slots_[slot].held = false;
  }
  cv_free_.notify_all();
}

std::size_t StagingRing::acquire() {
  std::unique_lock lk(m_);
  for (;;) {
    // Round robin from the slot after the last one taken, so slots are reused oldest first.
    for (std::size_t k = 0; k < n_slots_; ++k) {
      const std::size_t i = (next_ + k) % n_slots_;
      if (!slots_[i].held) {
        slots_[i].held = true;
        next_ = (i + 1) % n_slots_;
        return i;
      }
    }
    cv_free_.wait(lk);  // back-pressure: every slot is still being consumed
  }
}

StagingLease StagingRing::stage(const Batch& batch, std::span<const std::int64_t> idx,
                                std::span<const std::string> names, EdgeIndexMode mode, std::byte* dst) {
  const Device dev{Device::Kind::CUDA, device_};
  if (batch.device() != dev)
    throw InvalidArgument("StagingRing(" + dev.str() + "): the batch is on " + batch.device().str());
  std::size_t total = 0;
  std::vector<StagedField> layout = staging_layout(batch, idx, names, total);

  cuda::set_device(device_);
  const std::size_t i = acquire();
  StagingLease lease(this, i);  // gives the slot back if anything below throws
  Slot& s = slots_[i];
  if (s.landed) {
    s.landed->sync();  // normally long done: consumers wait for it before they release
  } else {
    s.gathered = std::make_unique<cuda::Event>();
    s.landed = std::make_unique<cuda::Event>();
  }
  // Grow with some headroom: masked writes vary in size, and each growth reallocates.
  const std::size_t grow_to = total + total / 8;
  if (total > 0 && (!s.device_bytes.defined() || s.device_bytes.nbytes() < total))
    s.device_bytes = Tensor(DType::UInt8, {static_cast<std::int64_t>(grow_to)}, dev);
  if (!dst && s.host.capacity() < total) s.host.reserve(grow_to);
  s.dst = dst ? dst : s.host.data();

  std::vector<GatherFieldSpec> fields;
  for (const StagedField& f : layout)
    fields.push_back(GatherFieldSpec{&batch.get(f.name), s.device_bytes.bytes() + f.offset, f.level,
                                     f.name == kEdgeIndex && f.dtype == DType::Int64});
  GatherPlan plan;
  plan_systems(plan, batch, idx, fields, 0, 0, 0, mode);
  gather_.launch(plan);
  const cuda::Stream compute = cuda::compute_stream(device_), copy = cuda::copy_stream(device_);
  s.gathered->record(compute);
  s.gathered->wait(copy);
  cuda::copy_async(s.dst, s.device_bytes.raw(), total, copy);
  s.landed->record(copy);
  s.fields = std::move(layout);
  s.bytes = total;
  return lease;
}

}  // namespace batchmd::sinks::detail
