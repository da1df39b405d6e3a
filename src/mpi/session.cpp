// SPDX-License-Identifier: Apache-2.0
// mpi/session: Session in a build with MPI — joining the mpirun launch, the snapshot hooks of a
// distributed run, the gathers of its summary, and the end of the process (finish).
#include "batchmd/mpi/session.hpp"

#include <mpi.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "batchmd/core/error.hpp"
#include "batchmd/hooks/snapshot.hpp"
#include "comm.hpp"
#include "forwarding_sink.hpp"
#include "inflight_queue.hpp"
#include "pipeline.hpp"
#include "snapshot_gather.hpp"
#include "wire.hpp"

namespace batchmd::mpi {

namespace {
bool g_started = false;  // this process called MPI_Init
int g_size = 1;
std::string g_prefix;
}  // namespace

struct Session::Impl {
  std::shared_ptr<Comm> comm;
  std::shared_ptr<Pipeline> pipeline;            // --mpi-pipeline
  std::shared_ptr<SnapshotCollector> collector;  // rank 0 of a data-parallel run
  std::shared_ptr<InflightQueue> inflight;       // [run] inflight_slots
};

namespace {}  // namespace

bool compiled_in() noexcept { return true; }

Session Session::start() {
  Session s;
  if (launched_ranks() <= 1) return s;  // `mpirun -np 1` and no mpirun: a plain single process
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    // Only the thread that runs the step loop calls MPI (OpenMP workers and sink workers never do).
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw IOError("MPI_Init_thread failed (launched by mpirun with " + std::to_string(launched_ranks()) + " ranks)");
    g_started = true;
  }
  s.impl_ = std::make_shared<Impl>();
  s.impl_->comm = std::make_shared<Comm>();
  s.rank_ = s.impl_->comm->rank();
  s.size_ = s.impl_->comm->size();
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, s.rank_, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &s.local_rank_);
  MPI_Comm_size(local, &s.local_size_);
  MPI_Comm_free(&local);
  g_size = s.size_;
  g_prefix = s.distributed() ? s.label() + ": " : std::string();
  return s;
}

void Session::set_stop_check(std::function<bool()> stop_requested) {
  if (impl_) impl_->comm->set_stop_check(std::move(stop_requested));
}

std::shared_ptr<dynamics::Hook> Session::snapshot_hook(std::shared_ptr<sinks::DataSink> sink, SnapshotPlan plan) {
  if (!distributed()) {
    auto hook = std::make_shared<hooks::SnapshotHook>(std::move(sink), plan.every, plan.final_snapshot);
    count_snapshots_ = [h = hook] { return h->snapshots(); };
    return hook;
  }
  if (plan.every < 1) throw InvalidArgument("snapshot frequency must be >= 1, got " + std::to_string(plan.every));
  if (pipeline()) {
    impl_->pipeline = std::make_shared<Pipeline>(impl_->comm, PipelineLayout{size_, pipeline_stages_}, n_systems_,
                                                 std::move(sink), plan);
    count_snapshots_ = [p = impl_->pipeline] { return p->snapshots(); };
    return impl_->pipeline->rows_hook();
  }
  if (!is_root()) return std::make_shared<SnapshotSender>(impl_->comm, plan);
  auto hook = std::make_shared<SnapshotCollector>(impl_->comm, std::move(sink), plan);
  count_snapshots_ = [h = hook] { return h->snapshots(); };
  impl_->collector = hook;
  return hook;
}

std::shared_ptr<sinks::DataSink> Session::converged_sink(std::shared_ptr<sinks::DataSink> relaxed) {
  if (!distributed()) return relaxed;
  if (impl_->inflight) return impl_->inflight->relaxed_sink(std::move(relaxed));
  if (is_root()) {
    if (!relaxed) throw InvalidArgument("rank 0 needs the relaxed-structure store");
    if (impl_->pipeline) impl_->pipeline->set_relaxed(relaxed);
    if (impl_->collector) impl_->collector->set_relaxed(relaxed);
    return relaxed;
  }
  if (impl_->pipeline)
    return std::make_shared<ForwardingSink>([p = impl_->pipeline](Batch b) { p->emit_relaxed(std::move(b)); },
                                            "relaxed structures");
  return std::make_shared<ForwardingSink>([c = impl_->comm](Batch b) { c->send(0, kTagSnapshot, relaxed_message(b)); },
                                          "relaxed structures");
}

std::shared_ptr<dynamics::WorkQueue> Session::inflight_queue(std::vector<std::int64_t> order, std::int64_t slots,
                                                             std::shared_ptr<sinks::DataSink> sink) {
  if (!distributed()) return std::make_shared<dynamics::ListQueue>(std::move(order));
  impl_->inflight =
      std::make_shared<InflightQueue>(impl_->comm, std::move(order), slots, is_root() ? std::move(sink) : nullptr);
  return impl_->inflight;
}

std::shared_ptr<sinks::DataSink> Session::inflight_rows(std::shared_ptr<sinks::DataSink> sink) {
  if (!distributed()) return sink;
  if (!impl_->inflight) throw InvalidArgument("Session::inflight_rows before inflight_queue");
  return impl_->inflight->rows_sink();
}

