// SPDX-License-Identifier: Apache-2.0
// dynamics/integrators_gpu: GPU launchers of FIRE, FIRE2, Langevin BAOAB and the Nosé–Hoover
// chain (declared in dynamics_gpu.hpp). Each step is a short sequence on the compute stream: per-system
// reductions (cuda::segment_reduce, deterministic) into the caller's scratch, one thread per
// system updating the per-system state with the kern:: functions the CPU loops use, then
// per-atom kernels. Only active systems are touched; nothing here waits for the GPU.
#include <cmath>

#include "batchmd/core/launch.cuh"
#include "batchmd/core/reduce.cuh"
#include "dynamics_gpu.hpp"

namespace batchmd::dynamics::gpu {

void fire_init(int device, std::int64_t n, double* h, double* a, std::int64_t* npos, const std::uint8_t* mask,
               double dt, double alpha) {
  cuda::parallel_for(
      device, n,
      [=] __device__(std::int64_t s) {
        if (mask && !mask[s]) return;
        h[s] = dt;
        a[s] = alpha;
        npos[s] = 0;
      },
      nullptr, "fire_init");
}

void zero_rows(int device, std::int64_t n, std::int64_t row, double* a, double* b, const std::uint8_t* mask) {
  cuda::parallel_for(
      device, n * row,
      [=] __device__(std::int64_t i) {
        if (mask && !mask[i / row]) return;
        a[i] = 0;
        b[i] = 0;
      },
      nullptr, "zero_rows");
}

/// max over each system's atoms of |v|², NaN ignored (as std::max from 0 on the CPU).
template <typename T>
void max_speed2(const Structure& st, const T* v, double* out, const char* what) {
  cuda::segment_reduce<1, cuda::MaxOp>(
      st.device, st.n_systems, st.atoms_ptr,
      [=] __device__(std::int64_t i, double* r) {
        const double n2 = kern::norm2(v + 3 * i);
        r[0] = n2 > 0 ? n2 : 0.0;
      },
      out, nullptr, what);
}

/// x += step(s) v for the atoms of the active systems, step = the capped step of h[s] (× hscale).
template <typename T>
void capped_drift(const Structure& st, T* x, const T* v, const double* h, double hscale, const double* d2,
                  double max_step, const char* what) {
  const std::int64_t* si = st.system_index;
  const std::uint8_t* act = st.active;
  cuda::parallel_for(
      st.device, st.n_atoms,
      [=] __device__(std::int64_t i) {
        const std::int64_t s = si[i];
        if (act && !act[s]) return;
        const double step = kern::capped_step(hscale * h[s], d2[s], max_step);
        for (int k = 0; k < 3; ++k) kern::drift(x[3 * i + k], v[3 * i + k], step);
      },
      nullptr, what);
}

// ---------------------------------------------------------------------------------------- FIRE

template <typename T>
void fire_step(const Structure& st, const kern::FireParams& p, double max_step, T* x, T* v, const T* f, const T* m,
               double* h, double* a, std::int64_t* npos, double* scratch) {
  const std::int64_t S = st.n_systems;
  const std::int64_t* si = st.system_index;
  const std::uint8_t* act = st.active;
  double* sums = scratch;            // [S][3]: P, |v|², |F|²
  double* action = scratch + 3 * S;  // [S][3]: keep, c, what (0 nothing, 1 mix, 2 zero)
  double* d2 = scratch + 6 * S;      // [S]: max |v|² after the kick
  const kern::FireParams prm = p;
  cuda::segment_reduce<3>(
      st.device, S, st.atoms_ptr,
      [=] __device__(std::int64_t i, double* r) {
        kern::PowerSums ps;
        for (int k = 0; k < 3; ++k) kern::add_power(ps, v[3 * i + k], f[3 * i + k]);
        r[0] = ps.p;
        r[1] = ps.vv;
        r[2] = ps.ff;
      },
      sums, nullptr, "fire_power");
  cuda::parallel_for(
      st.device, S,
      [=] __device__(std::int64_t s) {
        if (act && !act[s]) return;
        kern::PowerSums r;
        r.p = sums[3 * s];
        r.vv = sums[3 * s + 1];
        r.ff = sums[3 * s + 2];
        double hs = h[s], as = a[s];
        std::int64_t ns = npos[s];
        const kern::FireAction fa = kern::fire_update(prm, r, hs, as, ns);
        h[s] = hs;
        a[s] = as;
        npos[s] = ns;
        action[3 * s] = fa.mix.keep;
        action[3 * s + 1] = fa.mix.c;
        action[3 * s + 2] = fa.mix.on ? 1.0 : fa.zero ? 2.0 : 0.0;
      },
      nullptr, "fire_update");
  cuda::parallel_for(
      st.device, st.n_atoms,
      [=] __device__(std::int64_t i) {
        const std::int64_t s = si[i];
        if (act && !act[s]) return;
        T* vi = v + 3 * i;
        const T* fi = f + 3 * i;
        const double what = action[3 * s + 2];
        if (what == 2.0) {
          for (int k = 0; k < 3; ++k) vi[k] = T(0);
        } else if (what == 1.0) {
          kern::Mix mx;
          mx.keep = action[3 * s];
          mx.c = action[3 * s + 1];
          mx.on = true;
          for (int k = 0; k < 3; ++k) kern::mix(vi[k], fi[k], mx);
        }
        kern::euler_kick(vi, fi, m[i], h[s]);
      },
      nullptr, "fire_kick");
  max_speed2(st, v, d2, "fire_max_speed");
  capped_drift(st, x, v, h, 1.0, d2, max_step, "fire_drift");
}

// --------------------------------------------------------------------------------------- FIRE2

template <typename T>
void fire2_step(const Structure& st, const kern::Fire2Params& p, double max_step, T* x, T* v, const T* f, const T* m,
                double* h, double* a, std::int64_t* npos, const std::int64_t* stage_step, double* scratch) {
  const std::int64_t S = st.n_systems;
  const std::int64_t* si = st.system_index;
  const std::uint8_t* act = st.active;
  double* power = scratch;         // [S]: P before the step
  double* d2_back = scratch + S;   // [S]: max |v|² before the step (the step back's cap)
  double* back = scratch + 2 * S;  // [S]: 1 = step back
  double* sums = scratch + 3 * S;  // [S][2]: |v|², |F|² after the kick
  double* d2 = scratch + 5 * S;    // [S]: max |v|² after the mix
  const kern::Fire2Params prm = p;
  cuda::segment_reduce<1>(
      st.device, S, st.atoms_ptr,
      [=] __device__(std::int64_t i, double* r) {
        kern::PowerSums ps;
        for (int k = 0; k < 3; ++k) kern::add_power(ps, v[3 * i + k], f[3 * i + k]);
        r[0] = ps.p;
      },
      power, nullptr, "fire2_power");
  max_speed2(st, v, d2_back, "fire2_max_speed");
  cuda::parallel_for(
      st.device, S,
      [=] __device__(std::int64_t s) {
        if (act && !act[s]) return;
        double hs = h[s], as = a[s];
        std::int64_t ns = npos[s];
        back[s] = kern::fire2_update(prm, power[s], stage_step[s], hs, as, ns) ? 1.0 : 0.0;
        h[s] = hs;
        a[s] = as;
        npos[s] = ns;
      },
      nullptr, "fire2_update");
  cuda::parallel_for(
      st.device, st.n_atoms,
      [=] __device__(std::int64_t i) {
        const std::int64_t s = si[i];
        if (act && !act[s]) return;
        T* vi = v + 3 * i;
        if (back[s] != 0.0) {  // x −= (capped) h/2 v, then v = 0
          const double step = kern::capped_step(0.5 * h[s], d2_back[s], max_step);
          for (int k = 0; k < 3; ++k) {
            const T back_v = -vi[k];
            kern::drift(x[3 * i + k], back_v, step);
            vi[k] = T(0);
          }
        }
        kern::euler_kick(vi, f + 3 * i, m[i], h[s]);
      },
      nullptr, "fire2_kick");
  cuda::segment_reduce<2>(
      st.device, S, st.atoms_ptr,
      [=] __device__(std::int64_t i, double* r) {
        kern::PowerSums ps;
        for (int k = 0; k < 3; ++k) kern::add_power(ps, v[3 * i + k], f[3 * i + k]);
        r[0] = ps.vv;
        r[1] = ps.ff;
      },
      sums, nullptr, "fire2_norms");
  cuda::parallel_for(
      st.device, st.n_atoms,
      [=] __device__(std::int64_t i) {
        const std::int64_t s = si[i];
        if (act && !act[s]) return;
        const kern::Mix mx = kern::mix_coeffs(a[s], std::sqrt(sums[2 * s]), std::sqrt(sums[2 * s + 1]));
        for (int k = 0; k < 3; ++k) kern::mix(v[3 * i + k], f[3 * i + k], mx);
      },
      nullptr, "fire2_mix");
  max_speed2(st, v, d2, "fire2_max_speed");
  capped_drift(st, x, v, h, 1.0, d2, max_step, "fire2_drift");
}

// ------------------------------------------------------------------------------------ Langevin

template <typename T>
void langevin_baoa(const Structure& st, T* x, T* v, const T* f, const T* m, double dt, SysValue temperature,
                   SysValue friction, std::uint64_t seed, const std::int64_t* system_id, const std::int64_t* step) {
  const std::int64_t* si = st.system_index;
  const std::int64_t* ap = st.atoms_ptr;
  const std::uint8_t* act = st.active;
  cuda::parallel_for(
      st.device, st.n_atoms,
      [=] __device__(std::int64_t i) {
        const std::int64_t s = si[i];
        if (act && !act[s]) return;
        const kern::LangevinCoeffs lc = kern::langevin_coeffs(friction(s), temperature(s), dt);
        kern::langevin_baoa(x + 3 * i, v + 3 * i, f + 3 * i, m[i], dt, lc, seed, system_id[s], step[s], i - ap[s]);
      },
      nullptr, "langevin_baoa");
}

template <typename T>
void half_kick(const Structure& st, T* v, const T* f, const T* m, double dt) {
  const std::int64_t* si = st.system_index;
  const std::uint8_t* act = st.active;
  const double h = 0.5 * dt * units::kAccel;
  cuda::parallel_for(
      st.device, st.n_atoms,
      [=] __device__(std::int64_t i) {
        if (act && !act[si[i]]) return;
        kern::half_kick(v + 3 * i, f + 3 * i, m[i], h);
      },
      nullptr, "half_kick");
}

// ---------------------------------------------------------------------------- Nosé–Hoover chain

template <typename T>
void nhc_half_step(const Structure& st, T* v, const T* m, double* xi, double* vxi, std::int64_t chain_length,
                   double tau, double dt, SysValue temperature, double* scratch, T* x, const T* f) {
  const std::int64_t S = st.n_systems;
  const std::int64_t M = chain_length;
  const std::int64_t* si = st.system_index;
  const std::int64_t* ap = st.atoms_ptr;
  const std::uint8_t* act = st.active;
  double* mv2 = scratch;         // [S]
  double* factor = scratch + S;  // [S]: velocity scale
  cuda::segment_reduce<1>(
      st.device, S, ap, [=] __device__(std::int64_t i, double* r) { r[0] = kern::mv2(v + 3 * i, m[i]); }, mv2, nullptr,
      "nhc_kinetic");
  cuda::parallel_for(
      st.device, S,
      [=] __device__(std::int64_t s) {
        if (act && !act[s]) return;
        const std::int64_t n = ap[s + 1] - ap[s];
        if (n == 0) return;
        const double kt = units::kBoltzmann * temperature(s);
        factor[s] = kern::nhc_half_step(xi + s * M, vxi + s * M, M, mv2[s] * units::kMv2ToEv,
                                        kern::degrees_of_freedom(n), kt, tau, dt);
      },
      nullptr, "nhc_chain");
  const double h = 0.5 * dt * units::kAccel;
  cuda::parallel_for(
      st.device, st.n_atoms,
      [=] __device__(std::int64_t i) {
        const std::int64_t s = si[i];
        if (act && !act[s]) return;
        const double c = factor[s];
        for (int k = 0; k < 3; ++k) kern::scale(v[3 * i + k], c);
        if (x) {
          kern::half_kick(v + 3 * i, f + 3 * i, m[i], h);
          for (int k = 0; k < 3; ++k) kern::drift(x[3 * i + k], v[3 * i + k], dt);
        }
      },
      nullptr, "nhc_scale");
}

// ----------------------------------------------------------------------- explicit instantiations

#define BATCHMD_INSTANTIATE(T)                                                                                         \
  template void fire_step<T>(const Structure&, const kern::FireParams&, double, T*, T*, const T*, const T*, double*,   \
                             double*, std::int64_t*, double*);                                                         \
  template void fire2_step<T>(const Structure&, const kern::Fire2Params&, double, T*, T*, const T*, const T*, double*, \
                              double*, std::int64_t*, const std::int64_t*, double*);                                   \
  template void langevin_baoa<T>(const Structure&, T*, T*, const T*, const T*, double, SysValue, SysValue,             \
                                 std::uint64_t, const std::int64_t*, const std::int64_t*);                             \
  template void half_kick<T>(const Structure&, T*, const T*, const T*, double);                                        \
  template void nhc_half_step<T>(const Structure&, T*, const T*, double*, double*, std::int64_t, double, double,       \
                                 SysValue, double*, T*, const T*);
BATCHMD_INSTANTIATE(float)
BATCHMD_INSTANTIATE(double)
#undef BATCHMD_INSTANTIATE

}  // namespace batchmd::dynamics::gpu
