// SPDX-License-Identifier: Apache-2.0
// The dynamics module's tests written once for every backend: velocity Verlet, FIRE, FIRE2,
// Langevin, Nosé–Hoover chain, FusedStage, InflightBatcher and the kinetic and convergence helpers
// on batches of several systems of 1 to 600 atoms (SpringChainModel, gpu_test_model.hpp), float32
// and float64. Every run is checked against an independent reference — energy conservation (VV),
// the conserved extended energy (NHC), the mean temperature (Langevin), relaxed forces below the
// criterion, statuses and step counts as the criteria say, finished systems frozen, kinetic
// energies and temperatures summed by hand — and on a GPU also against the same run on the CPU.
// test_dynamics_backends.cpp (CPU binary, run by CI) instantiates the bodies with {cpu},
// test_dynamics_gpu.cpp (GPU binary) with {cuda}.
//
// Tolerances, a GPU run against the CPU run (worst |a − b| over a field divided by the field's
// largest |value|, at least 1 eV/Å for forces and 0.01 Å/fs for velocities):
//   float64: 1e-9. The kernels share the CPU's arithmetic (kern::, no FMA contraction), so the
//            runs differ only by the order of per-system sums (P, |v|², |F|², kinetic and model
//            energies) and 1-ulp differences of exp/log/sin/cos — ~1e-16 per step, and the test
//            model is linear for MD (no exponential growth).
//   float32: 2e-4. Every step rounds to float, so a 1e-16 difference occasionally flips a float's
//            last bit (6e-8 relative), which then propagates like any perturbation.
// Integer fields (status, step, stage_step, fire_npos, ...) must be equal.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "../support/backend.hpp"
#include "batchmd/core/cuda.hpp"
#include "batchmd/dynamics/fused.hpp"
#include "batchmd/dynamics/inflight.hpp"
#include "batchmd/dynamics/integrators.hpp"
#include "batchmd/dynamics/units.hpp"
#include "batchmd/sinks/data_sink.hpp"
#include "dynamics_support.hpp"

namespace batchmd::dynamics::cases {

using gpu_test::SpringChainModel;
using gpu_test::SpringParams;
using test_support::Backend;
using test_support::backend_name;
using test_support::device_of;

// ---------------------------------------------------------------------------------------------
// Fixtures: (backend, dtype) and backend alone.

class DynamicsOn : public ::testing::TestWithParam<std::tuple<Backend, DType>> {
 protected:
  void SetUp() override { test_support::require_backend(backend()); }
  Backend backend() const { return std::get<0>(GetParam()); }
  DType dt() const { return std::get<1>(GetParam()); }
  std::string what(const std::string& name) const {
    return (name.empty() ? "" : name + " ") + dname(dt()) + " on " + backend_name(backend());
  }
};
inline std::string dynamics_on_name(const ::testing::TestParamInfo<std::tuple<Backend, DType>>& p) {
  return backend_name(std::get<0>(p.param)) + "_" + dname(std::get<1>(p.param));
}

class OptimizerOn : public ::testing::TestWithParam<std::tuple<Backend, DType, bool>> {
 protected:
  void SetUp() override { test_support::require_backend(std::get<0>(GetParam())); }
};
inline std::string optimizer_on_name(const ::testing::TestParamInfo<std::tuple<Backend, DType, bool>>& p) {
  return backend_name(std::get<0>(p.param)) + "_" + dname(std::get<1>(p.param)) +
         (std::get<2>(p.param) ? "_fire2" : "_fire");
}

class HelpersOn : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { test_support::require_backend(GetParam()); }
  Backend backend() const { return GetParam(); }
};
inline std::string helpers_on_name(const ::testing::TestParamInfo<Backend>& p) { return backend_name(p.param); }

// ---------------------------------------------------------------------------- velocity Verlet

