// model/lj_gpu: the Lennard-Jones model on the GPU — a full Verlet neighbor list built on the
// device with cell lists, and the LJ forces, energies and virials of a GPU batch.
//
// The list. Each system is binned in the fractional coordinates of its frame (the cell rows along
// periodic directions, an orthonormal completion along open ones — as NeighborList does): bins at
// least (cutoff+skin)/2 wide perpendicular to each face, a reach of m = ceil((cutoff+skin)/width)
// bins; periodic bin offsets wrap and carry an integer lattice shift, so a box smaller than
// 2 (cutoff+skin) yields several images of the same atom (its own included). Open directions are
// binned over the extent of the atoms. Atoms are counting-sorted into bins; within a bin they are
// ordered by atom index, so the list is the same run to run. The list is FULL (each atom lists all
// its neighbors; a thread per atom sums its own force: no atomics, deterministic) and dense:
//   nbr[k * n_atoms + t]   slot of the k-th neighbor of slot t (k < count[t] <= cap)
//   shift[k * n_atoms + t] its lattice shift S (three 10-bit fields), r = w_j - w_t + S . cell
// where slots are atoms sorted by bin (order[t] = atom) and w the positions wrapped into the cell
// with per-atom image offsets kept from the build (x = w + n . cell). Positions need not be
// wrapped: an atom that jumps by a lattice vector (a wrap hook) only updates its offset.
//
// Steps. Every compute launches: check (per atom: finite? moved more than skin/2 modulo lattice
// vectors? cell or pbc changed? — sets the device rebuild flag), the build chain (grid, bin,
// scan, place, rank, build — each kernel returns at once unless the flag is set for this call),
// wrap, forces, a per-system reduction (cuda::segment_reduce, double) and the output. No host
// synchronisation: errors (non-finite positions, list overflow, bad cells or atomic numbers) are
// recorded in a device status block, copied to pinned memory after each call and checked at the
// next calls (Event::done), at the latest two calls later.
#include <cuda_runtime.h>
#include <math.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <cub/block/block_scan.cuh>
#include <string>
#include <utility>
#include <vector>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/core/frame.hpp"
#include "batchmd/core/launch.cuh"
#include "batchmd/core/reduce.cuh"
#include "batchmd/core/tensor.hpp"
#include "batchmd/data/batch.hpp"
#include "batchmd/model/lennard_jones_kernels.hpp"
#include "lj_gpu.hpp"

