// SPDX-License-Identifier: Apache-2.0
// Support for the many-body model tests written once for every backend (eam_cases.hpp,
// sw_cases.hpp, snap_cases.hpp): the backend fixture, one compute() as plain numbers, and the
// references a result is checked against — on the CPU an independent one (central differences of
// the energy; float32 against float64), on a GPU the CPU model on the same input — plus the
// cases every such model shares (batched equal to separate, NVE on the backend).
//
// How a case reads: build the input on the host, compute on the backend (device_of(backend())),
// then expect_reference(...) or a model's expect_agree against the backend's reference. The CPU
// binaries (test_eam, test_sw, test_snap; run by CI) instantiate the fixtures with {cpu}, the GPU
// binaries (test_eam_gpu, test_sw_gpu, test_snap_gpu) with {cuda}.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../support/backend.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/model/model.hpp"
#include "lammps_compare.hpp"

namespace batchmd::model::backend_cases {

using namespace batchmd::model::testing;
using test_support::Backend;
using test_support::backend_name;
using test_support::device_of;

/// A fresh model of the kind under test (each backend, and each reference, gets its own).
using Make = std::function<std::shared_ptr<Model>()>;

/// The fixture of the shared bodies: the backend is the parameter; a cuda run fails (not skips)
/// where no GPU is usable.
class ModelOn : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { test_support::require_backend(backend()); }
  Backend backend() const { return GetParam(); }
  Device device() const { return device_of(GetParam()); }
  bool on_cpu() const { return GetParam() == Backend::Cpu; }
};
inline std::string backend_param_name(const ::testing::TestParamInfo<Backend>& p) { return backend_name(p.param); }

/// One compute (with stress) as plain float64 numbers.
struct Out {
  std::vector<double> energy, forces, virial, stress;
};
inline Out run(Model& m, Batch b) {
  m.compute(b, true);
  return {doubles(b.get("energy")), doubles(b.get("forces")), doubles(b.get("virial")), doubles(b.get("stress"))};
}

inline std::string dtype_tag(DType dt) { return dt == DType::Float32 ? " float32" : " float64"; }

/// The systems with positions and cells rounded to float (what a float32 batch holds), so that a
/// float64 reference sees the same input as the float32 run.
inline std::vector<Sys> rounded_to_float(std::vector<Sys> systems) {
  for (auto& s : systems) {
    for (double& v : s.x) v = static_cast<double>(static_cast<float>(v));
    for (double& v : s.cell) v = static_cast<double>(static_cast<float>(v));
  }
  return systems;
}

/// The reference a backend's result is compared with through a model's expect_agree (same
/// tolerances): on a GPU, a fresh CPU model on the same batch (same dtype); on the CPU in float32,
/// a fresh CPU model in float64 on the float-rounded input (the float32 tolerances then bound the
/// float32 rounding itself). On the CPU in float64 there is none (see expect_derivatives).
inline Out reference_run(Backend be, const Make& make, const std::vector<Sys>& systems, DType dt) {
  auto ref = make();
  if (be == Backend::Cuda) return run(*ref, batch_of(systems, dt));
  return run(*ref, batch_of(rounded_to_float(systems), DType::Float64));
}

