// SPDX-License-Identifier: Apache-2.0
// dynamics/inflight: inflight batching — a fixed-capacity batch whose finished systems are
// written to a sink and replaced by new input structures until the input is exhausted.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/sinks/data_sink.hpp"

namespace batchmd::sinks {
class TrajectoryReader;
}

namespace batchmd::dynamics {

/// Where inflight batching takes its input structures from.
class StructureSource {
 public:
  virtual ~StructureSource() = default;
  virtual std::int64_t size() const = 0;
  virtual std::int64_t n_atoms(std::int64_t i) const = 0;
  /// Structure i as a one-system batch.
  virtual Batch load(std::int64_t i) const = 0;
};

/// Structures held in memory.
class VectorSource : public StructureSource {
 public:
  explicit VectorSource(std::vector<AtomicData> systems);
  std::int64_t size() const override { return static_cast<std::int64_t>(systems_.size()); }
  std::int64_t n_atoms(std::int64_t i) const override;
  Batch load(std::int64_t i) const override;

 private:
  std::vector<AtomicData> systems_;
};

/// The samples of a trajectory store (sinks::TrajectoryReader URL), or a chosen subset of them.
class TrajectorySource : public StructureSource {
 public:
  explicit TrajectorySource(const std::string& url, std::vector<std::int64_t> samples = {});
  ~TrajectorySource() override;
  std::int64_t size() const override { return static_cast<std::int64_t>(samples_.size()); }
  std::int64_t n_atoms(std::int64_t i) const override;
  Batch load(std::int64_t i) const override;

 private:
  std::unique_ptr<sinks::TrajectoryReader> reader_;
  std::vector<std::int64_t> samples_;
  std::vector<std::int64_t> counts_;
};

struct InflightResult {
  std::int64_t steps = 0;       ///< steps taken
  std::int64_t finished = 0;    ///< systems written with status == final_status()
  std::int64_t unfinished = 0;  ///< systems still running when max_steps ran out (also written)
  std::int64_t not_loaded = 0;  ///< inputs never loaded (max_steps ran out first)
};

/// Runs `dynamics` (a plain Dynamics with a convergence criterion, or a FusedStage) over every
/// structure of `source` with a batch of fixed capacity (max_systems systems, max_atoms atoms,
/// max_edges edges). Inputs are loaded in order (first in, first out: when the next structure
/// does not fit, the batch waits for more room). After every step, systems whose status reached
/// dynamics.final_status() are written to `sink` (all in one write) and removed, and new inputs
/// are put into the freed room; the new systems are started in the dynamics (status 0, state
/// reset, forces computed). Each system carries the system-level int64 field "input_index"
/// (its index in the source); a source without "system_id" gets system_id = input_index.
/// When run() ends by max_steps, the systems still in the batch are written with their status
/// (< final_status()). Hence every input structure that was loaded comes out exactly once.
class InflightBatcher {
 public:
  InflightBatcher(std::shared_ptr<Dynamics> dynamics, std::shared_ptr<StructureSource> source,
                  std::shared_ptr<sinks::DataSink> sink, std::int64_t max_systems, std::int64_t max_atoms,
                  std::int64_t max_edges = 0);
  InflightResult run(std::int64_t max_steps);
  /// Runs the batch on device d (default: the CPU). Inputs are loaded on the host and copied in;
  /// the sink receives batches on d. Throws InvalidArgument when d is not usable.
  void set_device(const Device& d);
  const Device& device() const { return device_; }
  const Batch& batch() const { return batch_; }
  /// Inputs loaded so far.
  std::int64_t loaded() const { return next_; }

 private:
  /// Loads inputs while they fit; returns the mask of the systems it added.
  std::vector<bool> fill();
  Batch normalized(std::int64_t i) const;
  std::shared_ptr<Dynamics> dyn_;
  std::shared_ptr<StructureSource> src_;
  std::shared_ptr<sinks::DataSink> sink_;
  std::int64_t max_systems_, max_atoms_, max_edges_;
  Device device_;
  Batch batch_;
  std::int64_t next_ = 0;
  InflightResult result_;
};

}  // namespace batchmd::dynamics
