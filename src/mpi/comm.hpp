// SPDX-License-Identifier: Apache-2.0
// mpi/comm: the few MPI operations batchmd uses, over its own duplicate of MPI_COMM_WORLD — byte
// messages sent without blocking (with a bound on those in flight: back-pressure), received by
// polling (so a rank waiting for a peer still notices a stop signal and a peer that died), and
// the gathers the run's summary needs. Only the MPI build compiles this (src/mpi/CMakeLists.txt).
#pragma once
#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace batchmd::mpi {

class Comm {
 public:
  /// Duplicates MPI_COMM_WORLD (MPI must be initialised).
  Comm();
  ~Comm();
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  /// Called while a receive waits; returning true means the process was asked to stop (a
  /// signal): a wait that sees it for longer than kStopGrace gives up with an Error naming the
  /// rank it waited for (a peer that died never answers).
  void set_stop_check(std::function<bool()> f) { stop_check_ = std::move(f); }
  static constexpr std::chrono::seconds kStopGrace{5};

  /// Sends `bytes` to `dest` without waiting for it to be received; keeps at most `in_flight`
  /// sends pending (waits for the oldest beyond that). Throws InvalidArgument for a message of
  /// 2 GiB or more (MPI counts are int).
  void send(int dest, int tag, std::vector<std::byte> bytes, std::size_t in_flight = 8);
  /// Waits until every send has been received.
  void wait_sends();
  /// Forgets the sends that have completed, without waiting (for senders that keep no bound:
  /// the stage pipeline, where two ranks may send to each other at the same time).
  void reap();
  /// A message with `tag` from any rank, if one has arrived (source set); does not wait.
  std::optional<std::vector<std::byte>> try_recv(int tag, int& source);
  /// The next message with `tag` from any rank (source set); waits as recv() does.
  std::vector<std::byte> recv_any(int tag, int& source);
  /// The next message from `source` with `tag` (messages of one source and tag arrive in the
  /// order they were sent).
  std::vector<std::byte> recv(int source, int tag);

  /// Rank 0 gets every rank's bytes in rank order (its own first); the others an empty vector.
  std::vector<std::vector<std::byte>> gather(std::vector<std::byte> local, int tag);
  std::int64_t max(std::int64_t v);
  std::vector<int> all_gather(int v);

 private:
  struct Pending {
    MPI_Request request;
    std::unique_ptr<std::vector<std::byte>> bytes;  // stays put until the send completes
  };
  void wait_oldest();
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  std::deque<Pending> pending_;
  std::function<bool()> stop_check_;
};

/// Message tags.
inline constexpr int kTagSnapshot = 11;  ///< snapshot parts and the end of a rank's run
inline constexpr int kTagGather = 12;    ///< gather_batch / gather_values
inline constexpr int kTagSystems = 13;   ///< stage pipeline: systems moving to the next stage
inline constexpr int kTagRows = 14;      ///< stage pipeline: snapshot rows and final systems to rank 0
inline constexpr int kTagInflight = 15;  ///< inflight batching: asks, rows, done (to rank 0)
inline constexpr int kTagWork = 16;      ///< inflight batching: rank 0's answer to an ask (system indices)

}  // namespace batchmd::mpi
