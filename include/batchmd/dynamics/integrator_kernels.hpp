// SPDX-License-Identifier: Apache-2.0
// dynamics/integrator_kernels: the arithmetic of every integrator and optimizer — velocity
// Verlet, FIRE, FIRE2, Langevin BAOAB, Nosé–Hoover chain — as inline host/device functions, one
// source for the CPU loops (src/dynamics/*.cpp) and the GPU kernels (src/dynamics/*.cu).
//
// Per-atom functions act on one atom's three components (pointers to x[3i], v[3i], f[3i]); the
// per-system functions take the reductions a step needs (FIRE's P = F·v, |v|², |F|²; the max |v|²
// of the max_step cap; NHC's kinetic energy) and update the system's state. The CPU and the GPU
// evaluate the same expressions in the same order; they differ only in the order of the
// per-system sums (sequential on the CPU, a fixed tree on the GPU) and in the last bit of exp/log/
// sin/cos (glibc vs CUDA's libdevice; the CPU's Langevin noise uses batchmd's own log/sin/cos,
// langevin_noise.hpp), which is why CPU and GPU trajectories agree to rounding, not bit for bit.
#pragma once
#include <cmath>
#include <cstdint>

#include "batchmd/core/hd.hpp"
#include "batchmd/dynamics/random.hpp"
#include "batchmd/dynamics/units.hpp"