namespace batchmd::model::detail {
namespace lj_gpu_impl {

// ===== Device code: what one thread does (host/device functions) =====

// Bins per (cutoff + skin) along a periodic direction (as NeighborList: a 5^3 stencil).
constexpr double kBinsPerCutoff = 2.0;
// Largest bin reach (a periodic cell thinner than (cutoff+skin)/kMaxReach is refused).
constexpr int kMaxReach = 500;
// Shifts are stored as three 10-bit fields biased by 512.
constexpr std::int32_t kShiftBias = 512;
constexpr std::int32_t kZeroShift = kShiftBias | (kShiftBias << 10) | (kShiftBias << 20);
constexpr int kNone = 0x7fffffff;
constexpr double kBig = 1e300;
constexpr int kMaxZ = LJTable::kMaxZ;

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

BATCHMD_HD inline int atomic_add_int(int* p, int v) {
#ifdef __CUDA_ARCH__
  return atomicAdd(p, v);
#else
  const int old = *p;
  *p += v;
  return old;
#endif
}
BATCHMD_HD inline void atomic_min_int(int* p, int v) {
#ifdef __CUDA_ARCH__
  atomicMin(p, v);
#else
  if (v < *p) *p = v;
#endif
}
BATCHMD_HD inline void atomic_max_int(int* p, int v) {
#ifdef __CUDA_ARCH__
  atomicMax(p, v);
#else
  if (v > *p) *p = v;
#endif
}
BATCHMD_HD inline void atomic_or_int(int* p, int v) {
#ifdef __CUDA_ARCH__
  atomicOr(p, v);
#else
  *p |= v;
#endif
}

BATCHMD_HD inline int floor_div(int a, int b) {  // b > 0
  const int q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}
BATCHMD_HD inline std::int32_t pack_shift(int s0, int s1, int s2) {
  return (s0 + kShiftBias) | ((s1 + kShiftBias) << 10) | ((s2 + kShiftBias) << 20);
}

template <typename T>
BATCHMD_HD inline bool list_active(const ListArgs<T>& a) {
  return a.st->rebuild_gen == a.gen && a.st->error == 0;
}

// The bin grid of a system from its frame and the extent [lo, hi] of its atoms along open
// directions (fractional; lo > hi for no atoms), with at most max_bins bins. Returns kErr* bits.
BATCHMD_HD inline int make_grid(SysGrid& g, const Frame& f, const double* cell, const double* lo, const double* hi,
                                long long bin_base, long long max_bins, double rc) {
  long long nb[3];
  double width[3], origin[3], ext[3];
  for (int d = 0; d < 3; ++d) {
    width[d] = rc / (kBinsPerCutoff * f.h[d]);
    if (f.periodic[d]) {
      const double want = floor(kBinsPerCutoff * f.h[d] / rc);
      nb[d] = want < 1 ? 1 : static_cast<long long>(want < 1e9 ? want : 1e9);
      origin[d] = 0;
      ext[d] = 1;
    } else {
      double l = lo[d], u = hi[d];
      if (!(u >= l)) l = u = 0;
      ext[d] = u - l;
      const double want = floor(ext[d] / width[d]);
      nb[d] = static_cast<long long>(want < 1e9 ? want : 1e9) + 1;
      origin[d] = l;
    }
  }
  while (static_cast<double>(nb[0]) * static_cast<double>(nb[1]) * static_cast<double>(nb[2]) >
         static_cast<double>(max_bins)) {
    int d = 0;
    for (int e = 1; e < 3; ++e)
      if (nb[e] > nb[d]) d = e;
    nb[d] = (nb[d] + 1) / 2;
  }
  int err = 0;
  for (int d = 0; d < 3; ++d) {
    double w;
    if (f.periodic[d]) {
      w = 1.0 / static_cast<double>(nb[d]);
    } else {
      const double spread = ext[d] / static_cast<double>(nb[d]) * (1 + 1e-9);
      w = width[d] > spread ? width[d] : spread;
    }
    const double reach = ceil(rc / (w * f.h[d]) * (1 - 1e-12));
    int m = reach < 1 ? 1 : static_cast<int>(reach < 1e6 ? reach : 1e6);
    if (f.periodic[d] && m > kMaxReach) {
      err |= kErrCellTooThin;
      m = 1;
    }
    g.lo[d] = origin[d];
    g.w[d] = w;
    g.nb[d] = static_cast<int>(nb[d]);
    g.m[d] = m;
    g.periodic[d] = f.periodic[d];
  }
  for (int k = 0; k < 9; ++k) g.cell[k] = cell[k];
  for (int d = 0; d < 3; ++d)
    for (int e = 0; e < 3; ++e) {
      g.row[3 * d + e] = f.row[d][e];
      g.recip[3 * d + e] = f.recip[d][e];
    }
  g.n_bins = static_cast<int>(nb[0] * nb[1] * nb[2]);
  g.bin_base = bin_base;
  return err;
}

// Per atom, every list update: non-finite positions, displacement since the build (modulo
// lattice vectors along periodic directions: a jump by whole cells only moves the image offset),
// cell/pbc changes. Sets the rebuild flag for this update when needed.
template <typename T>
BATCHMD_HD inline void check_atom(const ListArgs<T>& a, std::int64_t i) {
  if (a.force && i == 0) a.st->rebuild_gen = a.gen;
  const std::int64_t s = a.sys[i];
  const SysGrid& g = a.grid[s];
  if (i == a.ptr[s]) {  // the first atom of a system looks at its cell and pbc
    bool changed = false, any = false;
    for (int d = 0; d < 3; ++d) {
      const int p = (a.pbc != nullptr && a.pbc[3 * s + d]) ? 1 : 0;
      changed = changed || p != g.periodic[d];
      any = any || p != 0;
    }
    if (any)
      for (int e = 0; e < 9; ++e) {
        const double c = a.cell != nullptr ? static_cast<double>(a.cell[9 * s + e]) : 0.0;
        changed = changed || c != g.cell[e];
      }
    if (changed) a.st->rebuild_gen = a.gen;
  }
  double x[3], dl[3];
  for (int e = 0; e < 3; ++e) x[e] = static_cast<double>(a.pos[3 * i + e]);
  if (!hd::isfinite(x[0]) || !hd::isfinite(x[1]) || !hd::isfinite(x[2])) {
    atomic_or_int(&a.st->error, kErrNonFinite);
    atomic_min_int(&a.st->bad_atom, static_cast<int>(i));
    return;
  }
  for (int e = 0; e < 3; ++e) dl[e] = x[e] - static_cast<double>(a.ref[3 * i + e]);
  int k[3];  // the lattice jump (zero unless the atom only jumped by lattice vectors)
  if (classify_displacement(dl, g.cell, g.recip, g.periodic, a.thr2, k) == Displacement::kRebuild)
    a.st->rebuild_gen = a.gen;
  for (int d = 0; d < 3; ++d) a.nimg[3 * i + d] = a.nbuild[3 * i + d] + k[d];
}

// Per atom, rebuild: fractional coordinates, image offset, bin, arrival rank in the bin; the
// positions become the build reference.
template <typename T>
BATCHMD_HD inline void bin_atom(const ListArgs<T>& a, std::int64_t i) {
  const SysGrid& g = a.grid[a.sys[i]];
  double x[3];
  for (int e = 0; e < 3; ++e) x[e] = static_cast<double>(a.pos[3 * i + e]);
  int n[3] = {0, 0, 0};
  long long b[3];
  for (int d = 0; d < 3; ++d) {
    double u = dot3(x, g.recip + 3 * d);
    if (g.periodic[d]) {
      if (!(fabs(u) < kMaxImageCells)) {
        atomic_or_int(&a.st->error, kErrFar);
        atomic_min_int(&a.st->far_atom, static_cast<int>(i));
        return;
      }
      n[d] = static_cast<int>(wrap_unit(u));
    }
    double q = floor((u - g.lo[d]) / g.w[d]);
    const double top = static_cast<double>(g.nb[d] - 1);
    q = q < 0 ? 0 : (q > top ? top : q);
    b[d] = static_cast<long long>(q);
  }
  for (int e = 0; e < 3; ++e) {
    a.wbuild[3 * i + e] = unwrap_component(x[e], n, g.cell, e);
    a.ref[3 * i + e] = a.pos[3 * i + e];
  }
  for (int d = 0; d < 3; ++d) a.nimg[3 * i + d] = a.nbuild[3 * i + d] = n[d];
  const auto lin = static_cast<std::int32_t>(g.bin_base + (b[0] * g.nb[1] + b[1]) * g.nb[2] + b[2]);
  a.bin[i] = lin;
  a.rank[i] = atomic_add_int(&a.bin_count[lin], 1);
}

template <typename T>
BATCHMD_HD inline void place_atom(const ListArgs<T>& a, std::int64_t i) {
  a.unsorted[a.bin_start[a.bin[i]] + a.rank[i]] = static_cast<std::int32_t>(i);
}

// Per atom: its slot is the bin start plus the number of atoms of its bin with a smaller index.
template <typename T>
BATCHMD_HD inline void rank_atom(const ListArgs<T>& a, std::int64_t i) {
  const std::int32_t b = a.bin[i];
  const std::int32_t k0 = a.bin_start[b], k1 = k0 + a.bin_count[b];
  std::int32_t slot = k0;
  for (std::int32_t k = k0; k < k1; ++k) slot += a.unsorted[k] < i ? 1 : 0;
  a.order[slot] = static_cast<std::int32_t>(i);
  for (int e = 0; e < 3; ++e) a.wslot[3 * slot + e] = a.wbuild[3 * i + e];
}

// Wraps a bin coordinate: along periodic directions into [0, nb) with the lattice shift it
// crossed; false outside the grid along open ones.
BATCHMD_HD inline bool wrap_bin(int& t, int& shift, int nb, int periodic) {
  if (periodic) {
    shift = floor_div(t, nb);
    t -= shift * nb;
    return true;
  }
  shift = 0;
  return t >= 0 && t < nb;
}

// Per slot, rebuild: every (atom, image) closer than cutoff + skin, through the bin stencil.
template <typename T>
BATCHMD_HD inline void build_slot(const ListArgs<T>& a, std::int64_t t) {
  const std::int32_t i = a.order[t];
  const SysGrid& g = a.grid[a.sys[i]];
  const long long local = a.bin[i] - g.bin_base;
  const int bc[3] = {static_cast<int>(local / (static_cast<long long>(g.nb[1]) * g.nb[2])),
                     static_cast<int>((local / g.nb[2]) % g.nb[1]), static_cast<int>(local % g.nb[2])};
  const double xi = a.wslot[3 * t], yi = a.wslot[3 * t + 1], zi = a.wslot[3 * t + 2];
  const double rc2 = a.rc * a.rc;
  int cnt = 0;
  for (int d0 = -g.m[0]; d0 <= g.m[0]; ++d0) {
    int t0 = bc[0] + d0, s0 = 0;
    if (!wrap_bin(t0, s0, g.nb[0], g.periodic[0])) continue;
    for (int d1 = -g.m[1]; d1 <= g.m[1]; ++d1) {
      int t1 = bc[1] + d1, s1 = 0;
      if (!wrap_bin(t1, s1, g.nb[1], g.periodic[1])) continue;
      for (int d2 = -g.m[2]; d2 <= g.m[2]; ++d2) {
        int t2 = bc[2] + d2, s2 = 0;
        if (!wrap_bin(t2, s2, g.nb[2], g.periodic[2])) continue;
        const long long tb = g.bin_base + (static_cast<long long>(t0) * g.nb[1] + t1) * g.nb[2] + t2;
        const std::int32_t k0 = a.bin_start[tb], k1 = k0 + a.bin_count[tb];
        if (k0 == k1) continue;
        const int sv[3] = {s0, s1, s2};
        const Vec3 sh = lattice_vector(sv, g.row);
        const bool unshifted = (s0 | s1 | s2) == 0;
        const std::int32_t packed = pack_shift(s0, s1, s2);
        const double sx = xi - sh[0], sy = yi - sh[1], sz = zi - sh[2];
        for (std::int32_t k = k0; k < k1; ++k) {
          if (unshifted && k == t) continue;
          const double dx = a.wslot[3 * k] - sx, dy = a.wslot[3 * k + 1] - sy, dz = a.wslot[3 * k + 2] - sz;
          if (dx * dx + dy * dy + dz * dz < rc2) {
            if (cnt < a.cap) {
              const long long idx = static_cast<long long>(cnt) * a.n_atoms + t;
              a.nbr[idx] = k;
              a.shift[idx] = packed;
            }
            ++cnt;
          }
        }
      }
    }
  }
  a.count[t] = cnt < a.cap ? cnt : a.cap;
  if (cnt > *static_cast<volatile int*>(&a.st->max_count)) atomic_max_int(&a.st->max_count, cnt);
}

// Per slot, every compute: the position wrapped by the current image offset, and the LJ type.
template <typename T>
BATCHMD_HD inline void wrap_slot(const ForceArgs<T>& f, std::int64_t t) {
  const std::int32_t i = f.order[t];
  const std::int64_t s = f.sys[i];
  const std::int32_t* n = f.nimg + 3 * i;
  for (int e = 0; e < 3; ++e) {
    double v = static_cast<double>(f.pos[3 * i + e]);
    if (f.cell != nullptr)
      for (int d = 0; d < 3; ++d)
        if (n[d] != 0) v -= n[d] * static_cast<double>(f.cell[9 * s + 3 * d + e]);
    f.wpos[4 * t + e] = static_cast<T>(v);
  }
  f.wpos[4 * t + 3] = T(0);
  const std::int64_t z = f.z[i];
  if (z < 0 || z > kMaxZ) {
    atomic_or_int(&f.st->error, kErrBadZ);
    atomic_min_int(&f.st->bad_z_atom, static_cast<int>(i));
    f.type[t] = 0;
  } else {
    f.type[t] = f.ztype[z];
  }
}

// Per slot, every compute: the force on its atom from the full list (summed in T), half of each
// pair's energy and virial W_ab = r_a F_b (r = x_j - x_i, F the force on j).
template <typename T, bool kVirial>
BATCHMD_HD inline void force_slot(const ForceArgs<T>& f, std::int64_t t) {
  constexpr int K = kVirial ? 7 : 1;
  const std::int32_t i = f.order[t];
  const T xi = f.wpos[4 * t], yi = f.wpos[4 * t + 1], zi = f.wpos[4 * t + 2];
  const LJCoeffs<T>* row = f.coeffs + f.type[t] * f.ntypes;
  T c[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  if (f.cell != nullptr && f.pbc != nullptr) {
    const std::int64_t s = f.sys[i];
    for (int d = 0; d < 3; ++d)
      if (f.pbc[3 * s + d])
        for (int e = 0; e < 3; ++e) c[3 * d + e] = f.cell[9 * s + 3 * d + e];
  }
  T fx = 0, fy = 0, fz = 0, en = 0;
  T v0 = 0, v1 = 0, v2 = 0, v3 = 0, v4 = 0, v5 = 0;
  const int cnt = f.count[t];
  for (int k = 0; k < cnt; ++k) {
    const long long idx = static_cast<long long>(k) * f.n_atoms + t;
    const std::int32_t j = f.nbr[idx];
    const std::int32_t p = f.shift[idx];
    T rx = f.wpos[4 * j] - xi, ry = f.wpos[4 * j + 1] - yi, rz = f.wpos[4 * j + 2] - zi;
    if (p != kZeroShift) {
      const T s0 = static_cast<T>((p & 1023) - kShiftBias);
      const T s1 = static_cast<T>(((p >> 10) & 1023) - kShiftBias);
      const T s2 = static_cast<T>(((p >> 20) & 1023) - kShiftBias);
      rx += s0 * c[0] + s1 * c[3] + s2 * c[6];
      ry += s0 * c[1] + s1 * c[4] + s2 * c[7];
      rz += s0 * c[2] + s1 * c[5] + s2 * c[8];
    }
    const T rsq = rx * rx + ry * ry + rz * rz;
    const LJCoeffs<T> cf = row[f.type[j]];
    if (rsq < cf.cutsq) {
      T fpair;
      en += lj_pair(rsq, cf, fpair);
      const T gx = fpair * rx, gy = fpair * ry, gz = fpair * rz;  // force on j
      fx -= gx;
      fy -= gy;
      fz -= gz;
      if constexpr (kVirial) {
        v0 += rx * gx;
        v1 += ry * gy;
        v2 += rz * gz;
        v3 += rx * gy;
        v4 += rx * gz;
        v5 += ry * gz;
      }
    }
  }
  f.forces[3 * i] = fx;
  f.forces[3 * i + 1] = fy;
  f.forces[3 * i + 2] = fz;
  double* out = f.acc + K * t;
  out[0] = 0.5 * static_cast<double>(en);
  if constexpr (kVirial) {
    out[1] = 0.5 * static_cast<double>(v0);
    out[2] = 0.5 * static_cast<double>(v1);
    out[3] = 0.5 * static_cast<double>(v2);
    out[4] = 0.5 * static_cast<double>(v3);
    out[5] = 0.5 * static_cast<double>(v4);
    out[6] = 0.5 * static_cast<double>(v5);
  }
}

// Per system: energy, virial (xx yy zz xy xz yz -> 3x3) and stress = -W/V (fully periodic).
template <typename T>
BATCHMD_HD inline void output_system(std::int64_t s, const double* sums, int K, const T* cell, const bool* pbc,
                                     T* energy, T* virial, T* stress) {
  energy[s] = static_cast<T>(sums[K * s]);
  if (virial == nullptr) return;
  const double* v = sums + K * s + 1;
  const double w[9] = {v[0], v[3], v[4], v[3], v[1], v[5], v[4], v[5], v[2]};
  for (int e = 0; e < 9; ++e) virial[9 * s + e] = static_cast<T>(w[e]);
  const bool periodic = pbc != nullptr && pbc[3 * s] && pbc[3 * s + 1] && pbc[3 * s + 2] && cell != nullptr;
  double vol = 0;
  if (periodic) {
    double r[9];
    for (int e = 0; e < 9; ++e) r[e] = static_cast<double>(cell[9 * s + e]);
    vol = fabs(triple(row3(r, 0), row3(r, 1), row3(r, 2)));
  }
  for (int e = 0; e < 9; ++e)
    stress[9 * s + e] = vol > 0 ? static_cast<T>(-static_cast<double>(virial[9 * s + e]) / vol) : T(0);
}

// ===== Kernels and launches =====

constexpr int kThreads = 256;

template <typename T>
struct CheckFn {
  ListArgs<T> a;
  __device__ void operator()(std::int64_t i) const { check_atom(a, i); }
};
template <typename T>
struct BinFn {
  ListArgs<T> a;
  __device__ void operator()(std::int64_t i) const {
    if (list_active(a)) bin_atom(a, i);
  }
};
template <typename T>
struct PlaceFn {
  ListArgs<T> a;
  __device__ void operator()(std::int64_t i) const {
    if (list_active(a)) place_atom(a, i);
  }
};
template <typename T>
struct RankFn {
  ListArgs<T> a;
  __device__ void operator()(std::int64_t i) const {
    if (list_active(a)) rank_atom(a, i);
  }
};
template <typename T>
struct BuildFn {
  ListArgs<T> a;
  __device__ void operator()(std::int64_t t) const {
    if (list_active(a)) build_slot(a, t);
  }
};
template <typename T>
struct WrapFn {
  ForceArgs<T> f;
  __device__ void operator()(std::int64_t t) const { wrap_slot(f, t); }
};
template <typename T, bool kVirial>
struct ForceFn {
  ForceArgs<T> f;
  __device__ void operator()(std::int64_t t) const { force_slot<T, kVirial>(f, t); }
};
template <int K>
struct AccFn {
  const double* acc;
  __device__ void operator()(std::int64_t t, double* v) const {
    for (int k = 0; k < K; ++k) v[k] = acc[K * t + k];
  }
};
template <typename T>
struct OutputFn {
  const double* sums;
  int K;
  const T* cell;
  const bool* pbc;
  T* energy;
  T* virial;
  T* stress;
  __device__ void operator()(std::int64_t s) const { output_system(s, sums, K, cell, pbc, energy, virial, stress); }
};

// One block per system: frame, extent along open directions, grid; zeroes the system's bins.
template <typename T>
__global__ void __launch_bounds__(kThreads) grid_kernel(ListArgs<T> a) {
  const std::int64_t s = blockIdx.x;
  __shared__ Frame f;
  __shared__ double cell[9];
  __shared__ int ok;
  __shared__ double red[6][kThreads];
  const int tid = static_cast<int>(threadIdx.x);
  // One thread decides for the block (another block may set an error meanwhile).
  if (tid == 0) ok = list_active(a) ? 1 : 0;
  __syncthreads();
  if (!ok) return;
  __syncthreads();
  if (tid == 0) {
    bool per[3];
    for (int e = 0; e < 9; ++e) cell[e] = a.cell != nullptr ? static_cast<double>(a.cell[9 * s + e]) : 0.0;
    for (int d = 0; d < 3; ++d) per[d] = a.pbc != nullptr && a.pbc[3 * s + d];
    ok = make_frame(cell, per, f).ok() ? 1 : 0;
    if (!ok) {
      atomic_or_int(&a.st->error, kErrBadCell);
      atomic_min_int(&a.st->bad_cell_system, static_cast<int>(s));
    }
  }
  __syncthreads();
  if (!ok) return;
  double lo[3] = {kBig, kBig, kBig}, hi[3] = {-kBig, -kBig, -kBig};
  for (std::int64_t i = a.ptr[s] + tid; i < a.ptr[s + 1]; i += kThreads) {
    double x[3];
    for (int e = 0; e < 3; ++e) x[e] = static_cast<double>(a.pos[3 * i + e]);
    for (int d = 0; d < 3; ++d) {
      if (f.periodic[d]) continue;
      const double u = dot3(x, f.recip[d].v);
      lo[d] = fmin(lo[d], u);
      hi[d] = fmax(hi[d], u);
    }
  }
  for (int d = 0; d < 3; ++d) {
    red[d][tid] = lo[d];
    red[3 + d][tid] = -hi[d];
  }
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w /= 2) {
    if (tid < w)
      for (int q = 0; q < 6; ++q) red[q][tid] = fmin(red[q][tid], red[q][tid + w]);
    __syncthreads();
  }
  if (tid == 0) {
    const double l[3] = {red[0][0], red[1][0], red[2][0]};
    const double h[3] = {-red[3][0], -red[4][0], -red[5][0]};
    const int err = make_grid(a.grid[s], f, cell, l, h, a.bin_base[s], a.bin_base[s + 1] - a.bin_base[s], a.rc);
    if (err != 0) {
      atomic_or_int(&a.st->error, err);
      atomic_min_int(&a.st->bad_cell_system, static_cast<int>(s));
    }
  }
  __syncthreads();
  const SysGrid& g = a.grid[s];
  for (int b = tid; b < g.n_bins; b += kThreads) a.bin_count[g.bin_base + b] = 0;
}

// One block per system: bin starts (slots) by an exclusive scan of the bin counts.
template <typename T>
__global__ void __launch_bounds__(kThreads) scan_kernel(ListArgs<T> a) {
  const std::int64_t s = blockIdx.x;
  using Scan = cub::BlockScan<int, kThreads>;
  __shared__ typename Scan::TempStorage tmp;
  __shared__ int active;
  if (threadIdx.x == 0) active = list_active(a) ? 1 : 0;
  __syncthreads();
  if (!active) return;
  const int n_bins = a.grid[s].n_bins;
  const long long base = a.grid[s].bin_base;
  int running = static_cast<int>(a.ptr[s]);
  for (int b0 = 0; b0 < n_bins; b0 += kThreads) {
    const int b = b0 + static_cast<int>(threadIdx.x);
    const int c = b < n_bins ? a.bin_count[base + b] : 0;
    int excl = 0, total = 0;
    Scan(tmp).ExclusiveSum(c, excl, total);
    if (b < n_bins) a.bin_start[base + b] = running + excl;
    running += total;
    __syncthreads();
  }
  if (s == 0 && threadIdx.x == 0) a.st->builds += 1;
}

int round_up(long long v, int to) { return static_cast<int>((v + to - 1) / to * to); }

}  // namespace lj_gpu_impl

using namespace lj_gpu_impl;

struct LJGpu::Impl {
  // Parameters.
  LJTable table;
  std::vector<std::int64_t> type_z;  // Z of type k+1 (type 0: every species without an override)
  double rc = 0;                     // cutoff + skin
  double skin = 0;

