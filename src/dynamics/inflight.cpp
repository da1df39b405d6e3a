// SPDX-License-Identifier: Apache-2.0
// dynamics/inflight: StructureSources and the InflightBatcher (on the CPU or a GPU: refills go
// through the host, the steps stay on the device).
#include "batchmd/dynamics/inflight.hpp"

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/sinks/zarr_data.hpp"

namespace batchmd::dynamics {

VectorSource::VectorSource(std::vector<AtomicData> systems) : systems_(std::move(systems)) {}

std::int64_t VectorSource::n_atoms(std::int64_t i) const { return systems_.at(static_cast<std::size_t>(i)).n_atoms(); }

Batch VectorSource::load(std::int64_t i) const {
  return Batch::from_systems(std::span<const AtomicData>(&systems_.at(static_cast<std::size_t>(i)), 1));
}

TrajectorySource::TrajectorySource(const std::string& url, std::vector<std::int64_t> samples)
    : reader_(std::make_unique<sinks::TrajectoryReader>(url)), samples_(std::move(samples)) {
  const std::int64_t n = reader_->num_samples();
  if (samples_.empty())
    for (std::int64_t i = 0; i < n; ++i) samples_.push_back(i);
  for (auto s : samples_)
    if (s < 0 || s >= n)
      throw InvalidArgument("TrajectorySource: sample " + std::to_string(s) + " out of range (store holds " +
                            std::to_string(n) + ")");
  counts_ = reader_->atom_counts();
}

TrajectorySource::~TrajectorySource() = default;

std::int64_t TrajectorySource::n_atoms(std::int64_t i) const {
  return counts_.at(static_cast<std::size_t>(samples_.at(static_cast<std::size_t>(i))));
}

Batch TrajectorySource::load(std::int64_t i) const { return reader_->read(samples_.at(static_cast<std::size_t>(i))); }

InflightBatcher::InflightBatcher(std::shared_ptr<Dynamics> dynamics, std::shared_ptr<StructureSource> source,
                                 std::shared_ptr<sinks::DataSink> sink, std::int64_t max_systems,
                                 std::int64_t max_atoms, std::int64_t max_edges)
    : dyn_(std::move(dynamics)),
      src_(std::move(source)),
      sink_(std::move(sink)),
      max_systems_(max_systems),
      max_atoms_(max_atoms),
      max_edges_(max_edges) {
  if (!dyn_ || !src_ || !sink_) throw InvalidArgument("InflightBatcher needs a dynamics, a source and a sink");
  if (!dyn_->tracks_status())
    throw InvalidArgument("InflightBatcher: dynamics '" + dyn_->name() +
                          "' has no convergence criterion, so no system would ever finish");
  if (max_systems < 1 || max_atoms < 1 || max_edges < 0)
    throw InvalidArgument("InflightBatcher: capacity must be >= 1 system and >= 1 atom");
}

void InflightBatcher::set_device(const Device& d) {
  cuda::require(d);
  device_ = d;
}

Batch InflightBatcher::normalized(std::int64_t i) const {
  Batch one = src_->load(i);
  if (one.n_systems() != 1)
    throw InvalidArgument("InflightBatcher: input " + std::to_string(i) + " holds " + std::to_string(one.n_systems()) +
                          " systems, expected 1");
  one.add_field("input_index", Level::System, DType::Int64, {}).data<std::int64_t>()[0] = i;
  if (!one.has("system_id")) one.add_standard("system_id").data<std::int64_t>()[0] = i;
  if (!batch_.fields().empty()) {
    std::vector<std::string> extra;
    for (const auto& [name, f] : one.fields())
      if (!batch_.has(name)) extra.push_back(name);
    for (const auto& name : extra) one.erase(name);
    for (const auto& [name, f] : batch_.fields())
      if (!one.has(name))
        one.add_field(name, f.level, f.tensor.dtype(), Shape(f.tensor.shape().begin() + 1, f.tensor.shape().end()));
  }
  return one;
}

std::vector<bool> InflightBatcher::fill() {
  const std::int64_t before = batch_.n_systems();
  while (next_ < src_->size()) {
    const std::int64_t na = src_->n_atoms(next_);
    if (na > max_atoms_)
      throw InvalidArgument("InflightBatcher: input " + std::to_string(next_) + " has " + std::to_string(na) +
                            " atoms, more than the batch's capacity of " + std::to_string(max_atoms_));
    if (batch_.n_systems() + 1 > max_systems_ || batch_.n_atoms() + na > max_atoms_) break;
    Batch one = normalized(next_);
    if (batch_.n_edges() + one.n_edges() > max_edges_) {
      if (batch_.n_systems() == 0)
        throw InvalidArgument("InflightBatcher: input " + std::to_string(next_) + " has more edges than the capacity");
      break;
    }
    if (batch_.fields().empty() && !device_.is_cpu())
      batch_.put(one.to(device_), {true});  // the first input sets the batch's schema and device
    else
      batch_.put(one, {true});
    ++next_;
  }
  std::vector<bool> added(static_cast<std::size_t>(batch_.n_systems()), false);
  for (std::int64_t s = before; s < batch_.n_systems(); ++s) added[static_cast<std::size_t>(s)] = true;
  return added;
}

InflightResult InflightBatcher::run(std::int64_t max_steps) {
  batch_ = Batch();
  batch_.reserve(max_systems_, max_atoms_, max_edges_);
  next_ = 0;
  result_ = {};
  fill();
  batch_.reserve(max_systems_, max_atoms_, max_edges_);  // storage of the adopted fields
  if (batch_.n_systems() > 0) {
    dyn_->prepare(batch_);
    dyn_->start_systems(batch_, std::vector<bool>(static_cast<std::size_t>(batch_.n_systems()), true));
    dyn_->assume_forces_current();

    auto user_cb = dyn_->step_callback();
    auto recycle = [this](std::int64_t) {
      const auto n = static_cast<std::size_t>(batch_.n_systems());
      const auto st = dyn_->host_status(batch_);
      std::vector<bool> done(n);
      std::vector<std::int64_t> keep;
      for (std::size_t s = 0; s < n; ++s) {
        done[s] = st[s] >= dyn_->final_status();
        if (!done[s]) keep.push_back(static_cast<std::int64_t>(s));
      }
      if (keep.size() == n) return;
      sink_->write(batch_, done);
      result_.finished += static_cast<std::int64_t>(n - keep.size());
      Batch kept = batch_.index_select(keep);
      batch_.clear();
      if (!keep.empty()) batch_.put(kept, std::vector<bool>(keep.size(), true));
      auto added = fill();
      bool any = false;
      for (bool a : added) any = any || a;
      if (any) {
        dyn_->model().compute(batch_, dyn_->needs_stress());
        dyn_->start_systems(batch_, added);
      }
    };
    dyn_->set_step_callback([&](std::int64_t done) {
      const bool go_on = !user_cb || user_cb(done);
      recycle(done);
      return go_on;
    });
    try {
      result_.steps = dyn_->run(batch_, max_steps);
    } catch (...) {
      dyn_->set_step_callback(user_cb);
      throw;
    }
    dyn_->set_step_callback(user_cb);
  }
  if (batch_.n_systems() > 0) {
    sink_->write(batch_);
    result_.unfinished = batch_.n_systems();
  }
  result_.not_loaded = src_->size() - next_;
  return result_;
}

}  // namespace batchmd::dynamics
