// GPU tests of the dynamics module (label gpu; built with the CUDA backend, run where a GPU is):
// velocity Verlet, FIRE, FIRE2, Langevin, Nosé–Hoover chain, FusedStage and InflightBatcher on a
// GPU batch against the same runs on the CPU (several systems of 1 to 600 atoms, float32 and
// float64), statuses, step counts and convergence identical, converged systems frozen, the
// kinetic helpers and convergence inputs on GPU batches, VV energy conservation, the NHC conserved
// quantity, the Langevin mean temperature, and no cudaMalloc once the step loop is warm.
//
// Tolerances (CPU vs GPU, worst |a − b| over a field divided by the field's largest |value|, at
// least 1 eV/Å for forces and 0.01 Å/fs for velocities):
//   float64: 1e-9. The kernels share the CPU's arithmetic (kern::, no FMA contraction), so the
//            runs differ only by the order of per-system sums (P, |v|², |F|², kinetic and model
//            energies) and 1-ulp differences of exp/log/sin/cos — ~1e-16 per step, and the test
//            model is linear for MD (no exponential growth).
//   float32: 2e-4. Every step rounds to float, so a 1e-16 difference occasionally flips a float's
//            last bit (6e-8 relative), which then propagates like any perturbation.
// Integer fields (status, step, stage_step, fire_npos, ...) must be equal.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "batchmd/core/cuda.hpp"
#include "batchmd/dynamics/fused.hpp"
#include "batchmd/dynamics/inflight.hpp"
#include "batchmd/dynamics/integrators.hpp"
#include "batchmd/dynamics/units.hpp"
#include "batchmd/sinks/data_sink.hpp"
#include "gpu_test_model.hpp"

using namespace batchmd;
using namespace batchmd::dynamics;
using gpu_test::SpringChainModel;
using gpu_test::SpringParams;

namespace {

#if defined(BATCHMD_GPU_TEST_ON_CPU)
// Dry run where no GPU is: both halves on the CPU, to check the physics bounds and the harness.
const Device kGpu = Device::cpu();
#else
const Device kGpu{Device::Kind::CUDA, 0};
#endif

double rtol(DType d) { return d == DType::Float64 ? 1e-9 : 2e-4; }
std::string dname(DType d) { return d == DType::Float64 ? "float64" : "float32"; }

/// Systems of 1, 2, 7, 40, 300 and 600 atoms (the last two span several reduction blocks), atoms
/// at their SpringChainModel anchors plus uniform noise, carbon and argon alternating, distinct
/// system_ids.
Batch systems(DType dt, std::uint64_t seed, double noise) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-noise, noise);
  std::vector<AtomicData> sys;
  for (int n : {1, 2, 7, 40, 300, 600}) {
    std::vector<double> x;
    std::vector<std::int64_t> z;
    for (int i = 0; i < n; ++i) {
      double a[3];
      gpu_test::anchor(i, a);
      for (double c : a) x.push_back(c + u(rng));
      z.push_back(i % 2 ? 6 : 18);
    }
    sys.push_back(AtomicData::make(dt, x, z));
  }
  Batch b = Batch::from_systems(sys);
  auto* id = b.add_standard("system_id").data<std::int64_t>();
  for (std::int64_t s = 0; s < b.n_systems(); ++s) id[s] = 1000 + 7 * s;
  return b;
}

std::vector<double> as_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<std::size_t>(t.numel()));
  dispatch_float(t.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* p = t.data<T>();
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = double(p[i]);
  });
  return v;
}