// 1000 steps (250 under ASan): E_kin + E_pot of every system is conserved to the O((ω dt)²)
// fluctuation of velocity Verlet (ω dt <= 0.09 here, no drift); on a GPU every chunk's energies
// and the end state also agree with the CPU run.
TEST_P(DynamicsOn, VelocityVerletConservesEnergy) {
  Batch input = systems(dt(), 11, 0.1);
  maxwell_boltzmann(input, 300, 5);
  Runs r(
      backend(), input, [] { return std::make_shared<VelocityVerlet>(springs(), 1.0); }, -1);
  std::vector<std::vector<double>> e_dev, e_cpu;
  for (int chunk = 0; chunk < 100 / kSlow; ++chunk) {
    ASSERT_EQ(r.run(10, rtol(dt()), what("velocity Verlet chunk")), 10);
    e_dev.push_back(total_energy(r.dev));
    if (r.cpu) e_cpu.push_back(total_energy(r.host));
  }
  const auto* ap = input.atoms_ptr_data();
  for (std::size_t s = 0; s < e_dev[0].size(); ++s) {
    // Energy scale: the kinetic energy at 300 K, 3N/2 kT.
    const double scale = 1.5 * double(ap[s + 1] - ap[s]) * units::kBoltzmann * 300;
    double worst = 0, worst_cpu = 0;
    for (std::size_t c = 0; c < e_dev.size(); ++c) {
      worst = std::max(worst, std::abs(e_dev[c][s] - e_dev[0][s]) / scale);
      if (!r.cpu) continue;
      worst_cpu = std::max(worst_cpu, std::abs(e_cpu[c][s] - e_cpu[0][s]) / scale);
      EXPECT_NEAR(e_dev[c][s], e_cpu[c][s], (dt() == DType::Float64 ? 1e-9 : 1e-4) * scale) << "system " << s;
    }
    std::printf("VV %s system %zu: max |E - E0| / (3N kT/2) = %.3g\n", what("").c_str(), s, worst);
    EXPECT_LT(worst, 2e-3) << "system " << s << " energy not conserved";
    if (r.cpu) {
      EXPECT_NEAR(worst, worst_cpu, 1e-4) << "system " << s;
    }
  }
}

// ---------------------------------------------------------------------------------- FIRE, FIRE2

// Every system relaxes below the force criterion, at its own step (so converged systems were
// masked while others ran, and stay frozen), and its energy went down.
TEST_P(OptimizerOn, RelaxesEverySystemAndFreezesConvergedOnes) {
  const auto [be, dt, fire2] = GetParam();
  SpringParams sp;
  sp.r0 = 1.0;  // nonlinear springs: a real relaxation
  const Batch input = systems(dt, 21, 0.3);
  const double fmax = dt == DType::Float64 ? 1e-4 : 2e-3;
  auto make = [&]() -> std::shared_ptr<Dynamics> {
    std::shared_ptr<Dynamics> d;
    if (fire2) {
      FIRE2Config c;
      c.dt_max = 10;
      c.max_step = 0.1;
      d = std::make_shared<FIRE2>(springs(sp), 1.0, c);
    } else {
      FIREConfig c;
      c.dt_max = 10;
      c.max_step = 0.1;
      d = std::make_shared<FIRE>(springs(sp), 1.0, c);
    }
    d->set_convergence(Convergence::fmax(fmax));
    return d;
  };
  Runs r(be, input, make, 1);
  const std::string what = std::string(fire2 ? "FIRE2 " : "FIRE ") + dname(dt) + " on " + backend_name(be);
  Batch start = input.clone();
  springs(sp)->compute(start);
  const auto e0 = as_doubles(start.get("energy"));
  r.run(3000, rtol(dt), what);
  const auto st = field_host<std::int32_t>(r.dev, "status");
  for (auto s : st) EXPECT_EQ(s, 1) << what;
  const auto steps = field_host<std::int64_t>(r.dev, "step");
  std::printf("%s: steps per system", what.c_str());
  for (auto n : steps) std::printf(" %lld", static_cast<long long>(n));
  std::printf("\n");
  EXPECT_NE(*std::min_element(steps.begin(), steps.end()), *std::max_element(steps.begin(), steps.end()));
  for (double f : max_force(r.dev)) EXPECT_LE(f, fmax) << what;
  const auto e1 = as_doubles(r.dev.get("energy"));
  for (std::size_t s = 0; s < e1.size(); ++s) EXPECT_LE(e1[s], e0[s]) << what << ": system " << s;
  EXPECT_EQ(r.rec->frozen_x.size(), st.size());
}

