// SPDX-License-Identifier: Apache-2.0
// GPU tests of the integrators that move the cell (npt.hpp, cell_relax.hpp; kernels in
// dynamics/cell_gpu.cu), label gpu: each GPU run against the same run on the CPU (same start, same
// LJ argon model; the GPU sums per system in another order, so agreement is to rounding grown over
// the run, not bitwise), MTK's conserved quantity on the GPU, a cell that blows up and a bad
// per-system target set mid-run reported as errors naming the stage and the system, MTK and CSR
// batches with a system too large for their one-block paths, the three stages in one FusedStage
// on the GPU against the CPU, and a restart that continues bitwise through a neighbor list kept
// under the cells' strain.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/cell_relax.hpp"
#include "batchmd/dynamics/fused.hpp"
#include "batchmd/dynamics/npt.hpp"
#include "batchmd/dynamics/units.hpp"
#include "npt_test_util.hpp"

using namespace batchmd;
using namespace batchmd::dynamics;
using batchmd::npt_test::argon_model;

namespace {

const Device kGpu{Device::Kind::CUDA, 0};

/// Two argon liquids of 108 atoms and one of 256 (jittered fcc at 1.40 g/cm³, 94 K), the second
/// sheared into a triclinic cell so the full-cell paths see off-diagonal terms.
Batch liquids(const std::string& dtype = "float64") {
  Batch b = dyn_test::argon(
      "seed = 11\n[[liquid]]\ncount = 2\ncells = 3\ndensity_g_cm3 = 1.40\ntemperature_K = 94\n"
      "[[liquid]]\ncount = 1\ncells = 4\ndensity_g_cm3 = 1.40\ntemperature_K = 94\n",
      dtype);
  // Shear system 1: x += 0.1 y for its atoms and its cell rows.
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* x = b.get("positions").data<T>();
    T* c = b.get("cell").data<T>();
    const auto* ap = b.atoms_ptr_data();
    for (std::int64_t i = ap[1]; i < ap[2]; ++i)
      x[3 * i] = static_cast<T>(double(x[3 * i]) + 0.1 * double(x[3 * i + 1]));
    for (int r = 0; r < 3; ++r) c[9 + 3 * r] = static_cast<T>(double(c[9 + 3 * r]) + 0.1 * double(c[9 + 3 * r + 1]));
  });
  return b;
}

MTKConfig mtk(CellMode mode) {
  MTKConfig c;
  c.temperature_K = 94;
  c.pressure = 200 * units::kBar;
  c.tau_t_fs = 100;
  c.tau_p_fs = 500;
  c.mode = mode;
  return c;
}
CSRConfig csr(CellMode mode) {
  CSRConfig c;
  c.temperature_K = 94;
  c.pressure = 200 * units::kBar;
  c.tau_p_fs = 300;
  c.compressibility = 2e-4;
  c.friction_per_fs = 0.01;
  c.seed = 42;
  c.mode = mode;
  return c;
}
FIRECellConfig fire_cell(CellMode mode) {
  FIRECellConfig c;
  c.pressure = 500 * units::kBar;
  c.mode = mode;
  return c;
}

/// Largest |a − b| / scale over a field of two batches (either device).
double max_diff(const Batch& a, const Batch& b, const char* field, double scale = 1.0) {
  const Tensor ta = a.get(field).to(Device::cpu()), tb = b.get(field).to(Device::cpu());
  EXPECT_EQ(ta.numel(), tb.numel()) << field;
  double worst = 0;
  dispatch_float(ta.dtype(), [&](auto zero) {
    using T = decltype(zero);
    for (std::int64_t i = 0; i < ta.numel(); ++i)
      worst = std::max(worst, std::abs(double(ta.data<T>()[i]) - double(tb.data<T>()[i])) / scale);
  });
  return worst;
}

