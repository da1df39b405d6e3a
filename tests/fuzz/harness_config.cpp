// SPDX-License-Identifier: Apache-2.0
// tests/fuzz: the TOML job parser, and the estimate of what an accepted job implies.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "batchmd/app/config.hpp"
#include "batchmd/app/limits.hpp"
#include "batchmd/core/error.hpp"
#include "harness.hpp"

namespace batchmd::fuzz {

int job_config(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const app::RunConfig c = app::parse_config(text, "fuzz.toml");
    // An accepted job lies inside every range the parser promises.
    const bool ok = c.steps >= 0 && c.dt_fs > 0 && c.dt_fs <= 100 && c.threads >= 0 && c.threads <= 4096 &&
                    c.snapshot_every >= 1 && c.chunk_bytes >= 1 && c.capacity >= 1 &&
                    (!c.liquids.empty() || !c.clusters.empty() || !c.crystals.empty() || !c.structures.empty()) &&
                    std::isfinite(c.lj.cutoff) && c.lj.cutoff > 0;
    if (!ok) {
      std::fprintf(stderr, "fuzz invariant failed: parse_config accepted a value outside its range\n");
      std::abort();
    }
    const app::JobEstimate e = app::estimate_job(c);
    if (!(e.atoms >= 1) || !(e.memory_bytes > 0) || std::isnan(e.neighbor_pairs)) {
      std::fprintf(stderr, "fuzz invariant failed: estimate_job gave nonsense\n");
      std::abort();
    }
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace batchmd::fuzz