// ------------------------------------------------------------------------------------ Langevin

// Per-system temperatures and frictions from the batch, a step criterion: every system stops
// after exactly 400 steps and stays frozen.
TEST_P(DynamicsOn, LangevinWithPerSystemParametersAndStepCriterion) {
  Batch input = systems(dt(), 31, 0.1);
  maxwell_boltzmann(input, 200, 3);
  auto& tt = input.add_field("thermostat_temperature", Level::System, dt(), {});
  auto& gf = input.add_field("langevin_friction", Level::System, dt(), {});
  dispatch_float(dt(), [&](auto zero) {
    using T = decltype(zero);
    for (std::int64_t s = 0; s < input.n_systems(); ++s) {
      tt.data<T>()[s] = static_cast<T>(100 + 50 * s);
      gf.data<T>()[s] = static_cast<T>(0.01 * double(s + 1));
    }
  });
  auto make = [] {
    auto d = std::make_shared<Langevin>(springs(), 1.0, 300, 0.02, 2026);
    d->set_convergence(Convergence::steps(400));
    return d;
  };
  Runs r(backend(), input, make, 1);
  r.run(600, rtol(dt()), what("Langevin"));
  for (auto s : field_host<std::int32_t>(r.dev, "status")) EXPECT_EQ(s, 1);
  for (auto s : field_host<std::int64_t>(r.dev, "step")) EXPECT_EQ(s, 400);
  EXPECT_EQ(r.rec->frozen_x.size(), static_cast<std::size_t>(input.n_systems()));
}

// 16 systems of 200 atoms on linear springs, 300 K: Langevin thermalises all 3N components, so
// <2 E_kin / (3N k_B)> = T up to the O(dt²) BAOAB bias (< 0.5% here) and the sampling error (one
// sample has a relative spread of sqrt(2 / 3N) = 1.4%; 600 samples 5 steps apart, velocities
// decorrelating in 1/γ = 20 steps, leave ~0.12%, 0.25% with ASan's 150): the bound of 1% is 4σ
// or more beyond the bias.
TEST_P(DynamicsOn, LangevinMeanTemperatureMatchesTarget) {
  std::vector<AtomicData> sys;
  std::mt19937_64 rng(4);
  std::uniform_real_distribution<double> u(-0.05, 0.05);
  for (int s = 0; s < 16; ++s) {
    std::vector<double> x;
    for (int i = 0; i < 200; ++i) {
      double a[3];
      gpu_test::anchor(i, a);
      for (double c : a) x.push_back(c + u(rng));
    }
    sys.push_back(AtomicData::make(dt(), x, std::vector<std::int64_t>(200, 18)));
  }
  Batch dev = Batch::from_systems(sys).to(device_of(backend()));
  const double target = 300;
  Langevin md(springs(), 1.0, target, 0.05, 7);
  md.run(dev, 300);
  const double n_atoms = 16 * 200;
  double sum = 0;
  int samples = 0;
  for (int i = 0; i < 600 / kSlow; ++i) {
    md.run(dev, 5);
    double ke = 0;
    for (double e : kinetic_energy(dev)) ke += e;
    sum += 2 * ke / (3 * n_atoms * units::kBoltzmann);
    ++samples;
  }
  const double mean = sum / samples;
  std::printf("Langevin %s: mean T = %.2f K (target %.0f K)\n", what("").c_str(), mean, target);
  EXPECT_NEAR(mean, target, 0.01 * target) << "mean temperature " << mean << " K";
}

// --------------------------------------------------------------------------- Nosé–Hoover chain

