// SPDX-License-Identifier: Apache-2.0
// dynamics/cell_gpu: the GPU launchers of the integrators that move the cell (declared in
// cell_gpu.hpp): MTK NPT, stochastic cell rescaling and variable-cell FIRE. Each follows its CPU
// loop (npt_mtk.cpp, npt_csr.cpp, cell_relax.cpp) step by step with the same per-system and
// per-atom arithmetic (cellm::, cellk::, kern::); only the order of the per-system sums differs
// (cuda::segment_reduce's fixed tree instead of a sequential loop). Compiled with --fmad=false.
#include <climits>
#include <cmath>

#include "batchmd/core/launch.cuh"
#include "batchmd/core/reduce.cuh"
#include "batchmd/dynamics/cell_math.hpp"
#include "batchmd/dynamics/random.hpp"
#include "batchmd/dynamics/units.hpp"
#include "cell_gpu.hpp"
#include "cell_kernels.hpp"

namespace batchmd::dynamics::gpu {

namespace {

constexpr int kWarp = 32;
constexpr unsigned kFullMask = 0xffffffffu;

/// Records a fault of system s (cellk::CellFault bit) in the status.
__device__ void report(CellStatus* st, int bit, std::int64_t s, int target_fault = 0) {
  if (st == nullptr) return;  // a thread that computes but does not report
  int k = 0;
  while ((1 << k) != bit) ++k;
  atomicOr(&st->error, bit);
  atomicMin(&st->system[k], static_cast<int>(s));
  if (target_fault != 0) st->target_fault = target_fault;
}

/// P_t of system s from the stage's value and the fields (pressure_targets' rules); a bad value
/// is reported and the stage's target used instead.
__device__ void target_of(const Targets& t, std::int64_t s, double* p, bool& hydro, CellStatus* st) {
  for (int k = 0; k < 9; ++k) p[k] = t.stage[k];
  hydro = t.stage_hydro;
  if (t.pressure.f32 != nullptr || t.pressure.f64 != nullptr) {
    const double ps = t.pressure(s);
    if (!(hd::isfinite(ps) && ps > -1.0)) {
      report(st, cellk::kTargetBad, s, hd::isfinite(ps) ? cellk::kTargetTooLow : cellk::kTargetNonFinite);
      return;
    }
    cellk::hydrostatic(ps, p);
    hydro = true;
    return;
  }
  if (t.s32 == nullptr && t.s64 == nullptr) return;
  double raw[9], sig[9], q[9];
  const int n = t.voigt ? 6 : 9;
  for (int k = 0; k < n; ++k) raw[k] = t.s64 ? t.s64[n * s + k] : double(t.s32[n * s + k]);
  if (t.voigt)
    cellk::stress_from_voigt(raw, sig);
  else
    for (int k = 0; k < 9; ++k) sig[k] = raw[k];
  bool h = true;
  const int fault = cellk::target_from_stress(sig, t.isotropic, q, h);
  if (fault != cellk::kTargetOk) {
    report(st, cellk::kTargetBad, s, fault);
    return;
  }
  for (int k = 0; k < 9; ++k) p[k] = q[k];
  hydro = h;
}

template <typename T>
__device__ void load9(const T* src, double* dst) {
  for (int k = 0; k < 9; ++k) dst[k] = double(src[k]);
}

/// Checks the moved cell of system s against the volume before; writes it when it is sound. A
/// fault is reported and freezes the system for this step (frozen[s] = 1: its atoms are not
/// moved), so the error that stops the run is the barostat's, not a model's about positions
/// scaled by a cell that was refused (the CPU loop throws at once).
template <typename T>
__device__ void store_cell(T* cell, const double* moved, double v_before, std::int64_t s, CellStatus* st,
                           double* frozen) {
  double v, h_min, h_max;
  const int fault = cellk::cell_fault(moved, v_before, v, h_min, h_max);
  frozen[s] = fault != 0 ? 1.0 : 0.0;
  if (fault != 0) {
    report(st, fault, s);
    return;
  }
  for (int k = 0; k < 9; ++k) cell[9 * s + k] = static_cast<T>(moved[k]);
}

/// Σ m v⊗v of one atom into r[6] (xx yy zz xy xz yz), as detail::KineticSums::add.
template <typename T>
__device__ void kinetic6(const T* v, T m, double* r) {
  const double md = double(m), vx = double(v[0]), vy = double(v[1]), vz = double(v[2]);
  r[0] = md * vx * vx;
  r[1] = md * vy * vy;
  r[2] = md * vz * vz;
  r[3] = md * vx * vy;
  r[4] = md * vx * vz;
  r[5] = md * vy * vz;
}
/// The kinetic tensor (eV, row-major) from the six sums, as KineticSums::write.
__device__ void kinetic_tensor(const double* k6, double* out) {
  const double t[9] = {k6[0], k6[3], k6[4], k6[3], k6[1], k6[5], k6[4], k6[5], k6[2]};
  for (int k = 0; k < 9; ++k) out[k] = t[k] * units::kMv2ToEv;
}

/// MTK's per-atom pass (npt_mtk.cpp, mtk_atoms): damped kick, then the drift (drift) or nothing.
template <typename T>
__device__ void mtk_atom(const double* mp, bool iso, bool drift, T* vi, const T* fi, T mi, T* xi) {
  const double* kv = mp;
  const double* ka = mp + 9;
  const double* dr = mp + 18;
  const double* dv = mp + 27;
  const double accel = units::kAccel / double(mi);
  if (iso) {
    for (int c = 0; c < 3; ++c) vi[c] = static_cast<T>(kv[0] * double(vi[c]) + ka[0] * (accel * double(fi[c])));
  } else {
    const double vc[3] = {double(vi[0]), double(vi[1]), double(vi[2])};
    const double ac[3] = {accel * double(fi[0]), accel * double(fi[1]), accel * double(fi[2])};
    double p[3], q[3];
    cellm::mv3(kv, vc, p);
    cellm::mv3(ka, ac, q);
    for (int c = 0; c < 3; ++c) vi[c] = static_cast<T>(p[c] + q[c]);
  }
  if (!drift) return;
  if (iso) {
    for (int c = 0; c < 3; ++c) xi[c] = static_cast<T>(dr[0] * double(xi[c]) + dv[0] * double(vi[c]));
  } else {
    const double xc[3] = {double(xi[0]), double(xi[1]), double(xi[2])};
    const double vc[3] = {double(vi[0]), double(vi[1]), double(vi[2])};
    double p[3], q[3];
    cellm::mv3(dr, xc, p);
    cellm::mv3(dv, vc, q);
    for (int c = 0; c < 3; ++c) xi[c] = static_cast<T>(p[c] + q[c]);
  }
}

/// kern::nhc_half_step on a chain copied into registers/local memory and written back (one
/// dependent global round trip per chain step avoided).
__device__ double nhc_local(double* xi, double* vxi, std::int64_t M, double ke2, double nf, double kt, double tau,
                            double dt) {
  double x[kMaxChainGpu], v[kMaxChainGpu];
  for (std::int64_t j = 0; j < M; ++j) {
    x[j] = xi[j];
    v[j] = vxi[j];
  }
  const double f = kern::nhc_half_step(x, v, M, ke2, nf, kt, tau, dt);
  for (std::int64_t j = 0; j < M; ++j) {
    xi[j] = x[j];
    vxi[j] = v[j];
  }
  return f;
}

// MTK's per-system work. One thread per system ran it as ~3,200 dependent instructions (~26 µs
// before the forces, ~10 µs after, for 16 systems on an H100: ncu), after a separate kernel for
// the kinetic sums: most of a step's cost beyond Nosé–Hoover NVT's. Here each system has one
// block that does both: kRed threads sum the kinetic tensor over the system's atoms (after the
// forces also kicking them), in cuda::segment_reduce's order, so the sums are the same bits;
// meanwhile one more warp runs the barostat's chain (before the forces: it does not need the
// sums). Then the particles' chain, and warp 0 makes the maps with its lanes (the three
// eigenvalues' coefficients in lanes 0-2, the 54 map entries over all lanes) while warp 1 moves
// and checks the cell. What several threads need they each compute, with the same arithmetic and
// so the same bits as the one-thread loop (and the CPU's, up to the order of the kinetic sums).
// When every system has at most kFusedAtoms atoms the same block then kicks and drifts (after
// the forces: scales) its system's atoms, so a step is two launches, not four.
constexpr int kRed = 256;  // cuda::segment_reduce's block, whose order of summation this keeps
/// Atoms per summing thread when a per-system block also does its system's per-atom work.
constexpr int kPerThread = static_cast<int>(kFusedAtoms / kRed);
static_assert(kFusedAtoms % kRed == 0, "kFusedAtoms must be a multiple of the block's summing threads");

/// The six kinetic sums (kinetic6) of the atoms [a0, a1) into sh[k][0], by the block's threads
/// [0, kRed): thread t folds atoms a0 + t, a0 + t + kRed, ... in order, then a fixed tree; with
/// kKick each atom is first given mtk_post's damped kick (maps kick). Every thread of the block
/// calls it (it has barriers); threads from kRed on only wait.
template <bool kKick, typename T>
__device__ void block_kinetic(const CellArgs<T>& g, std::int64_t a0, std::int64_t a1, const double* kick,
                              double (*sh)[kRed]) {
  const int tid = static_cast<int>(threadIdx.x);
  if (tid < kRed) {
    double acc[6] = {0, 0, 0, 0, 0, 0};
    for (std::int64_t i = a0 + tid; i < a1; i += kRed) {
      if constexpr (kKick)  // mtk_atom reads kv and ka only, the first 18 of a map block
        mtk_atom(kick, g.targets.isotropic, false, g.v + 3 * i, g.f + 3 * i, g.m[i], static_cast<T*>(nullptr));
      double r[6];
      kinetic6(g.v + 3 * i, g.m[i], r);
      for (int k = 0; k < 6; ++k) acc[k] = acc[k] + r[k];
    }
    for (int k = 0; k < 6; ++k) sh[k][tid] = acc[k];
  }
  __syncthreads();
  for (int w = kRed / 2; w > 0; w /= 2) {
    if (tid < w)
      for (int k = 0; k < 6; ++k) sh[k][tid] = sh[k][tid] + sh[k][tid + w];
    __syncthreads();
  }
}
/// The kinetic tensor (eV) from block_kinetic's sums.
__device__ void block_kinetic_tensor(const double (*sh)[kRed], double* k2) {
  const double k6[6] = {sh[0][0], sh[1][0], sh[2][0], sh[3][0], sh[4][0], sh[5][0]};
  kinetic_tensor(k6, k2);
}

template <typename T>
__global__ void __launch_bounds__(kRed + kWarp)
    mtk_pre_system(MtkArgs<T> g, const std::int64_t* ap, const std::uint8_t* act, double* maps, double* after,
                   double* frozen, bool atoms) {
  const std::int64_t s = blockIdx.x;
  const int tid = static_cast<int>(threadIdx.x), warp = tid / kWarp, lane = tid % kWarp;
  if (act && !act[s]) return;  // the whole block
  const std::int64_t a0 = ap[s], a1 = ap[s + 1], n = a1 - a0;
  if (n == 0) return;
  __shared__ double sh[6][kRed];
  __shared__ double factor[2];
  const bool iso = g.targets.isotropic;
  const std::int64_t M = g.chain;
  const double nf = kern::degrees_of_freedom(n), kt = units::kBoltzmann * g.temperature(s);
  const double w = cellk::cell_mass(nf, kt, g.tau_p);
  // Everything read from global memory that warp 1 writes at the end (v_g, the cell) is read
  // before the last barrier.
  double vg[9], cell[9], wvir[9];
  load9(g.vg + 9 * s, vg);
  load9(g.cell + 9 * s, cell);
  load9(g.virial + 9 * s, wvir);
  // NHC on the barostat (the extra warp, while the others sum), dt/2
  if (tid == kRed)
    factor[0] =
        nhc_local(g.bxi + s * M, g.bvxi + s * M, M, w * cellk::sum_sq(vg), cellk::baro_dof(iso), kt, g.tau_t, g.dt);
  block_kinetic<false>(g, a0, a1, nullptr, sh);
  double k2[9];
  block_kinetic_tensor(sh, k2);
  // NHC on the particles, dt/2
  if (tid == 0) factor[1] = nhc_local(g.xi + s * M, g.vxi + s * M, M, cellm::trace3(k2), nf, kt, g.tau_t, g.dt);
  __syncthreads();
  if (warp <= 1) {  // warps 0 and 1: the cell kick, then the maps (warp 0) and the moved cell (warp 1)
    double pt[9];
    bool hydro = true;
    target_of(g.targets, s, pt, hydro, tid == 0 ? g.status : nullptr);
    const double sb = factor[0], sp = factor[1];
    for (int k = 0; k < 9; ++k) vg[k] *= sb;
    for (double& e : k2) e *= sp * sp;
    const double vol0 = hd::fabs(cellm::det3(cell));
    cellk::cell_kick(vg, k2, wvir, vol0, pt, nf, w, 0.5 * g.dt, iso);
    // The full cell: the maps by their series in v_g (npt_mtk.cpp does the same); else (isotropic,
    // or a v_g too large for the series) through the eigenbasis, the coefficients of eigenvalue
    // `lane` in lanes 0-2 of each warp, then every lane gets all three. `series` is the same in
    // every lane (each computes it from the same v_g). Warp 0 stores the maps, warp 1 moves the cell.
    cellm::MtkMaps sm{};
    const bool series = !iso && cellm::mtk_maps_series(vg, cellm::trace3(vg) / nf, 0.5 * g.dt, g.dt, 1.0, true, sm);
    cellm::MtkFrame fr{};
    cellm::KickCoeffs kc{};
    cellm::DriftCoeffs dc{};
    if (!series) {
      fr = cellm::mtk_frame(vg, iso);
      double c4[4] = {0, 0, 0, 0};  // damp, drive, scale, step
      if (lane < 3) {
        cellm::mtk_kick_coeff(fr.mu[lane], cellm::trace3(vg) / nf, 0.5 * g.dt, c4[0], c4[1]);
        cellm::mtk_drift_coeff(fr.mu[lane], g.dt, c4[2], c4[3]);
      }
      for (int c = 0; c < 3; ++c) {
        kc.damp[c] = __shfl_sync(kFullMask, c4[0], c);
        kc.drive[c] = __shfl_sync(kFullMask, c4[1], c);
        dc.scale[c] = __shfl_sync(kFullMask, c4[2], c);
        dc.step[c] = __shfl_sync(kFullMask, c4[3], c);
      }
    }
    if (warp == 0) {
      // the maps: kick+drift kv ka dr dv, then mtk_post's kick kv ka (v_g is fixed until then; its
      // damped kick has the same coefficients and no thermostat scaling sp)
      const double* src[6] = {sm.kv, sm.ka, sm.dr, sm.dv, sm.kv, sm.ka};
      const double damp_sp[3] = {kc.damp[0] * sp, kc.damp[1] * sp, kc.damp[2] * sp};
      const double* coef[6] = {damp_sp, kc.drive, dc.scale, dc.step, kc.damp, kc.drive};
      for (int e = lane; e < 54; e += kWarp) {
        const int m = e / 9, ij = e % 9;
        const double val = series ? (m == 0 ? src[0][ij] * sp : src[m][ij])         // (cellm::mtk_maps_series)
                                  : cellm::sym_entry(fr, coef[m], ij / 3, ij % 3);  // (cellm::mtk_maps)
        if (m < 4)
          maps[36 * s + e] = val;
        else
          after[18 * s + e - 36] = val;
      }
    } else if (lane == 0) {
      if (!hydro) g.work[s] += cellk::deviatoric_work(pt, vg, vol0, g.dt);
      for (int k = 0; k < 9; ++k) g.vg[9 * s + k] = vg[k];
      double moved[9];
      for (int k = 0; k < 9; ++k) moved[k] = cell[k];
      if (series)
        cellm::apply_cell_map(sm.dr, moved);
      else
        cellm::mtk_cell(fr, dc, moved);
      store_cell(g.cell, moved, cellm::det3(cell), s, g.status, frozen);
    }
  }
  if (!atoms) return;
  __syncthreads();  // the maps (warp 0) and frozen[s] (warp 1) are visible to the block
  if (tid >= kRed || frozen[s] != 0) return;
  const double* mp = maps + 36 * s;
#pragma unroll
  for (int k = 0; k < kPerThread; ++k) {
    const std::int64_t i = a0 + tid + k * kRed;
    if (i >= a1) break;
    mtk_atom(mp, iso, true, g.v + 3 * i, g.f + 3 * i, g.m[i], g.x + 3 * i);
  }
}

/// mtk_post_system's chains after the sums: the particles' (thread 0: the velocity scaling into
/// scale[s]) and, independent of it, the cell kick then the barostat's chain (thread kWarp).
template <typename T>
__device__ void mtk_post_chains(const MtkArgs<T>& g, std::int64_t s, std::int64_t n, const double (*sh)[kRed],
                                double* scale, int tid) {
  const bool iso = g.targets.isotropic;
  const std::int64_t M = g.chain;
  const double nf = kern::degrees_of_freedom(n), kt = units::kBoltzmann * g.temperature(s);
  double k2[9];
  block_kinetic_tensor(sh, k2);
  // the particles' chain (warp 0) and, independent of it, the cell kick then the barostat's chain
  // (warp 1)
  if (tid == 0) {
    scale[s] = nhc_local(g.xi + s * M, g.vxi + s * M, M, cellm::trace3(k2), nf, kt, g.tau_t, g.dt);
    return;
  }
  double pt[9];
  bool hydro = true;
  target_of(g.targets, s, pt, hydro, g.status);
  const double w = cellk::cell_mass(nf, kt, g.tau_p);
  double vg[9], cell[9], wvir[9];
  load9(g.vg + 9 * s, vg);
  load9(g.cell + 9 * s, cell);
  load9(g.virial + 9 * s, wvir);
  cellk::cell_kick(vg, k2, wvir, hd::fabs(cellm::det3(cell)), pt, nf, w, 0.5 * g.dt, iso);
  const double sb =
      nhc_local(g.bxi + s * M, g.bvxi + s * M, M, w * cellk::sum_sq(vg), cellk::baro_dof(iso), kt, g.tau_t, g.dt);
  for (int k = 0; k < 9; ++k) g.vg[9 * s + k] = vg[k] * sb;
}

template <typename T>
__global__ void __launch_bounds__(kRed) mtk_post_system(MtkArgs<T> g, const std::int64_t* ap, const std::uint8_t* act,
                                                        const double* after, double* scale, bool atoms) {
  const std::int64_t s = blockIdx.x;
  const int tid = static_cast<int>(threadIdx.x);
  if (act && !act[s]) return;  // the whole block
  const std::int64_t a0 = ap[s], a1 = ap[s + 1], n = a1 - a0;
  if (n == 0) return;
  __shared__ double sh[6][kRed];
  // damped kick (dt/2) and the kinetic tensor of the new velocities, in one pass
  block_kinetic<true>(g, a0, a1, after + 18 * s, sh);
  if (tid == 0 || tid == kWarp) mtk_post_chains(g, s, n, sh, scale, tid);
  if (!atoms) return;
  __syncthreads();  // scale[s] (thread 0) is visible to the block
  const double f = scale[s];
#pragma unroll
  for (int k = 0; k < kPerThread; ++k) {
    const std::int64_t i = a0 + tid + k * kRed;
    if (i >= a1) break;
    for (int c = 0; c < 3; ++c) kern::scale(g.v[3 * i + c], f);
  }
}

/// Launches one of the per-system kernels above: a block of `threads` per system.
template <typename Kernel, typename... Args>
void launch_per_system(int device, std::int64_t n_systems, int threads, Kernel kernel, const char* what, Args... args) {
  if (n_systems <= 0) return;
  cuda::set_device(device);
  cudaStream_t st = static_cast<cudaStream_t>(cuda::compute_stream(device));
  kernel<<<static_cast<unsigned>(n_systems), threads, 0, st>>>(args...);
  cuda::check_launch(what);
}

/// MTK's scratch (kMtkScratch doubles per system), shared by its two half steps.
struct MtkScratch {
  double* maps;    ///< [S][36]: mtk_pre's kick and drift maps kv ka dr dv
  double* after;   ///< [S][18]: mtk_post's kick maps kv ka, made by mtk_pre
  double* scale;   ///< [S]: mtk_post's thermostat scaling
  double* frozen;  ///< [S]: 1 where mtk_pre refused the moved cell
  MtkScratch(double* p, std::int64_t S) : maps(p), after(p + 36 * S), scale(p + 54 * S), frozen(p + 55 * S) {}
};

}  // namespace

// ----------------------------------------------------------------------------------------- MTK

template <typename T>
void mtk_pre(const Structure& st, const MtkArgs<T>& a) {
  const std::int64_t S = st.n_systems;
  const std::int64_t* ap = st.atoms_ptr;
  const std::int64_t* si = st.system_index;
  const std::uint8_t* act = st.active;
  const MtkScratch sc(a.scratch, S);
  double *maps = sc.maps, *after = sc.after, *frozen = sc.frozen;
  const MtkArgs<T> g = a;
  const bool fused = a.max_system_atoms > 0 && a.max_system_atoms <= kFusedAtoms;
  launch_per_system(st.device, S, kRed + kWarp, mtk_pre_system<T>, "mtk_cell", g, ap, act, maps, after, frozen, fused);
  if (fused) return;
  cuda::parallel_for(
      st.device, st.n_atoms,
      [=] __device__(std::int64_t i) {
        const std::int64_t s = si[i];
        if ((act && !act[s]) || frozen[s] != 0) return;
        mtk_atom(maps + 36 * s, g.targets.isotropic, true, g.v + 3 * i, g.f + 3 * i, g.m[i], g.x + 3 * i);
      },
      nullptr, "mtk_kick_drift");
}

template <typename T>
void mtk_post(const Structure& st, const MtkArgs<T>& a) {
  const std::int64_t S = st.n_systems;
  const std::int64_t* ap = st.atoms_ptr;
  const std::int64_t* si = st.system_index;
  const std::uint8_t* act = st.active;
  const MtkScratch sc(a.scratch, S);
  double *after = sc.after, *scale = sc.scale;
  const MtkArgs<T> g = a;
  const bool fused = a.max_system_atoms > 0 && a.max_system_atoms <= kFusedAtoms;
  launch_per_system(st.device, S, kRed, mtk_post_system<T>, "mtk_post_cell", g, ap, act, after, scale, fused);
  if (fused) return;
  cuda::parallel_for(
      st.device, st.n_atoms,
      [=] __device__(std::int64_t i) {
        const std::int64_t s = si[i];
        if (act && !act[s]) return;
        for (int k = 0; k < 3; ++k) kern::scale(g.v[3 * i + k], scale[s]);
      },
      nullptr, "mtk_scale");
}

// --------------------------------------------------------------------- stochastic cell rescaling

namespace {

/// What stochastic cell rescaling's cell move of system s needs besides the kinetic sums: read
/// and drawn before them (csr_cell_read), used after them (csr_cell_move).
struct CsrCellIn {
  double pt[9], cell[9], wvir[9], gs[6];
  double kt, V;
};
template <typename T>
__device__ void csr_cell_read(const CsrArgs<T>& g, std::int64_t s, CsrCellIn& in) {
  bool hydro = true;
  target_of(g.targets, s, in.pt, hydro, g.status);
  load9(g.cell + 9 * s, in.cell);
  load9(g.virial + 9 * s, in.wvir);
  in.kt = units::kBoltzmann * g.temperature(s);
  in.V = hd::fabs(cellm::det3(in.cell));
  const auto g0 = gaussian4(g.cell_seed, g.system_id[s], g.step[s], 0);
  for (int k = 0; k < 4; ++k) in.gs[k] = g0[k];
  if (!g.targets.isotropic) {
    const auto g1 = gaussian4(g.cell_seed, g.system_id[s], g.step[s], 1);
    in.gs[4] = g1[0];
    in.gs[5] = g1[1];
  }
}
/// The cell move of system s from its kinetic sums k6 (kinetic6's six): μ and μ⁻¹ into
/// mu[0..18) (isotropic: mu[0], mu[9]); the moved cell checked and stored (store_cell, which
/// sets frozen[s]).
template <typename T>
__device__ void csr_cell_move(const CsrArgs<T>& g, std::int64_t s, const CsrCellIn& in, const double* k6, double* mu,
                              double* frozen) {
  const double kt = in.kt, V = in.V;
  double* mu_inv = mu + 9;
  double moved[9];
  if (!g.targets.isotropic) {
    double p_int[9];
    kinetic_tensor(k6, p_int);
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j)
        p_int[3 * i + j] = (p_int[3 * i + j] + 0.5 * (in.wvir[3 * i + j] + in.wvir[3 * j + i])) / V;
    cellk::csr_anisotropic(p_int, in.pt, kt, V, g.beta, g.tau_p, g.dt, in.gs, mu, mu_inv);
    for (int r = 0; r < 3; ++r) cellm::mv3(mu, in.cell + 3 * r, moved + 3 * r);  // a_k ← μ a_k
  } else {
    const double mv2 = k6[0] + k6[1] + k6[2];
    const double p_int = (mv2 * units::kMv2ToEv + cellm::trace3(in.wvir)) / (3 * V);
    mu[0] = cellk::csr_isotropic(p_int, in.pt[0], kt, V, g.beta, g.tau_p, g.dt, in.gs[0]);
    mu_inv[0] = 1 / mu[0];
    for (int k = 0; k < 9; ++k) moved[k] = in.cell[k] * mu[0];
  }
  store_cell(g.cell, moved, cellm::det3(in.cell), s, g.status, frozen);
}

/// Positions of atom i scaled by μ and velocities by μ⁻¹ (mu as csr_cell_move leaves it).
template <typename T>
__device__ void csr_rescale(bool iso, const double* mu, T* x, T* v) {
  if (iso) {
    for (int c = 0; c < 3; ++c) {
      kern::scale(x[c], mu[0]);
      kern::scale(v[c], mu[9]);
    }
  } else {
    double xc[3] = {double(x[0]), double(x[1]), double(x[2])}, vc[3] = {double(v[0]), double(v[1]), double(v[2])};
    double xo[3], vo[3];
    cellm::mv3(mu, xc, xo);
    cellm::mv3(mu + 9, vc, vo);  // μ symmetric: μ⁻ᵀ = μ⁻¹
    for (int c = 0; c < 3; ++c) {
      x[c] = static_cast<T>(xo[c]);
      v[c] = static_cast<T>(vo[c]);
    }
  }
}

/// Stochastic cell rescaling's per-atom pass (npt_csr.cpp): atom i of system s (first atom a0)
/// rescaled, then Langevin B A O A.
template <typename T>
__device__ void csr_atom(const CsrArgs<T>& g, const double* mu, std::int64_t s, std::int64_t a0, std::int64_t i) {
  csr_rescale(g.targets.isotropic, mu, g.x + 3 * i, g.v + 3 * i);
  const kern::LangevinCoeffs lc = kern::langevin_coeffs(g.friction, g.temperature(s), g.dt);
  kern::langevin_baoa(g.x + 3 * i, g.v + 3 * i, g.f + 3 * i, g.m[i], g.dt, lc, g.seed, g.system_id[s], g.step[s],
                      i - a0);
}

// One block per system: kRed threads sum the kinetic tensor (in segment_reduce's order: the same
// bits as a separate reduction) while an extra warp reads the cell, the virial and the target and
// draws the barostat's noise; then that warp moves the cell while the others draw their atoms'
// noise (it does not depend on the move), and with `atoms` the block rescales and integrates the
// system's atoms (at most kFusedAtoms: kPerThread per thread). One launch per step instead of
// three; the serial stretches overlap.

template <typename T>
__global__ void __launch_bounds__(kRed + kWarp)
    csr_system(CsrArgs<T> g, const std::int64_t* ap, const std::uint8_t* act, double* per, double* frozen, bool atoms) {
  const std::int64_t s = blockIdx.x;
  const int tid = static_cast<int>(threadIdx.x);
  if (act && !act[s]) return;  // the whole block
  const std::int64_t a0 = ap[s], a1 = ap[s + 1];
  if (a1 == a0) return;
  __shared__ double sh[6][kRed];
  __shared__ double mu[18];
  CsrCellIn in;
  if (tid == kRed) csr_cell_read(g, s, in);
  block_kinetic<false>(g, a0, a1, nullptr, sh);
  if (tid == kRed) {
    const double k6[6] = {sh[0][0], sh[1][0], sh[2][0], sh[3][0], sh[4][0], sh[5][0]};
    csr_cell_move(g, s, in, k6, mu, frozen);
    for (int k = 0; k < 18; ++k)
      if (!g.targets.isotropic || k % 9 == 0) per[18 * s + k] = mu[k];  // isotropic: μ[0], μ⁻¹[0] only
  }
  if (!atoms) return;
  double noise[kPerThread][4];
  kern::LangevinCoeffs lc{};
  if (tid < kRed) {
    lc = kern::langevin_coeffs(g.friction, g.temperature(s), g.dt);
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) {
      const std::int64_t i = a0 + tid + k * kRed;
      if (i < a1) {
        const auto d = gaussian4(g.seed, g.system_id[s], g.step[s], i - a0);
        for (int c = 0; c < 4; ++c) noise[k][c] = d[c];
      }
    }
  }
  __syncthreads();  // mu and frozen[s] (the extra warp's global write) are visible to the block
  if (tid >= kRed || frozen[s] != 0) return;
  const bool iso = g.targets.isotropic;
#pragma unroll
  for (int k = 0; k < kPerThread; ++k) {
    const std::int64_t i = a0 + tid + k * kRed;
    if (i >= a1) break;
    csr_rescale(iso, mu, g.x + 3 * i, g.v + 3 * i);
    kern::langevin_baoa(g.x + 3 * i, g.v + 3 * i, g.f + 3 * i, g.m[i], g.dt, lc, noise[k]);
  }
}

}  // namespace

