// SPDX-License-Identifier: Apache-2.0
// mpi/forwarding_sink (internal): the DataSink of a rank other than 0 that hands each write's
// selected rows (on the host) to a send function, which carries them to rank 0 through the rank's
// message stream — the relaxed-structure store of data-parallel and pipeline runs, and the rows
// and relaxed structures of inflight runs. Rank 0 holds the store, so read() and zero() refuse.
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "batchmd/core/error.hpp"
#include "batchmd/sinks/data_sink.hpp"

namespace batchmd::mpi {

class ForwardingSink : public sinks::DataSink {
 public:
  /// what: the rows it forwards, for its name in messages ("relaxed structures", "rows").
  ForwardingSink(std::function<void(Batch)> send, std::string what) : send_(std::move(send)), what_(std::move(what)) {}
  std::string name() const override { return "mpi::ForwardingSink(" + what_ + " to rank 0)"; }
  using DataSink::write;
  void write(const Batch& batch, const std::vector<bool>& mask) override {
    const auto idx = selected(batch, mask, name());
    if (idx.empty()) return;
    Batch rows = batch.index_select(idx);
    send_(rows.is_cuda() ? rows.to(Device::cpu()) : std::move(rows));
    size_ += static_cast<std::int64_t>(idx.size());
  }
  Batch read() override { throw InvalidArgument(name() + ": the samples are in rank 0's store"); }
  void zero() override { throw InvalidArgument(name() + ": the samples are in rank 0's store"); }
  std::int64_t size() const override { return size_; }
  std::int64_t capacity() const override { return std::numeric_limits<std::int64_t>::max(); }

 private:
  std::function<void(Batch)> send_;
  std::string what_;
  std::int64_t size_ = 0;
};

}  // namespace batchmd::mpi