// Per-system target temperatures: the chain's conserved quantity H stays within 3e-3 Nf kT of
// its start over 1000 steps; on a GPU it also follows the CPU's, chunk by chunk.
TEST_P(DynamicsOn, NoseHooverConservesTheExtendedEnergy) {
  Batch input = systems(dt(), 41, 0.1);
  maxwell_boltzmann(input, 150, 8);
  auto& tt = input.add_field("thermostat_temperature", Level::System, dt(), {});
  dispatch_float(dt(), [&](auto zero) {
    using T = decltype(zero);
    for (std::int64_t s = 0; s < input.n_systems(); ++s) tt.data<T>()[s] = static_cast<T>(200 + 40 * s);
  });
  Runs r(
      backend(), input, [] { return std::make_shared<NoseHooverChain>(springs(), 1.0, 300, 40.0, 3); }, 1);
  auto* nhc = static_cast<NoseHooverChain*>(r.dyn.get());
  auto* nhc_cpu = static_cast<NoseHooverChain*>(r.cpu.get());
  std::vector<std::vector<double>> h_dev, h_cpu;
  for (int chunk = 0; chunk < 100 / kSlow; ++chunk) {
    ASSERT_EQ(r.run(10, rtol(dt()), what("Nosé–Hoover chunk")), 10);
    h_dev.push_back(nhc->conserved_energy(r.dev));
    if (nhc_cpu) h_cpu.push_back(nhc_cpu->conserved_energy(r.host));
  }
  const auto temps = system_parameter(r.dev, "thermostat_temperature", 0);
  for (std::size_t s = 0; s < h_dev[0].size(); ++s) {
    const double scale = degrees_of_freedom(input, static_cast<std::int64_t>(s)) * units::kBoltzmann * temps[s];
    double worst = 0, worst_cpu = 0;
    for (std::size_t c = 0; c < h_dev.size(); ++c) {
      worst = std::max(worst, std::abs(h_dev[c][s] - h_dev[0][s]) / scale);
      if (!nhc_cpu) continue;
      worst_cpu = std::max(worst_cpu, std::abs(h_cpu[c][s] - h_cpu[0][s]) / scale);
      EXPECT_NEAR(h_dev[c][s], h_cpu[c][s], (dt() == DType::Float64 ? 1e-9 : 1e-4) * scale) << "system " << s;
    }
    std::printf("NHC %s system %zu: max |H - H0| / (Nf kT) = %.3g\n", what("").c_str(), s, worst);
    EXPECT_LT(worst, 3e-3) << "system " << s << ": NHC conserved quantity drifts";
    if (nhc_cpu) {
      EXPECT_NEAR(worst, worst_cpu, 1e-4) << "system " << s;
    }
  }
}

// ---------------------------------------------------------------------------------- FusedStage

// FIRE until relaxed (or 400 steps), 60 Langevin steps, 50 Nosé–Hoover steps: every system goes
// through the three stages in order, at its own pace, and stays frozen when done.
TEST_P(DynamicsOn, FusedFireThenLangevinThenNoseHoover) {
  SpringParams sp;
  sp.r0 = 1.0;
  const Batch input = systems(dt(), 51, 0.3);
  const DType d = dt();
  auto make = [&] {
    auto m = springs(sp);
    FIREConfig fc;
    fc.dt_max = 10;
    fc.max_step = 0.1;
    auto fire = std::make_shared<FIRE>(m, 1.0, fc);
    fire->set_convergence(Convergence::fmax(d == DType::Float64 ? 1e-3 : 3e-3) | Convergence::steps(400));
    auto lang = std::make_shared<Langevin>(m, 1.0, 100, 0.02, 77);
    lang->set_convergence(Convergence::steps(60) & Convergence::energy_change(1e9));
    auto nhc = std::make_shared<NoseHooverChain>(m, 0.5, 100, 30.0, 2);
    nhc->set_convergence(Convergence::steps(50));
    return std::make_shared<FusedStage>(std::vector<std::shared_ptr<Dynamics>>{fire, lang, nhc});
  };
  Runs r(backend(), input, make, 3);
  r.run(800, rtol(d), what("fused"));
  auto* fused = static_cast<FusedStage*>(r.dyn.get());
  const auto counts = fused->status_counts(r.dev);
  EXPECT_EQ(counts.back(), r.dev.n_systems()) << "every system finished all three stages";
  if (r.cpu) {
    EXPECT_EQ(counts, static_cast<FusedStage*>(r.cpu.get())->status_counts(r.host));
  }
  // Every system took at most 400 FIRE steps plus 60 + 50, and systems moved on at different
  // steps: more than one ON_CONVERGE event.
  for (auto n : field_host<std::int64_t>(r.dev, "step")) EXPECT_LE(n, 400 + 60 + 50);
  std::printf("fused %s: %zu steps, %zu ON_CONVERGE events\n", what("").c_str(), r.rec->status.size(),
              r.conv->at.size());
  EXPECT_GT(r.conv->at.size(), 3u);
}