/// The CPU's independent check of a float64 result `got` of a batch of `systems`: forces of a few
/// atoms of every system (kAtoms, spread over the system) against central differences of the
/// energy (step 1e-5 Å), the virial against strain derivatives (step 1e-6), each to `rel` of the
/// system's scale (max |F| or max |W|, at least 1); and the stress is -W/V for fully periodic
/// systems, zero otherwise. Every derivative uses a fresh model per system.
inline void expect_derivatives(const Make& make, const std::vector<Sys>& systems, const Out& got, double rel,
                               const std::string& where) {
  constexpr std::int64_t kAtoms = 3;
  std::size_t a0 = 0;
  for (std::size_t s = 0; s < systems.size(); ++s) {
    const Sys& sys = systems[s];
    const std::int64_t n = sys.n();
    const std::string at = where + " system " + std::to_string(s);
    if (n > 0) {
      auto m = make();
      double fs = 1.0;
      for (std::int64_t k = 0; k < 3 * n; ++k) fs = std::max(fs, std::abs(got.forces[3 * a0 + k]));
      for (std::int64_t j = 0; j < std::min(kAtoms, n); ++j) {
        const std::int64_t i = j * n / std::min(kAtoms, n);
        for (int d = 0; d < 3; ++d) {
          const std::size_t k = static_cast<std::size_t>(3 * i + d);
          constexpr double h = 1e-5;
          Sys p = sys, q = sys;
          p.x[k] += h;
          q.x[k] -= h;
          const double fd = -(energy_of(*m, p) - energy_of(*m, q)) / (2 * h);
          EXPECT_NEAR(got.forces[3 * a0 + k], fd, rel * fs) << at << " force " << k << " (vs central differences)";
        }
      }
      const auto w = fd_virial(*m, sys, 1e-6);
      double ws = 1.0;
      for (int k = 0; k < 9; ++k) ws = std::max(ws, std::abs(got.virial[9 * s + k]));
      for (int k = 0; k < 9; ++k)
        EXPECT_NEAR(got.virial[9 * s + k], w[static_cast<std::size_t>(k)], rel * ws)
            << at << " virial " << k << " (vs strain derivatives)";
    }
    const bool periodic = sys.pbc[0] && sys.pbc[1] && sys.pbc[2];
    const double* c = sys.cell.data();
    const double vol = std::abs(c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) +
                                c[2] * (c[3] * c[7] - c[4] * c[6]));
    for (int k = 0; k < 9; ++k) {
      const double want = periodic && n > 0 ? -got.virial[9 * s + k] / vol : 0.0;
      EXPECT_NEAR(got.stress[9 * s + k], want, 1e-12 * (std::abs(want) + 1e-12)) << at << " stress " << k;
    }
    a0 += static_cast<std::size_t>(n);
  }
}

/// The cubic crystals' mixed batch (EAM, SNAP): of lattice constant a, a displaced nxnxn crystal
/// (n = 3, displacements up to amp_crystal Å), a 2x2x2 copy in a triclinic cell (self-images),
/// a 2x2x2 slab and a 2x2x2 open cluster (displacements up to amp), and an empty system; atom i of
/// each system gets element zs[pick(i) % zs.size()].
inline std::vector<Sys> mixed_cubic(Sys (*lattice)(int, double, std::int64_t), double a,
                                    const std::vector<std::int64_t>& zs, std::uint64_t seed, double amp_crystal,
                                    double amp, std::size_t (*pick)(std::size_t)) {
  Sys crystal = lattice(3, a, zs[0]);
  jitter(crystal, amp_crystal, seed);
  Sys tri = sheared(lattice(2, a, zs[0]), 2 * a, {2 * a, 0, 0, 0.4 * a, 2 * a, 0, -0.3 * a, 0.2 * a, 2 * a});
  jitter(tri, amp, seed + 1);
  Sys slab = lattice(2, a, zs[0]);
  slab.pbc = {true, true, false};
  slab.cell[8] = 0;
  jitter(slab, amp, seed + 2);
  Sys cluster = lattice(2, a, zs[0]);
  cluster.pbc = {false, false, false};
  cluster.cell.assign(9, 0.0);
  jitter(cluster, amp, seed + 3);
  Sys empty;
  empty.cell = {10, 0, 0, 0, 10, 0, 0, 0, 10};
  std::vector<Sys> all = {crystal, tri, slab, empty, cluster};
  for (auto& s : all)
    for (std::size_t i = 0; i < s.z.size(); ++i) s.z[i] = zs[pick(i) % zs.size()];
  return all;
}

