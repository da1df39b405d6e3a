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
};

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