template <typename T>
void csr_pre(const Structure& st, const CsrArgs<T>& a) {
  const std::int64_t S = st.n_systems;
  const std::int64_t* ap = st.atoms_ptr;
  const std::int64_t* si = st.system_index;
  const std::uint8_t* act = st.active;
  double* per = a.scratch;              // [S][18]: μ, μ⁻¹ (isotropic: μ[0], μ⁻¹[0])
  double* frozen = a.scratch + 18 * S;  // [S]
  const CsrArgs<T> g = a;
  // Small systems: everything in one block per system. A system too large for one block's
  // threads: the per-system kernel, then one thread per atom.
  const bool fused = a.max_system_atoms > 0 && a.max_system_atoms <= kFusedAtoms;
  launch_per_system(st.device, S, kRed + kWarp, csr_system<T>, "csr_system", g, ap, act, per, frozen, fused);
  if (fused) return;
  cuda::parallel_for(
      st.device, st.n_atoms,
      [=] __device__(std::int64_t i) {
        const std::int64_t s = si[i];
        if ((act && !act[s]) || frozen[s] != 0) return;
        csr_atom(g, per + 18 * s, s, ap[s], i);
      },
      nullptr, "csr_atoms");
}

// ---------------------------------------------------------------------------- variable-cell FIRE

