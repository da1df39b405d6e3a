// SPDX-License-Identifier: Apache-2.0
// model/lj_gpu_kernels (internal): the seam between the GPU Lennard-Jones model's host logic
// (lj_gpu.cpp, host compiler) and its kernels (lj_gpu_kernels.cu, nvcc) — the argument blocks the
// kernels read, the device status block the host reads back, and one launcher per step of a
// compute. CUDA-free: a build without the CUDA backend compiles the same host code against
// model_gpu_stub.cpp, whose launchers throw (no batch can live on a GPU there).
//
// Every launcher is asynchronous on the compute stream of `device` (no host synchronisation) and
// takes device pointers (every pointer in an argument block is one). Launch shapes are stated per
// launcher; kThreads = 256 threads per block throughout.
//
// The list (see lj_gpu_kernels.cu for how it is built) is FULL and dense, by slot (atoms sorted
// by bin; order[t] = atom):
//   nbr[k * n_atoms + t]   slot of the k-th neighbor of slot t (k < count[t] <= cap)
//   shift[k * n_atoms + t] its lattice shift S (three 10-bit fields biased by 512),
//                          r = w_j - w_t + S . cell, w the positions wrapped by the image counts.
#pragma once
#include <cstdint>

#include "batchmd/model/lennard_jones_kernels.hpp"

