// SPDX-License-Identifier: Apache-2.0
// Float32 batches through FIRE and the two thermostats, with the mean temperature held to the
// thermostats' statistical error rather than to a loose window.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "batchmd/dynamics/integrators.hpp"
#include "batchmd/dynamics/units.hpp"
#include "dyn_test_util.hpp"

using namespace batchmd;
using namespace batchmd::dynamics;

namespace {

/// Temperature of the whole batch over all 3N velocity components (what Langevin thermalises).
double temperature_3n(const Batch& b) {
  double k = 0;
  for (double e : kinetic_energy(b)) k += e;
  return 2 * k / (3.0 * static_cast<double>(b.n_atoms()) * units::kBoltzmann);
}

}  // namespace

TEST(Integrators, Float32BatchesRelaxAndThermaliseToTheStatisticalError) {
  Batch b = dyn_test::argon("[[cluster]]\ncount = 2\natoms = 13\ntemperature_K = 5\n", "float32");
  auto m = std::make_shared<model::LennardJones>(dyn_test::argon_lj());
  FIRE fire(m, 2.0);
  fire.set_convergence(Convergence::fmax(5e-3));
  EXPECT_LT(fire.run(b, 3000), 3000);
  for (double f : max_force(b)) EXPECT_LE(f, 5e-3);

  // ---- Langevin at T = 40 K, gamma = 0.02 /fs, dt = 2 fs.
  // Equipartition: <K> = 3N kT / 2 over all 3N = 78 velocity components (the thermostat does not
  // conserve momentum), so T_3N = 2K / (3N k) has mean T exactly, and per instant a relative
  // variance 2 / 3N (K is a sum of 3N squared Gaussians).
  // Correlation: the O step relaxes each velocity as exp(-gamma t). For a free particle K then
  // decorrelates as exp(-2 gamma t); for an underdamped vibration K = E/2 + (K - V)/2 where E decays
  // as exp(-gamma t) and (K - V) oscillates and integrates to ~0: var(E/2) = var(K)/2, so again the
  // integrated autocorrelation time is tau = 1/(2 gamma) = 25 fs.
  // The mean over a run of length t_run >> tau therefore has standard error
  //     sigma = T sqrt(2 / 3N) sqrt(2 tau / t_run),
  // 1.0 K for 78 components over 2,000 fs; the test allows 4 sigma (and the block-average
  // estimate from the data must agree with sigma within a factor of 2).
  const double target = 40.0, gamma = 0.02, dt = 2.0;
  Langevin lang(m, dt, target, gamma, 1);
  lang.prepare(b);
  lang.start_systems(b, {true, true});
  lang.run(b, 300);  // 600 fs = 12 energy relaxation times 1/gamma from the relaxed (0 K) state
  const int samples = 1000;
  std::vector<double> t;
  lang.set_step_callback([&](std::int64_t) {  // one sample after every step
    t.push_back(temperature_3n(b));
    return true;
  });
  lang.run(b, samples);
  ASSERT_EQ(t.size(), static_cast<std::size_t>(samples));
  const double n_comp = 3.0 * static_cast<double>(b.n_atoms());
  const double sigma = target * std::sqrt(2 / n_comp) * std::sqrt(2 * (1 / (2 * gamma)) / (samples * dt));
  const auto st = dyn_test::block_average(t, 20);
  std::printf("Langevin float32: mean T = %.3f K, derived sigma = %.3f K, block-average error = %.3f K\n", st.mean,
              sigma, st.err);
  EXPECT_NEAR(st.mean, target, 4 * sigma);
  EXPECT_LT(st.err, 2 * sigma);
  EXPECT_GT(st.err, 0.5 * sigma);

  // ---- Nosé–Hoover chain at 40 K (tau = 100 fs): samples the canonical ensemble of the 3N - 3
  // degrees of freedom temperature() counts. Its correlation time is set by the chain, not by a
  // friction, so the standard error comes from block averages of 20 blocks of 200 fs (2 tau).
  NoseHooverChain nhc(m, dt, target, 100.0);
  nhc.run(b, 500);  // 10 tau
  std::vector<double> tn;
  nhc.set_step_callback([&](std::int64_t) {
    const auto ts = temperature(b);
    tn.push_back(0.5 * (ts[0] + ts[1]));
    return true;
  });
  nhc.run(b, 2000);
  ASSERT_EQ(tn.size(), 2000u);
  const auto sn = dyn_test::block_average(tn, 20);
  // the same formula with tau ~ 100 fs bounds the error a healthy chain can show
  const double sigma_nhc = target * std::sqrt(2 / (n_comp - 6)) * std::sqrt(2 * 100.0 / (2000 * dt));
  std::printf("Nose-Hoover float32: mean T = %.3f K +- %.3f K (bound on the error %.3f K)\n", sn.mean, sn.err,
              sigma_nhc);
  EXPECT_LT(sn.err, sigma_nhc);
  EXPECT_NEAR(sn.mean, target, 4 * sn.err + 0.1);
  const float* x = b.get("positions").data<float>();
  for (std::int64_t i = 0; i < 3 * b.n_atoms(); ++i) ASSERT_TRUE(std::isfinite(x[i]));
}