// ----------------------------------------------------------------------------- InflightBatcher

// 12 inputs through 4 slots: every input comes out exactly once, relaxed; on a GPU in the
// CPU's order after the same number of steps, each system within 1e-9 of the CPU's.
TEST_P(HelpersOn, InflightEveryInputComesOutOnceRelaxed) {
  SpringParams sp;
  sp.r0 = 1.0;
  std::vector<AtomicData> inputs;
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> u(-0.3, 0.3);
  for (int n = 3; n <= 25; n += 2) {
    std::vector<double> x;
    for (int i = 0; i < n; ++i) {
      double a[3];
      gpu_test::anchor(i, a);
      for (double c : a) x.push_back(c + u(rng));
    }
    inputs.push_back(AtomicData::make(DType::Float64, x, std::vector<std::int64_t>(static_cast<std::size_t>(n), 18)));
  }
  auto run = [&](const Device& d) {
    FIREConfig fc;
    fc.dt_max = 10;
    fc.max_step = 0.1;
    auto fire = std::make_shared<FIRE>(springs(sp), 1.0, fc);
    fire->set_convergence(Convergence::fmax(1e-3));
    auto sink = std::make_shared<HostCopySink>();
    std::vector<AtomicData> copies;
    for (const auto& a : inputs) copies.push_back(a.clone());
    InflightBatcher ib(fire, std::make_shared<VectorSource>(std::move(copies)), sink, 4, 60);
    ib.set_device(d);
    const auto res = ib.run(5000);
    EXPECT_EQ(res.finished, static_cast<std::int64_t>(inputs.size()));
    EXPECT_EQ(res.unfinished, 0);
    EXPECT_EQ(ib.batch().is_cuda(), !d.is_cpu());
    return std::make_pair(res.steps, sink->read());
  };
  const auto [steps, out] = run(device_of(backend()));
  ASSERT_EQ(out.n_systems(), static_cast<std::int64_t>(inputs.size()));
  auto order = field_host<std::int64_t>(out, "input_index");
  std::sort(order.begin(), order.end());
  for (std::size_t k = 0; k < order.size(); ++k) EXPECT_EQ(order[k], static_cast<std::int64_t>(k)) << "each once";
  for (double f : max_force(out)) EXPECT_LE(f, 1e-3);
  if (backend() == Backend::Cuda) {
    const auto [steps_cpu, out_cpu] = run(Device::cpu());
    EXPECT_EQ(steps, steps_cpu);
    EXPECT_EQ(field_host<std::int64_t>(out, "input_index"), field_host<std::int64_t>(out_cpu, "input_index"));
    expect_close(out_cpu, out, 1e-9, "inflight");
  }
}

// ------------------------------------------------------------------------ helpers on a backend

