// SPDX-License-Identifier: Apache-2.0
// tests/fuzz: the trajectory reader over a whole store made from the input (a memory store).
#include <algorithm>

#include "batchmd/core/error.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "batchmd/zarr/store.hpp"
#include "fuzz_input.hpp"
#include "harness.hpp"

namespace batchmd::fuzz {

int trajectory_reader(const std::uint8_t* data, std::size_t size) {
  static const std::shared_ptr<zarr::Store> store = zarr::open_store("memory://fuzz_reader");
  for (const std::string& k : store->list("")) store->erase(k);
  Input in(data, size);
  while (in.left() > 0) {
    const std::string key = in.str(in.u16());
    const auto value = in.bytes(in.u32());
    try {
      store->set(key, value);
    } catch (const InvalidArgument&) {  // not a valid key: the store refuses it
    }
  }
  try {
    sinks::TrajectoryReader r(store->url());
    const std::int64_t n = r.num_samples();
    (void)r.atom_counts();
    (void)r.fields();
    (void)r.batchmd_attributes();
    if (n > 0) {
      (void)r.read_range(0, std::min<std::int64_t>(n, 64));
      (void)r.read(n - 1);
      (void)r.read_indices({0, n - 1, n / 2});
    }
    try {
      (void)sinks::last_snapshot_per_system(r);
      (void)r.read_system(r.system_ids().front());
    } catch (const Error&) {
    }
    (void)r.model_state(0);
    r.refresh();
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace batchmd::fuzz
