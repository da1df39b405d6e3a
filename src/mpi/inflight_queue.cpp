// SPDX-License-Identifier: Apache-2.0
// mpi/inflight_queue: InflightQueue — rank 0's work queue and row writer for inflight batching.
#include "inflight_queue.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "batchmd/core/error.hpp"
#include "forwarding_sink.hpp"
#include "wire.hpp"

namespace batchmd::mpi {

namespace {

enum Kind : std::int64_t { kAsk = 1, kRows = 2, kRelaxed = 3, kDone = 4 };

}  // namespace

InflightQueue::InflightQueue(std::shared_ptr<Comm> comm, std::vector<std::int64_t> order, std::int64_t slots,
                             std::shared_ptr<sinks::DataSink> sink)
    : comm_(std::move(comm)), order_(std::move(order)), sink_(std::move(sink)) {
  if (comm_->rank() == 0 && !sink_) throw InvalidArgument("mpi::InflightQueue: rank 0 needs the store");
  const auto ranks = static_cast<std::size_t>(comm_->size());
  handed_.assign(ranks, 0);
  // First shares: the systems dealt evenly (the first N mod ranks get one more), at most `slots`
  // each, in rank order; the rest of the list is shared.
  first_.assign(ranks, 0);
  first_end_.assign(ranks, 0);
  const std::size_t cap = static_cast<std::size_t>(std::max<std::int64_t>(slots, 0));
  for (std::size_t r = 0; r < ranks; ++r) {
    const std::size_t even = order_.size() / ranks + (r < order_.size() % ranks ? 1 : 0);
    first_[r] = next_;
    next_ += std::min(even, cap);
    first_end_[r] = next_;
  }
}

std::vector<std::int64_t> InflightQueue::next(std::int64_t n, int to) {
  std::vector<std::int64_t> out;
  const auto r = static_cast<std::size_t>(to);
  while (!closed_ && n > 0 && first_[r] < first_end_[r]) out.push_back(order_[first_[r]++]), --n;
  while (!closed_ && n-- > 0 && next_ < order_.size()) out.push_back(order_[next_++]);
  handed_[r] += static_cast<std::int64_t>(out.size());
  return out;
}

std::vector<std::int64_t> InflightQueue::take(std::int64_t n) {
  if (comm_->rank() == 0) return next(n, 0);
  comm_->send(0, kTagInflight, wire::message(kAsk, n, nullptr));
  const auto bytes = comm_->recv(0, kTagWork);
  if (bytes.size() % sizeof(std::int64_t) != 0 ||
      bytes.size() / sizeof(std::int64_t) > static_cast<std::size_t>(std::max<std::int64_t>(n, 0)))
    throw FormatError("MPI: rank 0 answered a request for " + std::to_string(n) + " systems with " +
                      std::to_string(bytes.size()) + " bytes");
  std::vector<std::int64_t> ids(bytes.size() / sizeof(std::int64_t));
  if (!ids.empty()) std::memcpy(ids.data(), bytes.data(), bytes.size());
  return ids;
}

void InflightQueue::handle(const std::vector<std::byte>& bytes, int from) {
  const wire::Message m = wire::read_message(bytes, "inflight", from, kAsk, kDone);
  switch (m.kind) {
    case kAsk: {
      const auto ids = next(m.value, from);
      std::vector<std::byte> out(ids.size() * sizeof(std::int64_t));
      if (!ids.empty()) std::memcpy(out.data(), ids.data(), out.size());
      comm_->send(from, kTagWork, std::move(out));
      return;
    }
    case kRows:
    case kRelaxed: {
      if (!m.has_batch) throw FormatError("MPI: rank " + std::to_string(from) + " sent inflight rows without a batch");
      if (m.kind == kRows) {
        sink_->write(m.batch);
      } else {
        if (!relaxed_)
          throw FormatError("MPI: rank " + std::to_string(from) + " sent relaxed structures, and no store takes them");
        relaxed_->write(m.batch);
      }
      return;
    }
    case kDone:
      ++done_;
      return;
    default:  // read_message refuses other kinds
      return;
  }
}

void InflightQueue::poll() {
  if (comm_->rank() != 0) {
    comm_->reap();
    return;
  }
  int from = -1;
  while (auto bytes = comm_->try_recv(kTagInflight, from)) handle(*bytes, from);
  comm_->reap();
}

void InflightQueue::send_rows(std::int64_t kind, const Batch& rows) {
  comm_->send(0, kTagInflight, wire::message(kind, 0, &rows));
}

std::shared_ptr<sinks::DataSink> InflightQueue::rows_sink() {
  if (comm_->rank() == 0) return sink_;
  return std::make_shared<ForwardingSink>([this](Batch b) { send_rows(kRows, b); }, "rows");
}

std::shared_ptr<sinks::DataSink> InflightQueue::relaxed_sink(std::shared_ptr<sinks::DataSink> relaxed) {
  if (comm_->rank() == 0) {
    if (!relaxed) throw InvalidArgument("rank 0 needs the relaxed-structure store");
    relaxed_ = std::move(relaxed);
    return relaxed_;
  }
  return std::make_shared<ForwardingSink>([this](Batch b) { send_rows(kRelaxed, b); }, "relaxed structures");
}

void InflightQueue::finish(bool stopped) {
  closed_ = closed_ || stopped;
  if (comm_->rank() != 0) {
    comm_->send(0, kTagInflight, wire::message(kDone, 0, nullptr));
    comm_->wait_sends();
    return;
  }
  while (done_ < comm_->size() - 1) {
    int from = -1;
    const auto bytes = comm_->recv_any(kTagInflight, from);
    handle(bytes, from);
  }
  comm_->wait_sends();
  sink_->flush();
  if (relaxed_) relaxed_->flush();
}

}  // namespace batchmd::mpi
