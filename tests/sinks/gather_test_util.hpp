// SPDX-License-Identifier: Apache-2.0
// Test support for the fused gather's CPU tests (test_gather_plan.cpp, test_gather_cache.cpp):
// running a plan on host memory with the kernel's own per-lane code (run_on_host), and the
// destination buffers a plan writes into (Destination).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "batchmd/data/batch.hpp"
#include "gpu_gather_kernel.hpp"

namespace batchmd::test_support {

/// Runs a plan as the GPU does — the same table bytes, the same per-lane code for every lane of
/// a group of `lanes` (the kernel's 32 or 128) and every item, at destination base rows `base` —
/// on host memory.
inline void run_on_host(const sinks::detail::GatherPlan& plan,
                        const sinks::detail::GatherBase& base = sinks::detail::GatherBase{}, unsigned lanes = 32) {
  std::vector<std::uint64_t> table((plan.table_bytes() + 7) / 8);
  plan.write_table(reinterpret_cast<std::byte*>(table.data()));
  const sinks::detail::GatherTableView view =
      sinks::detail::gather_table_view(table.data(), static_cast<std::int64_t>(plan.fields().size()), base);
  for (std::int64_t i = 0; i < plan.items(); ++i)
    for (unsigned lane = 0; lane < lanes; ++lane) sinks::detail::gather_item(view, i, lane, lanes);
}

/// Destination buffers for every field of `b`, filled with 0xAB, and the field specs that point
/// plans at them.
struct Destination {
  std::map<std::string, std::vector<std::byte>> bytes;
  std::vector<sinks::detail::GatherFieldSpec> fields;
  /// `rows` rows per level (atom, edge, system).
  Destination(const Batch& b, const std::int64_t rows[3]) {
    for (const auto& [k, f] : b.fields()) {
      const int l = f.level == Level::Atom ? 0 : f.level == Level::Edge ? 1 : 2;
      auto& v = bytes[k];
      v.assign(static_cast<std::size_t>(rows[l]) * f.tensor.row_bytes(), std::byte{0xAB});
      fields.push_back(sinks::detail::GatherFieldSpec{&f.tensor, v.data(), f.level, k == kEdgeIndex});
    }
  }
  /// Room for `want` (the gathered batch) with `pad` rows before it, at every level.
  Destination(const Batch& b, const Batch& want, std::int64_t pad)
      : Destination(
            b, std::array<std::int64_t, 3>{want.n_atoms() + pad, want.n_edges() + pad, want.n_systems() + pad}.data()) {
  }
};

}  // namespace batchmd::test_support
