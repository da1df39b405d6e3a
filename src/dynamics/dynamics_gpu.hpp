// SPDX-License-Identifier: Apache-2.0
// dynamics/dynamics_gpu (internal): the dynamics module's GPU seam — step loop bookkeeping,
// convergence inputs, kinetic energy, and one launcher per integrator half step. CUDA-free, so the
// .cpp files include it and call `if (batch.is_cuda()) gpu::...` in every build: the definitions
// live in dynamics_gpu.cu and integrators_gpu.cu with the CUDA backend, and in
// dynamics_gpu_stub.cpp (each throws; no batch can be on a GPU there) without it.
//
// Every launcher is asynchronous on the device's compute stream (no host synchronisation) and
// takes device pointers. Launch shapes, stated per launcher below as [per atom], [per system] or
// [reduce]: cuda::parallel_for with one thread per atom or per system (grid-stride, 256 threads
// a block), or cuda::segment_reduce with one block of 256 threads per system. `active` (uint8 per system, nullptr =
// all) selects the systems a step updates; per-system reductions are cuda::segment_reduce (deterministic) into
// `scratch`, a device buffer of at least kScratchPerSystem doubles per system that the caller keeps and reuses.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "batchmd/core/error.hpp"
#include "batchmd/data/batch.hpp"
#include "batchmd/dynamics/integrator_kernels.hpp"

namespace batchmd::dynamics::gpu {

/// Doubles of scratch per system the launchers below may use.
inline constexpr std::int64_t kScratchPerSystem = 8;

/// The CSR structure of a GPU batch, on its device, and the systems a launch updates.
struct Structure {
  int device = 0;
  std::int64_t n_systems = 0, n_atoms = 0;
  const std::int64_t* atoms_ptr = nullptr;     ///< [n_systems + 1]
  const std::int64_t* system_index = nullptr;  ///< [n_atoms]
  const std::uint8_t* active = nullptr;        ///< [n_systems]; nullptr = every system
};
inline Structure structure(const Batch& b, const std::uint8_t* active) {
  Structure s;
  s.device = b.device().index;
  s.n_systems = b.n_systems();
  s.n_atoms = b.n_atoms();
  s.atoms_ptr = b.atoms_ptr_on_device();
  s.system_index = b.system_index_on_device();
  s.active = active;
  return s;
}

/// A per-system value on the device: a float32 or float64 system-level field, or one value for
/// every system.
struct SysValue {
  const float* f32 = nullptr;
  const double* f64 = nullptr;
  double fallback = 0;
  BATCHMD_HD double operator()(std::int64_t s) const { return f64 ? f64[s] : f32 ? double(f32[s]) : fallback; }
};
/// The system-level float field `name` of a GPU batch, or `fallback` when it has none (the
/// checks of dynamics::system_parameter).
inline SysValue sys_value(const Batch& b, std::string_view name, double fallback) {
  SysValue v;
  v.fallback = fallback;
  if (!b.has(name)) return v;
  if (b.level(name) != Level::System) throw InvalidArgument("field '" + std::string(name) + "' is not system-level");
  const Tensor& t = b.get(name);
  if (t.dtype() == DType::Float32)
    v.f32 = t.data<float>();
  else if (t.dtype() == DType::Float64)
    v.f64 = t.data<double>();
  else
    throw_not_floating(t.dtype());
  return v;
}

// ------------------------------------------------------------------ step loop (dynamics_gpu.cu)

/// [per system] ++step[s] (and ++stage_step[s] when not null) for the active systems.
void count_step(const Structure& st, std::int64_t* step, std::int64_t* stage_step);
/// [per system] dst[s] = src[s] where mask[s] (mask nullptr = every s < n).
template <typename T>
void copy_masked(int device, std::int64_t n, const T* src, T* dst, const std::uint8_t* mask);
/// [per system] For s with mask[s]: status = 0 (advance false) or status + 1 (advance true); stage_step = 0.
void set_status(int device, std::int64_t n, std::int32_t* status, std::int64_t* stage_step, const std::uint8_t* mask,
                bool advance);
/// [reduce] out[2s] = max over the atoms of system s of |F|² (NaN ignored), out[2s+1] = 1 if any |F|² is
/// NaN else 0 (an empty system gives -inf, 0).
template <typename T>
void max_force2(const Structure& st, const T* forces, double* out);
/// [reduce] out[s] = Σ m v² over the atoms of system s (amu Å²/fs²).
template <typename T>
void kinetic_mv2(const Structure& st, const T* v, const T* m, double* out);
/// [per system] The convergence inputs packed [S][4]: max |F| (from max_force2's output, NaN if any |F|² is
/// NaN; 0 when fmax2 is null), energy, prev_energy, stage_step (0 where null).
void pack_convergence(int device, std::int64_t n, const double* fmax2, SysValue energy, SysValue prev_energy,
                      const std::int64_t* stage_step, double* out);

/// [per atom] VelocityVerlet: half kick then drift (pre_update), half kick (post_update).
template <typename T>
void vv_pre(const Structure& st, T* x, T* v, const T* f, const T* m, double dt);
template <typename T>
void vv_half_kick(const Structure& st, T* v, const T* f, const T* m, double dt);

// ------------------------------------------------------------- integrators (integrators_gpu.cu)

/// [per system] fire_dt = dt, fire_alpha = alpha, fire_npos = 0 where mask (nullptr = all).
void fire_init(int device, std::int64_t n, double* h, double* a, std::int64_t* npos, const std::uint8_t* mask,
               double dt, double alpha);
/// [one thread per element] Zeroes rows [s·row, (s+1)·row) of a and b where mask.
void zero_rows(int device, std::int64_t n, std::int64_t row, double* a, double* b, const std::uint8_t* mask);

/// One FIRE step of the active systems (FIRE::pre_update): [reduce] P, |v|², |F|²; [per system]
/// the FIRE update; [per atom] mix and kick; [reduce] max |v|²; [per atom] capped drift.
template <typename T>
void fire_step(const Structure& st, const kern::FireParams& p, double max_step, T* x, T* v, const T* f, const T* m,
               double* h, double* a, std::int64_t* npos, double* scratch);
/// One FIRE2 step of the active systems (FIRE2::pre_update): [reduce] P, max |v|²; [per system]
/// the update; [per atom] step back and kick; [reduce] |v|², |F|²; [per atom] mix; [reduce]
/// max |v|²; [per atom] capped drift.
template <typename T>
void fire2_step(const Structure& st, const kern::Fire2Params& p, double max_step, T* x, T* v, const T* f, const T* m,
                double* h, double* a, std::int64_t* npos, const std::int64_t* stage_step, double* scratch);
/// [per atom] Langevin BAOA (Langevin::pre_update).
template <typename T>
void langevin_baoa(const Structure& st, T* x, T* v, const T* f, const T* m, double dt, SysValue temperature,
                   SysValue friction, std::uint64_t seed, const std::int64_t* system_id, const std::int64_t* step);
/// [per atom] The thermostats' half kick v += dt/2 F/m of the active systems.
template <typename T>
void half_kick(const Structure& st, T* v, const T* f, const T* m, double dt);
/// [reduce] kinetic energies, [per system] half a step of the Nosé–Hoover chain on the active
/// systems, [per atom] their velocities scaled; with
/// x and f given, also the half kick and the drift that follow in NoseHooverChain::pre_update.
template <typename T>
void nhc_half_step(const Structure& st, T* v, const T* m, double* xi, double* vxi, std::int64_t chain_length,
                   double tau, double dt, SysValue temperature, double* scratch, T* x, const T* f);

}  // namespace batchmd::dynamics::gpu
