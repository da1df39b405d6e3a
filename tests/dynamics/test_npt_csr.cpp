// SPDX-License-Identifier: Apache-2.0
// Tests of anisotropic stochastic cell rescaling (StochasticCellRescaling, CellMode::Full,
// npt.hpp): on a cubic fcc crystal it samples the same mean volume as the isotropic mode and keeps
// the cell cubic on average; a cell stretched along x relaxes back to cubic (which the isotropic
// mode cannot do); bad parameters are errors; batched runs equal separate runs bit for bit.
// The isotropic mode against LAMMPS: test_npt_lammps.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "batchmd/core/error.hpp"
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

CSRConfig csr(double t, double p_bar, CellMode mode, double tau_p_fs = 500) {
  CSRConfig c;
  c.temperature_K = t;
  c.pressure = p_bar * units::kBar;
  c.tau_p_fs = tau_p_fs;
  c.friction_per_fs = 0.01;
  c.seed = 11;
  c.mode = mode;
  return c;
}

/// Component k (row-major) of every system's cell.
std::vector<double> cell_component(const Batch& b, int k) {
  std::vector<double> out;
  const Tensor& c = b.get("cell");
  for (std::int64_t s = 0; s < b.n_systems(); ++s) out.push_back(c.data<double>()[9 * s + k]);
  return out;
}

}  // namespace

// A cubic crystal at 40 K, 0 bar: both modes give the same mean volume; the anisotropic cell
// stays cubic on average (off-diagonal components ≈ 0, the three edge lengths equal).
TEST(CSRAnisotropic, CubicCrystalSameVolumeAsIsotropicAndStaysCubic) {
  const int equil = 500, prod = (std::getenv("BATCHMD_LONG_TESTS") ? 20000 : 3000) / kSlow;
  double vm[2], ve[2];
  for (int m = 0; m < 2; ++m) {
    const CellMode mode = m == 0 ? CellMode::Isotropic : CellMode::Full;
    Batch b = crystal(2, 40);  // 2 × 108 atoms
    StochasticCellRescaling npt(argon_model(), 4.0, csr(40, 0, mode));
    auto v = std::make_shared<SeriesHook>([](const Batch& x) { return cell_volume(x); });
    npt.register_hook(v);
    std::vector<std::shared_ptr<SeriesHook>> comp;
    for (int k = 0; k < 9; ++k) {
      comp.push_back(std::make_shared<SeriesHook>([k](const Batch& x) { return cell_component(x, k); }));
      npt.register_hook(comp.back());
    }
    npt.run(b, equil + prod);
    auto pooled = [&](const SeriesHook& h) {
      std::vector<double> all;
      for (std::size_t s = 0; s < 2; ++s) {
        const auto col = h.column(s, equil);
        all.insert(all.end(), col.begin(), col.end());
      }
      return dyn_test::block_average(all, 10);
    };
    const auto st = pooled(*v);
    vm[m] = st.mean;
    ve[m] = st.err;
    if (mode != CellMode::Full) continue;
    // The barostat must have moved the shape for the test to mean anything.
    double max_off = 0;
    for (const auto& row : comp[1]->rows) max_off = std::max(max_off, std::abs(row[0]));
    EXPECT_GT(max_off, 1e-3) << "the off-diagonal cell components never moved";
    const auto xx = pooled(*comp[0]), yy = pooled(*comp[4]), zz = pooled(*comp[8]);
    const double edge = (xx.mean + yy.mean + zz.mean) / 3;
    std::printf("full: <a_xx> %.4f ± %.4f, <b_yy> %.4f ± %.4f, <c_zz> %.4f ± %.4f Å\n", xx.mean, xx.err, yy.mean,
                yy.err, zz.mean, zz.err);
    for (const auto* d : {&xx, &yy, &zz}) EXPECT_NEAR(d->mean, edge, 4 * d->err + 1e-4 * edge);
    for (int k : {1, 2, 3, 5, 6, 7}) {
      const auto o = pooled(*comp[static_cast<std::size_t>(k)]);
      std::printf("full: <cell[%d]> %.4f ± %.4f Å\n", k, o.mean, o.err);
      EXPECT_NEAR(o.mean, 0.0, 4 * o.err + 1e-4 * edge) << "cell component " << k;
    }
  }
  std::printf("fcc Ar 40 K, 0 bar: <V> isotropic %.2f ± %.2f, anisotropic %.2f ± %.2f Å³\n", vm[0], ve[0], vm[1],
              ve[1]);
  EXPECT_NEAR(vm[0], vm[1], 4 * std::hypot(ve[0], ve[1]) + 1e-4 * vm[0]);
}

