// SPDX-License-Identifier: Apache-2.0
// dynamics/inflight_slots: InflightSlots (inflight batching as `batchmd run` drives it: rows at each
// system's own snapshot steps, systems from a WorkQueue) and ListQueue.
#include <algorithm>
#include <limits>
#include <numeric>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/inflight.hpp"

namespace batchmd::dynamics {

namespace {

std::vector<std::int64_t> host_int64(const Batch& b, std::string_view name) {
  const Tensor t = b.get(name).to(Device::cpu());
  const auto* p = t.data<std::int64_t>();
  return {p, p + b.n_systems()};
}

/// Gives `to` every field only `from` has (zero-filled), so that the two can be joined.
void add_missing(const Batch& from, Batch& to) {
  for (const auto& [name, f] : from.fields())
    if (!to.has(name))
      to.add_field(name, f.level, f.tensor.dtype(), Shape(f.tensor.shape().begin() + 1, f.tensor.shape().end()));
}

/// The systems of every part, in order, all given the fields any part has (an empty part too: the
/// batch in flight keeps its fields when its last system left).
Batch join(std::vector<Batch>& parts) {
  std::vector<Batch*> use;
  for (Batch& p : parts)
    if (p.n_systems() > 0) use.push_back(&p);
  if (use.empty()) return Batch();
  for (Batch& p : parts) add_missing(p, *use.front());
  for (Batch* p : use) add_missing(*use.front(), *p);
  if (use.size() == 1) return std::move(*use.front());
  return Batch::concat(std::vector<const Batch*>(use.begin(), use.end()));
}

/// Per system: potential + kinetic energy (eV).
std::vector<double> total_energy(const Batch& b) {
  auto e = kinetic_energy(b);
  const Tensor energy = b.get("energy").to(Device::cpu());
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* pe = energy.data<T>();
    for (std::size_t s = 0; s < e.size(); ++s) e[s] += double(pe[s]);
  });
  return e;
}

std::vector<std::int64_t> where(const std::vector<bool>& m, bool value) {
  std::vector<std::int64_t> out;
  for (std::size_t s = 0; s < m.size(); ++s)
    if (m[s] == value) out.push_back(static_cast<std::int64_t>(s));
  return out;
}

}  // namespace

std::vector<std::int64_t> ListQueue::take(std::int64_t n) {
  std::vector<std::int64_t> out;
  while (n-- > 0 && next_ < order_.size()) out.push_back(order_[next_++]);
  return out;
}

InflightSlots::InflightSlots(Dynamics& dyn, WorkQueue& queue, std::function<SlotInput(std::int64_t)> load,
                             std::shared_ptr<sinks::DataSink> rows, SlotPlan plan, Device device)
    : dyn_(dyn), queue_(queue), load_(std::move(load)), rows_(std::move(rows)), plan_(plan), device_(device) {
  if (!load_ || !rows_) throw InvalidArgument("InflightSlots needs a loader and a sink for the rows");
  if (plan_.slots < 1) throw InvalidArgument("InflightSlots: slots must be >= 1, got " + std::to_string(plan_.slots));
  if (plan_.snapshot_every < 1)
    throw InvalidArgument("InflightSlots: snapshot_every must be >= 1, got " + std::to_string(plan_.snapshot_every));
  cuda::require(device_);
}

bool InflightSlots::refill(Batch& batch, bool first) {
  if (dry_) return false;
  const std::int64_t free = plan_.slots - batch.n_systems();
  if (free <= 0) return false;
  const auto ids = queue_.take(free);
  if (static_cast<std::int64_t>(ids.size()) < free) dry_ = true;
  if (ids.empty()) return false;
  std::vector<Batch> fresh, resumed;
  for (const std::int64_t i : ids) {
    SlotInput in = load_(i);
    if (in.system.n_systems() != 1)
      throw InvalidArgument("inflight: system " + std::to_string(i) + " was loaded as " +
                            std::to_string(in.system.n_systems()) + " systems, expected 1");
    (in.fresh ? fresh : resumed).push_back(std::move(in.system));
  }
  // New systems: forces from a compute on them alone (the systems in flight keep theirs, bit for
  // bit), as prepare() gives a plain run's systems at step 0.
  Batch f = join(fresh);
  if (f.n_systems() > 0) {
    if (!device_.is_cpu()) f = f.to(device_);
    for (const char* name : {"velocities", "forces", "energy", "step"}) f.add_standard(name);
    dyn_.model().compute(f, dyn_.needs_stress());
  }
  Batch r = join(resumed);
  if (r.n_systems() > 0 && !device_.is_cpu()) r = r.to(device_);
  for (const Batch* b : {&f, &r}) {
    if (b->n_systems() == 0) continue;
    const auto e = total_energy(*b);
    const auto id = host_int64(*b, "system_id");
    for (std::size_t s = 0; s < e.size(); ++s) e0_.emplace_back(id[s], e[s]);
  }
  const std::int64_t kept = batch.n_systems(), n_resumed = r.n_systems();
  std::vector<Batch> parts;
  parts.push_back(std::move(batch));
  parts.push_back(std::move(r));
  parts.push_back(std::move(f));
  batch = join(parts);
  std::vector<bool> is_fresh(static_cast<std::size_t>(batch.n_systems()), false);
  for (std::int64_t s = kept + n_resumed; s < batch.n_systems(); ++s) is_fresh[static_cast<std::size_t>(s)] = true;
  written_.resize(static_cast<std::size_t>(batch.n_systems()), false);
  if (first) {
    dyn_.assume_forces_current();
    dyn_.prepare(batch);  // the fields the dynamics adds; forces are the loaded / computed ones
  } else {
    dyn_.resync_status(batch);  // the batch was rearranged (GPU: the host mirrors follow)
  }
  dyn_.start_systems(batch, is_fresh);
  return true;
}