  // Setup (structure) state.
  bool ready = false;
  bool first = false;  // the next list update must rebuild
  int device = -1;
  DType dtype = DType::Float64;
  std::int64_t n_systems = -1, n_atoms = -1;
  std::vector<std::int64_t> atoms_ptr;  // host copy, for the structure check and messages
  std::int32_t cap = 0;
  unsigned long long gen = 0;
  std::int64_t builds_before = 0;  // builds of earlier setups

  Tensor status, grid, bin_base, ztype, coeffs;
  Tensor ref, nimg, nbuild, bin, rank, unsorted, order, wbuild, wslot, count, wpos, type, acc, sums;
  Tensor bin_count, bin_start, nbr, shift, ref_upload;

  // restore_state(), applied at the next compute.
  std::vector<double> pending_ref;
  bool has_pending = false;

  // Lagged status checks: the status after call n is copied into slot n % 2.
  struct Slot {
    cuda::PinnedBuffer buf;
    std::unique_ptr<cuda::Event> ev;
    bool pending = false;
  };
  Slot ring[2];
  int next = 0;
  int ring_device = -1;

  Impl(const LJTable& t, std::vector<std::int64_t> z, double sk) : table(t), type_z(std::move(z)), skin(sk) {
    std::sort(type_z.begin(), type_z.end());
    type_z.erase(std::unique(type_z.begin(), type_z.end()), type_z.end());
    rc = table.max_cutoff() + skin;
  }

