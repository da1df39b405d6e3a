// SPDX-License-Identifier: Apache-2.0
// Tests of MTK NPT (npt.hpp): the extended-system energy is conserved (isotropic and full cell),
// batched runs equal separate runs bit for bit, bad input and blow-ups are clear errors naming
// the system, and the sampled ensemble is NPT: mean pressure at the target and the volume
// fluctuations those of the compressibility found by finite differences of the mean volume.
// Comparisons with LAMMPS's fix npt: test_npt_lammps.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/cell_math.hpp"
#include "batchmd/dynamics/fused.hpp"
#include "batchmd/dynamics/integrators.hpp"
#include "batchmd/dynamics/npt.hpp"
#include "batchmd/dynamics/units.hpp"
#include "npt_test_util.hpp"

using namespace batchmd;
using namespace batchmd::dynamics;
using batchmd::dyn_test::kSlow;
using batchmd::npt_test::argon_model;
using batchmd::npt_test::crystal;
using batchmd::npt_test::SeriesHook;

namespace {

/// count argon boxes of 108 atoms (jittered fcc at 1.40 g/cm³, velocities at temperature_K).
Batch liquid(int count, std::uint64_t seed = 5, double temperature_K = 94) {
  return dyn_test::argon("seed = " + std::to_string(seed) + "\n[[liquid]]\ncount = " + std::to_string(count) +
                         "\ncells = 3\ndensity_g_cm3 = 1.40\ntemperature_K = " + std::to_string(temperature_K) + "\n");
}

MTKConfig mtk(double t, double p_bar, CellMode mode = CellMode::Isotropic) {
  MTKConfig c;
  c.temperature_K = t;
  c.pressure = p_bar * units::kBar;
  c.tau_t_fs = 100;
  c.tau_p_fs = 500;
  c.mode = mode;
  return c;
}

/// Largest |H(t) − H(0)| over the run, per system, in units of N kT.
std::vector<double> conserved_drift(CellMode mode, int steps, double dt) {
  Batch b = liquid(1);
  auto lj = argon_model();
  MTKNPT npt(lj, dt, mtk(94, 200, mode));
  auto h = std::make_shared<SeriesHook>([&](const Batch& x) { return npt.conserved_energy(x); });
  auto v = std::make_shared<SeriesHook>([](const Batch& x) { return cell_volume(x); });
  npt.register_hook(h);
  npt.register_hook(v);
  npt.prepare(b);
  const auto h0 = npt.conserved_energy(b);
  const auto v0 = cell_volume(b);
  npt.run(b, steps);
  std::vector<double> drift;
  for (std::size_t s = 0; s < h0.size(); ++s) {
    const double nkt = 108 * units::kBoltzmann * 94;
    double worst = 0, vmove = 0;
    for (const auto& row : h->rows) worst = std::max(worst, std::abs(row[s] - h0[s]) / nkt);
    for (const auto& row : v->rows) vmove = std::max(vmove, std::abs(row[s] / v0[s] - 1));
    EXPECT_GT(vmove, 0.01) << "the barostat must actually move the cell for the test to mean anything";
    drift.push_back(worst);
    std::printf("%s, %d steps of %g fs: max |H - H0| = %.3g N kT, max |V/V0 - 1| = %.3g\n",
                cell_mode_name(mode).c_str(), steps, dt, worst, vmove);
  }
  return drift;
}

}  // namespace

// The MTK equations conserve H = K + U + W v_g²/2 + P V + chain terms; the Trotter integrator
// does to O(dt²) with no drift. CI: 600 steps of 2 fs; BATCHMD_LONG_TESTS=1: 20,000 steps.
int long_or(int ci, int long_steps) { return std::getenv("BATCHMD_LONG_TESTS") ? long_steps : ci / kSlow; }
TEST(MTK, ConservesExtendedEnergyIsotropic) {
  for (double d : conserved_drift(CellMode::Isotropic, long_or(600, 20000), 2.0)) EXPECT_LT(d, 2e-3);
}

TEST(MTK, ConservesExtendedEnergyFullCell) {
  for (double d : conserved_drift(CellMode::Full, long_or(600, 20000), 2.0)) EXPECT_LT(d, 2e-3);
}