namespace batchmd::dynamics::kern {

/// std::min / std::max (same results, NaN included), usable in device code.
BATCHMD_HD inline double dmin(double a, double b) { return (b < a) ? b : a; }
BATCHMD_HD inline double dmax(double a, double b) { return (a < b) ? b : a; }

// ------------------------------------------------------------------------- velocity Verlet

/// VelocityVerlet's half-kick factor dt/2 · (eV/Å/amu → Å/fs²), in T.
template <typename T>
BATCHMD_HD inline T vv_half_kick_factor(double dt) {
  return static_cast<T>(0.5 * dt * units::kAccel);
}
/// VelocityVerlet's half kick of one atom, in T arithmetic: v += (h / m) F.
template <typename T>
BATCHMD_HD inline void vv_half_kick(T* v, const T* f, T m, T h) {
  const T s = h / m;
  for (int k = 0; k < 3; ++k) v[k] += s * f[k];
}
/// VelocityVerlet's drift of one coordinate, in T arithmetic: x += d v.
template <typename T>
BATCHMD_HD inline void vv_drift(T& x, T v, T d) {
  x += d * v;
}

// ---------------------------------------------------------------- shared by the thermostats

/// The thermostats' half kick of one atom (h = dt/2 · kAccel): v += T(h / m) F, in T.
template <typename T>
BATCHMD_HD inline void half_kick(T* v, const T* f, T m, double h) {
  const T s = static_cast<T>(h / double(m));
  for (int k = 0; k < 3; ++k) v[k] += s * f[k];
}
/// x += step · v for one coordinate, in double.
template <typename T>
BATCHMD_HD inline void drift(T& x, T v, double step) {
  x = static_cast<T>(double(x) + step * double(v));
}
/// |v|² of one atom, in double.
template <typename T>
BATCHMD_HD inline double norm2(const T* v) {
  double n2 = 0;
  for (int k = 0; k < 3; ++k) n2 += double(v[k]) * double(v[k]);
  return n2;
}
/// Σ_k m v_k² of one atom, in double (the kinetic-energy sums).
template <typename T>
BATCHMD_HD inline double mv2(const T* v, T m) {
  double s = 0;
  for (int k = 0; k < 3; ++k) s += double(m) * double(v[k]) * double(v[k]);
  return s;
}

// ------------------------------------------------------------------------------ FIRE, FIRE2

/// The semi-implicit Euler kick of the optimizers: v += h · kAccel / m · F, in double.
template <typename T>
BATCHMD_HD inline void euler_kick(T* v, const T* f, T m, double h) {
  const double s = h * units::kAccel / double(m);
  for (int k = 0; k < 3; ++k) v[k] = static_cast<T>(double(v[k]) + s * double(f[k]));
}

/// Per-system sums of the FIRE power test.
struct PowerSums {
  double p = 0;   ///< F·v
  double vv = 0;  ///< |v|²
  double ff = 0;  ///< |F|²
};
/// Adds one velocity/force component to the sums.
template <typename T>
BATCHMD_HD inline void add_power(PowerSums& r, T v, T f) {
  r.p += double(f) * double(v);
  r.vv += double(v) * double(v);
  r.ff += double(f) * double(f);
}

/// The step length of a capped drift: h, or less so that no atom moves more than max_step
/// (d2 = max over the system's atoms of |v|²; a negative d2, an empty system on the GPU, is 0).
BATCHMD_HD inline double capped_step(double h, double d2, double max_step) {
  const double dmax_ = h * std::sqrt(d2 > 0 ? d2 : 0.0);
  return dmax_ > max_step ? h * max_step / dmax_ : h;
}

/// FIRE's velocity mixing v ← (1−α) v + α |v| F̂, as keep · v + c · F (off when |F| = 0).
struct Mix {
  double keep = 1, c = 0;
  bool on = false;
};
BATCHMD_HD inline Mix mix_coeffs(double alpha, double vn, double fn) {
  Mix m;
  if (!(fn > 0)) return m;
  m.c = alpha * vn / fn;
  m.keep = 1.0 - alpha;
  m.on = true;
  return m;
}
template <typename T>
BATCHMD_HD inline void mix(T& v, T f, const Mix& m) {
  if (m.on) v = static_cast<T>(m.keep * double(v) + m.c * double(f));
}

struct FireParams {
  double dt_max, f_inc, f_dec, alpha_start, f_alpha;
  std::int64_t n_min;
};
/// What FIRE does to a system's velocities before the kick.
struct FireAction {
  Mix mix;            ///< P > 0: mix
  bool zero = false;  ///< P < 0: zero
};
/// FIRE's per-system update from the power sums of the current v and F: updates the time step h,
/// α and the count n of P > 0 steps; returns what to do to the velocities.
BATCHMD_HD inline FireAction fire_update(const FireParams& c, const PowerSums& r, double& h, double& a,
                                         std::int64_t& n) {
  FireAction act;
  if (r.p > 0) {
    act.mix = mix_coeffs(a, std::sqrt(r.vv), std::sqrt(r.ff));
    if (n > c.n_min) {
      h = dmin(h * c.f_inc, c.dt_max);
      a *= c.f_alpha;
    }
    ++n;
  } else if (r.p < 0) {
    act.zero = true;
    h *= c.f_dec;
    a = c.alpha_start;
    n = 0;
  }
  return act;
}

struct Fire2Params {
  double dt_max, dt_min, f_inc, f_dec, alpha_start, f_alpha;
  std::int64_t n_delay;
  bool initial_delay;
};
/// FIRE2's per-system update from P = F·v of the current v and F and the steps taken in the
/// stage: updates h, α and n; returns true when the system steps back (P <= 0: x −= h/2 v, capped,
/// then v = 0).
BATCHMD_HD inline bool fire2_update(const Fire2Params& c, double p, std::int64_t stage_step, double& h, double& a,
                                    std::int64_t& n) {
  if (p > 0) {
    ++n;
    if (n > c.n_delay) {
      h = dmin(h * c.f_inc, c.dt_max);
      a *= c.f_alpha;
    }
    return false;
  }
  n = 0;
  if (!(c.initial_delay && stage_step < c.n_delay)) {
    if (h * c.f_dec >= c.dt_min) h *= c.f_dec;
    a = c.alpha_start;
  }
  return true;
}

// ---------------------------------------------------------------------------------- Langevin

/// The O step of BAOAB for one system: v ← c v + noise / sqrt(m) · ξ.
struct LangevinCoeffs {
  double c, noise;
};
BATCHMD_HD inline LangevinCoeffs langevin_coeffs(double gamma, double temperature, double dt) {
  const double c = std::exp(-gamma * dt);
  return {c, std::sqrt(dmax(0.0, 1.0 - c * c) * units::kBoltzmann * temperature * units::kAccel)};
}
/// B A O A of one atom (the last B follows the force evaluation) with the atom's three standard
/// normal deviates g[0..2] (the CPU loops take them from langevin_noise.hpp, a chunk at a time).
template <typename T>
BATCHMD_HD inline void langevin_baoa(T* x, T* v, const T* f, T m, double dt, const LangevinCoeffs& lc,
                                     const double* g) {
  const double inv_m = 1.0 / double(m);
  const double sd = lc.noise * std::sqrt(inv_m);
  for (int k = 0; k < 3; ++k) {
    double vj = double(v[k]) + 0.5 * dt * units::kAccel * inv_m * double(f[k]);  // B
    double xj = double(x[k]) + 0.5 * dt * vj;                                    // A
    vj = lc.c * vj + sd * g[k];                                                  // O
    xj += 0.5 * dt * vj;                                                         // A
    v[k] = static_cast<T>(vj);
    x[k] = static_cast<T>(xj);
  }
}
/// B A O A of one atom with gaussian4's deviates (the GPU kernels): `local` is the atom's index
/// within its system, the Philox counter together with (seed, system_id, step).
template <typename T>
BATCHMD_HD inline void langevin_baoa(T* x, T* v, const T* f, T m, double dt, const LangevinCoeffs& lc,
                                     std::uint64_t seed, std::int64_t system_id, std::int64_t step,
                                     std::int64_t local) {
  const auto g = gaussian4(seed, system_id, step, local);
  langevin_baoa(x, v, f, m, dt, lc, &g[0]);
}

// ------------------------------------------------------------------------- Nosé–Hoover chain

/// Degrees of freedom of a system of n atoms: 3n − 3 (3n for one atom).
BATCHMD_HD inline double degrees_of_freedom(std::int64_t n) {
  const auto d = static_cast<double>(n);
  return d > 1 ? 3.0 * d - 3.0 : 3.0 * d;
}
/// Half a time step (dt/2) of the chain of length M for one system with twice the kinetic energy
/// ke2 (eV), nf degrees of freedom and kT (eV): updates the thermostat positions xi[M] and
/// velocities vxi[M] (1/fs) and returns the factor that scales the system's velocities.
BATCHMD_HD inline double nhc_half_step(double* xi, double* vxi, std::int64_t M, double ke2, double nf, double kt,
                                       double tau, double dt) {
  const double dt2 = 0.5 * dt, dt4 = 0.25 * dt, dt8 = 0.125 * dt;
  const double q1 = nf * kt * tau * tau, qj = kt * tau * tau;
  auto q = [&](std::int64_t j) { return j == 0 ? q1 : qj; };
  auto force = [&](std::int64_t j) {
    return j == 0 ? (ke2 - nf * kt) / q1 : (q(j - 1) * vxi[j - 1] * vxi[j - 1] - kt) / qj;
  };
  vxi[M - 1] += force(M - 1) * dt4;
  for (std::int64_t j = M - 1; j-- > 0;) {
    const double e = std::exp(-vxi[j + 1] * dt8);
    vxi[j] = (vxi[j] * e + force(j) * dt4) * e;
  }
  const double scale = std::exp(-vxi[0] * dt2);
  ke2 *= scale * scale;
  for (std::int64_t j = 0; j < M; ++j) xi[j] += vxi[j] * dt2;
  for (std::int64_t j = 0; j + 1 < M; ++j) {
    const double e = std::exp(-vxi[j + 1] * dt8);
    vxi[j] = (vxi[j] * e + force(j) * dt4) * e;
  }
  vxi[M - 1] += force(M - 1) * dt4;
  return scale;
}
/// v ← v · scale for one coordinate, in double.
template <typename T>
BATCHMD_HD inline void scale(T& v, double s) {
  v = static_cast<T>(double(v) * s);
}

}  // namespace batchmd::dynamics::kern