  cuda::Stream stream() const { return cuda::compute_stream(device); }
  Status* st() { return reinterpret_cast<Status*>(status.raw()); }

  Status read_status() {
    Status h{};
    cuda::copy(&h, status.raw(), sizeof(Status), stream());
    return h;
  }

  std::string atom_str(int atom) const {
    const auto it = std::upper_bound(atoms_ptr.begin(), atoms_ptr.end(), static_cast<std::int64_t>(atom));
    const auto s = static_cast<std::int64_t>(it - atoms_ptr.begin()) - 1;
    return "system " + std::to_string(s) + ", atom " + std::to_string(atom - atoms_ptr[s]) + " (batch atom " +
           std::to_string(atom) + ")";
  }

  // Throws for what the device recorded. The model is set up afresh at the next call.
  void check(const Status& h) {
    const bool overflow = cap > 0 && h.max_count > cap;
    if (h.error == 0 && !overflow) return;
    builds_before += read_status().builds;
    ready = false;
    for (auto& sl : ring) sl.pending = false;
    const std::string who = "LennardJones (GPU): ";
    if (h.error & kErrNonFinite)
      throw NumericalError(who + atom_str(h.bad_atom) +
                           ": position is not finite (NaN or Inf), found at one of the last two compute calls");
    if (h.error & kErrFar)
      throw NumericalError(who + atom_str(h.far_atom) + ": position is more than 1e9 cells away from the cell");
    if (h.error & kErrBadZ)
      throw InvalidArgument(who + atom_str(h.bad_z_atom) + " has an atomic number outside [0, " +
                            std::to_string(kMaxZ) + "]");
    if (h.error & kErrBadCell)
      throw InvalidArgument(who + "system " + std::to_string(h.bad_cell_system) +
                            ": periodic cell is degenerate (zero or negative volume, zero or parallel vectors, or "
                            "not finite); rows must be right-handed lattice vectors");
    if (h.error & kErrCellTooThin)
      throw InvalidArgument(who + "system " + std::to_string(h.bad_cell_system) +
                            ": periodic cell is too thin for cutoff + skin = " + std::to_string(rc) + " Å (over " +
                            std::to_string(kMaxReach) + " images per direction)");
    throw NumericalError(who + "the neighbor list overflowed: an atom had " + std::to_string(h.max_count) +
                         " neighbors within cutoff + skin (" + std::to_string(rc) + " Å) but the list holds " +
                         std::to_string(cap) +
                         " per atom (1.5x the densest atom at setup + 16); the structure compressed far beyond its "
                         "starting density. Forces of the last steps are incomplete.");
  }

