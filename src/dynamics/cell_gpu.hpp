// SPDX-License-Identifier: Apache-2.0
// dynamics/cell_gpu (internal): the GPU seam of the integrators that move the cell — MTK NPT,
// stochastic cell rescaling and variable-cell FIRE — and the device status through which their
// kernels report a cell that blew up or a bad per-system target. CUDA-free (as dynamics_gpu.hpp):
// the launchers are defined in cell_gpu.cu with the CUDA backend and in cell_gpu_stub.cpp without.
//
// Each half step is a short sequence on the compute stream, as the other integrators' (see
// dynamics_gpu.hpp): per-system reductions (cuda::segment_reduce, deterministic), one thread per
// system running the same per-system arithmetic as the CPU loops (cellm::, cellk::, kern::), then
// one thread per atom. Nothing waits for the GPU; faults are recorded in a CellStatus on the
// device and reported by CellStatusRing one or two steps later.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/tensor.hpp"
#include "batchmd/data/batch.hpp"
#include "batchmd/dynamics/npt.hpp"
#include "dynamics_gpu.hpp"

namespace batchmd::dynamics::gpu {

/// What the per-system kernels found, on the device: cellk::CellFault bits and, per bit, the
/// lowest system index (and for kTargetBad its cellk::TargetFault).
struct CellStatus {
  int error;
  int system[5];
  int target_fault;
};

/// The per-system target pressure tensors P_t = −σ_target, read on the device each step from the
/// stage's value and the optional system-level fields (dynamics/cell_dynamics.hpp,
/// pressure_targets: the same rules, a bad value is cellk::kTargetBad in the status).
struct Targets {
  double stage[9] = {};
  bool stage_hydro = true;
  bool isotropic = true;
  SysValue pressure{};  ///< "barostat_pressure" when present (pressure.f32 or f64 set)
  const float* s32 = nullptr;
  const double* s64 = nullptr;  ///< "barostat_stress" when present
  bool voigt = false;           ///< its layout: [S,6] Voigt, else [S,9]
};

/// What every cell integrator's kernels read and write: the batch's per-atom state, its cells and
/// virials, the targets, the stage's scratch (its own size per integrator, below) and status.
template <typename T>
struct CellArgs {
  T* x;
  T* v;
  const T* f;
  const T* m;
  T* cell;
  const T* virial;
  Targets targets;
  double* scratch;
  CellStatus* status;
  /// The most atoms a system of the batch has (0: unknown). Up to kFusedAtoms, MTK's and CSR's
  /// per-system blocks also do their systems' per-atom work (one launch instead of two or three);
  /// a batch with a larger system gets separate per-atom launches.
  std::int64_t max_system_atoms;
};
/// The largest system whose per-atom work a per-system block does itself (4 atoms per thread).
inline constexpr std::int64_t kFusedAtoms = 1024;

/// MTK (MTKNPT) on a GPU batch: state fields and parameters.
template <typename T>
struct MtkArgs : CellArgs<T> {
  double *xi, *vxi, *bxi, *bvxi, *vg, *work;
  std::int64_t chain;
  double tau_t, tau_p, dt;
  SysValue temperature;  // scratch: kMtkScratch doubles per system
};
inline constexpr std::int64_t kMtkScratch = 56;
/// The longest chain the GPU kernels take (MTKNPT checks chain_length against it; job files allow 100).
inline constexpr std::int64_t kMaxChainGpu = 100;
template <typename T>
void mtk_pre(const Structure& st, const MtkArgs<T>& a);
template <typename T>
void mtk_post(const Structure& st, const MtkArgs<T>& a);

/// Stochastic cell rescaling (StochasticCellRescaling::pre_update) on a GPU batch.
template <typename T>
struct CsrArgs : CellArgs<T> {
  const std::int64_t* system_id;
  const std::int64_t* step;
  double tau_p, beta, friction, dt;
  std::uint64_t seed, cell_seed;
  SysValue temperature;  // scratch: kCsrScratch doubles per system
};
inline constexpr std::int64_t kCsrScratch = 19;
template <typename T>
void csr_pre(const Structure& st, const CsrArgs<T>& a);

/// Variable-cell FIRE (FIRECell) on a GPU batch.
template <typename T>
struct FireCellArgs : CellArgs<T> {  // scratch: kFireCellScratch doubles per system
  const T* stress;                   ///< for the residual
  double *h, *alpha;
  std::int64_t* npos;
  const double* ref;  ///< cell_reference [S,9]
  double* vc;         ///< cell_dof_velocity [S,9]
  double* residual;   ///< cell_stress_residual [S]
  kern::FireParams prm;
  double max_step, cell_factor;
};
inline constexpr std::int64_t kFireCellScratch = 38;
template <typename T>
void fire_cell_pre(const Structure& st, const FireCellArgs<T>& a);
/// [per system] cell_reference = cell, cell_dof_velocity = 0 for the systems in `which`.
template <typename T>
void fire_cell_init(int device, std::int64_t n_systems, const T* cell, double* ref, double* vc,
                    const std::uint8_t* which);
/// [per system] cell_stress_residual of the systems in `which` (nullptr: all), from "stress".
template <typename T>
void fire_cell_residual(const Structure& st, const FireCellArgs<T>& a, const std::uint8_t* which);

}  // namespace batchmd::dynamics::gpu