void InflightSlots::after_step(Batch& batch) {
  const auto n = static_cast<std::size_t>(batch.n_systems());
  system_steps_ += batch.n_systems();  // every system in the batch took this step
  atom_steps_ += batch.n_atoms();
  const auto steps = host_int64(batch, "step");
  std::vector<std::int32_t> status;
  if (dyn_.tracks_status()) {
    const auto st = dyn_.host_status(batch);
    status.assign(st.begin(), st.end());
  }
  std::vector<bool> write(n, false), end(n, false);
  bool any_write = false, any_end = false;
  for (std::size_t s = 0; s < n; ++s) {
    end[s] = (!status.empty() && status[s] >= dyn_.final_status()) || steps[s] >= plan_.step_limit;
    write[s] = end[s] || (steps[s] - 1) % plan_.snapshot_every == 0;
    any_write = any_write || write[s];
    any_end = any_end || end[s];
  }
  if (any_write) {
    rows_->write(batch, write);
    for (const bool w : write) rows_written_ += w ? 1 : 0;
  }
  written_ = write;
  if (!any_end) return;
  const auto leaving = where(end, true);
  Batch rows = batch.index_select(leaving);
  done_.push_back(rows.is_cuda() ? rows.to(Device::cpu()) : std::move(rows));
  ended_count_ += static_cast<std::int64_t>(leaving.size());
  const auto keep = where(end, false);
  batch = batch.index_select(keep);
  if (!keep.empty()) dyn_.resync_status(batch);  // GPU: the host mirrors follow the new batch
  written_.assign(keep.size(), true);            // the systems that stay were written only if due: below
  for (std::size_t k = 0; k < keep.size(); ++k) written_[k] = write[static_cast<std::size_t>(keep[k])];
}

std::int64_t InflightSlots::run() {
  Batch batch;
  dry_ = false;
  if (!refill(batch, true)) {
    rows_->flush();
    return 0;
  }
  auto user = dyn_.step_callback();
  bool& stopped = stopped_;
  stopped = false;
  dyn_.set_step_callback([&](std::int64_t done) {
    const bool go_on = !user || user(done);
    queue_.poll();
    after_step(batch);
    if (!go_on) {
      stopped = true;
      return false;
    }
    refill(batch, false);
    return batch.n_systems() > 0;
  });
  std::int64_t taken = 0;
  try {
    taken = dyn_.run(batch, std::numeric_limits<std::int64_t>::max() / 4);
  } catch (...) {
    dyn_.set_step_callback(user);
    throw;
  }
  dyn_.set_step_callback(user);
  if (batch.n_systems() > 0) {  // stopped: the systems in flight as they stand
    if (stopped && plan_.final_rows) {
      std::vector<bool> unwritten(written_.size());
      bool any = false;
      for (std::size_t s = 0; s < written_.size(); ++s) any = any || (unwritten[s] = !written_[s]);
      if (any) {
        rows_->write(batch, unwritten);
        for (const bool w : unwritten) rows_written_ += w ? 1 : 0;
      }
    }
    done_.push_back(batch.is_cuda() ? batch.to(Device::cpu()) : batch.clone());
  }
  rows_->flush();
  return taken;
}

Batch InflightSlots::results(std::vector<double>* start_energies) const {
  std::vector<Batch> parts;
  for (const Batch& b : done_) parts.push_back(b.clone());
  Batch all = join(parts);
  if (start_energies) start_energies->clear();
  if (all.n_systems() == 0) return all;
  const auto ids = host_int64(all, "system_id");
  std::vector<std::int64_t> order(ids.size());
  std::iota(order.begin(), order.end(), std::int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return ids[a] < ids[b]; });
  if (start_energies) {
    auto e0 = e0_;
    std::stable_sort(e0.begin(), e0.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const std::int64_t k : order) {
      const auto it = std::lower_bound(e0.begin(), e0.end(), ids[static_cast<std::size_t>(k)],
                                       [](const auto& p, std::int64_t id) { return p.first < id; });
      start_energies->push_back(it != e0.end() && it->first == ids[static_cast<std::size_t>(k)] ? it->second : 0.0);
    }
  }
  return all.index_select(order);
}

}  // namespace batchmd::dynamics