/// The comparison of SW, Morse, SNAP and ZBL results (a reference c, a result g on host batch b)
/// to tf of the force scale (max |F|, at least 1: over the batch, or per system where
/// system_force_scale), energies to te (|E| + n), virials and stresses to te max(n, max |W|) per
/// system; tf = 2e-4 and te = 2e-5 in float32, 1e-10 in float64, both times `scale`.
inline void expect_agree_per_system(const Out& c, const Out& g, const Batch& b, bool f32, double scale,
                                    bool system_force_scale, const std::string& where) {
  const double tf = scale * (f32 ? 2e-4 : 1e-10), te = scale * (f32 ? 2e-5 : 1e-10);
  ASSERT_EQ(c.forces.size(), g.forces.size()) << where;
  const auto* ptr = b.atoms_ptr_data();
  const double batch_fs = std::max(max_abs(c.forces), 1.0);
  for (std::size_t s = 0; s < c.energy.size(); ++s) {
    const double n = static_cast<double>(ptr[s + 1] - ptr[s]);
    double fs = batch_fs;
    if (system_force_scale) {
      fs = 1.0;
      for (auto k = 3 * ptr[s]; k < 3 * ptr[s + 1]; ++k) fs = std::max(fs, std::abs(c.forces[k]));
    }
    for (auto k = 3 * ptr[s]; k < 3 * ptr[s + 1]; ++k)
      EXPECT_NEAR(g.forces[k], c.forces[k], tf * fs) << where << " system " << s << " force " << k;
    EXPECT_NEAR(g.energy[s], c.energy[s], te * (std::abs(c.energy[s]) + n)) << where << " energy " << s;
    double ws = n;
    for (int k = 0; k < 9; ++k) ws = std::max(ws, std::abs(c.virial[9 * s + k]));
    for (int k = 0; k < 9; ++k) {
      EXPECT_NEAR(g.virial[9 * s + k], c.virial[9 * s + k], te * ws) << where << " virial " << s;
      EXPECT_NEAR(g.stress[9 * s + k], c.stress[9 * s + k], te * ws) << where << " stress " << s;
    }
  }
}

/// A model's comparison of a result with a reference result on the same host batch: its
/// tolerances (float32 ones when f32) times `scale`.
using Agree = std::function<void(const Out& ref, const Out& got, const Batch& host, bool f32, double scale,
                                 const std::string& where)>;

/// The CPU's float32 run against the float64 model is held to this fraction of the GPU-vs-CPU
/// float32 tolerances (measured: at most 24% of them, a SNAP virial; forces and energies < 2%).
inline constexpr double kCpuFloat32Scale = 0.5;

/// A result `got` of the backend on batch_of(systems, dt), checked against the backend's
/// reference: on the CPU in float64 central differences (expect_derivatives, to fd_rel), else
/// reference_run through `agree` (on the CPU, float32 to kCpuFloat32Scale of its tolerances).
inline void expect_correct(Backend be, const Make& make, const std::vector<Sys>& systems, DType dt, const Out& got,
                           const Agree& agree, double fd_rel, const std::string& where) {
  if (be == Backend::Cpu && dt == DType::Float64) {
    expect_derivatives(make, systems, got, fd_rel, where);
    return;
  }
  const bool cpu = be == Backend::Cpu;
  agree(reference_run(be, make, systems, dt), got, batch_of(systems, dt), dt == DType::Float32,
        cpu ? kCpuFloat32Scale : 1.0, where + (cpu ? " (vs float64)" : " (vs the CPU model)"));
}

/// Computes batch_of(systems, dt) on the backend with a fresh model and checks it (expect_correct).
inline void expect_agrees(Backend be, const Make& make, const std::vector<Sys>& systems, DType dt, const Agree& agree,
                          double fd_rel, const std::string& where) {
  auto m = make();
  const Out got = run(*m, batch_of(systems, dt).to(device_of(be)));
  expect_correct(be, make, systems, dt, got, agree, fd_rel, where);
}

/// One model on the backend computes the periodic system s, then s with every third atom moved by
/// the lattice vector `shift` (what a wrap hook does): the images change, the results must not —
/// to tol of |E| and of max |F| against the first call and against a fresh model on the moved
/// atoms (its virial too). On the CPU the list must not have been rebuilt either.
inline void expect_wrapped_atoms_change_nothing(Backend be, const Make& make, const Sys& s,
                                                const std::array<double, 3>& shift, double tol,
                                                const std::string& where) {
  auto m = make();
  Batch b = batch_of({s}).to(device_of(be));
  const Out first = run(*m, b.clone());
  const std::int64_t builds = m->neighbor_builds();
  Sys moved = s;
  for (std::int64_t i = 0; i < s.n(); i += 3)
    for (int d = 0; d < 3; ++d) moved.x[3 * i + d] += shift[static_cast<std::size_t>(d)];
  b.get("positions").copy_from(batch_of({moved}).get("positions"));
  const Out second = run(*m, std::move(b));
  if (be == Backend::Cpu) {
    EXPECT_EQ(m->neighbor_builds(), builds) << where << ": a lattice vector, no rebuild";
  }
  auto fresh = make();
  const Out ref = run(*fresh, batch_of({moved}).to(device_of(be)));
  const double fs = max_abs(first.forces);
  EXPECT_NEAR(second.energy[0], first.energy[0], tol * std::abs(first.energy[0])) << where;
  EXPECT_NEAR(second.energy[0], ref.energy[0], tol * std::abs(first.energy[0])) << where << " (fresh model)";
  for (std::size_t k = 0; k < first.forces.size(); ++k) {
    EXPECT_NEAR(second.forces[k], first.forces[k], tol * fs) << where << " force " << k;
    EXPECT_NEAR(second.forces[k], ref.forces[k], tol * fs) << where << " force " << k << " (fresh model)";
  }
  for (int k = 0; k < 9; ++k)
    EXPECT_NEAR(second.virial[k], ref.virial[k], tol * max_abs(ref.virial)) << where << " virial " << k;
}