// A crystal whose cell and positions are stretched 5% along x, at 1 K and 0 bar: the anisotropic
// mode brings it back to cubic (edge ratios → 1) at the volume the isotropic mode finds from the
// cubic start; the isotropic mode keeps the 5% ratio (it cannot change the shape).
TEST(CSRAnisotropic, StretchedCellRelaxesBackToCubic) {
  auto stretched = [] {
    Batch b = crystal(1, 1);
    double* x = b.get("positions").data<double>();
    for (std::int64_t i = 0; i < b.n_atoms(); ++i) x[3 * i] *= 1.05;
    double* c = b.get("cell").data<double>();
    for (int k = 0; k < 3; ++k) c[3 * k] *= 1.05;  // the x component of each cell vector
    return b;
  };
  const int steps = 6000, tail = 3000;
  auto run = [&](Batch& b, CellMode mode, double* ratio_yx, double* ratio_zy, double* vol) {
    StochasticCellRescaling npt(argon_model(), 2.0, csr(1, 0, mode, 100));
    auto xx = std::make_shared<SeriesHook>([](const Batch& x) { return cell_component(x, 0); });
    auto yy = std::make_shared<SeriesHook>([](const Batch& x) { return cell_component(x, 4); });
    auto zz = std::make_shared<SeriesHook>([](const Batch& x) { return cell_component(x, 8); });
    auto v = std::make_shared<SeriesHook>([](const Batch& x) { return cell_volume(x); });
    for (const auto& h : {xx, yy, zz, v}) npt.register_hook(h);
    npt.run(b, steps);
    const auto from = static_cast<std::size_t>(steps - tail);
    *ratio_yx = npt_test::mean(xx->column(0, from)) / npt_test::mean(yy->column(0, from));
    *ratio_zy = npt_test::mean(zz->column(0, from)) / npt_test::mean(yy->column(0, from));
    *vol = npt_test::mean(v->column(0, from));
  };
  double rf, rf2, vf, ri, ri2, vi, rc, rc2, vc;
  Batch full = stretched(), iso = stretched(), cubic = crystal(1, 1);
  run(full, CellMode::Full, &rf, &rf2, &vf);
  run(iso, CellMode::Isotropic, &ri, &ri2, &vi);
  run(cubic, CellMode::Isotropic, &rc, &rc2, &vc);
  std::printf("a/b: anisotropic %.4f, isotropic %.4f (start 1.05); c/b anisotropic %.4f; V %.2f vs cubic %.2f Å³\n", rf,
              ri, rf2, vf, vc);
  // At 1 K the thermal shape fluctuations of the 3000-step mean are ~0.1%.
  EXPECT_NEAR(rf, 1.0, 0.004);
  EXPECT_NEAR(rf2, 1.0, 0.004);
  EXPECT_NEAR(ri, 1.05, 0.002) << "the isotropic mode keeps the shape";
  EXPECT_NEAR(vf / vc, 1.0, 0.005);
}

TEST(CSRAnisotropic, BadParametersAreRejected) {
  auto lj = argon_model();
  for (CellMode mode : {CellMode::Isotropic, CellMode::Full}) {
    auto bad = [&](auto edit, const char* key) {
      CSRConfig c = csr(40, 0, mode);
      edit(c);
      try {
        StochasticCellRescaling npt(lj, 2.0, c);
        ADD_FAILURE() << "expected an error for " << key;
      } catch (const InvalidArgument& e) {
        EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
      }
    };
    bad([](CSRConfig& c) { c.tau_p_fs = 0; }, "tau_p_fs");
    bad([](CSRConfig& c) { c.tau_p_fs = -100; }, "tau_p_fs");
    bad([](CSRConfig& c) { c.compressibility = 0; }, "compressibility");
    bad([](CSRConfig& c) { c.temperature_K = 0; }, "temperature_K");
    bad([](CSRConfig& c) { c.pressure = std::nan(""); }, "pressure");
    bad([](CSRConfig& c) { c.pressure = INFINITY; }, "pressure");
    EXPECT_NO_THROW(StochasticCellRescaling(lj, 2.0, csr(40, 0, mode)));
  }
}

// Each system's trajectory is a function of that system only (the cell noise is keyed by
// system_id and step), in the anisotropic mode too.
TEST(CSRAnisotropic, BatchedEqualsSeparate) {
  auto liquid = [] {
    return dyn_test::argon("seed = 9\n[[liquid]]\ncount = 2\ncells = 3\ndensity_g_cm3 = 1.40\ntemperature_K = 94\n");
  };
  for (CellMode mode : {CellMode::Isotropic, CellMode::Full}) {
    Batch both = liquid();
    auto run = [&](Batch& b) {
      StochasticCellRescaling npt(argon_model(), 2.0, csr(94, 200, mode, 200));
      npt.run(b, 60);
    };
    run(both);
    for (std::int64_t s = 0; s < 2; ++s) {
      Batch one = liquid().index_select(std::vector<std::int64_t>{s});
      run(one);
      const Batch ref = both.index_select(std::vector<std::int64_t>{s});
      for (const char* f : {"positions", "velocities", "cell"}) {
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