/// Every field of `cpu` against the same field of the GPU batch `gpu`: floats within tol of the
/// field's largest magnitude, everything else equal. Forces and velocities vanish in relaxed
/// systems, so their scale is at least that of an unrelaxed one (1 eV/Å, 0.01 Å/fs).
void expect_close(const Batch& cpu, const Batch& gpu, double tol, const std::string& what) {
  ASSERT_EQ(gpu.device(), kGpu) << what;
  const Batch g = gpu.to(Device::cpu());
  ASSERT_EQ(g.n_systems(), cpu.n_systems()) << what;
  ASSERT_EQ(g.n_atoms(), cpu.n_atoms()) << what;
  EXPECT_EQ(g.fields().size(), cpu.fields().size()) << what;
  double worst_all = 0;
  std::string worst_field;
  for (const auto& [name, f] : cpu.fields()) {
    ASSERT_TRUE(g.has(name)) << what << ": GPU batch lacks " << name;
    const Tensor& a = f.tensor;
    const Tensor& b = g.get(name);
    ASSERT_EQ(a.dtype(), b.dtype()) << what << " " << name;
    ASSERT_EQ(a.numel(), b.numel()) << what << " " << name;
    if (!is_floating(a.dtype())) {
      EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << what << ": field " << name << " differs";
      continue;
    }
    const auto va = as_doubles(a), vb = as_doubles(b);
    double scale = name == "forces" ? 1.0 : name == "velocities" ? 0.01 : 0.0;
    for (double x : va) scale = std::max(scale, std::abs(x));
    double worst = 0;
    std::size_t at = 0;
    for (std::size_t i = 0; i < va.size(); ++i) {
      const bool na = std::isnan(va[i]), nb = std::isnan(vb[i]);
      ASSERT_EQ(na, nb) << what << " " << name << "[" << i << "]: " << va[i] << " vs " << vb[i];
      if (na) continue;
      const double err = std::abs(va[i] - vb[i]) / (scale > 0 ? scale : 1.0);
      if (err > worst) worst = err, at = i;
    }
    EXPECT_LE(worst, tol) << what << ": field " << name << "[" << at << "] cpu " << va[at] << " gpu " << vb[at]
                          << " (scale " << scale << ")";
    if (worst >= worst_all) worst_all = worst, worst_field = name;
  }
  std::printf("%s: largest CPU/GPU difference %.3g (%s; tolerance %.0e)\n", what.c_str(), worst_all,
              worst_field.c_str(), tol);
}

template <typename T>
std::vector<T> field_host(const Batch& b, const std::string& name) {
  const Tensor h = b.get(name).to(Device::cpu());
  return {h.data<T>(), h.data<T>() + h.numel()};
}

/// Records at AFTER_STEP every system's status (and checks the host mirror against the device),
/// at ON_CONVERGE the newly converged systems; checks that systems with status >= `frozen_from`
/// keep their positions and step count exactly.
class Recorder : public Hook {
 public:
  Recorder(Stage s, std::int32_t frozen_from) : stage_(s), frozen_from_(frozen_from) {}
  std::string name() const override { return "recorder"; }
  Stage stage() const override { return stage_; }
  void operator()(Context& ctx) override {
    if (stage_ == Stage::ON_CONVERGE) {
      newly.push_back(ctx.newly_converged);
      at.push_back(ctx.step);
      return;
    }
    const Batch& b = ctx.batch;
    const auto st = field_host<std::int32_t>(b, "status");
    const auto mirror = ctx.dynamics.host_status(b);
    ASSERT_EQ(mirror.size(), st.size());
    for (std::size_t s = 0; s < st.size(); ++s) ASSERT_EQ(mirror[s], st[s]) << "host status mirror, system " << s;
    status.push_back(st);
    // GPU-side masks the step used agree with the host's.
    if (b.is_cuda() && !ctx.active.empty()) {
      ASSERT_NE(ctx.active_device, nullptr);
      std::vector<std::uint8_t> dev(ctx.active.size());
      cuda::copy(dev.data(), ctx.active_device, dev.size(), cuda::compute_stream(b.device().index));
      EXPECT_EQ(dev, ctx.active);
    }
    const Tensor xt = b.get("positions").to(Device::cpu());
    const auto x = as_doubles(xt);
    const auto steps = field_host<std::int64_t>(b, "step");
    const auto* ap = b.atoms_ptr_data();
    for (std::size_t s = 0; s < st.size(); ++s) {
      if (st[s] < frozen_from_) continue;
      std::vector<double> xs(x.begin() + 3 * ap[s], x.begin() + 3 * ap[s + 1]);
      auto it = frozen_x.find(s);
      if (it == frozen_x.end()) {
        frozen_x[s] = xs;
        frozen_step[s] = steps[s];
        continue;
      }
      EXPECT_EQ(it->second, xs) << "finished system " << s << " moved at step " << ctx.step;
      EXPECT_EQ(frozen_step[s], steps[s]) << "finished system " << s << " counted a step";
    }
  }
  std::vector<std::vector<std::int32_t>> status;
  std::vector<std::vector<bool>> newly;
  std::vector<std::int64_t> at;
  std::map<std::size_t, std::vector<double>> frozen_x;
  std::map<std::size_t, std::int64_t> frozen_step;