/// Every system of a batch computed on the backend equals the system computed alone, bit for bit
/// (no atomics anywhere: the same sums in the same order). `fresh`: each system alone gets a fresh
/// model; otherwise the batch's model is reused (its list built for the batch).
inline void expect_batched_equals_separate(Backend be, const Make& make, const std::vector<Sys>& systems, bool fresh,
                                           const std::string& where) {
  auto m = make();
  const Out all = run(*m, batch_of(systems).to(device_of(be)));
  std::size_t atom = 0;
  for (std::size_t s = 0; s < systems.size(); ++s) {
    auto own = fresh ? make() : m;
    const Out one = run(*own, batch_of({systems[s]}).to(device_of(be)));
    EXPECT_EQ(all.energy[s], one.energy[0]) << where << " system " << s;
    for (std::size_t k = 0; k < one.forces.size(); ++k)
      EXPECT_EQ(all.forces[3 * atom + k], one.forces[k]) << where << " system " << s;
    for (int k = 0; k < 9; ++k) EXPECT_EQ(all.virial[9 * s + k], one.virial[k]) << where << " system " << s;
    atom += static_cast<std::size_t>(systems[s].n());
  }
}

/// Total energy (kinetic + potential) of system 0.
inline double total_energy(const Batch& b) { return dynamics::kinetic_energy(b)[0] + doubles(b.get("energy"))[0]; }

/// `steps` NVE steps (DemoDynamics, time step dt fs) of `host` (velocities set) on the backend.
/// On a GPU, the positions must follow the same run on the CPU to pos_tol Å and the final energy
/// to e_tol (relative to |E| where e_relative, else absolute). On the CPU, the total energy must
/// stay within drift_tol of its start (relative), measured every 10 steps.
inline void expect_md_follows_reference(Backend be, const Make& make, const Batch& host, double dt, std::int64_t steps,
                                        double pos_tol, double e_tol, bool e_relative, double drift_tol) {
  if (be == Backend::Cpu) {
    Batch b = host.clone();
    dynamics::DemoDynamics md(make(), dt);
    md.run(b, 0);
    const double e0 = total_energy(b);
    double worst = 0;
    for (std::int64_t done = 0; done < steps; done += 10) {
      md.run(b, std::min<std::int64_t>(10, steps - done));
      worst = std::max(worst, std::abs(total_energy(b) - e0) / std::abs(e0));
    }
    std::printf("NVE, %lld steps of %g fs: max relative total-energy drift %.2e\n", static_cast<long long>(steps), dt,
                worst);
    EXPECT_LT(worst, drift_tol) << "NVE total-energy drift over " << steps << " steps";
    return;
  }
  Batch bc = host.clone();
  Batch bg = host.to(device_of(be));
  dynamics::DemoDynamics mc(make(), dt), mg(make(), dt);
  mc.run(bc, steps);
  mg.run(bg, steps);
  const auto xc = doubles(bc.get("positions")), xg = doubles(bg.get("positions"));
  for (std::size_t k = 0; k < xc.size(); ++k) EXPECT_NEAR(xg[k], xc[k], pos_tol) << k;
  const double ec = doubles(bc.get("energy"))[0];
  EXPECT_NEAR(doubles(bg.get("energy"))[0], ec, e_relative ? e_tol * std::abs(ec) : e_tol);
}

}  // namespace batchmd::model::backend_cases
