// SPDX-License-Identifier: Apache-2.0
// core/frame: the cell geometry of one periodic, partly periodic or open system, as host/device
// code shared by every neighbor list (the CPU cell list and the GPU one, and the lists later
// models add). Written once so the lists cannot disagree about which atoms are images of which.
//
// Conventions (ASE's): a cell is three rows a, b, c (Å, row-major double[9]); pbc[d] says whether
// the system repeats along row d. A position x has fractional coordinates s_d = x · recip[d].
//
// The *frame* of a system is the cell with its open directions completed: the cell rows along
// periodic directions, and along open ones unit vectors orthogonal to the periodic rows (the
// identity for an open cluster), right-handed. Binning in the frame's fractional coordinates works
// the same for crystals, slabs, wires and clusters: along a periodic direction [0, 1) is the cell,
// along an open one s_d is a Cartesian length (Å) measured across the periodic rows.
//
// Bit-for-bit contract: every function evaluates its expressions in one fixed order (see
// vec3.hpp), so the CPU and the GPU lists built from the same doubles bin, wrap and shift atoms
// identically (the GPU list is compiled without -fmad=false, so a product-sum there may round once
// instead of twice: equal to the last bit in practice, not by construction).
#pragma once
#include <cstdint>

#include "batchmd/core/hd.hpp"
#include "batchmd/core/vec3.hpp"

