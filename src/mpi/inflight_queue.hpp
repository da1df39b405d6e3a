// SPDX-License-Identifier: Apache-2.0
// mpi/inflight_queue: inflight batching under mpirun (`[run] inflight_slots`, docs/mpi.md) — rank 0
// hands out the job's systems as the ranks' slots free up, and writes the rows every rank records
// into the one store.
//
// Protocol. Every message to rank 0 has tag kTagInflight and starts with (kind, value): ASK(n) —
// "send me up to n systems"; ROWS + packed rows (a rank's rows of one step); RELAXED + packed rows
// (systems that converged in a stage, for the relaxed-structure store); DONE — the rank has ended
// every system it took and sends nothing more. Rank 0 answers an ASK with kTagWork: the system
// indices (int64, possibly none: the queue is dry). Messages of one sender arrive in order, so a
// rank's rows are written before its DONE is counted. Each rank's first share (up to its slots,
// the systems dealt evenly) is set aside for it at the start, so a rank that starts late (a loaded
// machine, a slow node) still gets work; after that the list goes to whoever asks first. Rank 0
// serves between its own steps (poll()) and, once its own slots are empty, until every rank is
// done (finish()).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "batchmd/dynamics/inflight.hpp"
#include "batchmd/sinks/data_sink.hpp"
#include "comm.hpp"

namespace batchmd::mpi {

class InflightQueue : public dynamics::WorkQueue {
 public:
  /// order: the job's systems still to run, in the order to hand them out (rank 0 reads it;
  /// every rank holds the same). slots: each rank's `inflight_slots` (its first share is at most
  /// this). sink: the store (rank 0; null elsewhere).
  InflightQueue(std::shared_ptr<Comm> comm, std::vector<std::int64_t> order, std::int64_t slots,
                std::shared_ptr<sinks::DataSink> sink);
  /// Rank 0: from the list; other ranks: asks rank 0 and waits for the answer.
  std::vector<std::int64_t> take(std::int64_t n) override;
  /// Rank 0: answers the ASKs that have arrived and writes the rows; other ranks: forgets the
  /// completed sends.
  void poll() override;
  /// The sink InflightSlots writes rows into: the store on rank 0, a forwarder elsewhere.
  std::shared_ptr<sinks::DataSink> rows_sink();
  /// The relaxed-structure sink of this rank (rank 0: `relaxed`, which then also takes the other
  /// ranks' RELAXED rows; elsewhere a forwarder).
  std::shared_ptr<sinks::DataSink> relaxed_sink(std::shared_ptr<sinks::DataSink> relaxed);
  /// After this rank's InflightSlots::run: rank 0 serves until every rank is DONE, then flushes
  /// the store; the other ranks send DONE and wait until their messages are received. `stopped`:
  /// this process was asked to stop (a signal): rank 0 then hands out no more systems.
  void finish(bool stopped);
  /// Rank 0: systems handed out so far, to each rank (index = rank).
  const std::vector<std::int64_t>& handed_out() const { return handed_; }

 private:
  void send_rows(std::int64_t kind, const Batch& rows);
  /// Rank 0: handles one message from `from`.
  void handle(const std::vector<std::byte>& bytes, int from);
  std::vector<std::int64_t> next(std::int64_t n, int to);

  std::shared_ptr<Comm> comm_;
  std::vector<std::int64_t> order_;
  std::vector<std::size_t> first_, first_end_;  // per rank: its first share, order_[first_ .. first_end_)
  std::size_t next_ = 0;                        // the shared rest of the list starts here
  std::shared_ptr<sinks::DataSink> sink_, relaxed_;
  std::vector<std::int64_t> handed_;
  int done_ = 0;
  bool closed_ = false;  // rank 0 was stopped: asks are answered with no system
};

}  // namespace batchmd::mpi