void Session::inflight_finish(bool stopped) {
  if (distributed() && impl_->inflight) impl_->inflight->finish(stopped);
}

std::vector<std::int64_t> Session::inflight_handed_out() const {
  if (!distributed() || !is_root() || !impl_->inflight) return {};
  return impl_->inflight->handed_out();
}

Batch Session::gather_inflight(Batch local, std::vector<double>& e0) {
  if (!distributed()) return local;
  std::vector<std::byte> bytes;
  if (local.n_systems() > 0) wire::pack(local, bytes);  // a rank that ran no system sends nothing
  auto all = impl_->comm->gather(std::move(bytes), kTagGather);
  e0 = gather_values(e0);
  if (!is_root()) return local;
  std::vector<Batch> parts;
  for (const auto& b : all)
    if (!b.empty()) parts.push_back(wire::unpack(b));
  if (parts.empty()) return Batch();
  for (Batch& p : parts)  // a rank's rows may lack a field another rank's hooks added
    for (Batch& q : parts)
      for (const auto& [name, f] : p.fields())
        if (!q.has(name))
          q.add_field(name, f.level, f.tensor.dtype(), Shape(f.tensor.shape().begin() + 1, f.tensor.shape().end()));
  std::vector<const Batch*> ptrs;
  for (const auto& p : parts) ptrs.push_back(&p);
  Batch joined = Batch::concat(ptrs);
  const auto* ids = joined.get("system_id").data<std::int64_t>();
  std::vector<std::int64_t> order(static_cast<std::size_t>(joined.n_systems()));
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = static_cast<std::int64_t>(k);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return ids[a] < ids[b]; });
  std::vector<double> e0_sorted;
  for (const std::int64_t k : order) e0_sorted.push_back(e0.at(static_cast<std::size_t>(k)));
  e0 = std::move(e0_sorted);
  return joined.index_select(order);
}

void Session::enable_pipeline(int n_stages) {
  if (!distributed())
    throw InvalidArgument(
        "--mpi-pipeline runs the job's stages on groups of MPI ranks: start batchmd with mpirun and "
        "at least one rank per stage (" +
        std::to_string(n_stages) + " here)");
  if (n_stages < 2)
    throw InvalidArgument(
        "--mpi-pipeline: the job has one stage, so there is nothing to pipeline; run it without "
        "--mpi-pipeline (its systems are then shared between the ranks)");
  if (size_ < n_stages)
    throw InvalidArgument("--mpi-pipeline: the job's " + std::to_string(n_stages) + " stages need at least " +
                          std::to_string(n_stages) + " MPI ranks (one group per stage), got " + std::to_string(size_));
  pipeline_stages_ = n_stages;
}

std::int64_t Session::run(dynamics::Dynamics& dyn, Batch& batch, std::int64_t steps) {
  if (!impl_ || !impl_->pipeline) return dyn.run(batch, steps);
  return impl_->pipeline->run(dyn, batch, steps);
}

std::int64_t Session::end_step(std::int64_t local) {
  if (!distributed()) return local;
  if (impl_->pipeline) return is_root() ? impl_->pipeline->end_step() : local;
  return impl_->comm->max(local);
}

Batch Session::gather_batch(Batch local) {
  if (!distributed()) return local;
  if (impl_->pipeline) return is_root() ? impl_->pipeline->finals() : std::move(local);
  std::vector<std::byte> bytes;
  wire::pack(local, bytes);
  auto all = impl_->comm->gather(std::move(bytes), kTagGather);
  if (!is_root()) return local;
  std::vector<Batch> parts;
  for (const auto& b : all) parts.push_back(wire::unpack(b));
  std::vector<const Batch*> ptrs;
  for (const auto& p : parts) ptrs.push_back(&p);
  return Batch::concat(ptrs);
}

std::vector<double> Session::gather_values(const std::vector<double>& local) {
  if (!distributed()) return local;
  std::vector<std::byte> bytes(local.size() * sizeof(double));
  if (!local.empty()) std::memcpy(bytes.data(), local.data(), bytes.size());
  auto all = impl_->comm->gather(std::move(bytes), kTagGather);
  if (!is_root()) return local;
  std::vector<double> out;
  for (const auto& b : all) {
    const std::size_t n = b.size() / sizeof(double);
    const std::size_t at = out.size();
    out.resize(at + n);
    if (n) std::memcpy(out.data() + at, b.data(), n * sizeof(double));
  }
  return out;
}

std::int64_t Session::max(std::int64_t local) { return distributed() ? impl_->comm->max(local) : local; }

int Session::agree_exit_code(int local) {
  if (!distributed()) return local;
  for (const int c : impl_->comm->all_gather(local))
    if (c != 0) return c;
  return 0;
}

int finish(int code) {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!g_started || finalized) return code;
  std::fflush(stdout);
  std::fflush(stderr);
  if (code != 0 && code != 130 && code != 143 && g_size > 1)
    MPI_Abort(MPI_COMM_WORLD, code);  // no peer may wait for this rank forever
  MPI_Finalize();
  return code;
}

std::string error_prefix() { return g_prefix; }

}  // namespace batchmd::mpi
