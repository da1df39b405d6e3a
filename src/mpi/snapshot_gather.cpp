// SPDX-License-Identifier: Apache-2.0
// mpi/snapshot_gather: SnapshotSender (ranks > 0) and SnapshotCollector (rank 0).
#include "snapshot_gather.hpp"

#include <cstdio>
#include <string>

#include "batchmd/core/error.hpp"
#include "wire.hpp"

namespace batchmd::mpi {

namespace {

// A rank's last message says whether all its systems converged in its kind (kDone or
// kDoneConverged), so every message of the stream is a wire::message(kind, step, batch).
enum Kind : std::int64_t { kPart = 1, kDone = 2, kRelaxed = 3, kDoneConverged = 4 };

struct Message {
  std::int64_t kind = 0, step = 0;
  bool converged = false;
  Batch batch;
};

std::vector<std::byte> encode(std::int64_t kind, std::int64_t step, bool converged, const Batch& b) {
  return wire::message(kind == kDone && converged ? kDoneConverged : kind, step, &b);
}

Message decode(const std::vector<std::byte>& bytes, int from) {
  wire::Message w = wire::read_message(bytes, "snapshot", from, kPart, kDoneConverged);
  if (!w.has_batch)
    throw FormatError("MPI: a snapshot message from rank " + std::to_string(from) + " carries no batch");
  const bool converged = w.kind == kDoneConverged;
  return {converged ? kDone : w.kind, w.value, converged, std::move(w.batch)};
}

Batch host_copy(const Batch& b) { return b.is_cuda() ? b.to(Device::cpu()) : b.clone(); }

}  // namespace

std::vector<std::byte> relaxed_message(const Batch& rows) { return encode(kRelaxed, 0, false, rows); }

bool all_finished(dynamics::Context& ctx) {
  if (!ctx.dynamics.tracks_status() || !ctx.batch.has("status")) return false;
  const auto st = ctx.dynamics.host_status(ctx.batch);
  for (const std::int32_t s : st)
    if (s < ctx.dynamics.final_status()) return false;
  return true;
}

void SnapshotSender::operator()(dynamics::Context& ctx) {
  comm_->send(0, kTagSnapshot, encode(kPart, ctx.step, false, ctx.batch));
}

void SnapshotSender::close(dynamics::Context& ctx) {
  if (ctx.failed) return;  // the error ends the job (mpi::finish aborts it); rank 0 is told by MPI
  comm_->send(0, kTagSnapshot, encode(kDone, ctx.step, all_finished(ctx), ctx.batch));
  comm_->wait_sends();
}

SnapshotCollector::SnapshotCollector(std::shared_ptr<Comm> comm, std::shared_ptr<sinks::DataSink> sink,
                                     SnapshotPlan plan)
    : comm_(std::move(comm)), sink_(std::move(sink)), plan_(plan) {
  if (!sink_) throw InvalidArgument("mpi::SnapshotCollector needs a sink");
  peers_.resize(static_cast<std::size_t>(comm_->size()));
}

std::optional<Batch> SnapshotCollector::receive(int r, std::int64_t f) {
  Message m = decode(comm_->recv(r, kTagSnapshot), r);
  while (m.kind == kRelaxed) {  // converged structures sent since r's last part
    if (!relaxed_)
      throw FormatError("MPI: rank " + std::to_string(r) + " sent relaxed structures, and no store takes them");
    relaxed_->write(m.batch);
    m = decode(comm_->recv(r, kTagSnapshot), r);
  }
  Peer& p = peers_[static_cast<std::size_t>(r)];
  if (m.kind == kPart) {
    if (m.step != f)
      throw FormatError("MPI: rank " + std::to_string(r) + " sent its snapshot of step " + std::to_string(m.step) +
                        " where rank 0 expected step " + std::to_string(f) +
                        " (ranks disagree on the snapshot schedule)");
    return std::move(m.batch);
  }
  p.done = true;
  p.end_step = m.step;
  p.converged = m.converged;
  p.final_rows = std::move(m.batch);
  return std::nullopt;
}

const Batch* SnapshotCollector::part_of(int r, std::int64_t f, Batch& received) {
  Peer& p = peers_[static_cast<std::size_t>(r)];
  if (!p.done) {
    if (auto part = receive(r, f)) {
      received = std::move(*part);
      return &received;
    }
  }
  // r's run ended after p.end_step steps, before this snapshot fired (f >= end_step): its
  // systems are as they ended, which a single-process run records only if they had finished.
  return p.converged ? &*p.final_rows : nullptr;
}

void SnapshotCollector::write(std::vector<const Batch*> parts, std::int64_t next_step) {
  const Batch all = Batch::concat(parts);
  sink_->write(all);
  ++snapshots_;
  last_written_ = next_step;
}

void SnapshotCollector::operator()(dynamics::Context& ctx) {
  const Batch own = host_copy(ctx.batch);
  std::vector<Batch> received(peers_.size());
  std::vector<const Batch*> parts{&own};
  for (int r = 1; r < comm_->size(); ++r) {
    const Batch* p = part_of(r, ctx.step, received[static_cast<std::size_t>(r)]);
    if (!p) incomplete_ = true;
    parts.push_back(p);
  }
  if (!incomplete_) write(parts, ctx.step + 1);
}

void SnapshotCollector::close(dynamics::Context& ctx) {
  if (ctx.failed) return;  // the error propagates; mpi::finish aborts the job
  Peer& self = peers_[0];
  self.done = true;
  self.end_step = ctx.step;
  self.converged = all_finished(ctx);
  self.final_rows = host_copy(ctx.batch);
  const std::int64_t every = plan_.every;
  // The snapshots that fire after rank 0's run ended, while another rank still runs.
  std::int64_t f = (ctx.step + every - 1) / every * every;
  while (true) {
    bool running = false;
    for (int r = 1; r < comm_->size(); ++r) running = running || !peers_[static_cast<std::size_t>(r)].done;
    if (!running) break;
    std::vector<Batch> received(peers_.size());
    std::vector<const Batch*> parts{self.converged ? &*self.final_rows : nullptr};
    bool any_part = false;
    for (int r = 1; r < comm_->size(); ++r) {
      Peer& p = peers_[static_cast<std::size_t>(r)];
      const bool was_running = !p.done;
      parts.push_back(part_of(r, f, received[static_cast<std::size_t>(r)]));
      any_part = any_part || (was_running && !p.done);
    }
    if (!any_part) break;  // every rank has ended before f: no snapshot fires at f
    bool whole = true;
    for (const Batch* p : parts) whole = whole && p != nullptr;
    if (!whole) incomplete_ = true;
    if (!incomplete_) write(parts, f + 1);
    f += every;
  }
  // The end of the job: T = the last rank's end. A rank that ended earlier must have converged
  // for the state at T to be whole (as above).
  std::int64_t end = 0;
  for (const Peer& p : peers_) end = std::max(end, p.end_step);
  bool whole = true;
  std::vector<const Batch*> parts;
  for (const Peer& p : peers_) {
    whole = whole && (p.end_step == end || p.converged);
    parts.push_back(&*p.final_rows);
  }
  if (!whole) incomplete_ = true;
  if (incomplete_) {
    std::int64_t lo = end;
    for (const Peer& p : peers_) lo = std::min(lo, p.end_step);
    std::fprintf(stderr,
                 "batchmd: the ranks stopped at different steps (%lld to %lld): the store ends with the last "
                 "snapshot every rank reached (step %lld)\n",
                 static_cast<long long>(lo), static_cast<long long>(end), static_cast<long long>(last_written_));
  } else if (plan_.final_snapshot && end > 0 && last_written_ != end) {
    write(parts, end);
  }
  sink_->flush();
}

}  // namespace batchmd::mpi