  Status read_slot(Slot& sl) {
    Status h{};
    std::memcpy(&h, sl.buf.data(), sizeof(Status));
    sl.pending = false;
    return h;
  }

  // The lagged checks: the call before the previous one (waits if still running, which frees its
  // slot for this call), then the previous one if it is done.
  void poll() {
    Slot& older = ring[next];
    if (older.pending) {
      older.ev->sync();
      check(read_slot(older));
    }
    Slot& newer = ring[next ^ 1];
    if (newer.pending && newer.ev->done()) check(read_slot(newer));
  }

  void drain() {
    for (int k : {next, next ^ 1}) {
      Slot& sl = ring[k];
      if (!sl.pending) continue;
      sl.ev->sync();
      check(read_slot(sl));
    }
  }

  bool needs_setup(const Batch& batch, DType dt) const {
    if (!ready || batch.device().index != device || dt != dtype || batch.n_systems() != n_systems ||
        batch.n_atoms() != n_atoms)
      return true;
    const std::int64_t* p = batch.atoms_ptr_data();
    for (std::int64_t s = 0; s <= n_systems; ++s)
      if (p[s] != atoms_ptr[static_cast<std::size_t>(s)]) return true;
    return false;
  }

  template <typename T>
  void setup(const Batch& batch) {
    if (ready) {
      drain();
      builds_before += read_status().builds;
    }
    ready = false;
    device = batch.device().index;
    dtype = dtype_of<T>();
    n_systems = batch.n_systems();
    n_atoms = batch.n_atoms();
    atoms_ptr.assign(batch.atoms_ptr_data(), batch.atoms_ptr_data() + n_systems + 1);
    if (n_atoms >= 0x7fffffff)
      throw InvalidArgument("LennardJones (GPU): at most 2^31 - 2 atoms per batch, got " + std::to_string(n_atoms));
    if (ring_device != device) {
      for (auto& sl : ring) {
        sl.ev = std::make_unique<cuda::Event>();
        sl.buf.reserve(sizeof(Status));
        sl.pending = false;
      }
      ring_device = device;
      next = 0;
    }
    const Device dev{Device::Kind::CUDA, device};
    const auto ns = n_systems, na = n_atoms;

    // Bins: at most (atoms + 64) per system, so sizes depend on the structure only.
    std::vector<std::int64_t> base(static_cast<std::size_t>(ns) + 1, 0);
    for (std::int64_t s = 0; s < ns; ++s) base[s + 1] = base[s] + (atoms_ptr[s + 1] - atoms_ptr[s]) + 64;
    if (base[ns] >= 0x7fffffff) throw InvalidArgument("LennardJones (GPU): too many systems for the bin arrays");
    bin_base = Tensor::from(base, {ns + 1}).to(dev);
    bin_count = Tensor(DType::Int32, {std::max<std::int64_t>(base[ns], 1)}, dev);
    bin_start = Tensor(DType::Int32, {std::max<std::int64_t>(base[ns], 1)}, dev);

    // Types: 0 for every species without an override, k+1 for type_z[k].
    std::vector<std::int32_t> zt(kMaxZ + 1, 0);
    for (std::size_t k = 0; k < type_z.size(); ++k) zt[static_cast<std::size_t>(type_z[k])] = static_cast<int>(k) + 1;
    ztype = Tensor::from(zt, {kMaxZ + 1}).to(dev);
    const std::size_t nt = type_z.size() + 1;
    std::vector<LJCoeffs<T>> cf(nt * nt);
    for (std::size_t p = 0; p < nt; ++p)
      for (std::size_t q = 0; q < nt; ++q) {
        const LJPair& pair = (p == 0 || q == 0)
                                 ? table.default_pair()
                                 : table.get(static_cast<int>(type_z[p - 1]), static_cast<int>(type_z[q - 1]));
        cf[p * nt + q] = lj_coeffs<T>(pair);
      }
    coeffs = Tensor(DType::UInt8, {static_cast<std::int64_t>(cf.size() * sizeof(LJCoeffs<T>))}, dev);
    cuda::copy(coeffs.raw(), cf.data(), cf.size() * sizeof(LJCoeffs<T>), stream());

    const DType fd = dtype_of<T>();
    grid = Tensor(DType::UInt8, {std::max<std::int64_t>(ns, 1) * static_cast<std::int64_t>(sizeof(SysGrid))}, dev);
    ref = Tensor(fd, {na, 3}, dev);
    ref_upload = Tensor();
    nimg = Tensor(DType::Int32, {na, 3}, dev);
    nbuild = Tensor(DType::Int32, {na, 3}, dev);
    bin = Tensor(DType::Int32, {na}, dev);
    rank = Tensor(DType::Int32, {na}, dev);
    unsorted = Tensor(DType::Int32, {na}, dev);
    order = Tensor(DType::Int32, {na}, dev);
    wbuild = Tensor(DType::Float64, {na, 3}, dev);
    wslot = Tensor(DType::Float64, {na, 3}, dev);
    count = Tensor(DType::Int32, {na}, dev);
    wpos = Tensor(fd, {na, 4}, dev);
    type = Tensor(DType::Int32, {na}, dev);
    acc = Tensor(DType::Float64, {na, 7}, dev);
    sums = Tensor(DType::Float64, {std::max<std::int64_t>(ns, 1), 7}, dev);
    nbr = Tensor();
    shift = Tensor();
    cap = 0;

    status = Tensor(DType::UInt8, {static_cast<std::int64_t>(sizeof(Status))}, dev);
    Status init{};
    init.rebuild_gen = 0;
    init.builds = 0;
    init.max_count = 0;
    init.error = 0;
    init.bad_atom = init.far_atom = init.bad_z_atom = init.bad_cell_system = kNone;
    cuda::copy(status.raw(), &init, sizeof(Status), stream());
    ready = true;
    first = true;
  }

