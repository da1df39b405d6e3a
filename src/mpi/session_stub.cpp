// SPDX-License-Identifier: Apache-2.0
// mpi/session_stub: Session in a build without MPI — always one rank. mpirun starting several
// copies of such a batchmd is refused: each would run the whole job into the same store.
#include <string>

#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/inflight.hpp"
#include "batchmd/hooks/snapshot.hpp"
#include "batchmd/mpi/session.hpp"

namespace batchmd::mpi {

struct Session::Impl {};

bool compiled_in() noexcept { return false; }

Session Session::start() {
  if (const int n = launched_ranks(); n > 1)
    throw InvalidArgument("mpirun started " + std::to_string(n) +
                          " ranks, but this batchmd was built without MPI (configure with -DBATCHMD_MPI=ON and "
                          "libopenmpi-dev installed): every rank would run the whole job. Run it without mpirun, "
                          "or with a batchmd built with MPI (docs/mpi.md)");
  return Session();
}

void Session::set_stop_check(std::function<bool()>) {}

void Session::enable_pipeline(int n_stages) {
  throw InvalidArgument("--mpi-pipeline runs the job's stages on groups of MPI ranks (" + std::to_string(n_stages) +
                        " here), and this batchmd was built without MPI (docs/mpi.md)");
}
std::int64_t Session::run(dynamics::Dynamics& dyn, Batch& batch, std::int64_t steps) { return dyn.run(batch, steps); }
std::int64_t Session::end_step(std::int64_t local) { return local; }

std::shared_ptr<dynamics::Hook> Session::snapshot_hook(std::shared_ptr<sinks::DataSink> sink, SnapshotPlan plan) {
  auto hook = std::make_shared<hooks::SnapshotHook>(std::move(sink), plan.every, plan.final_snapshot);
  count_snapshots_ = [h = hook] { return h->snapshots(); };
  return hook;
}
Batch Session::gather_batch(Batch local) { return local; }
std::shared_ptr<dynamics::WorkQueue> Session::inflight_queue(std::vector<std::int64_t> order, std::int64_t,
                                                             std::shared_ptr<sinks::DataSink>) {
  return std::make_shared<dynamics::ListQueue>(std::move(order));
}
std::shared_ptr<sinks::DataSink> Session::inflight_rows(std::shared_ptr<sinks::DataSink> sink) { return sink; }
void Session::inflight_finish(bool) {}
std::vector<std::int64_t> Session::inflight_handed_out() const { return {}; }
Batch Session::gather_inflight(Batch local, std::vector<double>&) { return local; }
std::shared_ptr<sinks::DataSink> Session::converged_sink(std::shared_ptr<sinks::DataSink> relaxed) { return relaxed; }
std::vector<double> Session::gather_values(const std::vector<double>& local) { return local; }
std::int64_t Session::max(std::int64_t local) { return local; }
int Session::agree_exit_code(int local) { return local; }
int finish(int code) { return code; }
std::string error_prefix() { return {}; }

}  // namespace batchmd::mpi