// Halving dt reduces the energy error about fourfold (second-order integrator).
TEST(MTK, ConservedEnergyErrorIsSecondOrder) {
  const auto coarse = conserved_drift(CellMode::Full, 200 / kSlow, 4.0);
  const auto fine = conserved_drift(CellMode::Full, 400 / kSlow, 2.0);
  for (std::size_t s = 0; s < coarse.size(); ++s) {
    EXPECT_GT(coarse[s] / fine[s], 2.5) << "system " << s;
    EXPECT_LT(coarse[s] / fine[s], 6.5) << "system " << s;
  }
}

// Each system's trajectory is a function of that system only.
TEST(MTK, BatchedEqualsSeparate) {
  for (CellMode mode : {CellMode::Isotropic, CellMode::Full}) {
    Batch both = liquid(2, 9);
    auto run = [&](Batch& b) {
      MTKNPT npt(argon_model(), 2.0, mtk(94, 200, mode));
      npt.run(b, 60);
    };
    run(both);
    for (std::int64_t s = 0; s < 2; ++s) {
      Batch one = liquid(2, 9).index_select(std::vector<std::int64_t>{s});
      run(one);
      const Batch ref = both.index_select(std::vector<std::int64_t>{s});
      for (const char* f : {"positions", "velocities", "cell", "npt_cell_velocity", "npt_vxi", "npt_baro_vxi"}) {
        const Tensor& a = one.get(f);
        const Tensor& r = ref.get(f);
        ASSERT_EQ(a.numel(), r.numel());
        for (std::int64_t i = 0; i < a.numel(); ++i)
          ASSERT_EQ(a.data<double>()[i], r.data<double>()[i])
              << f << " system " << s << " mode " << cell_mode_name(mode);
      }
    }
  }
}

TEST(MTK, OpenClusterIsAnErrorNamingIt) {
  Batch b =
      dyn_test::argon("[[liquid]]\ncount = 1\ncells = 3\ndensity_g_cm3 = 1.4\n[[cluster]]\ncount = 1\natoms = 13\n");
  MTKNPT npt(argon_model(), 2.0, mtk(94, 0));
  try {
    npt.run(b, 1);
    FAIL() << "expected an error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("system 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("periodic"), std::string::npos) << e.what();
  }
  // Also when the cluster reaches the NPT stage of a fused pipeline: checked before any step.
  Batch c =
      dyn_test::argon("[[liquid]]\ncount = 1\ncells = 3\ndensity_g_cm3 = 1.4\n[[cluster]]\ncount = 1\natoms = 13\n");
  auto lj = argon_model();
  auto fire = std::make_shared<FIRE>(lj, 2.0);
  fire->set_convergence(Convergence::steps(5));
  FusedStage fused({fire, std::make_shared<MTKNPT>(lj, 2.0, mtk(94, 0))});
  EXPECT_THROW(fused.run(c, 1), InvalidArgument);
}

TEST(MTK, BadParametersAreRejected) {
  auto lj = argon_model();
  auto bad = [&](auto edit) {
    MTKConfig c = mtk(94, 0);
    edit(c);
    EXPECT_THROW(MTKNPT(lj, 2.0, c), InvalidArgument);
  };
  bad([](MTKConfig& c) { c.tau_p_fs = 0; });
  bad([](MTKConfig& c) { c.tau_p_fs = -100; });
  bad([](MTKConfig& c) { c.tau_t_fs = 0; });
  bad([](MTKConfig& c) { c.temperature_K = 0; });
  bad([](MTKConfig& c) { c.pressure = std::nan(""); });
  bad([](MTKConfig& c) { c.pressure = -2.0; });
  bad([](MTKConfig& c) { c.chain_length = 0; });
  EXPECT_THROW(cell_mode_from_name("cubic"), InvalidArgument);
}