  template <typename T>
  ListArgs<T> list_args(const Batch& batch) {
    ListArgs<T> a{};
    a.pos = batch.get("positions").data<T>();
    a.ptr = batch.atoms_ptr_on_device();
    a.sys = batch.system_index_on_device();
    a.cell = batch.has("cell") ? batch.get("cell").data<T>() : nullptr;
    a.pbc = batch.has("pbc") ? batch.get("pbc").data<bool>() : nullptr;
    a.ref = ref.data<T>();
    a.nimg = nimg.data<std::int32_t>();
    a.nbuild = nbuild.data<std::int32_t>();
    a.grid = reinterpret_cast<SysGrid*>(grid.raw());
    a.bin_base = reinterpret_cast<const long long*>(bin_base.raw());
    a.bin = bin.data<std::int32_t>();
    a.rank = rank.data<std::int32_t>();
    a.unsorted = unsorted.data<std::int32_t>();
    a.order = order.data<std::int32_t>();
    a.wbuild = wbuild.data<double>();
    a.wslot = wslot.data<double>();
    a.bin_count = bin_count.data<std::int32_t>();
    a.bin_start = bin_start.data<std::int32_t>();
    a.nbr = nbr.defined() ? nbr.data<std::int32_t>() : nullptr;
    a.shift = shift.defined() ? shift.data<std::int32_t>() : nullptr;
    a.count = count.data<std::int32_t>();
    a.st = st();
    a.n_atoms = n_atoms;
    a.cap = cap;
    a.rc = rc;
    a.thr2 = 0.25 * skin * skin;
    return a;
  }