namespace batchmd {

/// An atom further than this many cells from the cell (|s_d| >= this) is a numerical blow-up:
/// lists refuse to wrap it rather than overflow an integer image count.
inline constexpr double kMaxImageCells = 1.0e9;

/// The binning frame of one system (see the file comment). Trivial, so it fits __shared__ memory.
struct Frame {
  Vec3 row[3];    ///< frame rows (Å): the cell rows along periodic directions
  Vec3 recip[3];  ///< reciprocal rows (1/Å): recip[d] · row[e] = δ_de, s_d = x · recip[d]
  double h[3];    ///< distance between the planes s_d = 0 and s_d = 1 (Å): the cell's width
  bool periodic[3];
  bool any_periodic;
};

/// Why a cell cannot be a frame. Only periodic rows are checked; open rows are never read.
enum class FrameError : int {
  kNone = 0,
  kNonFinite,          ///< a periodic row holds NaN or Inf (FrameStatus::row says which)
  kNonPositiveVolume,  ///< three periodic rows, left-handed or (near) flat (FrameStatus::volume, Å³)
  kParallelRows,       ///< two periodic rows, zero or parallel
  kZeroRow,            ///< one periodic row, zero
};
struct FrameStatus {
  FrameError error = FrameError::kNone;
  int row = -1;       ///< kNonFinite: the first periodic row with a non-finite entry
  double volume = 0;  ///< kNonPositiveVolume: a · (b × c)
  BATCHMD_HD bool ok() const { return error == FrameError::kNone; }
};

/// Builds the frame of a system from its cell (row-major [9], Å; may be null when no direction
/// is periodic) and periodic flags [3]. On an error f is partly written and must not be used.
/// A cell is accepted when its periodic rows are finite and: three periodic rows have a volume
/// above 1e-12 |a||b||c| (right-handed, not flat); two periodic rows have |a × b| above
/// 1e-12 |a||b|; one periodic row is non-zero.
BATCHMD_HD inline FrameStatus make_frame(const double* cell, const bool* periodic, Frame& f) {
  FrameStatus st;
  int np = 0;
  for (int d = 0; d < 3; ++d) {
    f.periodic[d] = periodic[d];
    np += periodic[d] ? 1 : 0;
    for (int e = 0; e < 3; ++e) f.row[d][e] = d == e ? 1.0 : 0.0;
  }
  f.any_periodic = np > 0;
  if (np == 0) {
    for (int d = 0; d < 3; ++d) {
      f.recip[d] = f.row[d];
      f.h[d] = 1.0;
    }
    return st;
  }
  for (int d = 0; d < 3; ++d) {
    if (!periodic[d]) continue;
    for (int e = 0; e < 3; ++e) {
      f.row[d][e] = cell[3 * d + e];
      if (!hd::isfinite(f.row[d][e])) {
        st.error = FrameError::kNonFinite;
        st.row = d;
        return st;
      }
    }
  }
  if (np == 3) {
    const double v = triple(f.row[0], f.row[1], f.row[2]);
    const double scale = norm(f.row[0]) * norm(f.row[1]) * norm(f.row[2]);
    if (!(v > 1e-12 * scale)) {
      st.error = FrameError::kNonPositiveVolume;
      st.volume = v;
      return st;
    }
  } else if (np == 2) {
    const int o = !periodic[0] ? 0 : (!periodic[1] ? 1 : 2);  // the open direction
    const Vec3& a = f.row[(o + 1) % 3];
    const Vec3& b = f.row[(o + 2) % 3];
    const Vec3 n = cross(a, b);
    const double nn = norm(n);
    if (!(nn > 1e-12 * norm(a) * norm(b))) {
      st.error = FrameError::kParallelRows;
      return st;
    }
    f.row[o] = {n[0] / nn, n[1] / nn, n[2] / nn};  // right-handed by construction
  } else {
    const int p = periodic[0] ? 0 : (periodic[1] ? 1 : 2);  // the periodic direction
    const Vec3 a = f.row[p];
    if (!(norm(a) > 0)) {
      st.error = FrameError::kZeroRow;
      return st;
    }
    int axis = 0;  // the Cartesian axis least aligned with a
    for (int e = 1; e < 3; ++e)
      if (hd::fabs(a[e]) < hd::fabs(a[axis])) axis = e;
    Vec3 ex{0, 0, 0};
    ex[axis] = 1;
    Vec3 u = cross(a, ex);
    const double nu = norm(u);
    u = {u[0] / nu, u[1] / nu, u[2] / nu};
    Vec3 v = cross(a, u);
    const double nv = norm(v);
    v = {v[0] / nv, v[1] / nv, v[2] / nv};
    f.row[(p + 1) % 3] = u;
    f.row[(p + 2) % 3] = v;
    if (triple(f.row[0], f.row[1], f.row[2]) < 0) f.row[(p + 2) % 3] = {-v[0], -v[1], -v[2]};
  }
  const double vol = triple(f.row[0], f.row[1], f.row[2]);
  for (int d = 0; d < 3; ++d) {
    const Vec3 c = cross(f.row[(d + 1) % 3], f.row[(d + 2) % 3]);
    f.recip[d] = {c[0] / vol, c[1] / vol, c[2] / vol};
    f.h[d] = vol / norm(c);
  }
  return st;
}

/// Wraps a fractional coordinate into [0, 1) in place and returns the whole cells removed
/// (s = s_wrapped + n exactly up to the rounding of s - floor(s); s must be finite). The result
/// is never 1.0: a value that rounds up to 1 is moved to 0 of the next cell.
BATCHMD_HD inline double wrap_unit(double& s) {
  double n = hd::floor(s);
  s -= n;
  if (s >= 1.0) {
    s -= 1.0;
    n += 1.0;
  }
  return n;
}

/// Component e of x - Σ_d n_d row_d: the position x moved back by image counts n (the wrapped
/// position). Only non-zero terms are subtracted, in the order d = 0, 1, 2. rows: row-major [9]
/// (a cell) or Vec3[3] (a frame's rows).
template <typename Int, typename Rows>
BATCHMD_HD inline double unwrap_component(double x, const Int* n, const Rows* rows, int e) {
  for (int d = 0; d < 3; ++d)
    if (n[d] != 0) x -= n[d] * row_element(rows, d, e);
  return x;
}

/// The Cartesian lattice vector Σ_d S_d row_d (Å) of an integer shift S, each component summed
/// in the order d = 0, 1, 2 from 0. Every row is read (multiplied by 0 where S_d is 0), so the
/// rows must be finite: pass a Frame's rows (row-major [9] or Vec3[3]), not a raw cell whose open
/// rows may hold anything.
template <typename Int, typename Rows>
BATCHMD_HD inline Vec3 lattice_vector(const Int* S, const Rows* rows) {
  Vec3 out;
  for (int e = 0; e < 3; ++e) {
    double v = 0;
    for (int d = 0; d < 3; ++d) v += S[d] * row_element(rows, d, e);
    out[e] = v;
  }
  return out;
}

/// How far an atom moved since a Verlet list was built, modulo lattice vectors.
enum class Displacement : int {
  kWithinSkin,   ///< |dl|² <= thr2: the list still holds
  kLatticeJump,  ///< dl minus the lattice vector k · cell is within thr2: the list holds once the
                 ///< atom's image count moves by k (a wrap into the cell, not a real move)
  kRebuild,      ///< anything else (also non-finite or absurd displacements): rebuild the list
};

/// Classifies the displacement dl = x - x_build (Å) of one atom against the squared threshold
/// thr2 = (skin/2)². cell and recip are the build's cell rows and frame reciprocal rows
/// (row-major [9]); periodic [3] its flags (bool, int or uint8). k receives the lattice jump
/// (zero unless kLatticeJump): the nearest integer (halfway away from zero) to dl · recip[d] along
/// periodic directions, 0 along open ones.
template <typename Flag>
BATCHMD_HD inline Displacement classify_displacement(const double* dl, const double* cell, const double* recip,
                                                     const Flag* periodic, double thr2, int* k) {
  k[0] = k[1] = k[2] = 0;
  const double d2 = dot3(dl, dl);
  if (d2 <= thr2) return Displacement::kWithinSkin;
  if (!(periodic[0] || periodic[1] || periodic[2]) || !hd::isfinite(d2)) return Displacement::kRebuild;
  int j[3] = {0, 0, 0};
  for (int d = 0; d < 3; ++d) {
    if (!periodic[d]) continue;
    const double u = dot3(dl, recip + 3 * d);
    if (!(hd::fabs(u) < kMaxImageCells)) return Displacement::kRebuild;
    j[d] = static_cast<int>(hd::lround(u));
  }
  if ((j[0] | j[1] | j[2]) == 0) return Displacement::kRebuild;
  double r2 = 0;
  for (int e = 0; e < 3; ++e) {
    const double v = dl[e] - j[0] * cell[e] - j[1] * cell[3 + e] - j[2] * cell[6 + e];
    r2 += v * v;
  }
  if (!(r2 <= thr2)) return Displacement::kRebuild;
  k[0] = j[0];
  k[1] = j[1];
  k[2] = j[2];
  return Displacement::kLatticeJump;
}

/// Volume (Å^3) of system s of a batch (cell [S][3][3] rows, pbc [S][3]) when it is periodic in
/// all three directions, else 0: the volume that turns a virial into a stress, on the CPU and in
/// the GPU models' output kernels alike.
template <typename T>
BATCHMD_HD inline double periodic_volume(const T* cell, const bool* pbc, std::int64_t s) {
  if (cell == nullptr || pbc == nullptr || !(pbc[3 * s] && pbc[3 * s + 1] && pbc[3 * s + 2])) return 0.0;
  const T* c = cell + 9 * s;
  return hd::fabs(double(c[0]) * (double(c[4]) * c[8] - double(c[5]) * c[7]) -
                  double(c[1]) * (double(c[3]) * c[8] - double(c[5]) * c[6]) +
                  double(c[2]) * (double(c[3]) * c[7] - double(c[4]) * c[6]));
}

}  // namespace batchmd
