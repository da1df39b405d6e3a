// SPDX-License-Identifier: Apache-2.0
// model/full_list_device_kernels (internal; CUDA builds): the seam between the host logic of the
// device-built full list (full_list_device.cpp) and its kernels (full_list_device.cu) — the
// argument blocks, the status block the host reads back, and one launcher per step. CUDA-free.
//
// Every launcher is asynchronous on the compute stream of `device` and takes device pointers.
// Per-system flags (flag[s]): 0 keep the system's pairs, 1 rebuild them in this update, 2 the
// rebuild failed (bad cell, far atom; recorded in the status block, nothing more is done for it).
#pragma once
#include <cstddef>
#include <cstdint>

#include "cell_grid.hpp"

namespace batchmd::model::detail::devlist {

/// "No atom / no system" in the status block's smallest-index fields.
constexpr int kNone = 0x7fffffff;

/// Status::error bits.
enum : int {
  kErrNonFinite = 1,     ///< a position is NaN or Inf (bad_atom)
  kErrFar = 2,           ///< a position is more than 1e9 cells away (bad_atom)
  kErrBadCell = 4,       ///< a periodic cell is degenerate (bad_system)
  kErrCellTooThin = 8,   ///< a periodic cell is thinner than rc / kGridMaxReach (bad_system)
  kErrNoReverse = 16,    ///< a pair has no opposite pair (an internal error)
  kErrFillMismatch = 32  ///< the fill pass found other pairs than the count pass (internal)
};

/// The device status block.
struct Status {
  int rebuild;     ///< some system must be rebuilt (written by check)
  int error;       ///< kErr* bits (sticky until the host resets the block)
  int bad_atom;    ///< smallest atom index with a non-finite or far position
  int bad_system;  ///< smallest system with a bad or too thin cell
};

/// What the list kernels read and write (all device pointers; [n] per atom, [S] per system).
template <typename T>
struct ListArgs {
  const T* pos;                 ///< [n][3] positions (Å), this call's
  const std::int64_t* ptr;      ///< [S+1] atoms_ptr
  const std::int64_t* sys;      ///< [n] system of each atom
  const T* cell;                ///< [S][9] or null
  const bool* pbc;              ///< [S][3] or null
  const std::int32_t* species;  ///< [n] model species (-1: ignored)
  const double* cut;            ///< [n_species^2] pair cutoff + skin (Å; <= 0 excluded)
  std::int32_t n_species;
  T* ref;                     ///< [n][3] positions at the system's last build
  std::int32_t* jump;         ///< [n][3] lattice jump since the build, in cells of the current cell
  std::int32_t* wimg;         ///< [n][3] whole cells removed to wrap the atom at the build
  CellGrid* grid;             ///< [S]
  const long long* bin_base;  ///< [S+1] first bin of each system
  std::int32_t* bin;          ///< [n] batch bin of each atom (at the build)
  std::int32_t* rank;         ///< [n] arrival rank in its bin (scratch)
  std::int32_t* bin_atoms;    ///< [n] atoms by bin
  std::int32_t* bin_count;    ///< [n_bins]
  std::int32_t* bin_start;    ///< [n_bins]
  std::uint8_t* flag;         ///< [S] 0 keep, 1 rebuild, 2 failed
  Status* st;
  std::int64_t n_atoms;
  double rc;    ///< the grid's reach: the largest pair cutoff + skin (Å), slightly inflated
  double skin;  ///< the Verlet skin (Å)
  double thr2;  ///< (skin/2)^2 (Å²)
};

/// One CSR full list (the pair arrays of DeviceNeighborView, writable).
struct PairArrays {
  std::int64_t* offsets;    ///< [n+1]
  std::int32_t* pair_atom;  ///< [n_pairs]
  std::int32_t* neighbor;   ///< [n_pairs]
  std::int32_t* species;    ///< [n_pairs]
  std::int32_t* image;      ///< [n_pairs][3] r = x_j - x_i + image . cell (build positions and cell)
  std::int64_t* reverse;    ///< [n_pairs]
};

/// Per atom (one thread each): non-finite positions; the cell and pbc of its system against the
/// build's (a fully periodic cell strained within the skin keeps the list; any other change
/// rebuilds: full_list_device_strain.hpp); the displacement since the build of its system (from
/// x0 A under a strain A) modulo lattice vectors of the current cell (a jump by whole cells only
/// moves jump[i]). Marks flag[s] = 1 and st->rebuild = 1 for a system to rebuild (flags and
/// st->rebuild are reset by the host before).
template <typename T>
void devlist_check(int device, const ListArgs<T>& a);

/// The binning of the systems with flag 1: grid (one block of 256 threads per system: frame,
/// extent along open directions, grid, zeroed bin counts), bin (one thread per atom: wrap counts,
/// wrapped position, bin, arrival rank; the positions become the reference, jumps 0), scan (one
/// block per system: bin starts), place (one thread per atom: atoms into bins).
template <typename T>
void devlist_bin(int device, std::int64_t n_systems, const ListArgs<T>& a);

/// Count pass (one thread per atom): counts[i+1] = the pairs of atom i — found through the bin
/// stencil in a system with flag 1, taken from the old list (old.offsets) in a kept one, 0 in a
/// failed one; counts[0] = 0.
template <typename T>
void devlist_count(int device, const ListArgs<T>& a, const PairArrays& old, std::int64_t* counts);

/// Bytes of temporary storage devlist_scan needs for n + 1 items.
std::size_t devlist_scan_bytes(std::int64_t n);
/// offsets[k] = counts[0] + ... + counts[k] for k <= n (inclusive scan; cub).
void devlist_scan(int device, void* temp, std::size_t temp_bytes, const std::int64_t* counts, std::int64_t* offsets,
                  std::int64_t n);

/// Fill pass (one thread per atom) into out (out.offsets from devlist_scan): neighbor, image,
/// pair_atom, species; a rebuilt atom's pairs sorted by (neighbor, image), a kept one's copied
/// from old (already sorted). Then (one thread per pair) reverse[p] = the pair j -> i with the
/// opposite image, by binary search in j's sorted range.
template <typename T>
void devlist_fill(int device, const ListArgs<T>& a, const PairArrays& old, const PairArrays& out, std::int64_t n_pairs);

}  // namespace batchmd::model::detail::devlist