/// Runs `make()` n steps on a CPU copy and a GPU copy of `start`; expects positions, velocities
/// and cells to agree within tol (Å, Å/fs, Å) and the cells to have moved.
template <typename Make>
void cpu_vs_gpu(const Batch& start, Make make, int n, double tol, const std::vector<const char*>& state = {}) {
  Batch cpu = start.clone();
  Batch gpu = start.to(kGpu);
  auto dc = make();
  auto dg = make();
  dc->run(cpu, n);
  dg->run(gpu, n);
  const Batch back = gpu.to(Device::cpu());
  const double moved = max_diff(start, cpu, "cell");
  EXPECT_GT(moved, 1e-3) << "the cells must move for the comparison to mean anything";
  const double dx = max_diff(cpu, back, "positions"), dv = max_diff(cpu, back, "velocities"),
               dcell = max_diff(cpu, back, "cell");
  std::printf("%s, %d steps: cells moved %.3g Å; CPU vs GPU: positions %.3g Å, velocities %.3g Å/fs, cell %.3g Å\n",
              dc->name().c_str(), n, moved, dx, dv, dcell);
  EXPECT_LT(dx, tol);
  EXPECT_LT(dv, tol);
  EXPECT_LT(dcell, tol);
  for (const char* f : state) EXPECT_LT(max_diff(cpu, back, f), tol) << f;
}

class NptGpu : public ::testing::Test {};

TEST_F(NptGpu, MtkIsotropicMatchesCpu) {
  cpu_vs_gpu(liquids(), [] { return std::make_shared<MTKNPT>(argon_model(), 2.0, mtk(CellMode::Isotropic)); }, 100,
             1e-7, {"npt_cell_velocity", "npt_vxi", "npt_baro_vxi"});
}

TEST_F(NptGpu, MtkFullCellWithStressTargetMatchesCpu) {
  MTKConfig c = mtk(CellMode::Full);
  c.pressure = 0;
  c.stress = StressTarget{-300 * units::kBar, 40 * units::kBar, 0, 40 * units::kBar, -100 * units::kBar, 0, 0, 0,
                          -200 * units::kBar};
  cpu_vs_gpu(liquids(), [&] { return std::make_shared<MTKNPT>(argon_model(), 2.0, c); }, 100, 1e-7,
             {"npt_cell_velocity", "npt_stress_work"});
}

TEST_F(NptGpu, CsrIsotropicAndFullMatchCpu) {
  for (CellMode mode : {CellMode::Isotropic, CellMode::Full})
    cpu_vs_gpu(
        liquids(), [&] { return std::make_shared<StochasticCellRescaling>(argon_model(), 2.0, csr(mode)); }, 100, 1e-7);
}

// A system of more than gpu::kFusedAtoms (1,024) atoms makes the batch take the other launch path (the
// per-system kernels, then one thread per atom); the tests above cover the fused one.
Batch with_a_large_system() {
  Batch big = dyn_test::argon(
      "seed = 5\n[[liquid]]\ncount = 1\ncells = 3\ndensity_g_cm3 = 1.40\ntemperature_K = 94\n"
      "[[liquid]]\ncount = 1\ncells = 7\ndensity_g_cm3 = 1.40\ntemperature_K = 94\n");
  EXPECT_GT(big.atoms_ptr_data()[2] - big.atoms_ptr_data()[1], 1024);  // gpu::kFusedAtoms (cell_gpu.hpp)
  return big;
}

TEST_F(NptGpu, CsrWithASystemTooLargeForOneBlockMatchesCpu) {
  const Batch big = with_a_large_system();
  for (CellMode mode : {CellMode::Isotropic, CellMode::Full})
    cpu_vs_gpu(
        big, [&] { return std::make_shared<StochasticCellRescaling>(argon_model(), 2.0, csr(mode)); }, 60, 1e-7);
}

TEST_F(NptGpu, MtkWithASystemTooLargeForOneBlockMatchesCpu) {
  const Batch big = with_a_large_system();
  for (CellMode mode : {CellMode::Isotropic, CellMode::Full})
    cpu_vs_gpu(big, [&] { return std::make_shared<MTKNPT>(argon_model(), 2.0, mtk(mode)); }, 60, 1e-7,
               {"npt_cell_velocity", "npt_vxi", "npt_baro_vxi"});
}