 private:
  Stage stage_;
  std::int32_t frozen_from_;
};

/// The same dynamics on a CPU and a GPU copy of one batch, with recorders.
struct Pair {
  std::shared_ptr<Dynamics> cpu, gpu;
  std::shared_ptr<Recorder> rec_cpu, rec_gpu, conv_cpu, conv_gpu;
  Pair(std::shared_ptr<Dynamics> c, std::shared_ptr<Dynamics> g, std::int32_t frozen_from)
      : cpu(std::move(c)), gpu(std::move(g)) {
    rec_cpu = std::make_shared<Recorder>(Stage::AFTER_STEP, frozen_from);
    rec_gpu = std::make_shared<Recorder>(Stage::AFTER_STEP, frozen_from);
    conv_cpu = std::make_shared<Recorder>(Stage::ON_CONVERGE, frozen_from);
    conv_gpu = std::make_shared<Recorder>(Stage::ON_CONVERGE, frozen_from);
    cpu->register_hook(rec_cpu);
    gpu->register_hook(rec_gpu);
    cpu->register_hook(conv_cpu);
    gpu->register_hook(conv_gpu);
  }
  /// Runs both for n steps and checks the step counts, the recorded statuses and convergence
  /// events, and every field.
  void run_and_compare(Batch& host, Batch& dev, std::int64_t n, double tol, const std::string& what) {
    const auto taken_cpu = cpu->run(host, n);
    const auto taken_gpu = gpu->run(dev, n);
    EXPECT_EQ(taken_cpu, taken_gpu) << what;
    EXPECT_EQ(rec_cpu->status, rec_gpu->status) << what << ": statuses differ";
    EXPECT_EQ(conv_cpu->newly, conv_gpu->newly) << what << ": convergence differs";
    EXPECT_EQ(conv_cpu->at, conv_gpu->at) << what;
    EXPECT_EQ(rec_cpu->frozen_x.size(), rec_gpu->frozen_x.size()) << what;
    expect_close(host, dev, tol, what);
  }
};

std::shared_ptr<model::Model> springs(SpringParams p = {}) { return std::make_shared<SpringChainModel>(p); }

/// Per-system E_kin + E_pot of a batch on either device.
std::vector<double> total_energy(const Batch& b) {
  auto e = kinetic_energy(b);
  const Tensor et = b.get("energy").to(Device::cpu());
  const auto pot = as_doubles(et);
  for (std::size_t s = 0; s < e.size(); ++s) e[s] += pot[s];
  return e;
}

}  // namespace

TEST(DynamicsGpu, GpuIsPresent) { ASSERT_GT(cuda::device_count(), 0) << cuda::unavailable_reason(); }

// ---------------------------------------------------------------------------- velocity Verlet

class VelocityVerletGpu : public ::testing::TestWithParam<DType> {};

