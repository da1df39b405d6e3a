// SPDX-License-Identifier: Apache-2.0
// Tests for the integrators: FIRE / FIRE2 reach the Cambridge Cluster Database global minima
// of LJ7 and LJ13, Philox against the Random123 known answers, Langevin samples the target
// temperature and is reproducible independent of batch position, Nosé–Hoover chain samples the
// target temperature and conserves its extended energy. Float32 batches: test_thermostat_float32.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "../support/harmonic_model.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/integrators.hpp"
#include "batchmd/dynamics/random.hpp"
#include "batchmd/dynamics/units.hpp"
#include "dyn_test_util.hpp"

using namespace batchmd;
using namespace batchmd::dynamics;
using batchmd::dyn_test::kSlow;

namespace {

// Cambridge Cluster Database (Wales & Doye), LJ global minima in units of ε.
constexpr double kLJ7 = -16.505384;
constexpr double kLJ13 = -44.326801;

Batch cluster_batch() {
  std::vector<AtomicData> sys;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    sys.push_back(dyn_test::lj_cluster(7, 0.08, seed));
    sys.push_back(dyn_test::lj_cluster(13, 0.08, 100 + seed));
  }
  return Batch::from_systems(sys);
}

template <typename Opt, typename Cfg>
void relaxes_to_global_minima(Cfg cfg) {
  Batch b = cluster_batch();
  auto lj = std::make_shared<model::LennardJones>(dyn_test::reduced_lj());
  lj->compute(b);
  std::vector<double> e_start(static_cast<std::size_t>(b.n_systems()));
  for (std::size_t s = 0; s < e_start.size(); ++s) e_start[s] = b.get("energy").data<double>()[s];
  Opt opt(lj, 4.0, cfg);
  const double fmax = 1e-4;
  opt.set_convergence(Convergence::fmax(fmax));
  const auto steps = opt.run(b, 5000);
  EXPECT_LT(steps, 5000);
  const auto f = max_force(b);
  const double* e = b.get("energy").data<double>();
  const auto* st = b.get("status").data<std::int32_t>();
  for (std::int64_t s = 0; s < b.n_systems(); ++s) {
    const double ref = s % 2 == 0 ? kLJ7 : kLJ13;
    EXPECT_GT(e_start[static_cast<std::size_t>(s)], ref + 0.1) << "start is not already relaxed";
    EXPECT_NEAR(e[s], ref, 2e-6) << opt.name() << " system " << s;
    EXPECT_LE(f[static_cast<std::size_t>(s)], fmax) << "system " << s;
    EXPECT_EQ(st[s], 1);
  }
}

double total_mv2(const Batch& b) {
  const double* v = b.get("velocities").data<double>();
  const double* m = b.get("masses").data<double>();
  double s = 0;
  for (std::int64_t i = 0; i < b.n_atoms(); ++i)
    for (int k = 0; k < 3; ++k) s += m[i] * v[3 * i + k] * v[3 * i + k];
  return s;
}

}  // namespace

TEST(FIRE, RelaxesLJ7AndLJ13ToCambridgeGlobalMinima) {
  FIREConfig cfg;
  cfg.dt_max = 40;
  cfg.max_step = 0.1;
  relaxes_to_global_minima<FIRE>(cfg);
}

TEST(FIRE2, RelaxesLJ7AndLJ13ToCambridgeGlobalMinima) {
  FIRE2Config cfg;
  cfg.dt_max = 40;
  cfg.max_step = 0.1;
  relaxes_to_global_minima<FIRE2>(cfg);
}