// A barostat that blows up stops the run with the system named, before NaN spreads: system 1
// under a huge tension (−800 kbar) with a light cell.
TEST(MTK, ExplodingCellIsANumericalErrorNamingTheSystem) {
  Batch b = liquid(2);
  b.add_field("barostat_pressure", Level::System, DType::Float64, {});
  b.get("barostat_pressure").data<double>()[1] = -0.5;  // eV/Å³: -800 kbar
  MTKConfig c = mtk(94, 0);
  c.tau_p_fs = 100;
  MTKNPT npt(argon_model(), 2.0, c);
  try {
    npt.run(b, 5);
    FAIL() << "expected an error";
  } catch (const NumericalError& e) {
    EXPECT_NE(std::string(e.what()).find("system 1"), std::string::npos) << e.what();
  }
}

// In equilibrium the mean instantaneous pressure equals the target, per system, with each
// system at its own target from the "barostat_pressure" field. The volume fluctuations give the
// isothermal compressibility κ = ⟨δV²⟩/(kT⟨V⟩); it must agree with κ = −(1/V) dV/dP from the
// mean volumes at the neighbouring targets (central difference).
TEST(MTK, SamplesNPT_PressureTargetsAndCompressibility) {
  // Liquid argon at 120 K (T* = 1: far from freezing at these pressures, so every box melts).
  const bool long_run = std::getenv("BATCHMD_LONG_TESTS") != nullptr;
  const int per = long_run ? 4 : 1;
  const double targets[3] = {200, 350, 500};  // bar
  Batch b = liquid(3 * per, 21, 120);
  b.add_field("barostat_pressure", Level::System, DType::Float64, {});
  for (int k = 0; k < 3; ++k)
    for (int r = 0; r < per; ++r) b.get("barostat_pressure").data<double>()[per * k + r] = targets[k] * units::kBar;
  MTKConfig c = mtk(120, 0);
  c.tau_p_fs = 1000;
  MTKNPT npt(argon_model(), 4.0, c);
  auto p = std::make_shared<SeriesHook>([](const Batch& x) { return pressure(x); });
  auto v = std::make_shared<SeriesHook>([](const Batch& x) { return cell_volume(x); });
  npt.register_hook(p);
  npt.register_hook(v);
  const int equil = 1000, prod = (long_run ? 50000 : 4000) / kSlow;
  npt.run(b, equil + prod);
  double vmean[3], verr[3], kfluct[3];
  const double kt = units::kBoltzmann * 120;
  for (int k = 0; k < 3; ++k) {
    std::vector<double> pk, vk;
    double var = 0;
    for (int r = 0; r < per; ++r) {
      const auto pc = p->column(static_cast<std::size_t>(per * k + r), equil);
      const auto vc = v->column(static_cast<std::size_t>(per * k + r), equil);
      pk.insert(pk.end(), pc.begin(), pc.end());
      vk.insert(vk.end(), vc.begin(), vc.end());
      var += npt_test::variance(vc) / per;
    }
    const auto ps = dyn_test::block_average(pk, 8 * per);
    const auto vs = dyn_test::block_average(vk, 8 * per);
    vmean[k] = vs.mean;
    verr[k] = vs.err;
    kfluct[k] = var / (kt * vs.mean);  // Å³/eV
    std::printf("target %5.0f bar: <P> = %7.1f ± %5.1f bar, <V> = %8.2f ± %5.2f Å³, κ_fluct = %.3g 1/bar\n", targets[k],
                ps.mean / units::kBar, ps.err / units::kBar, vs.mean, vs.err, kfluct[k] * units::kBar);
    EXPECT_NEAR(ps.mean / units::kBar, targets[k], 4 * ps.err / units::kBar + 10) << "target " << targets[k];
  }
  const double dvdp = (vmean[2] - vmean[0]) / ((targets[2] - targets[0]) * units::kBar);
  const double kfd = -dvdp / vmean[1];
  const double kfd_err = std::hypot(verr[2], verr[0]) / ((targets[2] - targets[0]) * units::kBar) / vmean[1];
  std::printf("κ: fluctuations %.3g 1/bar, finite difference %.3g ± %.2g 1/bar\n", kfluct[1] * units::kBar,
              kfd * units::kBar, kfd_err * units::kBar);
  // The fluctuation estimate from ~15 (CI) or ~800 (long) independent volumes carries ~35% or
  // ~5% error.
  EXPECT_NEAR(kfluct[1] / kfd, 1.0, (long_run ? 0.1 : 0.5) + 3 * kfd_err / kfd);
}