TEST_P(VelocityVerletGpu, MatchesCpuAndConservesEnergy) {
  const DType dt = GetParam();
  Batch host = systems(dt, 11, 0.1);
  maxwell_boltzmann(host, 300, 5);
  Batch dev = host.to(kGpu);
  DemoDynamics cpu(springs(), 1.0), gpu(springs(), 1.0);
  // 1000 steps in chunks of 10, recording E_kin + E_pot on both devices.
  std::vector<std::vector<double>> e_cpu, e_gpu;
  for (int chunk = 0; chunk < 100; ++chunk) {
    ASSERT_EQ(cpu.run(host, 10), 10);
    ASSERT_EQ(gpu.run(dev, 10), 10);
    e_cpu.push_back(total_energy(host));
    e_gpu.push_back(total_energy(dev));
  }
  expect_close(host, dev, rtol(dt), "velocity Verlet " + dname(dt));
  const auto* ap = host.atoms_ptr_data();
  for (std::size_t s = 0; s < e_gpu[0].size(); ++s) {
    // Energy scale: the kinetic energy at 300 K, 3N/2 kT.
    const double scale = 1.5 * double(ap[s + 1] - ap[s]) * units::kBoltzmann * 300;
    double worst = 0, worst_cpu = 0;
    for (std::size_t c = 0; c < e_gpu.size(); ++c) {
      worst = std::max(worst, std::abs(e_gpu[c][s] - e_gpu[0][s]) / scale);
      worst_cpu = std::max(worst_cpu, std::abs(e_cpu[c][s] - e_cpu[0][s]) / scale);
      EXPECT_NEAR(e_gpu[c][s], e_cpu[c][s], (dt == DType::Float64 ? 1e-9 : 1e-4) * scale) << "system " << s;
    }
    // Velocity Verlet: bounded O((ω dt)²) fluctuation (ω dt <= 0.09 here), no drift.
    std::printf("VV %s system %zu: max |E - E0| / (3N kT/2) = %.3g (CPU %.3g)\n", dname(dt).c_str(), s, worst,
                worst_cpu);
    EXPECT_LT(worst, 2e-3) << "system " << s << " energy not conserved on the GPU";
    EXPECT_NEAR(worst, worst_cpu, 1e-4) << "system " << s;
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, VelocityVerletGpu, ::testing::Values(DType::Float64, DType::Float32),
                         [](const auto& p) { return dname(p.param); });

// ---------------------------------------------------------------------------------- FIRE, FIRE2

class OptimizerGpu : public ::testing::TestWithParam<std::tuple<DType, bool>> {};

TEST_P(OptimizerGpu, MatchesCpuConvergesIdenticallyAndFreezesConvergedSystems) {
  const auto [dt, fire2] = GetParam();
  SpringParams sp;
  sp.r0 = 1.0;  // nonlinear springs: a real relaxation
  Batch host = systems(dt, 21, 0.3);
  Batch dev = host.to(kGpu);
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
  Pair p(make(), make(), 1);
  const std::string what = std::string(fire2 ? "FIRE2 " : "FIRE ") + dname(dt);
  p.run_and_compare(host, dev, 3000, rtol(dt), what);
  // Every system relaxed, at different steps (so converged systems were masked while others ran).
  const auto st = field_host<std::int32_t>(dev, "status");
  for (auto s : st) EXPECT_EQ(s, 1) << what;
  const auto steps = field_host<std::int64_t>(dev, "step");
  std::printf("%s: steps per system", what.c_str());
  for (auto n : steps) std::printf(" %lld", static_cast<long long>(n));
  std::printf("\n");
  EXPECT_NE(*std::min_element(steps.begin(), steps.end()), *std::max_element(steps.begin(), steps.end()));
  for (double f : max_force(dev)) EXPECT_LE(f, fmax);
  EXPECT_EQ(p.rec_gpu->frozen_x.size(), st.size());
}

INSTANTIATE_TEST_SUITE_P(Variants, OptimizerGpu,
                         ::testing::Combine(::testing::Values(DType::Float64, DType::Float32),
                                            ::testing::Values(false, true)),
                         [](const auto& p) {
                           return dname(std::get<0>(p.param)) + (std::get<1>(p.param) ? "_fire2" : "_fire");
                         });

// ------------------------------------------------------------------------------------ Langevin

class LangevinGpu : public ::testing::TestWithParam<DType> {};

TEST_P(LangevinGpu, MatchesCpuWithPerSystemParametersAndStepCriterion) {
  const DType dt = GetParam();
  Batch host = systems(dt, 31, 0.1);
  maxwell_boltzmann(host, 200, 3);
  // Per-system temperatures and frictions from the batch (in its float dtype).
  auto& tt = host.add_field("thermostat_temperature", Level::System, dt, {});
  auto& gf = host.add_field("langevin_friction", Level::System, dt, {});
  dispatch_float(dt, [&](auto zero) {
    using T = decltype(zero);
    for (std::int64_t s = 0; s < host.n_systems(); ++s) {
      tt.data<T>()[s] = static_cast<T>(100 + 50 * s);
      gf.data<T>()[s] = static_cast<T>(0.01 * double(s + 1));
    }
  });
  Batch dev = host.to(kGpu);
  auto make = [] {
    auto d = std::make_shared<Langevin>(springs(), 1.0, 300, 0.02, 2026);
    d->set_convergence(Convergence::steps(400));
    return d;
  };
  Pair p(make(), make(), 1);
  p.run_and_compare(host, dev, 600, rtol(dt), "Langevin " + dname(dt));
  for (auto s : field_host<std::int32_t>(dev, "status")) EXPECT_EQ(s, 1);
  for (auto s : field_host<std::int64_t>(dev, "step")) EXPECT_EQ(s, 400);
}

TEST_P(LangevinGpu, MeanTemperatureMatchesTarget) {
  // 16 systems of 200 atoms on linear springs, 300 K: Langevin thermalises all 3N components,
  // so <2 E_kin / (3N k_B)> = T up to the O(dt²) BAOAB bias (< 0.5% here).
  const DType dt = GetParam();
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
    sys.push_back(AtomicData::make(dt, x, std::vector<std::int64_t>(200, 18)));
  }
  Batch dev = Batch::from_systems(sys).to(kGpu);
  const double target = 300;
  Langevin md(springs(), 1.0, target, 0.05, 7);
  md.run(dev, 300);
  const double n_atoms = 16 * 200;
  double sum = 0;
  int samples = 0;
  for (int i = 0; i < 600; ++i) {
    md.run(dev, 5);
    double ke = 0;
    for (double e : kinetic_energy(dev)) ke += e;
    sum += 2 * ke / (3 * n_atoms * units::kBoltzmann);
    ++samples;
  }
  const double mean = sum / samples;
  std::printf("Langevin %s on %s: mean T = %.2f K (target %.0f K)\n", dname(dt).c_str(), kGpu.str().c_str(), mean,
              target);
  EXPECT_NEAR(mean, target, 0.01 * target) << "mean temperature on the GPU " << mean << " K";
}