TEST(FIRE, ConvergedSystemsStopMovingWhileOthersContinue) {
  // Harmonic wells: FIRE brings every atom to the origin; systems that converge first keep
  // their positions exactly while the others go on.
  std::vector<AtomicData> sys;
  sys.push_back(AtomicData::make(DType::Float64, {0.01, 0, 0}, {18}));
  sys.push_back(AtomicData::make(DType::Float64, {3.0, -2.0, 1.0, 0.5, 0.5, 0.5}, {18, 18}));
  Batch b = Batch::from_systems(sys);
  FIRE opt(std::make_shared<test_support::HarmonicModel>(1.0), 2.0);
  opt.set_convergence(Convergence::fmax(1e-3));
  std::vector<double> frozen;
  std::int64_t converged_at = -1;
  opt.run(b, 1);
  for (int i = 0; i < 2000 && b.get("status").data<std::int32_t>()[1] == 0; ++i) {
    opt.run(b, 1);
    if (b.get("status").data<std::int32_t>()[0] == 1) {
      const double* x = b.get("positions").data<double>();
      if (frozen.empty()) {
        frozen = {x[0], x[1], x[2]};
        converged_at = b.get("step").data<std::int64_t>()[0];
      }
      for (int k = 0; k < 3; ++k) ASSERT_EQ(x[k], frozen[static_cast<std::size_t>(k)]);
    }
  }
  ASSERT_FALSE(frozen.empty());
  EXPECT_EQ(b.get("status").data<std::int32_t>()[1], 1);
  EXPECT_EQ(b.get("step").data<std::int64_t>()[0], converged_at) << "a converged system's step count froze";
  EXPECT_GT(b.get("step").data<std::int64_t>()[1], converged_at);
  for (double v : max_force(b)) EXPECT_LE(v, 1e-3);
}

