// SPDX-License-Identifier: Apache-2.0
// app/inflight_job: what `batchmd run` with `[run] inflight_slots` runs — which of the job's systems
// still have steps to take (all of them, or after --restart those the store does not record as
// ended), in which order, and how each is loaded into a slot (fresh from the job, or continuing
// from its last recorded row). docs/jobs.md, "Inflight batching".
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "batchmd/dynamics/inflight.hpp"

namespace batchmd::app {

struct InflightJob {
  std::vector<std::int64_t> order;  ///< indices of the job's systems to run, in system-id order
  std::int64_t ended_before = 0;    ///< systems the restart store records as ended (not run again)
  std::int64_t resumed = 0;         ///< systems continuing from a recorded row
  /// Loads system i (an index of the job's systems) as a one-system host batch.
  std::function<dynamics::SlotInput(std::int64_t)> load;
};

/// `all`: the job's systems as built from the job (system_id 0..S-1 added when missing).
/// `restart_rows`: the last recorded row of each system of a restart store (null: a fresh run),
/// matched to `all` by system_id. A system whose row has status >= final_status (when
/// tracks_status) or whose step count reached step_limit has ended; the others continue from
/// their row; systems without a row start afresh. Throws InvalidArgument for a row whose
/// system_id is not one of the job's (the store was written by another job).
InflightJob plan_inflight(Batch all, const Batch* restart_rows, std::int64_t step_limit, bool tracks_status,
                          std::int32_t final_status, const std::string& store_name);

}  // namespace batchmd::app
