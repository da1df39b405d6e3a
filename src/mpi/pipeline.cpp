// SPDX-License-Identifier: Apache-2.0
// mpi/pipeline: the distributed stage pipeline — a rank's loop (step, pass on, take in) and rank
// 0's collection of snapshot rows into whole snapshots.
#include "pipeline.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <numeric>
#include <string>

#include "batchmd/core/error.hpp"
#include "wire.hpp"

namespace batchmd::mpi {

namespace {

enum Kind : std::int64_t { kSystems = 1, kClosed = 2, kRows = 3, kFinal = 4, kDone = 5, kRelaxed = 6 };

Batch host(const Batch& b) { return b.is_cuda() ? b.to(Device::cpu()) : b.clone(); }

std::vector<std::int64_t> host_int64(const Batch& b, std::string_view name) {
  const Tensor t = b.get(name).to(Device::cpu());
  const auto* p = t.data<std::int64_t>();
  return {p, p + b.n_systems()};
}

/// Gives each of a and b the fields only the other has (zero-filled), so they can be joined: a
/// hook may add a field on its first call, which a rank that has not stepped yet lacks.
void align_fields(Batch& a, Batch& b) {
  for (int pass = 0; pass < 2; ++pass) {
    Batch& from = pass == 0 ? a : b;
    Batch& to = pass == 0 ? b : a;
    for (const auto& [name, f] : from.fields())
      if (!to.has(name))
        to.add_field(name, f.level, f.tensor.dtype(), Shape(f.tensor.shape().begin() + 1, f.tensor.shape().end()));
  }
}

/// The systems of `b` in system-id order.
Batch sorted_by_id(const Batch& b) {
  const auto ids = host_int64(b, "system_id");
  std::vector<std::int64_t> order(ids.size());
  std::iota(order.begin(), order.end(), std::int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t x, std::int64_t y) { return ids[x] < ids[y]; });
  return b.index_select(order);
}

/// The systems of every part, in order, each part first given the fields of all (align_fields).
Batch join(const std::vector<Batch*>& parts) {
  std::vector<Batch*> nonempty;
  for (Batch* p : parts)
    if (p->n_systems() > 0) nonempty.push_back(p);
  if (nonempty.empty()) return Batch();
  for (int pass = 0; pass < 2; ++pass)
    for (Batch* p : nonempty) align_fields(*nonempty.front(), *p);
  return Batch::concat(std::vector<const Batch*>(nonempty.begin(), nonempty.end()));
}

/// Records, after each step, the rows of the systems whose own step count reached a snapshot.
class RowsHook : public dynamics::Hook {
 public:
  RowsHook(Pipeline& p, std::int64_t every) : p_(p), every_(every) {}
  std::string name() const override { return "mpi::PipelineRows"; }
  dynamics::Stage stage() const override { return dynamics::Stage::AFTER_STEP; }
  void operator()(dynamics::Context& ctx) override {
    const auto steps = host_int64(ctx.batch, "step");
    std::map<std::int64_t, std::vector<std::int64_t>> by_fire;
    for (std::int64_t s = 0; s < ctx.batch.n_systems(); ++s) {
      const std::int64_t fire = steps[static_cast<std::size_t>(s)] - 1;  // the job's step count before this step
      if (ctx.is_active(s) && fire % every_ == 0) by_fire[fire].push_back(s);
    }
    for (auto& [fire, idx] : by_fire) p_.emit_rows(fire, host(ctx.batch.index_select(idx)));
  }

 private:
  Pipeline& p_;
  std::int64_t every_;
};

}  // namespace

int PipelineLayout::stage_of(int rank) const {
  for (int k = stages - 1; k >= 0; --k)
    if (rank >= first(k)) return k;
  return 0;
}

Pipeline::Pipeline(std::shared_ptr<Comm> comm, PipelineLayout layout, std::int64_t n_systems,
                   std::shared_ptr<sinks::DataSink> sink, SnapshotPlan plan)
    : comm_(std::move(comm)), layout_(layout), n_systems_(n_systems), sink_(std::move(sink)), plan_(plan) {
  stage_ = layout_.stage_of(comm_->rank());
  upstream_open_ = stage_ == 0 ? 0 : layout_.first(stage_) - layout_.first(stage_ - 1);
  atoms_sent_.assign(static_cast<std::size_t>(comm_->size()), 0);
  if (comm_->rank() == 0 && !sink_) throw InvalidArgument("mpi::Pipeline: rank 0 needs the store");
}

std::shared_ptr<dynamics::Hook> Pipeline::rows_hook() { return std::make_shared<RowsHook>(*this, plan_.every); }

void Pipeline::emit_rows(std::int64_t fire, Batch rows) {
  if (comm_->rank() == 0)
    on_rows(kRows, fire, std::move(rows));
  else
    send_rows(kRows, fire, rows);
}

