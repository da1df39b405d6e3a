// SPDX-License-Identifier: Apache-2.0
// hooks/hook_kernels (internal): the per-atom and per-system math of the hooks, written once as
// host/device inline functions. The CPU loops (src/hooks/*.cpp) and the GPU kernels
// (src/hooks/hooks_gpu.cu) call the same functions, so both devices run one kernel source
// (ARCHITECTURE.md decision 2). Everything is computed in double with plain multiplies and adds;
// hooks_gpu.cu is compiled with --fmad=false so the GPU rounds every operation like the CPU and
// elementwise results (clamped forces, wrapped positions, pinned atoms, restraint forces) agree
// bit for bit. Reductions over atoms (kinetic energy, restraint energy) sum in another order on
// the GPU (a fixed tree per system) and agree to rounding only.
#pragma once
#include <cmath>
#include <cstdint>

#include "batchmd/core/hd.hpp"

namespace batchmd::hooks::kernels {

// ----------------------------------------------------------------------------- MaxForceClamp

/// Scales force fi[0..3) down to magnitude max_force (fmax2 = max_force²) if it is larger;
/// returns whether it did. A NaN force is left alone (for NaNDetectorHook).
template <typename T>
BATCHMD_HD inline bool clamp_force(T* fi, double max_force, double fmax2) {
  const double n2 = double(fi[0]) * double(fi[0]) + double(fi[1]) * double(fi[1]) + double(fi[2]) * double(fi[2]);
  if (!(n2 > fmax2)) return false;
  const double s = max_force / hd::sqrt(n2);
  for (int k = 0; k < 3; ++k) fi[k] = static_cast<T>(double(fi[k]) * s);
  return true;
}

// ---------------------------------------------------------------------------- WrapPeriodic

/// A system's periodic frame: flags, cell rows a, b, c and the inverse (f = x · inv).
struct Frame {
  bool pbc[3];
  bool any;       ///< some direction is periodic
  bool singular;  ///< periodic, but the cell cannot be inverted (atoms are left alone)
  double det;
  double cell[9];
  double inv[9];
};

/// The frame of one system from its cell [9] (rows a, b, c) and pbc [3].
template <typename T>
BATCHMD_HD inline Frame make_frame(const T* cell, const bool* pbc) {
  Frame f{};
  for (int k = 0; k < 3; ++k) f.pbc[k] = pbc[k];
  f.any = f.pbc[0] || f.pbc[1] || f.pbc[2];
  if (!f.any) return f;
  for (int k = 0; k < 9; ++k) f.cell[k] = double(cell[k]);
  const double* c = f.cell;
  const double det =
      c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) + c[2] * (c[3] * c[7] - c[4] * c[6]);
  const double scale = hd::fabs(c[0]) + hd::fabs(c[4]) + hd::fabs(c[8]) + 1e-300;
  f.det = det;
  if (!(hd::isfinite(det) && hd::fabs(det) > 1e-12 * scale * scale * scale)) {
    f.singular = true;
    return f;
  }
  double* m = f.inv;  // inverse of the row-major matrix c
  m[0] = (c[4] * c[8] - c[5] * c[7]) / det;
  m[1] = (c[2] * c[7] - c[1] * c[8]) / det;
  m[2] = (c[1] * c[5] - c[2] * c[4]) / det;
  m[3] = (c[5] * c[6] - c[3] * c[8]) / det;
  m[4] = (c[0] * c[8] - c[2] * c[6]) / det;
  m[5] = (c[2] * c[3] - c[0] * c[5]) / det;
  m[6] = (c[3] * c[7] - c[4] * c[6]) / det;
  m[7] = (c[1] * c[6] - c[0] * c[7]) / det;
  m[8] = (c[0] * c[4] - c[1] * c[3]) / det;
  return f;
}

