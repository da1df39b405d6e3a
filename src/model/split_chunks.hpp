// SPDX-License-Identifier: Apache-2.0
// model/split_chunks: SplitChunks, one large system's slots cut into chunks of about equal pair
// counts with the window of slots each chunk's pairs touch, kept while the list holds the same
// pairs (NeighborList::pairs_id). Shared by the split LJ and EAM kernels.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "batchmd/model/neighbor_list.hpp"

namespace batchmd::model::detail {

struct SplitChunks {
  std::vector<std::int64_t> bounds;  ///< [chunks + 1] slots
  std::vector<std::int64_t> window;  ///< [chunks][2]: the slots (from k0) chunk c's pairs touch

  /// Starts a call on slots [k0, k1) of nl in `chunks` chunks. Returns whether the windows must
  /// be found again (the pairs or the cut changed): then the bounds are new, every chunk calls
  /// find_window (on any thread), and done() follows.
  bool begin(const NeighborList& nl, std::int64_t k0, std::int64_t k1, int chunks) {
    const auto nc = static_cast<std::size_t>(chunks);
    if (pairs_id_ == nl.pairs_id() && chunks_ == chunks && k0_ == k0 && k1_ == k1) return false;
    const std::int64_t* off = nl.neighbor_offsets().data();
    bounds.assign(nc + 1, k1);
    bounds[0] = k0;
    for (int c = 1; c < chunks; ++c) {
      const std::int64_t target = off[k0] + (off[k1] - off[k0]) * c / chunks;
      bounds[static_cast<std::size_t>(c)] = std::lower_bound(off + k0, off + k1, target) - off;
    }
    window.assign(2 * nc, 0);
    pairs_id_ = 0;  // until done()
    chunks_ = chunks;
    k0_ = k0;
    k1_ = k1;
    return true;
  }
  void find_window(const NeighborList& nl, std::int64_t c) {
    const auto [lo, hi] = nl.touched_slots(bounds[c], bounds[c + 1]);
    window[2 * c] = lo - k0_;
    window[2 * c + 1] = hi - k0_;
  }
  void done(const NeighborList& nl) { pairs_id_ = nl.pairs_id(); }

 private:
  std::uint64_t pairs_id_ = 0;
  int chunks_ = 0;
  std::int64_t k0_ = -1, k1_ = -1;
};

}  // namespace batchmd::model::detail