  // One list update against positions a.pos: check, then the build chain (a no-op unless the
  // check asked for a rebuild). The first update after setup measures the capacity (syncs).
  template <typename T>
  void update_list(ListArgs<T>& a, bool force) {
    a.gen = ++gen;
    a.force = force;
    const std::int64_t na = n_atoms, ns = n_systems;
    const auto s = static_cast<cudaStream_t>(stream());
    cuda::parallel_for(device, na, CheckFn<T>{a}, nullptr, "lj_gpu check");
    grid_kernel<T><<<static_cast<unsigned>(ns), kThreads, 0, s>>>(a);
    cuda::check_launch("lj_gpu grid");
    cuda::parallel_for(device, na, BinFn<T>{a}, nullptr, "lj_gpu bin");
    scan_kernel<T><<<static_cast<unsigned>(ns), kThreads, 0, s>>>(a);
    cuda::check_launch("lj_gpu scan");
    cuda::parallel_for(device, na, PlaceFn<T>{a}, nullptr, "lj_gpu place");
    cuda::parallel_for(device, na, RankFn<T>{a}, nullptr, "lj_gpu rank");
    if (cap == 0) {
      // Count only, then size the list: 1.5x the densest atom + 16, a multiple of 32.
      a.cap = 0;
      cuda::parallel_for(device, na, BuildFn<T>{a}, nullptr, "lj_gpu count");
      const Status h = read_status();
      check(h);
      cap = round_up(static_cast<long long>(1.5 * h.max_count) + 16, 32);
      nbr = Tensor(DType::Int32, {static_cast<std::int64_t>(cap) * na}, Device{Device::Kind::CUDA, device});
      shift = Tensor(DType::Int32, {static_cast<std::int64_t>(cap) * na}, Device{Device::Kind::CUDA, device});
      a.cap = cap;
      a.nbr = nbr.data<std::int32_t>();
      a.shift = shift.data<std::int32_t>();
    }
    cuda::parallel_for(device, na, BuildFn<T>{a}, nullptr, "lj_gpu build");
  }