// Kinetic energy, temperature, max force and degrees of freedom against direct sums over the host
// copy, system_parameter, the convergence criteria against their definitions, the inputs
// gathered in one go, and NHC's conserved energy on a batch on the backend.
TEST_P(HelpersOn, KineticHelpersConvergenceInputsAndMaxForce) {
  for (DType dt : {DType::Float64, DType::Float32}) {
    const std::string what = dname(dt) + " on " + backend_name(backend());
    Batch dev = systems(dt, 71, 0.2).to(device_of(backend()));
    maxwell_boltzmann(dev, 250, 12);
    springs()->compute(dev);
    const Batch host = dev.to(Device::cpu());
    if (backend() == Backend::Cuda) {  // the GPU draws on the host with the same generator
      Batch cpu = systems(dt, 71, 0.2);
      maxwell_boltzmann(cpu, 250, 12);
      springs()->compute(cpu);
      expect_close(cpu, dev, 1e-15, "maxwell_boltzmann + compute " + what);
    }
    // Direct sums in double over the host copy.
    const auto v = as_doubles(host.get("velocities"));
    const auto m = as_doubles(host.get("masses"));
    const auto f = as_doubles(host.get("forces"));
    const auto* ap = host.atoms_ptr_data();
    std::vector<double> ke, temp, fmax;
    for (std::int64_t s = 0; s < host.n_systems(); ++s) {
      double sum = 0, f2 = 0;
      for (std::int64_t i = ap[s]; i < ap[s + 1]; ++i) {
        for (int k = 0; k < 3; ++k) sum += m[i] * v[3 * i + k] * v[3 * i + k];
        f2 = std::max(f2, f[3 * i] * f[3 * i] + f[3 * i + 1] * f[3 * i + 1] + f[3 * i + 2] * f[3 * i + 2]);
      }
      const auto n = static_cast<double>(ap[s + 1] - ap[s]);
      const double dof = n > 1 ? 3 * n - 3 : 3 * n;
      ke.push_back(0.5 * sum * units::kMv2ToEv);
      temp.push_back(2 * ke.back() / (dof * units::kBoltzmann));
      fmax.push_back(std::sqrt(f2));
      EXPECT_EQ(degrees_of_freedom(dev, s), dof);
    }
    const double tol = dt == DType::Float64 ? 1e-12 : 1e-6;
    auto close = [&](const std::vector<double>& want, const std::vector<double>& got, const char* name) {
      ASSERT_EQ(want.size(), got.size()) << name;
      for (std::size_t s = 0; s < want.size(); ++s)
        EXPECT_NEAR(got[s], want[s], tol * (1 + std::abs(want[s]))) << name << " " << s << " " << what;
    };
    close(ke, kinetic_energy(dev), "kinetic_energy");
    close(temp, temperature(dev), "temperature");
    for (double t : temperature(dev)) EXPECT_NEAR(t, 250, 250 * tol * 10);
    close(fmax, max_force(dev), "max_force");

    // Convergence on a prepared batch, with candidates: each criterion by its definition.
    FIRE fire(springs(), 1.0);
    fire.set_convergence(Convergence::fmax(1.0));
    fire.prepare(dev);
    const auto fm = max_force(dev);
    std::vector<double> sorted = fm;
    std::sort(sorted.begin(), sorted.end());
    const double mid = sorted[sorted.size() / 2];
    const std::vector<std::uint8_t> cand{1, 1, 0, 1, 1, 1};
    for (bool with_cand : {true, false}) {
      const std::vector<std::uint8_t> c = with_cand ? cand : std::vector<std::uint8_t>{};
      auto is_cand = [&](std::size_t s) { return c.empty() || c[s] != 0; };
      const auto by_fmax = Convergence::fmax(mid).evaluate(dev, c);
      const auto with_steps = (Convergence::fmax(mid) & Convergence::steps(0)).evaluate(dev, c);
      const auto or_energy = (Convergence::fmax(mid) | Convergence::energy_change(0.0)).evaluate(dev, c);
      const auto one_step = Convergence::steps(1).evaluate(dev, c);
      for (std::size_t s = 0; s < fm.size(); ++s) {
        EXPECT_EQ(by_fmax[s], is_cand(s) && fm[s] <= mid) << s;
        EXPECT_EQ(with_steps[s], is_cand(s) && fm[s] <= mid) << s;  // stage_step 0 >= 0
        EXPECT_EQ(or_energy[s], is_cand(s)) << s;                   // prev_energy == energy after prepare
        EXPECT_FALSE(one_step[s]) << s;                             // no step taken yet
      }
    }
    const auto in = Convergence::gather(dev, {true, true, true});
    EXPECT_EQ(in.fmax, max_force(dev));
    EXPECT_EQ(in.stage_step, std::vector<std::int64_t>(6, 0));
    EXPECT_EQ(in.energy, in.prev_energy);

    // system_parameter reads the field on the backend; NHC's conserved energy accepts the batch
    // (no thermostat motion yet: E_kin + E_pot exactly).
    auto& tt = dev.add_field("thermostat_temperature", Level::System, dt, {});
    Tensor t_host(dt, {dev.n_systems()});
    dispatch_float(dt, [&](auto zero) {
      using T = decltype(zero);
      for (std::int64_t s = 0; s < dev.n_systems(); ++s) t_host.data<T>()[s] = static_cast<T>(10 * s + 5);
    });
    tt.copy_from(t_host);
    const auto params = system_parameter(dev, "thermostat_temperature", 1);
    for (std::size_t s = 0; s < params.size(); ++s) EXPECT_EQ(params[s], double(10 * s + 5));
    NoseHooverChain nhc(springs(), 1.0, 100, 30.0, 2);
    nhc.prepare(dev);
    const auto e = as_doubles(dev.get("energy"));
    std::vector<double> h = kinetic_energy(dev);
    for (std::size_t s = 0; s < h.size(); ++s) h[s] += e[s];
    close(h, nhc.conserved_energy(dev), "conserved_energy");
  }
}