// A cubic crystal: isotropic and full-cell NPT give the same mean volume.
TEST(MTK, CubicCrystalSameVolumeIsotropicAndFull) {
  double vm[2], ve[2];
  for (int m = 0; m < 2; ++m) {
    Batch b = crystal(2, 40);  // 2 × 108 atoms
    MTKConfig c = mtk(40, 0, m == 0 ? CellMode::Isotropic : CellMode::Full);
    c.tau_p_fs = 1000;
    MTKNPT npt(argon_model(), 4.0, c);
    auto v = std::make_shared<SeriesHook>([](const Batch& x) { return cell_volume(x); });
    npt.register_hook(v);
    const int equil = 500, prod = (std::getenv("BATCHMD_LONG_TESTS") ? 20000 : 2000) / kSlow;
    npt.run(b, equil + prod);
    std::vector<double> all;
    for (std::size_t s = 0; s < 2; ++s) {
      const auto col = v->column(s, equil);
      all.insert(all.end(), col.begin(), col.end());
    }
    const auto st = dyn_test::block_average(all, 10);
    vm[m] = st.mean;
    ve[m] = st.err;
  }
  std::printf("fcc Ar 40 K, 0 bar: <V> isotropic %.2f ± %.2f, full %.2f ± %.2f Å³\n", vm[0], ve[0], vm[1], ve[1]);
  EXPECT_NEAR(vm[0], vm[1], 4 * std::hypot(ve[0], ve[1]) + 1e-4 * vm[0]);
}

// The full cell's maps by the series in v_g equal the eigenbasis formulas (mtk_frame, the
// coefficients, mtk_maps) to rounding, for strain rates from a quiet run's to a violent one's and
// for a v_g with repeated eigenvalues; past the series' range it declines.
TEST(MTK, SeriesMapsEqualTheEigenbasisMaps) {
  std::uint64_t state = 12345;
  auto uniform = [&] {  // [-1, 1)
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / static_cast<double>(1ULL << 52) * 2.0 - 1.0;
  };
  const double dt = 2.0, h = 1.0, nf = 321.0;
  for (double scale : {1e-7, 1e-5, 1e-3, 2e-2}) {
    for (int trial = 0; trial < 20; ++trial) {
      double vg[9];
      for (int i = 0; i < 3; ++i)
        for (int j = i; j < 3; ++j) vg[3 * i + j] = vg[3 * j + i] = scale * uniform();
      if (trial == 0)  // repeated eigenvalues: isotropic v_g handled by the full-cell path
        for (int k = 0; k < 9; ++k) vg[k] = k % 4 == 0 ? scale * 0.3 : 0.0;
      const double tr = cellm::trace3(vg) / nf, sp = 0.9993;
      cellm::MtkMaps series{};
      ASSERT_TRUE(cellm::mtk_maps_series(vg, tr, h, dt, sp, true, series)) << scale;
      const cellm::MtkFrame fr = cellm::mtk_frame(vg, false);
      const cellm::MtkMaps eig =
          cellm::mtk_maps(fr, cellm::mtk_kick_coeffs(fr, tr, h), cellm::mtk_drift_coeffs(fr, dt), sp);
      // a few ulps of the diagonal (~1, ~h, ~dt): both routes round, the eigenbasis one more
      for (int k = 0; k < 9; ++k) {
        EXPECT_NEAR(series.kv[k], eig.kv[k], 4e-15) << "kv " << k << " scale " << scale;
        EXPECT_NEAR(series.ka[k], eig.ka[k], 4e-15 * h) << "ka " << k << " scale " << scale;
        EXPECT_NEAR(series.dr[k], eig.dr[k], 4e-15) << "dr " << k << " scale " << scale;
        EXPECT_NEAR(series.dv[k], eig.dv[k], 4e-15 * dt) << "dv " << k << " scale " << scale;
      }
    }
  }
  double big[9] = {0.3, 0.1, 0, 0.1, -0.2, 0, 0, 0, 0.1};  // ‖v_g dt‖ > 0.5: the eigenbasis route
  cellm::MtkMaps m{};
  EXPECT_FALSE(cellm::mtk_maps_series(big, 0.0, h, dt, 1.0, true, m));
}