void Pipeline::emit_relaxed(Batch rows) {
  if (comm_->rank() == 0)
    on_rows(kRelaxed, 0, std::move(rows));
  else
    send_rows(kRelaxed, 0, rows);
}

void Pipeline::send_rows(std::int64_t kind, std::int64_t value, const Batch& rows) {
  comm_->send(0, kTagRows, wire::message(kind, value, &rows), 0);
}

void Pipeline::pass_on(dynamics::Dynamics& dyn, Batch& batch, std::int64_t limit) {
  if (batch.n_systems() == 0) return;
  const auto status = dyn.host_status(batch);
  const std::vector<std::int32_t> st(status.begin(), status.end());
  const auto steps = host_int64(batch, "step");
  const auto* ap = batch.atoms_ptr_data();
  const std::int32_t n_stages = dyn.final_status();
  std::vector<std::int64_t> keep, finals;
  std::map<int, std::vector<std::int64_t>> to_rank;  // next stage's rank -> systems
  for (std::int64_t s = 0; s < batch.n_systems(); ++s) {
    const auto i = static_cast<std::size_t>(s);
    if (st[i] >= n_stages || steps[i] >= limit) {
      finals.push_back(s);  // finished, or out of steps: its final state goes to rank 0
    } else if (st[i] != stage_) {
      // The next stage's rank this rank has sent the fewest atoms so far.
      const int k = std::min<int>(st[i], layout_.stages - 1);
      int best = layout_.first(k);
      for (int r = layout_.first(k); r < layout_.first(k + 1); ++r)
        if (atoms_sent_[static_cast<std::size_t>(r)] < atoms_sent_[static_cast<std::size_t>(best)]) best = r;
      atoms_sent_[static_cast<std::size_t>(best)] += ap[s + 1] - ap[s];
      to_rank[best].push_back(s);
    } else {
      keep.push_back(s);
    }
  }
  if (keep.size() == static_cast<std::size_t>(batch.n_systems())) return;
  for (const auto& [r, idx] : to_rank) {
    const Batch moving = host(batch.index_select(idx));
    comm_->send(r, kTagSystems, wire::message(kSystems, 0, &moving), 0);
  }
  if (!finals.empty()) {
    Batch done = host(batch.index_select(finals));
    if (comm_->rank() == 0)
      on_rows(kFinal, 0, std::move(done));
    else
      send_rows(kFinal, 0, done);
  }
  batch = batch.index_select(keep);
  dyn.resync_status(batch);
}

void Pipeline::take_in(dynamics::Dynamics& dyn, Batch& batch, bool wait) {
  bool got = false;
  while (upstream_open_ > 0) {
    int from = -1;
    std::optional<std::vector<std::byte>> bytes;
    if (wait && !got)
      bytes = comm_->recv_any(kTagSystems, from);
    else
      bytes = comm_->try_recv(kTagSystems, from);
    if (!bytes) break;
    wire::Message m = wire::read_message(*bytes, "pipeline", from, kSystems, kRelaxed);
    if (m.kind == kClosed) {
      --upstream_open_;
      continue;
    }
    if (m.kind != kSystems)
      throw FormatError("MPI: rank " + std::to_string(from) + " sent a pipeline message of kind " +
                        std::to_string(m.kind) + " where systems were expected");
    Batch in = batch.is_cuda() ? m.batch.to(batch.device()) : std::move(m.batch);
    if (batch.n_systems() == 0) {
      align_fields(in, batch);
      batch = std::move(in);
    } else {
      align_fields(batch, in);
      batch = Batch::concat(std::vector<const Batch*>{&batch, &in});
    }
    got = true;
  }
  if (got) dyn.resync_status(batch);
}

std::int64_t Pipeline::run(dynamics::Dynamics& dyn, Batch& batch, std::int64_t steps) {
  const std::int64_t limit = dyn.step_count() + steps;
  if (comm_->rank() == 0) next_fire_ = (dyn.step_count() + plan_.every - 1) / plan_.every * plan_.every;
  auto user = dyn.step_callback();
  std::int64_t taken = 0;
  dyn.set_step_callback([&](std::int64_t done) {
    taken = done;
    if (user && !user(done)) stopped_ = true;
    if (comm_->rank() == 0) collect(false);
    if (stopped_) return false;
    pass_on(dyn, batch, limit);
    take_in(dyn, batch, batch.n_systems() == 0);  // an empty rank waits for work (or the end)
    comm_->reap();
    return batch.n_systems() > 0;
  });
  try {
    // Systems a rank starts with that are already past its stage (a restart) move on first.
    pass_on(dyn, batch, limit);
    take_in(dyn, batch, batch.n_systems() == 0);
    if (batch.n_systems() > 0) dyn.run(batch, std::numeric_limits<std::int64_t>::max() / 4);
  } catch (...) {
    dyn.set_step_callback(user);
    throw;
  }
  dyn.set_step_callback(user);
  if (!stopped_) pass_on(dyn, batch, limit);  // the last step's leavers
  // Nothing more comes from this rank: the next group may finish, rank 0 may close the store.
  if (stage_ + 1 < layout_.stages)
    for (int r = layout_.first(stage_ + 1); r < layout_.first(stage_ + 2); ++r)
      comm_->send(r, kTagSystems, wire::message(kClosed, 0, nullptr), 0);
  if (comm_->rank() == 0) {
    if (stopped_) any_stopped_ = true;
    ++done_ranks_;
    finish_collection();
    taken = end_step_ - (limit - steps);  // the job's steps: its last system's
  } else {
    taken = 0;  // a rank's own steps say nothing of the job's (systems arrive at different steps)
    comm_->send(0, kTagRows, wire::message(kDone, stopped_ ? 1 : 0, nullptr), 0);
  }
  comm_->wait_sends();
  return taken;
}