namespace batchmd::model::gpu {

// Largest bin reach (a periodic cell thinner than (cutoff+skin)/kMaxReach is refused).
constexpr int kMaxReach = 500;
// "No atom / no system" in the status block's smallest-index fields.
constexpr int kNone = 0x7fffffff;
constexpr int kMaxZ = LJTable::kMaxZ;

/// Status::error bits.
enum : int { kErrNonFinite = 1, kErrFar = 2, kErrBadZ = 4, kErrBadCell = 8, kErrCellTooThin = 16 };

/// The device status block: the rebuild flag and everything the host checks lagged.
struct Status {
  unsigned long long rebuild_gen;  // the list is rebuilt in the list update with this number
  long long builds;                // builds since setup
  int max_count;                   // most neighbors (within cutoff+skin) of any atom, any build
  int error;                       // kErr* bits
  int bad_atom;                    // smallest atom index with a non-finite position
  int far_atom;                    // ... more than kMaxImageCells cells away
  int bad_z_atom;                  // ... with an atomic number outside [0, kMaxZ]
  int bad_cell_system;             // smallest system with a degenerate or too thin cell
};

/// The binning grid of one system, as of the last build.
struct SysGrid {
  double cell[9];   // cell rows at the build (zero without a cell)
  double row[9];    // frame rows (finite; the cell rows along periodic directions)
  double recip[9];  // frame reciprocal rows: s_d = x . recip[d]
  double lo[3];     // origin of the bins (fractional; 0 along periodic directions)
  double w[3];      // bin width (fractional)
  int nb[3];        // bins per direction
  int m[3];         // reach (bins)
  int periodic[3];
  int n_bins;
  long long bin_base;  // first bin of the system in the batch's bin arrays
};

template <typename T>
struct ListArgs {
  const T* pos;               // [n][3] positions the list is checked against / built from
  const std::int64_t* ptr;    // [S+1] atoms_ptr
  const std::int64_t* sys;    // [n] system_index
  const T* cell;              // [S][9] or null
  const bool* pbc;            // [S][3] or null
  T* ref;                     // [n][3] positions at the build
  std::int32_t* nimg;         // [n][3] image offsets now
  std::int32_t* nbuild;       // [n][3] image offsets at the build
  SysGrid* grid;              // [S]
  const long long* bin_base;  // [S+1]
  std::int32_t* bin;          // [n] bin of each atom
  std::int32_t* rank;         // [n] arrival rank in its bin (scratch)
  std::int32_t* unsorted;     // [n] atoms by bin, arrival order (scratch)
  std::int32_t* order;        // [n] atom of each slot
  double* wbuild;             // [n][3] wrapped positions at the build, by atom
  double* wslot;              // [n][3] the same by slot
  std::int32_t* bin_count;    // [n_bins]
  std::int32_t* bin_start;    // [n_bins]
  std::int32_t* nbr;          // [cap][n]
  std::int32_t* shift;        // [cap][n]
  std::int32_t* count;        // [n] by slot
  Status* st;
  unsigned long long gen;
  std::int64_t n_atoms;
  std::int32_t cap;
  double rc;    // cutoff + skin
  double skin;  // the Verlet skin (Å)
  double thr2;  // (skin/2)^2
  bool force;
};

template <typename T>
struct ForceArgs {
  const T* pos;
  const std::int64_t* sys;
  const T* cell;
  const bool* pbc;
  const std::int64_t* z;
  const std::int32_t* ztype;  // [kMaxZ+1]
  const std::int32_t* order;
  const std::int32_t* nimg;
  const std::int32_t* nbr;
  const std::int32_t* shift;
  const std::int32_t* count;
  T* wpos;             // [n][4] wrapped positions by slot
  std::int32_t* type;  // [n] by slot
  const LJCoeffs<T>* coeffs;
  std::int32_t ntypes;
  T* forces;    // [n][3] caller order
  double* acc;  // [n][K] per slot: energy (and 6 virial components)
  std::int64_t n_atoms;
  Status* st;
};

/// The per-system sums the force launch reduces into (energy, then with the virial its six
/// components xx yy zz xy xz yz): doubles per system.
constexpr int kSumsPerSystem = 7;

/// The list update of one compute. Launches, in order on the compute stream:
///  - check: one thread per atom (grid-stride over n_atoms): non-finite position, cell/pbc change
///    (a fully periodic cell strained within the skin keeps the list: full_list_device_strain.hpp),
///    displacement since the build (from x0 A under a strain A) modulo lattice vectors; sets
///    st->rebuild_gen = a.gen when the list must be rebuilt (always when a.force), else moves
///    image counts by lattice jumps of the current cell;
///  - grid: one block of kThreads per system: the frame, the extent along open directions, the
///    bin grid, zeroed bin counts;
///  - bin: one thread per atom: image counts, wrapped position, bin, arrival rank in the bin;
///  - scan: one block of kThreads per system: bin starts (exclusive scan of the counts);
///  - place, rank: one thread per atom: atoms into slots, sorted by index within a bin.
/// Every step after check returns at once unless this update rebuilds (st->rebuild_gen == a.gen
/// and no error is recorded). Does not read or write a.nbr, a.shift, a.count.
template <typename T>
void lj_list_update(int device, std::int64_t n_systems, const ListArgs<T>& a);

/// The pair search of a rebuilding update: one thread per slot (grid-stride over n_atoms), each
/// scanning the (2m+1)^3 bins around its own and writing its neighbors (at most a.cap; the count
/// beyond the capacity raises st->max_count). With a.cap == 0 it only counts (capacity sizing).
/// A no-op unless the update rebuilds.
template <typename T>
void lj_list_build(int device, const ListArgs<T>& a);

/// Energies, forces and (with `virial`) virials and stresses of a compute over the current list:
///  - wrap: one thread per slot: position wrapped by the current image counts (in T), LJ type;
///  - forces: one thread per slot: the force on its atom from the full list, summed in T, no
///    atomics (deterministic); half of each pair's energy and virial into f.acc (double);
///  - reduce: one block of 256 threads per system (cuda::segment_reduce, fixed tree) into sums
///    ([n_systems][kSumsPerSystem] doubles);
///  - output: one thread per system: energy[s] (and virial[s], stress[s] = -W/V for fully
///    periodic systems, else 0) in the batch's T.
/// virial and stress are [n_systems][9] and may be null when !virial.
template <typename T>
void lj_forces(int device, std::int64_t n_systems, const std::int64_t* atoms_ptr, const ForceArgs<T>& f, bool virial,
               double* sums, T* energy, T* virial_out, T* stress);

}  // namespace batchmd::model::gpu
