// SPDX-License-Identifier: Apache-2.0
// dynamics/dynamics_gpu: GPU kernels of the step loop — step counters, status changes, the
// prev_energy copy, the convergence inputs (max force, energies, stage steps packed for one
// device-to-host copy), kinetic energies and velocity Verlet. Declared in dynamics_gpu.hpp.
#include <cmath>
#include <limits>

#include "batchmd/core/launch.cuh"
#include "batchmd/core/reduce.cuh"
#include "dynamics_gpu.hpp"

namespace batchmd::dynamics::gpu {

void count_step(const Structure& st, std::int64_t* step, std::int64_t* stage_step) {
  const std::uint8_t* act = st.active;
  cuda::parallel_for(
      st.device, st.n_systems,
      [=] __device__(std::int64_t s) {
        if (act && !act[s]) return;
        ++step[s];
        if (stage_step) ++stage_step[s];
      },
      nullptr, "count_step");
}

template <typename T>
void copy_masked(int device, std::int64_t n, const T* src, T* dst, const std::uint8_t* mask) {
  cuda::parallel_for(
      device, n,
      [=] __device__(std::int64_t s) {
        if (!mask || mask[s]) dst[s] = src[s];
      },
      nullptr, "copy_masked");
}
template void copy_masked<float>(int, std::int64_t, const float*, float*, const std::uint8_t*);
template void copy_masked<double>(int, std::int64_t, const double*, double*, const std::uint8_t*);

void set_status(int device, std::int64_t n, std::int32_t* status, std::int64_t* stage_step, const std::uint8_t* mask,
                bool advance) {
  cuda::parallel_for(
      device, n,
      [=] __device__(std::int64_t s) {
        if (mask && !mask[s]) return;
        status[s] = advance ? status[s] + 1 : 0;
        stage_step[s] = 0;
      },
      nullptr, "set_status");
}

template <typename T>
void max_force2(const Structure& st, const T* forces, double* out) {
  cuda::segment_reduce<2, cuda::MaxOp>(
      st.device, st.n_systems, st.atoms_ptr,
      [=] __device__(std::int64_t i, double* v) {
        const double n2 = kern::norm2(forces + 3 * i);
        const bool nan = n2 != n2;
        v[0] = nan ? 0.0 : n2;
        v[1] = nan ? 1.0 : 0.0;
      },
      out, nullptr, "max_force");
}
template void max_force2<float>(const Structure&, const float*, double*);
template void max_force2<double>(const Structure&, const double*, double*);

template <typename T>
void kinetic_mv2(const Structure& st, const T* v, const T* m, double* out) {
  cuda::segment_reduce<1>(
      st.device, st.n_systems, st.atoms_ptr,
      [=] __device__(std::int64_t i, double* r) { r[0] = kern::mv2(v + 3 * i, m[i]); }, out, nullptr, "kinetic_energy");
}
template void kinetic_mv2<float>(const Structure&, const float*, const float*, double*);
template void kinetic_mv2<double>(const Structure&, const double*, const double*, double*);

void pack_convergence(int device, std::int64_t n, const double* fmax2, SysValue energy, SysValue prev_energy,
                      const std::int64_t* stage_step, double* out) {
  cuda::parallel_for(
      device, n,
      [=] __device__(std::int64_t s) {
        double f = 0;
        if (fmax2)
          f = fmax2[2 * s + 1] > 0 ? std::numeric_limits<double>::quiet_NaN()
                                   : std::sqrt(fmax2[2 * s] > 0 ? fmax2[2 * s] : 0.0);
        out[4 * s] = f;
        out[4 * s + 1] = energy(s);
        out[4 * s + 2] = prev_energy(s);
        out[4 * s + 3] = stage_step ? static_cast<double>(stage_step[s]) : 0.0;
      },
      nullptr, "pack_convergence");
}

template <typename T>
void vv_pre(const Structure& st, T* x, T* v, const T* f, const T* m, double dt) {
  const std::int64_t* si = st.system_index;
  const std::uint8_t* act = st.active;
  const T h = kern::vv_half_kick_factor<T>(dt);
  const T d = static_cast<T>(dt);
  cuda::parallel_for(
      st.device, st.n_atoms,
      [=] __device__(std::int64_t i) {
        if (act && !act[si[i]]) return;
        kern::vv_half_kick(v + 3 * i, f + 3 * i, m[i], h);
        for (int k = 0; k < 3; ++k) kern::vv_drift(x[3 * i + k], v[3 * i + k], d);
      },
      nullptr, "velocity_verlet");
}
template void vv_pre<float>(const Structure&, float*, float*, const float*, const float*, double);
template void vv_pre<double>(const Structure&, double*, double*, const double*, const double*, double);

template <typename T>
void vv_half_kick(const Structure& st, T* v, const T* f, const T* m, double dt) {
  const std::int64_t* si = st.system_index;
  const std::uint8_t* act = st.active;
  const T h = kern::vv_half_kick_factor<T>(dt);
  cuda::parallel_for(
      st.device, st.n_atoms,
      [=] __device__(std::int64_t i) {
        if (act && !act[si[i]]) return;
        kern::vv_half_kick(v + 3 * i, f + 3 * i, m[i], h);
      },
      nullptr, "velocity_verlet");
}
template void vv_half_kick<float>(const Structure&, float*, const float*, const float*, double);
template void vv_half_kick<double>(const Structure&, double*, const double*, const double*, double);

}  // namespace batchmd::dynamics::gpu