template <typename T>
void fire_cell_pre(const Structure& st, const FireCellArgs<T>& a) {
  const std::int64_t S = st.n_systems;
  const std::int64_t* ap = st.atoms_ptr;
  const std::int64_t* si = st.system_index;
  const std::uint8_t* act = st.active;
  // Per system, 32 doubles: d (0-8), dinv (9-17), gc (18-26), cf (27), then the action: zero
  // (28), mix on (29), keep (30), c (31). After the move: map (9-17), dn (18-26), step (27).
  double* blk = a.scratch;
  double* sums = a.scratch + 32 * S;    // [S][4]: P, |v|², |F|² of the atoms, Σ m
  double* d2 = a.scratch + 36 * S;      // [S]: max |v|² of the atoms after the kick
  double* frozen = a.scratch + 37 * S;  // [S]
  const FireCellArgs<T> g = a;
  // D = (h0⁻¹ h)ᵀ and the generalized cell force (W − V P_t) D⁻ᵀ / cf (cell_relax.cpp)
  cuda::parallel_for(
      st.device, S,
      [=] __device__(std::int64_t s) {
        if (act && !act[s]) return;
        const std::int64_t n = ap[s + 1] - ap[s];
        if (n == 0) return;
        double* b = blk + 32 * s;
        double pt[9];
        bool hydro = true;
        target_of(g.targets, s, pt, hydro, g.status);
        double cell[9], wvir[9], h0inv[9], dt_[9];
        load9(g.cell + 9 * s, cell);
        load9(g.virial + 9 * s, wvir);
        cellm::inv3(g.ref + 9 * s, h0inv);
        cellm::mul3(h0inv, cell, dt_);
        double* d = b;
        double* dinv = b + 9;
        double* gc = b + 18;
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j) d[3 * i + j] = dt_[3 * j + i];
        cellm::inv3(d, dinv);
        const double cf = g.cell_factor > 0 ? g.cell_factor : double(n);
        b[27] = cf;
        const double vol = hd::fabs(cellm::det3(cell));
        double gf[9];
        for (int k = 0; k < 9; ++k) gf[k] = wvir[k] - vol * pt[k];
        if (g.targets.isotropic) {
          const double t = cellm::trace3(gf) / 3;
          for (int k = 0; k < 9; ++k) gf[k] = k % 4 == 0 ? t : 0.0;
        }
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j)
            gc[3 * i + j] =
                (gf[3 * i] * dinv[3 * j] + gf[3 * i + 1] * dinv[3 * j + 1] + gf[3 * i + 2] * dinv[3 * j + 2]) / cf;
        if (g.targets.isotropic) {
          const double t = cellm::trace3(gc) / 3;
          for (int k = 0; k < 9; ++k) gc[k] = k % 4 == 0 ? t : 0.0;
        }
      },
      nullptr, "fire_cell_map");
  // the power sums of the joint vector's atom part, and the masses
  cuda::segment_reduce<4>(
      st.device, S, ap,
      [=] __device__(std::int64_t i, double* r) {
        const double* d = blk + 32 * si[i];
        kern::PowerSums p;
        for (int k = 0; k < 3; ++k) {
          const double fg =
              d[k] * double(g.f[3 * i]) + d[3 + k] * double(g.f[3 * i + 1]) + d[6 + k] * double(g.f[3 * i + 2]);
          kern::add_power(p, double(g.v[3 * i + k]), fg);
        }
        r[0] = p.p;
        r[1] = p.vv;
        r[2] = p.ff;
        r[3] = double(g.m[i]);
      },
      sums, nullptr, "fire_cell_power");
  // FIRE's decision on the joint vector, and the cell velocity's mix and kick
  cuda::parallel_for(
      st.device, S,
      [=] __device__(std::int64_t s) {
        if (act && !act[s]) return;
        const std::int64_t n = ap[s + 1] - ap[s];
        if (n == 0) return;
        double* b = blk + 32 * s;
        const double* gc = b + 18;
        double* vc = g.vc + 9 * s;
        kern::PowerSums r;
        r.p = sums[4 * s];
        r.vv = sums[4 * s + 1];
        r.ff = sums[4 * s + 2];
        for (int k = 0; k < 9; ++k) kern::add_power(r, vc[k], gc[k]);
        double h = g.h[s], al = g.alpha[s];
        std::int64_t np = g.npos[s];
        const kern::FireAction fa = kern::fire_update(g.prm, r, h, al, np);
        g.h[s] = h;
        g.alpha[s] = al;
        g.npos[s] = np;
        b[28] = fa.zero ? 1.0 : 0.0;
        b[29] = fa.mix.on ? 1.0 : 0.0;
        b[30] = fa.mix.keep;
        b[31] = fa.mix.c;
        const double mass = sums[4 * s + 3] / double(n);
        for (int k = 0; k < 9; ++k) {
          if (fa.zero) vc[k] = 0;
          if (fa.mix.on) vc[k] = fa.mix.keep * vc[k] + fa.mix.c * gc[k];
          vc[k] += h * units::kAccel / mass * gc[k];
        }
      },
      nullptr, "fire_cell_update");
  cuda::parallel_for(
      st.device, st.n_atoms,
      [=] __device__(std::int64_t i) {
        const std::int64_t s = si[i];
        if (act && !act[s]) return;
        const double* b = blk + 32 * s;
        const double* d = b;
        const double h = g.h[s];
        for (int k = 0; k < 3; ++k) {
          const double fg =
              d[k] * double(g.f[3 * i]) + d[3 + k] * double(g.f[3 * i + 1]) + d[6 + k] * double(g.f[3 * i + 2]);
          double vi = b[28] != 0 ? 0.0 : double(g.v[3 * i + k]);
          if (b[29] != 0) vi = b[30] * vi + b[31] * fg;
          vi += h * units::kAccel / double(g.m[i]) * fg;
          g.v[3 * i + k] = static_cast<T>(vi);
        }
      },
      nullptr, "fire_cell_kick");
  cuda::segment_reduce<1, cuda::MaxOp>(
      st.device, S, ap, [=] __device__(std::int64_t i, double* r) { r[0] = kern::norm2(g.v + 3 * i); }, d2, nullptr,
      "fire_cell_speed");
  // the capped step, the new deformation and the cell
  cuda::parallel_for(
      st.device, S,
      [=] __device__(std::int64_t s) {
        if (act && !act[s]) return;
        const std::int64_t n = ap[s + 1] - ap[s];
        if (n == 0) return;
        double* b = blk + 32 * s;
        const double* vc = g.vc + 9 * s;
        double dd = d2[s] > 0 ? d2[s] : 0.0;
        for (int row = 0; row < 3; ++row) dd = kern::dmax(dd, kern::norm2(vc + 3 * row));
        const double step = kern::capped_step(g.h[s], dd, g.max_step);
        const double cf = b[27];
        double dn[9], map[9], dinv[9];
        for (int k = 0; k < 9; ++k) {
          dn[k] = b[k] + step * vc[k] / cf;
          dinv[k] = b[9 + k];
        }
        cellm::mul3(dn, dinv, map);
        const double* h0 = g.ref + 9 * s;
        double cell[9], moved[9];
        load9(g.cell + 9 * s, cell);
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j)
            moved[3 * i + j] = h0[3 * i] * dn[3 * j] + h0[3 * i + 1] * dn[3 * j + 1] + h0[3 * i + 2] * dn[3 * j + 2];
        for (int k = 0; k < 9; ++k) {
          b[9 + k] = map[k];
          b[18 + k] = dn[k];
        }
        b[27] = step;
        store_cell(g.cell, moved, cellm::det3(cell), s, g.status, frozen);
      },
      nullptr, "fire_cell_move");
  cuda::parallel_for(
      st.device, st.n_atoms,
      [=] __device__(std::int64_t i) {
        const std::int64_t s = si[i];
        if ((act && !act[s]) || frozen[s] != 0) return;
        const double* b = blk + 32 * s;
        const double* map = b + 9;
        const double* dn = b + 18;
        const double step = b[27];
        double xg[3], vv[3];
        for (int k = 0; k < 3; ++k) {
          xg[k] = double(g.x[3 * i + k]);
          vv[k] = double(g.v[3 * i + k]);
        }
        for (int k = 0; k < 3; ++k) {
          const double xn = map[3 * k] * xg[0] + map[3 * k + 1] * xg[1] + map[3 * k + 2] * xg[2] +
                            step * (dn[3 * k] * vv[0] + dn[3 * k + 1] * vv[1] + dn[3 * k + 2] * vv[2]);
          g.x[3 * i + k] = static_cast<T>(xn);
        }
      },
      nullptr, "fire_cell_drift");
}