TEST_F(NptGpu, FireCellMatchesCpuAndConverges) {
  for (CellMode mode : {CellMode::Isotropic, CellMode::Full}) {
    Batch start = npt_test::crystal(2, 0);
    cpu_vs_gpu(start, [&] { return std::make_shared<FIRECell>(argon_model(), 2.0, fire_cell(mode)); }, 60, 1e-7,
               {"cell_dof_velocity", "cell_stress_residual"});
    // and on the GPU to convergence: forces and stress at the target
    auto fc = std::make_shared<FIRECell>(argon_model(), 2.0, fire_cell(mode));
    fc->set_convergence(Convergence::fmax(1e-4) & Convergence::stress(1e-7));
    Batch g = start.to(kGpu);
    const auto steps = fc->run(g, 3000);
    const Batch h = g.to(Device::cpu());
    const double* res = h.get("cell_stress_residual").data<double>();
    for (std::int64_t s = 0; s < h.n_systems(); ++s) {
      EXPECT_LT(res[s], 1e-7) << "system " << s;
      EXPECT_EQ(h.get("status").data<std::int32_t>()[s], 1) << "system " << s;
    }
    std::printf("fire_cell %s on the GPU: converged in %lld steps\n", cell_mode_name(mode).c_str(),
                static_cast<long long>(steps));
  }
}

TEST_F(NptGpu, MtkConservesExtendedEnergyOnGpu) {
  for (CellMode mode : {CellMode::Isotropic, CellMode::Full}) {
    Batch b = liquids().to(kGpu);
    MTKNPT npt(argon_model(), 2.0, mtk(mode));
    npt.prepare(b);
    const auto h0 = npt.conserved_energy(b);
    const auto v0 = cell_volume(b);
    std::vector<double> worst(h0.size(), 0.0), vmove(h0.size(), 0.0);
    for (int k = 0; k < 12; ++k) {
      npt.run(b, 50);
      const auto h = npt.conserved_energy(b);
      const auto v = cell_volume(b);
      for (std::size_t s = 0; s < h.size(); ++s) {
        const double nkt = double(b.atoms_ptr_data()[s + 1] - b.atoms_ptr_data()[s]) * units::kBoltzmann * 94;
        worst[s] = std::max(worst[s], std::abs(h[s] - h0[s]) / nkt);
        vmove[s] = std::max(vmove[s], std::abs(v[s] / v0[s] - 1));
      }
    }
    for (std::size_t s = 0; s < h0.size(); ++s) {
      std::printf("GPU %s system %zu: max |H - H0| = %.3g N kT over 600 steps, max |V/V0 - 1| = %.3g\n",
                  cell_mode_name(mode).c_str(), s, worst[s], vmove[s]);
      EXPECT_LT(worst[s], 2e-3) << "system " << s;
      EXPECT_GT(vmove[s], 0.005) << "system " << s;
    }
  }
}

TEST_F(NptGpu, CellBlowUpIsReportedNamingTheSystem) {
  Batch b = liquids().to(kGpu);
  MTKConfig c = mtk(CellMode::Isotropic);
  c.pressure = -0.9;  // -1.4e6 bar: the cell explodes within a few steps
  c.tau_p_fs = 20;
  MTKNPT npt(argon_model(), 2.0, c);
  try {
    npt.run(b, 200);
    FAIL() << "a cell blow-up must stop the run";
  } catch (const Error& e) {
    const std::string m = e.what();
    std::printf("%s\n", m.c_str());
    EXPECT_NE(m.find("npt_mtk"), std::string::npos) << m;
    EXPECT_NE(m.find("system"), std::string::npos) << m;
  }
}

TEST_F(NptGpu, BadTargetSetMidRunIsReported) {
  Batch b = liquids().to(kGpu);
  std::vector<double> sig(27, 0.0);
  for (int s = 0; s < 3; ++s)
    for (int k = 0; k < 3; ++k) sig[static_cast<std::size_t>(9 * s + 4 * k)] = -200 * units::kBar;
  b.add_field("barostat_stress", Level::System, DType::Float64, {3, 3}).copy_from(Tensor::from(sig, {3, 3, 3}));
  MTKNPT npt(argon_model(), 2.0, mtk(CellMode::Full));
  npt.run(b, 5);
  sig[9 + 1] = 0.01;  // system 1: not symmetric
  b.get("barostat_stress").copy_from(Tensor::from(sig, {3, 3, 3}));
  try {
    npt.run(b, 1);  // one step: the fault is found on the device and raised by run()'s finish_run
    FAIL() << "a non-symmetric target must be refused by the run whose step read it";
  } catch (const InvalidArgument& e) {
    const std::string m = e.what();
    std::printf("%s\n", m.c_str());
    EXPECT_NE(m.find("system 1"), std::string::npos) << m;
    EXPECT_NE(m.find("not symmetric"), std::string::npos) << m;
  }
}