TEST(Philox, MatchesRandom123KnownAnswers) {
  // kat_vectors of Random123 for philox4x32_10.
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (std::array<std::uint32_t, 4>{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}),
            (std::array<std::uint32_t, 4>{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}),
            (std::array<std::uint32_t, 4>{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST(Philox, GaussiansHaveUnitVarianceAndAreDecorrelated) {
  double s1 = 0, s2 = 0, c = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    auto g = gaussian4(7, 3, i, 11);
    s1 += g[0] + g[1] + g[2] + g[3];
    s2 += g[0] * g[0] + g[1] * g[1] + g[2] * g[2] + g[3] * g[3];
    c += g[0] * g[2];
  }
  EXPECT_NEAR(s1 / (4 * n), 0.0, 5 * std::sqrt(1.0 / (4 * n)));
  EXPECT_NEAR(s2 / (4 * n), 1.0, 5 * std::sqrt(2.0 / (4 * n)));
  EXPECT_NEAR(c / n, 0.0, 5 * std::sqrt(1.0 / n));
}

TEST(Langevin, ArgonLiquidMeanTemperatureMatchesTarget) {
  // 108-atom argon liquid at 94 K (start: fcc-derived at 94 K), friction 0.01/fs, dt 2 fs.
  // Langevin thermalises all 3N components, so T_kin = 2 E_kin / (3N k_B).
  Batch b = dyn_test::argon("[[liquid]]\ncount = 1\ncells = 3\ntemperature_K = 94\n");
  const double target = 94.0;
  Langevin md(std::make_shared<model::LennardJones>(dyn_test::argon_lj()), 2.0, target, 0.01, 12345);
  md.run(b, 2000 / kSlow);  // equilibrate
  const double n = static_cast<double>(b.n_atoms());
  std::vector<double> t;
  const int steps = 20000 / kSlow;
  for (int i = 0; i < steps; ++i) {
    md.run(b, 1);
    t.push_back(total_mv2(b) * units::kMv2ToEv / (3 * n * units::kBoltzmann));
  }
  const auto st = dyn_test::block_average(t, 20);
  EXPECT_LT(st.err, 3.0) << "block error bar unexpectedly large";
  EXPECT_GT(st.err, 0.01) << "no fluctuations?";
  EXPECT_NEAR(st.mean, target, 4 * st.err + 0.1) << "mean " << st.mean << " ± " << st.err;
  std::printf("mean T = %.3f +- %.3f K over %d steps\n", st.mean, st.err, steps);
}

TEST(Langevin, SameSeedSameTrajectoryAtAnyBatchIndex) {
  // Argon clusters with fixed system_ids, in two different batch arrangements.
  Batch base = dyn_test::argon("[[cluster]]\ncount = 3\natoms = 13\ntemperature_K = 40\n");
  auto* id = base.add_standard("system_id").data<std::int64_t>();
  id[0] = 70;
  id[1] = 71;
  id[2] = 72;
  std::vector<std::int64_t> order_a{0, 1, 2}, order_b{2, 0};
  Batch a = base.index_select(order_a), c = base.index_select(order_b), d = base.index_select(order_a);
  auto run = [](Batch& x, std::uint64_t seed) {
    Langevin md(std::make_shared<model::LennardJones>(dyn_test::argon_lj()), 2.0, 60.0, 0.02, seed);
    md.run(x, 300 / kSlow);
  };
  run(a, 99);
  run(c, 99);
  run(d, 100);
  const auto* ap = a.atoms_ptr_data();
  const auto* cp = c.atoms_ptr_data();
  const double* xa = a.get("positions").data<double>();
  const double* xc = c.get("positions").data<double>();
  const double* xd = d.get("positions").data<double>();
  double moved = 0, diff_seed = 0;
  for (std::int64_t i = 0; i < 39; ++i) {
    // system 72: index 2 in a, index 0 in c; system 70: index 0 in a, index 1 in c.
    ASSERT_NEAR(xa[3 * ap[2] + i], xc[3 * cp[0] + i], 1e-9);
    ASSERT_NEAR(xa[3 * ap[0] + i], xc[3 * cp[1] + i], 1e-9);
    moved = std::max(moved, std::abs(xa[3 * ap[2] + i] - base.get("positions").data<double>()[3 * ap[2] + i]));
    diff_seed = std::max(diff_seed, std::abs(xa[i] - xd[i]));
  }
  EXPECT_GT(moved, 0.05);
  EXPECT_GT(diff_seed, 1e-3) << "another seed should give another trajectory";
}

TEST(Langevin, BitwiseIndependentOfBatchCompositionWithAnalyticModel) {
  // With an atom-local model the forces are exact per atom, so the stream alone decides: the
  // same system (same system_id) moves bit for bit identically next to different neighbours.
  auto make = [](std::vector<std::int64_t> ids, std::vector<int> sizes) {
    std::vector<AtomicData> sys;
    for (std::size_t k = 0; k < ids.size(); ++k) {
      std::vector<double> x;
      for (int i = 0; i < sizes[k]; ++i) x.insert(x.end(), {0.1 * i, -0.2, 0.3});
      auto d = AtomicData::make(DType::Float64, x, std::vector<std::int64_t>(static_cast<std::size_t>(sizes[k]), 18));
      d.set("system_id", Level::System, Tensor::from<std::int64_t>({ids[k]}, {1}));
      sys.push_back(std::move(d));
    }
    return Batch::from_systems(sys);
  };
  Batch a = make({5, 9}, {4, 3}), b = make({1, 2, 9}, {2, 6, 3});
  for (Batch* x : {&a, &b}) {
    Langevin md(std::make_shared<test_support::HarmonicModel>(0.5), 1.0, 300.0, 0.05, 2026);
    md.run(*x, 200);
  }
  const double* xa = a.get("positions").data<double>() + 3 * 4;
  const double* xb = b.get("positions").data<double>() + 3 * 8;
  const double* va = a.get("velocities").data<double>() + 3 * 4;
  const double* vb = b.get("velocities").data<double>() + 3 * 8;
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(xa[i], xb[i]);
    EXPECT_EQ(va[i], vb[i]);
  }
}

TEST(NoseHooverChain, ArgonLiquidTemperatureAndConservedQuantity) {
  Batch b = dyn_test::argon("[[liquid]]\ncount = 1\ncells = 3\ntemperature_K = 94\n");
  const double target = 94.0;
  NoseHooverChain md(std::make_shared<model::LennardJones>(dyn_test::argon_lj()), 2.0, target, 100.0, 3);
  md.run(b, 2000 / kSlow);  // equilibrate
  const double h0 = md.conserved_energy(b)[0];
  std::vector<double> t, etot;
  double drift = 0;
  const int steps = 20000 / kSlow;
  for (int i = 0; i < steps; ++i) {
    md.run(b, 1);
    t.push_back(temperature(b)[0]);
    etot.push_back(kinetic_energy(b)[0] + b.get("energy").data<double>()[0]);
    drift = std::max(drift, std::abs(md.conserved_energy(b)[0] - h0));
  }
  const auto st = dyn_test::block_average(t, 20);
  EXPECT_LT(st.err, 3.0);
  EXPECT_NEAR(st.mean, target, 4 * st.err + 0.1) << "mean " << st.mean << " ± " << st.err;
  // The physical energy exchanges heat with the thermostat; the extended energy does not.
  double lo = etot[0], hi = etot[0];
  for (double e : etot) lo = std::min(lo, e), hi = std::max(hi, e);
  const double kt = units::kBoltzmann * target * 3 * static_cast<double>(b.n_atoms());
  std::printf("NHC: max |H - H0| = %.3g eV, E_kin + E_pot range = %.3g eV, N k T = %.3g eV\n", drift, hi - lo, kt / 3);
  EXPECT_LT(drift, 1e-4 * kt) << "extended energy drift " << drift << " eV";
  EXPECT_GT(hi - lo, 20 * drift) << "E_kin + E_pot should fluctuate far more than the conserved quantity";
  std::printf("mean T = %.3f +- %.3f K over %d steps\n", st.mean, st.err, steps);
}

TEST(Integrators, RejectInvalidParameters) {
  auto m = std::make_shared<test_support::HarmonicModel>(1.0);
  FIREConfig bad;
  bad.max_step = 0;
  EXPECT_THROW(FIRE(m, 1.0, bad), InvalidArgument);
  // FIRE and FIRE2 share their checks; each message names the optimizer and the parameter.
  auto message = [](auto make) -> std::string {
    try {
      make();
    } catch (const InvalidArgument& e) {
      return e.what();
    }
    return "";
  };
  FIREConfig f1;
  f1.n_min = -1;
  EXPECT_NE(message([&] { FIRE(m, 1.0, f1); }).find("FIRE n_min must be >= 0"), std::string::npos);
  f1 = {};
  f1.f_dec = 2;
  EXPECT_NE(message([&] { FIRE(m, 1.0, f1); }).find("FIRE: need f_inc >= 1"), std::string::npos);
  FIRE2Config f2;
  f2.n_delay = -1;
  EXPECT_NE(message([&] { FIRE2(m, 1.0, f2); }).find("FIRE2 n_delay must be >= 0"), std::string::npos);
  f2 = {};
  f2.max_step = -1;
  EXPECT_NE(message([&] { FIRE2(m, 1.0, f2); }).find("FIRE2 max_step"), std::string::npos);
  f2 = {};
  f2.alpha_start = 2;
  EXPECT_NE(message([&] { FIRE2(m, 1.0, f2); }).find("FIRE2: need f_inc >= 1"), std::string::npos);
  EXPECT_THROW(Langevin(m, 1.0, -1.0, 0.1, 1), InvalidArgument);
  EXPECT_THROW(Langevin(m, 1.0, 300.0, -0.1, 1), InvalidArgument);
  EXPECT_THROW(NoseHooverChain(m, 1.0, 300.0, 0.0), InvalidArgument);
  EXPECT_THROW(NoseHooverChain(m, 1.0, 300.0, 100.0, 0), InvalidArgument);
  EXPECT_THROW(Convergence::fmax(-1), InvalidArgument);
  EXPECT_THROW(Convergence::all_of({}), InvalidArgument);
}

TEST(Langevin, PerSystemTemperaturesFromTheBatch) {
  // Independent harmonic wells (k = 0.5 eV/Å²): equipartition gives <E_kin> = 3N kT/2 exactly
  // for the Langevin stationary state. Two systems, 100 K and 400 K via the
  // "thermostat_temperature" field.
  std::vector<AtomicData> sys;
  for (double t : {100.0, 400.0}) {
    std::vector<double> x(3 * 200, 0.0);
    auto d = AtomicData::make(DType::Float64, x, std::vector<std::int64_t>(200, 18));
    d.set("thermostat_temperature", Level::System, Tensor::from<double>({t}, {1}));
    sys.push_back(std::move(d));
  }
  Batch b = Batch::from_systems(sys);
  Langevin md(std::make_shared<test_support::HarmonicModel>(0.5), 2.0, 1000.0, 0.05, 8);
  md.run(b, 200);
  std::vector<std::vector<double>> t(2);
  for (int i = 0; i < 4000 / kSlow; ++i) {
    md.run(b, 1);
    const auto ke = kinetic_energy(b);
    for (std::size_t s = 0; s < 2; ++s) t[s].push_back(2 * ke[s] / (3 * 200 * units::kBoltzmann));
  }
  for (std::size_t s = 0; s < 2; ++s) {
    const auto st = dyn_test::block_average(t[s], 20);
    const double target = s == 0 ? 100.0 : 400.0;
    EXPECT_NEAR(st.mean, target, 4 * st.err + 0.01 * target) << "system " << s << ": " << st.mean << " ± " << st.err;
  }
}