// ---- rank 0: whole snapshots out of rows

void Pipeline::collect(bool wait) {
  while (true) {
    int from = -1;
    std::optional<std::vector<std::byte>> bytes;
    if (wait)
      bytes = comm_->recv_any(kTagRows, from);
    else
      bytes = comm_->try_recv(kTagRows, from);
    if (!bytes) return;
    wire::Message m = wire::read_message(*bytes, "pipeline", from, kSystems, kRelaxed);
    if (m.kind == kDone) {
      ++done_ranks_;
      any_stopped_ = any_stopped_ || m.value != 0;
    } else if (m.kind == kRows || m.kind == kFinal || m.kind == kRelaxed) {
      on_rows(m.kind, m.value, std::move(m.batch));
    } else {
      throw FormatError("MPI: rank " + std::to_string(from) + " sent rank 0 a pipeline message of kind " +
                        std::to_string(m.kind));
    }
    if (wait) return;
  }
}

void Pipeline::on_rows(std::int64_t kind, std::int64_t fire, Batch rows) {
  if (kind == kRelaxed) {
    if (!relaxed_) throw FormatError("MPI: relaxed structures arrived, and no store takes them");
    relaxed_->write(rows);
    return;
  }
  if (kind == kFinal) {
    for (const std::int64_t s : host_int64(rows, "step")) final_steps_.push_back(s);
    finals_.push_back(std::move(rows));
  } else {
    pending_rows_[fire] += rows.n_systems();
    pending_[fire].push_back(std::move(rows));
  }
  write_ready();
}

void Pipeline::write_ready() {
  while (next_fire_ >= 0) {
    const std::int64_t f = next_fire_;
    // Systems that finished before f are recorded by their final rows (not active at f: f >= end).
    std::int64_t ended = 0;
    for (const std::int64_t e : final_steps_) ended += e <= f ? 1 : 0;
    const std::int64_t rows = pending_rows_.count(f) ? pending_rows_[f] : 0;
    if (rows + ended < n_systems_) return;  // rows of f still on their way
    if (rows == 0) {                        // every system had ended before f: no snapshot fires at f
      next_fire_ = -1;
      return;
    }
    std::vector<Batch*> parts;
    for (Batch& b : pending_[f]) parts.push_back(&b);
    std::vector<Batch> replay;
    for (const Batch& fb : finals_) {
      std::vector<std::int64_t> idx;
      const auto st = host_int64(fb, "step");
      for (std::size_t s = 0; s < st.size(); ++s)
        if (st[s] <= f) idx.push_back(static_cast<std::int64_t>(s));
      if (!idx.empty()) replay.push_back(fb.index_select(idx));
    }
    for (Batch& b : replay) parts.push_back(&b);
    sink_->write(sorted_by_id(join(parts)));
    ++snapshots_;
    last_written_ = f + 1;
    pending_.erase(f);
    pending_rows_.erase(f);
    next_fire_ = f + plan_.every;
  }
}

void Pipeline::finish_collection() {
  while (done_ranks_ < comm_->size()) collect(true);
  write_ready();
  std::int64_t finished = 0;
  for (const Batch& b : finals_) finished += b.n_systems();
  for (const std::int64_t e : final_steps_) end_step_ = std::max(end_step_, e);
  if (any_stopped_ || finished != n_systems_) {
    std::fprintf(stderr,
                 "batchmd: the pipeline was stopped with %lld of %lld systems at their end: the store ends with "
                 "the last snapshot that held every system (step %lld)\n",
                 static_cast<long long>(finished), static_cast<long long>(n_systems_),
                 static_cast<long long>(last_written_));
  } else if (plan_.final_snapshot && end_step_ > 0 && last_written_ != end_step_) {
    sink_->write(finals());
    ++snapshots_;
    last_written_ = end_step_;
  }
  sink_->flush();
}

Batch Pipeline::finals() {
  std::vector<Batch*> parts;
  for (Batch& b : finals_) parts.push_back(&b);
  Batch all = join(parts);
  return all.n_systems() > 0 ? sorted_by_id(all) : Batch();
}

}  // namespace batchmd::mpi
