// SPDX-License-Identifier: Apache-2.0
// mpi/comm: polling receives, bounded non-blocking sends, gathers.
#include "comm.hpp"

#include <climits>
#include <string>
#include <thread>

#include "batchmd/core/error.hpp"

namespace batchmd::mpi {

namespace {
void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    throw IOError(std::string("MPI: ") + what + " failed: " + std::string(text, static_cast<std::size_t>(len)));
  }
}
// A wait sleeps between polls so that a rank waiting for a slower one leaves its CPU to the
// others (ranks often share cores); short enough to cost nothing next to a step.
constexpr auto kPoll = std::chrono::microseconds(200);
}  // namespace

Comm::Comm() {
  check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
  // Errors as return codes, so that they become exceptions naming the operation.
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

Comm::~Comm() {
  // Sends still pending belong to a run that failed: the job is being aborted (mpi::finish),
  // and freeing the communicator under them would wait for peers that may be gone.
  if (pending_.empty() && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void Comm::send(int dest, int tag, std::vector<std::byte> bytes, std::size_t in_flight) {
  if (bytes.size() >= static_cast<std::size_t>(INT_MAX))
    throw InvalidArgument("MPI: a message of " + std::to_string(bytes.size()) +
                          " bytes is too large (at most 2 GiB per snapshot part: give the job more ranks or "
                          "snapshot less data per rank)");
  if (in_flight == 0)
    reap();  // no bound
  else
    while (pending_.size() >= in_flight) wait_oldest();
  Pending p{MPI_REQUEST_NULL, std::make_unique<std::vector<std::byte>>(std::move(bytes))};
  check(MPI_Isend(p.bytes->data(), static_cast<int>(p.bytes->size()), MPI_BYTE, dest, tag, comm_, &p.request),
        "MPI_Isend");
  pending_.push_back(std::move(p));
}

void Comm::wait_oldest() {
  Pending& p = pending_.front();
  int done = 0;
  while (true) {
    check(MPI_Test(&p.request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) break;
    std::this_thread::sleep_for(kPoll);
  }
  pending_.pop_front();
}

void Comm::reap() {
  while (!pending_.empty()) {
    int done = 0;
    check(MPI_Test(&pending_.front().request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (!done) return;
    pending_.pop_front();
  }
}

std::optional<std::vector<std::byte>> Comm::try_recv(int tag, int& source) {
  MPI_Status st;
  int flag = 0;
  check(MPI_Iprobe(MPI_ANY_SOURCE, tag, comm_, &flag, &st), "MPI_Iprobe");
  if (!flag) return std::nullopt;
  source = st.MPI_SOURCE;
  return recv(source, tag);
}

std::vector<std::byte> Comm::recv_any(int tag, int& source) {
  MPI_Status st;
  int flag = 0;
  std::chrono::steady_clock::time_point stop_seen{};
  bool stopping = false;
  while (true) {
    check(MPI_Iprobe(MPI_ANY_SOURCE, tag, comm_, &flag, &st), "MPI_Iprobe");
    if (flag) break;
    reap();
    if (stop_check_ && stop_check_()) {
      const auto now = std::chrono::steady_clock::now();
      if (!stopping) {
        stopping = true;
        stop_seen = now;
      } else if (now - stop_seen > kStopGrace) {
        throw IOError("stopped while waiting for the other ranks, which sent nothing for " +
                      std::to_string(kStopGrace.count()) + " s after the stop signal");
      }
    }
    std::this_thread::sleep_for(kPoll);
  }
  source = st.MPI_SOURCE;
  return recv(source, tag);
}

void Comm::wait_sends() {
  while (!pending_.empty()) wait_oldest();
}

std::vector<std::byte> Comm::recv(int source, int tag) {
  MPI_Status st;
  int flag = 0;
  std::chrono::steady_clock::time_point stop_seen{};
  bool stopping = false;
  while (true) {
    check(MPI_Iprobe(source, tag, comm_, &flag, &st), "MPI_Iprobe");
    if (flag) break;
    if (stop_check_ && stop_check_()) {
      const auto now = std::chrono::steady_clock::now();
      if (!stopping) {
        stopping = true;
        stop_seen = now;
      } else if (now - stop_seen > kStopGrace) {
        throw IOError("stopped while waiting for rank " + std::to_string(source) + ", which sent nothing for " +
                      std::to_string(kStopGrace.count()) + " s after the stop signal (did it die?)");
      }
    }
    std::this_thread::sleep_for(kPoll);
  }
  int count = 0;
  MPI_Get_count(&st, MPI_BYTE, &count);
  std::vector<std::byte> bytes(static_cast<std::size_t>(count));
  check(MPI_Recv(bytes.data(), count, MPI_BYTE, source, tag, comm_, MPI_STATUS_IGNORE), "MPI_Recv");
  return bytes;
}

std::vector<std::vector<std::byte>> Comm::gather(std::vector<std::byte> local, int tag) {
  std::vector<std::vector<std::byte>> all;
  if (rank_ != 0) {
    send(0, tag, std::move(local));
    wait_sends();
    return all;
  }
  all.push_back(std::move(local));
  for (int r = 1; r < size_; ++r) all.push_back(recv(r, tag));
  return all;
}

std::int64_t Comm::max(std::int64_t v) {
  std::int64_t out = v;
  check(MPI_Allreduce(&v, &out, 1, MPI_INT64_T, MPI_MAX, comm_), "MPI_Allreduce");
  return out;
}

std::vector<int> Comm::all_gather(int v) {
  std::vector<int> out(static_cast<std::size_t>(size_));
  check(MPI_Allgather(&v, 1, MPI_INT, out.data(), 1, MPI_INT, comm_), "MPI_Allgather");
  return out;
}

}  // namespace batchmd::mpi