// fire_cell (relax the cell at 0 bar), then npt_csr and npt_mtk in one FusedStage on the GPU,
// against the same on the CPU.
TEST_F(NptGpu, FusedCellStagesMatchCpu) {
  auto make = [] {
    auto relax = std::make_shared<FIRECell>(argon_model(), 2.0, fire_cell(CellMode::Isotropic));
    relax->set_convergence(Convergence::fmax(1e-3) & Convergence::stress(1e-5));
    auto c = std::make_shared<StochasticCellRescaling>(argon_model(), 2.0, csr(CellMode::Isotropic));
    c->set_convergence(Convergence::steps(40));
    auto m = std::make_shared<MTKNPT>(argon_model(), 2.0, mtk(CellMode::Full));
    m->set_convergence(Convergence::steps(1000));
    return std::make_shared<FusedStage>(std::vector<std::shared_ptr<Dynamics>>{relax, c, m});
  };
  cpu_vs_gpu(npt_test::crystal(3, 60), make, 150, 1e-6);
}

// A run stopped and restarted from its batch and the model's state (a checkpoint's content)
// continues bitwise like the uninterrupted run, also where the LJ list was kept through the
// strain of the cells since its last build (the restore rebuilds in the stored build cells).
TEST_F(NptGpu, RestartContinuesBitwise) {
  for (CellMode mode : {CellMode::Isotropic, CellMode::Full}) {
    Batch whole = liquids().to(kGpu);
    auto lj_whole = argon_model();
    MTKNPT a(lj_whole, 2.0, mtk(mode));
    a.run(whole, 80);
    Batch first = liquids().to(kGpu);
    auto lj_first = argon_model();
    MTKNPT b(lj_first, 2.0, mtk(mode));
    b.run(first, 37);
    const std::int64_t builds = lj_first->neighbor_builds();
    const auto state = lj_first->state();
    Batch rest = first.to(Device::cpu()).to(kGpu);  // through the host, as a checkpoint is
    auto lj_rest = argon_model();
    lj_rest->restore_state(rest, state);
    MTKNPT c(lj_rest, 2.0, mtk(mode));
    c.assume_forces_current();
    c.set_step_count(37);
    c.run(rest, 43);
    std::printf("%s: %lld list builds in the first 37 steps; restart compared bitwise\n", cell_mode_name(mode).c_str(),
                static_cast<long long>(builds));
    EXPECT_LT(builds, 37) << "the list must have been kept through some strained steps";
    for (const char* f : {"positions", "velocities", "cell", "npt_cell_velocity", "npt_vxi"})
      EXPECT_EQ(max_diff(whole, rest, f), 0.0) << f << " " << cell_mode_name(mode);
  }
}

TEST_F(NptGpu, Float32RunsCloseToFloat64) {
  Batch b64 = liquids().to(kGpu);
  Batch b32 = liquids("float32").to(kGpu);
  MTKNPT a(argon_model(), 2.0, mtk(CellMode::Full));
  MTKNPT c(argon_model(), 2.0, mtk(CellMode::Full));
  a.run(b64, 100);
  c.run(b32, 100);
  const auto v64 = cell_volume(b64), v32 = cell_volume(b32);
  for (std::size_t s = 0; s < v64.size(); ++s) {
    std::printf("float32 vs float64 on the GPU, system %zu: V %.6f vs %.6f Å^3\n", s, v32[s], v64[s]);
    EXPECT_LT(std::abs(v32[s] / v64[s] - 1), 1e-3) << "system " << s;
  }
}

}  // namespace