template <typename T>
void fire_cell_init(int device, std::int64_t n_systems, const T* cell, double* ref, double* vc,
                    const std::uint8_t* which) {
  cuda::parallel_for(
      device, 9 * n_systems,
      [=] __device__(std::int64_t k) {
        if (which && !which[k / 9]) return;
        ref[k] = double(cell[k]);
        vc[k] = 0;
      },
      nullptr, "fire_cell_init");
}

template <typename T>
void fire_cell_residual(const Structure& st, const FireCellArgs<T>& a, const std::uint8_t* which) {
  const FireCellArgs<T> g = a;
  cuda::parallel_for(
      st.device, st.n_systems,
      [=] __device__(std::int64_t s) {
        if (which && !which[s]) return;
        if (g.stress == nullptr) {
          g.residual[s] = DBL_MAX;
          return;
        }
        double pt[9], sg[9];
        bool hydro = true;
        target_of(g.targets, s, pt, hydro, g.status);
        load9(g.stress + 9 * s, sg);
        double r = 0;
        if (g.targets.isotropic) {
          r = hd::fabs(cellm::trace3(sg) / 3 + pt[0]);
        } else {
          for (int k = 0; k < 9; ++k) r = kern::dmax(r, hd::fabs(sg[k] + pt[k]));
        }
        g.residual[s] = hd::isfinite(r) ? r : DBL_MAX;
      },
      nullptr, "fire_cell_residual");
}

#define BATCHMD_INSTANTIATE(T)                                                                        \
  template void mtk_pre<T>(const Structure&, const MtkArgs<T>&);                                      \
  template void mtk_post<T>(const Structure&, const MtkArgs<T>&);                                     \
  template void csr_pre<T>(const Structure&, const CsrArgs<T>&);                                      \
  template void fire_cell_pre<T>(const Structure&, const FireCellArgs<T>&);                           \
  template void fire_cell_residual<T>(const Structure&, const FireCellArgs<T>&, const std::uint8_t*); \
  template void fire_cell_init<T>(int, std::int64_t, const T*, double*, double*, const std::uint8_t*);
BATCHMD_INSTANTIATE(float)
BATCHMD_INSTANTIATE(double)
#undef BATCHMD_INSTANTIATE

}  // namespace batchmd::dynamics::gpu