/// Wraps position xi[0..3) into the frame's cell along its periodic directions and adds the
/// lattice vectors it moved by to img[0..3); returns whether it moved. Positions already inside
/// are left bitwise unchanged; so is a non-finite position (for NaNDetectorHook).
template <typename T>
BATCHMD_HD inline bool wrap_atom(T* xi, std::int32_t* img, const Frame& f) {
  if (!f.any || f.singular) return false;
  double n[3] = {0, 0, 0};
  bool shift = false;
  for (int k = 0; k < 3; ++k) {
    if (!f.pbc[k]) continue;
    const double fk = double(xi[0]) * f.inv[k] + double(xi[1]) * f.inv[3 + k] + double(xi[2]) * f.inv[6 + k];
    if (!hd::isfinite(fk)) return false;
    n[k] = hd::floor(fk);
    if (n[k] != 0) shift = true;
  }
  if (!shift) return false;
  for (int d = 0; d < 3; ++d) {
    const double dx = n[0] * f.cell[d] + n[1] * f.cell[3 + d] + n[2] * f.cell[6 + d];
    xi[d] = static_cast<T>(double(xi[d]) - dx);
  }
  for (int k = 0; k < 3; ++k) img[k] += static_cast<std::int32_t>(n[k]);
  return true;
}

// ------------------------------------------------------------------------------ FreezeAtoms

/// Capture: records atom i's position as reference entry j (R = the reference's element type)
/// and zeroes its velocity and force (either may be null).
template <typename T, typename R>
BATCHMD_HD inline void freeze_capture(const T* x, T* v, T* f, R* ref, std::int64_t i, std::int64_t j) {
  for (int k = 0; k < 3; ++k) {
    ref[3 * j + k] = static_cast<R>(x[3 * i + k]);
    if (v) v[3 * i + k] = T(0);
    if (f) f[3 * i + k] = T(0);
  }
}

/// Pin: puts atom i back at reference entry j (exact: the reference holds values read from T)
/// and zeroes its velocity and force (either may be null).
template <typename T, typename R>
BATCHMD_HD inline void freeze_pin(T* x, T* v, T* f, const R* ref, std::int64_t i, std::int64_t j) {
  for (int k = 0; k < 3; ++k) {
    x[3 * i + k] = static_cast<T>(ref[3 * j + k]);
    if (v) v[3 * i + k] = T(0);
    if (f) f[3 * i + k] = T(0);
  }
}

// ------------------------------------------------------------------------ BiasedPotential

/// Harmonic restraint of coordinate d: adds −k·u to f[d] (u = x[d] − r[d]) and returns u².
template <typename T>
BATCHMD_HD inline double restrain(const T* x, T* f, const double* r, double k, std::int64_t d) {
  const double u = double(x[d]) - r[d];
  f[d] = static_cast<T>(double(f[d]) - k * u);
  return u * u;
}

/// energy += bias, in the batch's float type.
template <typename T>
BATCHMD_HD inline T add_bias(T energy, double bias) {
  return static_cast<T>(double(energy) + bias);
}

// ------------------------------------------------------------------------------- monitors

/// Whether elements [lo, hi) of data are all finite.
template <typename T>
BATCHMD_HD inline bool all_finite(const T* data, std::int64_t lo, std::int64_t hi) {
  for (std::int64_t e = lo; e < hi; ++e)
    if (!hd::isfinite(double(data[e]))) return false;
  return true;
}

/// Σ_k m v_k² of atom i (amu Å²/fs²), each term formed as dynamics::kinetic_energy() forms it.
template <typename T>
BATCHMD_HD inline double mv2_atom(const T* v, const T* m, std::int64_t i) {
  double sum = 0;
  for (int k = 0; k < 3; ++k) sum += double(m[i]) * double(v[3 * i + k]) * double(v[3 * i + k]);
  return sum;
}

/// |f_i|² of atom i.
template <typename T>
BATCHMD_HD inline double force_norm2(const T* f, std::int64_t i) {
  return double(f[3 * i]) * double(f[3 * i]) + double(f[3 * i + 1]) * double(f[3 * i + 1]) +
         double(f[3 * i + 2]) * double(f[3 * i + 2]);
}

/// The larger of two squared norms; NaN wins (a NaN force shows up as fmax = NaN).
BATCHMD_HD inline double nan_max(double a, double b) {
  if (hd::isnan(a)) return a;
  if (b > a || hd::isnan(b)) return b;
  return a;
}

}  // namespace batchmd::hooks::kernels