INSTANTIATE_TEST_SUITE_P(Dtypes, LangevinGpu, ::testing::Values(DType::Float64, DType::Float32),
                         [](const auto& p) { return dname(p.param); });

// --------------------------------------------------------------------------- Nosé–Hoover chain

class NoseHooverGpu : public ::testing::TestWithParam<DType> {};

TEST_P(NoseHooverGpu, MatchesCpuAndConservesTheExtendedEnergy) {
  const DType dt = GetParam();
  Batch host = systems(dt, 41, 0.1);
  maxwell_boltzmann(host, 150, 8);
  auto& tt = host.add_field("thermostat_temperature", Level::System, dt, {});
  dispatch_float(dt, [&](auto zero) {
    using T = decltype(zero);
    for (std::int64_t s = 0; s < host.n_systems(); ++s) tt.data<T>()[s] = static_cast<T>(200 + 40 * s);
  });
  Batch dev = host.to(kGpu);
  auto cpu = std::make_shared<NoseHooverChain>(springs(), 1.0, 300, 40.0, 3);
  auto gpu = std::make_shared<NoseHooverChain>(springs(), 1.0, 300, 40.0, 3);
  std::vector<std::vector<double>> h_cpu, h_gpu;
  for (int chunk = 0; chunk < 100; ++chunk) {
    ASSERT_EQ(cpu->run(host, 10), 10);
    ASSERT_EQ(gpu->run(dev, 10), 10);
    h_cpu.push_back(cpu->conserved_energy(host));
    h_gpu.push_back(gpu->conserved_energy(dev));
  }
  expect_close(host, dev, rtol(dt), "Nosé–Hoover " + dname(dt));
  const auto temps = system_parameter(dev, "thermostat_temperature", 0);
  for (std::size_t s = 0; s < h_gpu[0].size(); ++s) {
    const double scale = degrees_of_freedom(host, static_cast<std::int64_t>(s)) * units::kBoltzmann * temps[s];
    double worst = 0, worst_cpu = 0;
    for (std::size_t c = 0; c < h_gpu.size(); ++c) {
      worst = std::max(worst, std::abs(h_gpu[c][s] - h_gpu[0][s]) / scale);
      worst_cpu = std::max(worst_cpu, std::abs(h_cpu[c][s] - h_cpu[0][s]) / scale);
      EXPECT_NEAR(h_gpu[c][s], h_cpu[c][s], (dt == DType::Float64 ? 1e-9 : 1e-4) * scale) << "system " << s;
    }
    std::printf("NHC %s system %zu: max |H - H0| / (Nf kT) = %.3g (CPU %.3g)\n", dname(dt).c_str(), s, worst,
                worst_cpu);
    EXPECT_LT(worst, 3e-3) << "system " << s << ": NHC conserved quantity drifts on the GPU";
    EXPECT_NEAR(worst, worst_cpu, 1e-4) << "system " << s;
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, NoseHooverGpu, ::testing::Values(DType::Float64, DType::Float32),
                         [](const auto& p) { return dname(p.param); });

// ---------------------------------------------------------------------------------- FusedStage

class FusedGpu : public ::testing::TestWithParam<DType> {};

TEST_P(FusedGpu, FireThenLangevinThenNoseHooverMatchesCpu) {
  const DType dt = GetParam();
  SpringParams sp;
  sp.r0 = 1.0;
  Batch host = systems(dt, 51, 0.3);
  Batch dev = host.to(kGpu);
  auto make = [&] {
    auto m = springs(sp);
    FIREConfig fc;
    fc.dt_max = 10;
    fc.max_step = 0.1;
    auto fire = std::make_shared<FIRE>(m, 1.0, fc);
    fire->set_convergence(Convergence::fmax(dt == DType::Float64 ? 1e-3 : 3e-3) | Convergence::steps(400));
    auto lang = std::make_shared<Langevin>(m, 1.0, 100, 0.02, 77);
    lang->set_convergence(Convergence::steps(60) & Convergence::energy_change(1e9));
    auto nhc = std::make_shared<NoseHooverChain>(m, 0.5, 100, 30.0, 2);
    nhc->set_convergence(Convergence::steps(50));
    return std::make_shared<FusedStage>(std::vector<std::shared_ptr<Dynamics>>{fire, lang, nhc});
  };
  Pair p(make(), make(), 3);
  p.run_and_compare(host, dev, 800, rtol(dt), "fused " + dname(dt));
  auto* fused = static_cast<FusedStage*>(p.gpu.get());
  const auto counts = fused->status_counts(dev);
  EXPECT_EQ(counts.back(), dev.n_systems()) << "every system finished all three stages";
  EXPECT_EQ(counts, static_cast<FusedStage*>(p.cpu.get())->status_counts(host));
  // Systems moved on at different steps: more than one ON_CONVERGE event.
  std::printf("fused %s: %zu steps, %zu ON_CONVERGE events\n", dname(dt).c_str(), p.rec_gpu->status.size(),
              p.conv_gpu->at.size());
  EXPECT_GT(p.conv_gpu->at.size(), 3u);
}

TEST_P(FusedGpu, NoCudaMallocOnceWarm) {
  const DType dt = GetParam();
  SpringParams sp;
  sp.r0 = 1.0;
  Batch dev = systems(dt, 61, 0.3).to(kGpu);
  auto m = springs(sp);
  auto fire = std::make_shared<FIRE>(m, 1.0);
  fire->set_convergence(Convergence::fmax(1e-3) | Convergence::steps(40));
  auto lang = std::make_shared<Langevin>(m, 1.0, 100, 0.02, 77);
  lang->set_convergence(Convergence::steps(1000));
  FusedStage fused({fire, lang});
  fused.run(dev, 10);
  const auto before = cuda::allocator_stats();
  fused.run(dev, 100);  // crosses the FIRE → Langevin transition (steps(40))
  const auto after = cuda::allocator_stats();
  EXPECT_EQ(after.cuda_mallocs, before.cuda_mallocs);
  EXPECT_EQ(fused.status_counts(dev)[1], dev.n_systems());

  NoseHooverChain nhc(springs(), 1.0, 300, 40.0, 3);
  Batch dev2 = systems(dt, 62, 0.1).to(kGpu);
  nhc.run(dev2, 10);
  const auto before2 = cuda::allocator_stats();
  nhc.run(dev2, 100);
  EXPECT_EQ(cuda::allocator_stats().cuda_mallocs, before2.cuda_mallocs);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, FusedGpu, ::testing::Values(DType::Float64, DType::Float32),
                         [](const auto& p) { return dname(p.param); });

// ----------------------------------------------------------------------------- InflightBatcher

namespace {
/// Keeps every written system on the host, in write order.
class HostCopySink : public sinks::DataSink {
 public:
  std::string name() const override { return "host_copy"; }
  using DataSink::write;
  void write(const Batch& batch, const std::vector<bool>& mask) override {
    const Batch h = batch.is_cuda() ? batch.to(Device::cpu()) : batch.clone();
    std::vector<std::int64_t> idx;
    for (std::size_t s = 0; s < mask.size(); ++s)
      if (mask[s]) idx.push_back(static_cast<std::int64_t>(s));
    out_.append(h, idx);
  }
  Batch read() override { return out_.clone(); }
  void zero() override { out_ = Batch(); }
  std::int64_t size() const override { return out_.n_systems(); }
  std::int64_t capacity() const override { return 1 << 20; }

 private:
  Batch out_;
};
}  // namespace

TEST(InflightGpu, EveryInputComesOutOnceAndMatchesTheCpu) {
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
    const auto r = ib.run(5000);
    EXPECT_EQ(r.finished, static_cast<std::int64_t>(inputs.size()));
    EXPECT_EQ(r.unfinished, 0);
    EXPECT_EQ(ib.batch().is_cuda(), !d.is_cpu());
    return std::make_pair(r.steps, sink->read());
  };
  const auto [steps_cpu, out_cpu] = run(Device::cpu());
  const auto [steps_gpu, out_gpu] = run(kGpu);
  EXPECT_EQ(steps_cpu, steps_gpu);
  ASSERT_EQ(out_gpu.n_systems(), static_cast<std::int64_t>(inputs.size()));
  // Same systems in the same write order, each relaxed like on the CPU.
  EXPECT_EQ(field_host<std::int64_t>(out_gpu, "input_index"), field_host<std::int64_t>(out_cpu, "input_index"));
  Batch gpu_copy = out_gpu.to(kGpu);
  expect_close(out_cpu, gpu_copy, 1e-9, "inflight");
  for (double f : max_force(out_gpu)) EXPECT_LE(f, 1e-3);
}