namespace batchmd::dynamics::detail {

/// The device CellStatus of one stage and its lagged report: every kReportEvery steps the status
/// is copied to pinned memory (two slots, with events); poll() throws for the report before the
/// last one (waiting for it if needed) and for the last one if it is done; drain() copies what
/// the steps since the last report found and waits for both. A fault is so raised within
/// 2 kReportEvery steps, or by the run's end (Dynamics::finish_run). Errors are NumericalError
/// (the cell) or InvalidArgument (a target), naming the stage and the system.
class CellStatusRing {
 public:
  static constexpr std::int64_t kReportEvery = 8;
  CellStatusRing();
  ~CellStatusRing();
  /// The device status of batch b's device (allocated and zeroed at first use).
  gpu::CellStatus* device(const Batch& b);
  /// Enqueues the copy of the status after this step's kernels.
  void after_step(const Batch& b);
  void poll(const Batch& b, const std::string& stage);
  void drain(const Batch& b, const std::string& stage);

 private:
  void enqueue_copy();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Fills a's CellArgs part from GPU batch b: its fields (virial null while the batch has none:
/// fire_cell's first residual, before any force call with stress), the targets (device_targets),
/// `scratch`, the ring's device status and the batch's largest system.
template <typename T>
void fill_cell_args(gpu::CellArgs<T>& a, Batch& b, const gpu::Targets& targets, double* scratch, CellStatusRing& ring) {
  a.x = b.get("positions").data<T>();
  a.v = b.get("velocities").data<T>();
  a.f = b.get("forces").data<T>();
  a.m = b.get("masses").data<T>();
  a.cell = b.get("cell").data<T>();
  a.virial = b.has("virial") ? b.get("virial").data<T>() : nullptr;
  a.targets = targets;
  a.scratch = scratch;
  a.status = ring.device(b);
  const std::int64_t* ap = b.atoms_ptr_data();
  a.max_system_atoms = 0;
  for (std::int64_t s = 0; s < b.n_systems(); ++s) a.max_system_atoms = std::max(a.max_system_atoms, ap[s + 1] - ap[s]);
}

/// The Targets of a GPU batch: the stage's value (checked on the host) and the fields' device
/// pointers (their level, shape and dtype checked on the host; their values by the kernels).
gpu::Targets device_targets(const Batch& b, double pressure, const std::optional<StressTarget>& stress, CellMode mode,
                            const std::string& stage);

}  // namespace batchmd::dynamics::detail
