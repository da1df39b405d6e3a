// SPDX-License-Identifier: Apache-2.0
// app/inflight_job: plan_inflight — the systems an inflight run (or its restart) still runs.
#include "inflight_job.hpp"

#include <map>

#include "batchmd/core/error.hpp"

namespace batchmd::app {

InflightJob plan_inflight(Batch all, const Batch* restart_rows, std::int64_t step_limit, bool tracks_status,
                          std::int32_t final_status, const std::string& store_name) {
  if (!all.has("system_id")) {
    auto* id = all.add_standard("system_id").data<std::int64_t>();
    for (std::int64_t s = 0; s < all.n_systems(); ++s) id[s] = s;
  }
  const auto* ids = all.get("system_id").data<std::int64_t>();
  std::map<std::int64_t, std::int64_t> index_of;  // system_id -> index in all
  for (std::int64_t s = 0; s < all.n_systems(); ++s) index_of[ids[s]] = s;

  InflightJob job;
  std::vector<std::int64_t> row_of(static_cast<std::size_t>(all.n_systems()), -1);  // index -> restart row
  std::vector<bool> ended(static_cast<std::size_t>(all.n_systems()), false);
  auto rows = std::make_shared<Batch>();
  if (restart_rows && restart_rows->n_systems() > 0) {
    *rows = restart_rows->is_cuda() ? restart_rows->to(Device::cpu()) : restart_rows->clone();
    if (!rows->has("system_id") || !rows->has("step"))
      throw InvalidArgument(store_name + ": samples have no system_id or step field; cannot restart");
    const auto* rid = rows->get("system_id").data<std::int64_t>();
    const auto* rstep = rows->get("step").data<std::int64_t>();
    const std::int32_t* rstatus =
        tracks_status && rows->has("status") ? rows->get("status").data<std::int32_t>() : nullptr;
    for (std::int64_t k = 0; k < rows->n_systems(); ++k) {
      const auto it = index_of.find(rid[k]);
      if (it == index_of.end())
        throw InvalidArgument(store_name + ": system " + std::to_string(rid[k]) + " is recorded, but the job has " +
                              std::to_string(all.n_systems()) +
                              " systems without it; restart the store with the job that wrote it");
      const auto i = static_cast<std::size_t>(it->second);
      row_of[i] = k;
      ended[i] = (rstatus && rstatus[k] >= final_status) || rstep[k] >= step_limit;
    }
  }
  for (std::int64_t i = 0; i < all.n_systems(); ++i) {
    const auto u = static_cast<std::size_t>(i);
    if (ended[u]) {
      ++job.ended_before;
    } else {
      job.order.push_back(i);
      job.resumed += row_of[u] >= 0 ? 1 : 0;
    }
  }
  auto systems = std::make_shared<Batch>(std::move(all));
  job.load = [systems, rows, row_of](std::int64_t i) {
    const std::int64_t k = row_of.at(static_cast<std::size_t>(i));
    const std::int64_t one[1] = {k >= 0 ? k : i};
    return dynamics::SlotInput{(k >= 0 ? *rows : *systems).index_select(one), k < 0};
  };
  return job;
}

}  // namespace batchmd::app