  template <typename T>
  void compute(Batch& batch, bool compute_stress) {
    const std::int64_t ns = batch.n_systems(), na = batch.n_atoms();
    const Tensor& pos = batch.get("positions");
    if (pos.numel() != 3 * na) throw InvalidArgument("LennardJones: positions must be [n_atoms, 3]");
    const Tensor& z = batch.get("atomic_numbers");
    if (z.dtype() != DType::Int64 || z.numel() != na)
      throw InvalidArgument("LennardJones: atomic_numbers must be int64 [n_atoms]");
    if (batch.has("pbc")) {
      if (!batch.has("cell")) throw InvalidArgument("LennardJones: the batch has pbc but no cell");
      if (batch.get("pbc").dtype() != DType::Bool || batch.get("pbc").numel() != 3 * ns)
        throw InvalidArgument("LennardJones: pbc must be bool [n_systems, 3]");
    }
    if (batch.has("cell") && (batch.get("cell").dtype() != dtype_of<T>() || batch.get("cell").numel() != 9 * ns))
      throw InvalidArgument("LennardJones: cell must be [n_systems, 3, 3] in the dtype of positions");

    if (ready) poll();
    if (needs_setup(batch, dtype_of<T>())) setup<T>(batch);

    T* energy = batch.get("energy").data<T>();
    T* virial = compute_stress ? batch.get("virial").data<T>() : nullptr;
    T* stress = compute_stress ? batch.get("stress").data<T>() : nullptr;
    if (na == 0) {
      batch.get("energy").fill_zero();
      if (compute_stress) {
        batch.get("virial").fill_zero();
        batch.get("stress").fill_zero();
      }
      has_pending = false;
      return;
    }
    Slot& sl = ring[next];
    if (sl.pending) {  // poll() freed it; kept for safety
      sl.ev->sync();
      check(read_slot(sl));
    }

    ListArgs<T> a = list_args<T>(batch);
    if (has_pending) {
      if (pending_ref.size() != static_cast<std::size_t>(3 * na))
        throw InvalidArgument("LennardJones (GPU): the restored state holds reference positions of " +
                              std::to_string(pending_ref.size() / 3) + " atoms, the batch has " + std::to_string(na));
      std::vector<T> host(pending_ref.size());
      for (std::size_t k = 0; k < host.size(); ++k) host[k] = static_cast<T>(pending_ref[k]);
      ref_upload = Tensor::from(host, {na, 3}).to(Device{Device::Kind::CUDA, device});
      has_pending = false;
      a.pos = ref_upload.data<T>();
      update_list(a, true);
      a.pos = pos.data<T>();
      update_list(a, false);
    } else {
      update_list(a, first);
    }
    first = false;

    ForceArgs<T> f{};
    f.pos = pos.data<T>();
    f.sys = a.sys;
    f.cell = a.cell;
    f.pbc = a.pbc;
    f.z = z.data<std::int64_t>();
    f.ztype = ztype.data<std::int32_t>();
    f.order = a.order;
    f.nimg = a.nimg;
    f.nbr = a.nbr;
    f.shift = a.shift;
    f.count = a.count;
    f.wpos = wpos.data<T>();
    f.type = type.data<std::int32_t>();
    f.coeffs = reinterpret_cast<const LJCoeffs<T>*>(coeffs.raw());
    f.ntypes = static_cast<std::int32_t>(type_z.size() + 1);
    f.forces = batch.get("forces").data<T>();
    f.acc = acc.data<double>();
    f.n_atoms = na;
    f.st = a.st;
    cuda::parallel_for(device, na, WrapFn<T>{f}, nullptr, "lj_gpu wrap");
    double* sum = sums.data<double>();
    if (compute_stress) {
      cuda::parallel_for(device, na, ForceFn<T, true>{f}, nullptr, "lj_gpu forces");
      cuda::segment_reduce<7>(device, ns, a.ptr, AccFn<7>{f.acc}, sum, nullptr, "lj_gpu reduce");
    } else {
      cuda::parallel_for(device, na, ForceFn<T, false>{f}, nullptr, "lj_gpu forces");
      cuda::segment_reduce<1>(device, ns, a.ptr, AccFn<1>{f.acc}, sum, nullptr, "lj_gpu reduce");
    }
    cuda::parallel_for(device, ns, OutputFn<T>{sum, compute_stress ? 7 : 1, a.cell, a.pbc, energy, virial, stress},
                       nullptr, "lj_gpu output");

    cuda::copy_async(sl.buf.data(), status.raw(), sizeof(Status), stream());
    sl.ev->record(stream());
    sl.pending = true;
    next ^= 1;
  }
};

LJGpu::LJGpu(const LJTable& table, std::vector<std::int64_t> override_z, double skin)
    : impl_(std::make_unique<Impl>(table, std::move(override_z), skin)) {}
LJGpu::~LJGpu() = default;

void LJGpu::compute(Batch& batch, bool compute_stress) {
  if (!batch.is_cuda()) throw InvalidArgument("LJGpu::compute: the batch is not on a GPU");
  cuda::set_device(batch.device().index);
  dispatch_float(batch.float_dtype(), [&](auto zero) { impl_->compute<decltype(zero)>(batch, compute_stress); });
}

std::vector<double> LJGpu::state() const {
  const Impl& m = *impl_;
  if (m.has_pending) return m.pending_ref;
  if (!m.ready || m.n_atoms <= 0) return {};
  cuda::set_device(m.device);
  Tensor h = m.ref.to(Device::cpu());
  return dispatch_float(h.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* p = h.data<T>();
    return std::vector<double>(p, p + h.numel());
  });
}

void LJGpu::restore_state(const Batch& batch, std::span<const double> reference) {
  if (reference.size() != static_cast<std::size_t>(3 * batch.n_atoms()))
    throw InvalidArgument("LennardJones (GPU): the saved state holds reference positions of " +
                          std::to_string(reference.size() / 3) + " atoms, the batch has " +
                          std::to_string(batch.n_atoms()));
  impl_->pending_ref.assign(reference.begin(), reference.end());
  impl_->has_pending = true;
}

std::int64_t LJGpu::neighbor_builds() const {
  Impl& m = *impl_;
  if (!m.ready) return m.builds_before;
  cuda::set_device(m.device);
  return m.builds_before + m.read_status().builds;
}

}  // namespace batchmd::model::detail
