// SPDX-License-Identifier: Apache-2.0
// NPT against LAMMPS (Debian's `lmp`, run by the test): the mean volume and the volume
// fluctuations of 108 argon atoms (LJ 0.0104 eV, 3.40 Å, cut 8.5 Å) at two state points — a
// liquid at 120 K and 300 bar, an fcc solid at 40 K and 0 bar — from batchmd's MTK (isotropic)
// and stochastic cell rescaling against LAMMPS's `fix npt` (MTK with Nosé–Hoover chains) at the
// same temperature, pressure and damping times. The CI variant runs short (agreement to a few
// tenths of a percent); BATCHMD_LONG_TESTS=1 runs the long one reported in docs/pressure.md.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "batchmd/dynamics/integrators.hpp"
#include "batchmd/dynamics/npt.hpp"
#include "batchmd/dynamics/units.hpp"
#include "npt_test_util.hpp"

using namespace batchmd;
using namespace batchmd::dynamics;
using batchmd::npt_test::SeriesHook;

namespace {

const bool kLong = std::getenv("BATCHMD_LONG_TESTS") != nullptr;

struct StatePoint {
  const char* name;
  double t_k, p_bar;
  double a;       ///< Å, fcc start (3×3×3 cells, 108 atoms)
  double jitter;  ///< Å
  double melt_k;  ///< > 0: melt first (NVT at this temperature, 2 ps): a superheated fcc start can
                  ///< live long under a slow barostat, and the test must compare liquids
};

struct VolumeStats {
  double mean = 0, err = 0, var = 0;
};

VolumeStats stats(const std::vector<std::vector<double>>& series) {
  std::vector<double> all;
  double var = 0;
  for (const auto& s : series) {
    all.insert(all.end(), s.begin(), s.end());
    var += npt_test::variance(s) / static_cast<double>(series.size());
  }
  const auto b = dyn_test::block_average(all, 10 * static_cast<int>(series.size()));
  return {b.mean, b.err, var};
}

/// LAMMPS fix npt: equilibrate, then record the volume every 10 steps.
VolumeStats lammps(const StatePoint& sp, double dt_fs, int equil, int prod) {
  const auto dir = npt_test::scratch_dir(std::string("lmp_") + sp.name);
  std::ostringstream in;
  in << "units metal\natom_style atomic\nboundary p p p\n"
     << "lattice fcc " << sp.a << "\nregion box block 0 3 0 3 0 3\ncreate_box 1 box\ncreate_atoms 1 box\n"
     << "mass 1 39.948\npair_style lj/cut 8.5\npair_modify shift yes\npair_coeff 1 1 0.0104 3.40\n"
     << "neighbor 1.0 bin\n"
     << "displace_atoms all random " << sp.jitter << " " << sp.jitter << " " << sp.jitter << " 4242\n"
     << "velocity all create " << sp.t_k << " 8731 mom yes rot no dist gaussian\n"
     << "timestep " << dt_fs / 1000 << "\n";
  if (sp.melt_k > 0)
    in << "velocity all create " << sp.melt_k << " 5511 mom yes rot no dist gaussian\n"
       << "fix 0 all nvt temp " << sp.melt_k << " " << sp.melt_k << " 0.1\nrun " << int(2000 / dt_fs) << "\nunfix 0\n";
  in << "fix 1 all npt temp " << sp.t_k << " " << sp.t_k << " 0.1 iso " << sp.p_bar << " " << sp.p_bar << " 1.0\n"
     << "thermo 1000\nrun " << equil << "\nvariable v equal vol\n"
     << "fix 2 all ave/time 10 1 10 v_v file vol.txt\nrun " << prod << "\n";
  if (!npt_test::run_lammps(dir, in.str())) return {};
  const auto v = npt_test::read_ave_time(dir / "vol.txt");
  EXPECT_GT(v.size(), 100u);
  return stats({v});
}

template <typename Dyn, typename Config>
VolumeStats batchmd_npt(const StatePoint& sp, const Config& cfg, int systems, double dt_fs, int equil, int prod) {
  std::ostringstream t;
  t << "seed = 17\n[[crystal]]\nlattice = \"fcc\"\na = " << sp.a
    << "\ncells = [3, 3, 3]\nelement = 18\njitter = " << sp.jitter << "\ntemperature_K = " << sp.t_k
    << "\ncount = " << systems << "\n";
  Batch b = dyn_test::argon(t.str());
  if (sp.melt_k > 0)
    Langevin(std::make_shared<model::LennardJones>(dyn_test::argon_lj(1.0)), dt_fs, sp.melt_k, 0.01, 7)
        .run(b, static_cast<std::int64_t>(2000 / dt_fs));
  Dyn npt(std::make_shared<model::LennardJones>(dyn_test::argon_lj(1.0)), dt_fs, cfg);
  auto v = std::make_shared<SeriesHook>([](const Batch& x) { return cell_volume(x); });
  npt.register_hook(v);
  npt.run(b, equil + prod);
  std::vector<std::vector<double>> series;
  for (int s = 0; s < systems; ++s) {
    std::vector<double> c;
    const auto col = v->column(static_cast<std::size_t>(s), static_cast<std::size_t>(equil));
    for (std::size_t i = 0; i < col.size(); i += 10) c.push_back(col[i]);  // every 10 steps, as LAMMPS
    series.push_back(c);
  }
  return stats(series);
}

void compare(const StatePoint& sp) {
  const double dt = 4.0;
  const int lmp_prod = kLong ? 500000 : 30000;
  const int systems = kLong ? 8 : 2, prod = kLong ? 50000 : 3000, equil = 1000;
  const VolumeStats ref = lammps(sp, dt, 5000, lmp_prod);
  MTKConfig m;
  m.temperature_K = sp.t_k;
  m.pressure = sp.p_bar * units::kBar;
  m.tau_t_fs = 100;
  m.tau_p_fs = 1000;
  const VolumeStats mtk = batchmd_npt<MTKNPT>(sp, m, systems, dt, equil, prod);
  CSRConfig c;
  c.temperature_K = sp.t_k;
  c.pressure = sp.p_bar * units::kBar;
  c.tau_p_fs = 1000;
  c.compressibility = 1e-4;
  c.friction_per_fs = 0.01;
  c.seed = 99;
  const VolumeStats csr = batchmd_npt<StochasticCellRescaling>(sp, c, systems, dt, equil, prod);
  std::printf("%s (%g K, %g bar): <V> LAMMPS %.2f ± %.2f, MTK %.2f ± %.2f, CSR %.2f ± %.2f Å³\n", sp.name, sp.t_k,
              sp.p_bar, ref.mean, ref.err, mtk.mean, mtk.err, csr.mean, csr.err);
  std::printf("%s: var(V) LAMMPS %.1f, MTK %.1f, CSR %.1f Å⁶\n", sp.name, ref.var, mtk.var, csr.var);
  EXPECT_NEAR(mtk.mean, ref.mean, 4 * std::hypot(mtk.err, ref.err)) << sp.name;
  EXPECT_NEAR(csr.mean, ref.mean, 4 * std::hypot(csr.err, ref.err)) << sp.name;
  // Volume fluctuations (the compressibility): a variance from ~n independent samples carries a
  // relative error of ~sqrt(2/n); CI: n ~ 10–20, so a factor 2 either way.
  const double tol = kLong ? 0.2 : 0.7;
  EXPECT_NEAR(std::log(mtk.var / ref.var), 0.0, tol) << sp.name;
  EXPECT_NEAR(std::log(csr.var / ref.var), 0.0, tol) << sp.name;
}

}  // namespace

TEST(NPTvsLAMMPS, LiquidArgon120K300bar) { compare({"liquid", 120.0, 300.0, 5.745, 0.1, 300.0}); }

TEST(NPTvsLAMMPS, SolidArgon40K0bar) { compare({"solid", 40.0, 0.0, 5.30, 0.02, 0.0}); }