TEST_P(HelpersOn, MaxForceOfANaNForceIsNaN) {
  Batch b = systems(DType::Float64, 81, 0.1);
  springs()->compute(b);
  b.get("forces").data<double>()[3 * 5 + 1] = std::nan("");  // system 2 (atoms 3..9)
  const Batch dev = b.to(device_of(backend()));
  const auto f = max_force(dev);
  EXPECT_TRUE(std::isnan(f[2]));
  EXPECT_FALSE(std::isnan(f[3]));
  EXPECT_FALSE(Convergence::fmax(1e9).evaluate(dev, {})[2]) << "a NaN force never converges";
}

// Converge every system, restart some with start_systems: status, stage_step, prev_energy and the
// integrator state are reset (on a GPU on the device and in the host mirror), and only the
// restarted systems take the next steps.
TEST_P(HelpersOn, StartSystemsRestartsOnlyTheChosenSystems) {
  Batch dev = systems(DType::Float64, 91, 0.2).to(device_of(backend()));
  FIRE fire(springs(), 1.0);
  fire.set_convergence(Convergence::steps(5));
  fire.run(dev, 5);
  for (auto s : fire.host_status(dev)) EXPECT_EQ(s, 1);
  const std::vector<bool> which{true, false, true, false, false, true};
  fire.start_systems(dev, which);
  const auto st = field_host<std::int32_t>(dev, "status");
  const auto ss = field_host<std::int64_t>(dev, "stage_step");
  const auto h = field_host<double>(dev, "fire_dt");
  const auto mirror = fire.host_status(dev);
  for (std::size_t s = 0; s < which.size(); ++s) {
    EXPECT_EQ(st[s], which[s] ? 0 : 1);
    EXPECT_EQ(mirror[s], st[s]);
    if (which[s]) {
      EXPECT_EQ(ss[s], 0);
      EXPECT_EQ(h[s], 1.0);
    }
  }
  const auto steps_before = field_host<std::int64_t>(dev, "step");
  fire.run(dev, 10);  // only the restarted systems move, for 5 steps
  const auto steps_after = field_host<std::int64_t>(dev, "step");
  for (std::size_t s = 0; s < which.size(); ++s) EXPECT_EQ(steps_after[s] - steps_before[s], which[s] ? 5 : 0);
  for (auto s : field_host<std::int32_t>(dev, "status")) EXPECT_EQ(s, 1);
}

}  // namespace batchmd::dynamics::cases