// ------------------------------------------------------------------------ helpers on GPU batches

TEST(DynamicsGpu, KineticHelpersConvergenceInputsAndMaxForceMatchTheCpu) {
  for (DType dt : {DType::Float64, DType::Float32}) {
    Batch host = systems(dt, 71, 0.2);
    Batch dev = host.to(kGpu);
    // Same seed: the GPU draws on the host with the same generator, so velocities are equal.
    maxwell_boltzmann(host, 250, 12);
    maxwell_boltzmann(dev, 250, 12);
    auto model = springs();
    model->compute(host);
    model->compute(dev);
    expect_close(host, dev, 1e-15, "maxwell_boltzmann + compute " + dname(dt));
    const double tol = dt == DType::Float64 ? 1e-12 : 1e-6;
    auto close = [&](const std::vector<double>& a, const std::vector<double>& b, const char* what) {
      ASSERT_EQ(a.size(), b.size()) << what;
      for (std::size_t s = 0; s < a.size(); ++s)
        EXPECT_NEAR(a[s], b[s], tol * (1 + std::abs(a[s]))) << what << " " << s;
    };
    close(kinetic_energy(host), kinetic_energy(dev), "kinetic_energy");
    close(temperature(host), temperature(dev), "temperature");
    for (double t : temperature(dev)) EXPECT_NEAR(t, 250, 250 * tol * 10);
    close(max_force(host), max_force(dev), "max_force");
    for (std::int64_t s = 0; s < host.n_systems(); ++s)
      EXPECT_EQ(degrees_of_freedom(host, s), degrees_of_freedom(dev, s));

    // Convergence on a prepared batch, with candidates.
    FIRE fc(springs(), 1.0), fg(springs(), 1.0);
    fc.set_convergence(Convergence::fmax(1.0));
    fg.set_convergence(Convergence::fmax(1.0));
    fc.prepare(host);
    fg.prepare(dev);
    const auto f = max_force(host);
    std::vector<double> sorted = f;
    std::sort(sorted.begin(), sorted.end());
    const double mid = sorted[sorted.size() / 2];
    std::vector<std::uint8_t> cand{1, 1, 0, 1, 1, 1};
    for (const auto& c : {Convergence::fmax(mid), Convergence::fmax(mid) & Convergence::steps(0),
                          Convergence::fmax(mid) | Convergence::energy_change(0.0), Convergence::steps(1)}) {
      EXPECT_EQ(c.evaluate(host, cand), c.evaluate(dev, cand)) << c.describe();
      EXPECT_EQ(c.evaluate(host, {}), c.evaluate(dev, {})) << c.describe();
    }
    const auto in = Convergence::gather(dev, {true, true, true});
    EXPECT_EQ(in.fmax, max_force(dev));
    EXPECT_EQ(in.stage_step, std::vector<std::int64_t>(6, 0));
    EXPECT_EQ(in.energy, in.prev_energy);

    // system_parameter reads GPU fields; NHC's conserved energy accepts GPU batches.
    auto& tt = host.add_field("thermostat_temperature", Level::System, dt, {});
    dispatch_float(dt, [&](auto zero) {
      using T = decltype(zero);
      for (std::int64_t s = 0; s < host.n_systems(); ++s) tt.data<T>()[s] = static_cast<T>(10 * s + 5);
    });
    Batch dev2 = host.to(kGpu);
    EXPECT_EQ(system_parameter(host, "thermostat_temperature", 1), system_parameter(dev2, "thermostat_temperature", 1));
    NoseHooverChain nc(springs(), 1.0, 100, 30.0, 2), ng(springs(), 1.0, 100, 30.0, 2);
    nc.prepare(host);
    ng.prepare(dev2);
    close(nc.conserved_energy(host), ng.conserved_energy(dev2), "conserved_energy");
  }
}

TEST(DynamicsGpu, MaxForceOfANaNForceIsNaN) {
  Batch dev = systems(DType::Float64, 81, 0.1);
  springs()->compute(dev);
  dev.get("forces").data<double>()[3 * 5 + 1] = std::nan("");  // system 2 (atoms 3..9)
  dev = dev.to(kGpu);
  const auto f = max_force(dev);
  EXPECT_TRUE(std::isnan(f[2]));
  EXPECT_FALSE(std::isnan(f[3]));
  EXPECT_FALSE(Convergence::fmax(1e9).evaluate(dev, {})[2]) << "a NaN force never converges";
}

TEST(DynamicsGpu, StartSystemsAndMasksOnAGpuBatch) {
  // Converge a few systems, restart some of them with start_systems: status, stage_step,
  // prev_energy and the integrator state are reset on the device and in the host mirror.
  Batch dev = systems(DType::Float64, 91, 0.2).to(kGpu);
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
