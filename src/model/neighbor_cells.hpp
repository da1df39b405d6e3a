// SPDX-License-Identifier: Apache-2.0
// model/neighbor_cells (internal): what NeighborList's parts share — the cell-list build of one
// system's half list (neighbor_cells.cpp), the frame of a system, and the buffers a build writes.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "batchmd/core/frame.hpp"
#include "batchmd/model/neighbor_list.hpp"

namespace batchmd::model::detail {

// A single system of at least this many atoms has its pairs found by several threads.
inline constexpr std::int64_t kSplitAtoms = 4096;

inline std::string sys_str(std::int64_t s) { return "system " + std::to_string(s); }

template <typename T>
inline std::array<bool, 3> pbc_of(const BatchGeometry<T>& g, std::int64_t s) {
  if (g.pbc == nullptr) return {false, false, false};
  return {g.pbc[3 * s], g.pbc[3 * s + 1], g.pbc[3 * s + 2]};
}

// The frame of system s (core/frame.hpp); throws InvalidArgument naming the system for a cell
// that cannot be one. T: float or double.
template <typename T>
Frame frame_of(const BatchGeometry<T>& g, std::int64_t s);

// Where a build of one system writes its pairs (NeighborList::SystemWork, or the list itself).
struct SystemOut {
  std::vector<std::int32_t>& neighbors;    // capacity buffer
  std::vector<std::int32_t>& shift_index;  // capacity buffer
  std::vector<std::int32_t>& shifts;
  std::size_t& n_pairs;
  std::vector<std::array<std::int32_t, 3>>& stencil;
  std::array<double, 16>& stencil_key;
  std::vector<double>& stencil_q;
  std::array<double, 10>& stencil_ref;
};

// The half stencil of a bin grid of metric G (G[a][b] = w_a w_b row_a . row_b: squared lengths
// in bin units), reach m and nb bins per direction, for pairs closer than sqrt(rc2): the offsets
// D > 0 (lexicographic) along which a bin can hold such a pair, into stencil. q and ref cache the
// candidates' minima from one call to the next: same_shape says that m and, along open
// directions, nb are those of the last call with this cache, so that under a strain the offsets
// are selected again from the cached minima and only a few recomputed; the stencil is the same
// as without the cache (same_shape false), offset for offset (neighbor_cells.cpp).
void select_stencil(const double G[3][3], const std::int64_t m[3], const std::int64_t nb[3], const bool periodic[3],
                    double rc2, bool same_shape, std::vector<std::array<std::int32_t, 3>>& stencil,
                    std::vector<double>& q, std::array<double, 10>& ref);

// Builds the half list of system s into work (neighbors as global slots, shift indices local)
// and the slot-ordered arrays order/image/offsets/shifted_begin (offsets local to the system).
// T: float or double.
template <typename T>
void build_system(const BatchGeometry<T>& g, std::int64_t s, double rc, SystemOut work, std::int64_t* order,
                  std::int32_t* image, std::int64_t* offsets, std::int64_t* shifted_begin);

// The same for a batch of one large system (system 0) on several threads: the same list,
// whatever the thread count.
template <typename T>
void build_split(const BatchGeometry<T>& g, double rc, SystemOut out, std::int64_t* order, std::int32_t* image,
                 std::int64_t* offsets, std::int64_t* shifted_begin);

}  // namespace batchmd::model::detail
