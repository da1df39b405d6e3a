// SPDX-License-Identifier: Apache-2.0
// GPU tests of the hooks (label gpu): every hook applied to the same batch on the CPU and on the
// GPU, called directly with a Context built here, in float32 and float64, on batches of several
// systems of different sizes (periodic triclinic, partly periodic and open). Elementwise results
// (clamped forces, wrapped positions and images, frozen atoms, restraint forces) must be bitwise
// equal; reductions over atoms (kinetic and restraint energies) agree to rounding; the NaN
// detector's message is the CPU's, word for word. The per-atom hooks are also shown to return
// without waiting for the GPU (their work queues behind a kernel that holds the stream).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "../support/error_of.hpp"
#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/hooks/hooks.hpp"
#include "batchmd/sinks/data_sink.hpp"
#include "hook_test_util.hpp"

namespace batchmd::test {
int* alloc_release_flag();
void free_release_flag(int* p);
void launch_spinner(int device, int* release, double max_seconds);
}  // namespace batchmd::test

using namespace batchmd;
using dynamics::Stage;

namespace {

const Device kGpu{Device::Kind::CUDA, 0};
const Device kCpu = Device::cpu();
constexpr std::array<DType, 2> kDtypes = {DType::Float32, DType::Float64};
// atoms per system: several sizes, one single atom, one larger than a GPU block
const std::vector<std::int64_t> kSizes = {5, 1, 40, 17, 300, 3, 64};

/// A model and a dynamics to build Contexts from; the hooks are called directly.
struct Rig {
  std::shared_ptr<test_support::ZeroModel> model = std::make_shared<test_support::ZeroModel>();
  dynamics::DemoDynamics dyn{model, 1.0};
  dynamics::Context ctx(Batch& b, std::int64_t step = 0) { return dynamics::Context{b, *model, dyn, step, 1.0, {}}; }
};

void fill(Tensor& t, std::mt19937_64& rng, double scale) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  dispatch_float(t.dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(scale * u(rng));
  });
}

/// Systems of kSizes atoms: system s has a triclinic cell, periodic in all directions (s % 3 ==
/// 0), in a and c (s % 3 == 1) or open (s % 3 == 2); positions spread over about four cells
/// (fractional −1.5 … 2.5) so wrapping moves most atoms; random velocities, forces up to ~8 eV/Å
/// and energies; system_id 100 + 7 s.
Batch make_batch(DType dt, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> frac(-1.5, 2.5);
  std::vector<AtomicData> sys;
  for (std::size_t s = 0; s < kSizes.size(); ++s) {
    const double L = 8.0 + static_cast<double>(s);
    const std::vector<double> cell = {L, 0, 0, 0.3 * L, 0.9 * L, 0, -0.2 * L, 0.25 * L, 1.1 * L};
    const std::array<bool, 3> pbc = s % 3 == 0   ? std::array<bool, 3>{true, true, true}
                                    : s % 3 == 1 ? std::array<bool, 3>{true, false, true}
                                                 : std::array<bool, 3>{false, false, false};
    std::vector<double> x;
    for (std::int64_t i = 0; i < kSizes[s]; ++i) {
      const double f[3] = {frac(rng), frac(rng), frac(rng)};
      for (int d = 0; d < 3; ++d) x.push_back(f[0] * cell[d] + f[1] * cell[3 + d] + f[2] * cell[6 + d]);
    }
    sys.push_back(
        AtomicData::make(dt, x, std::vector<std::int64_t>(static_cast<std::size_t>(kSizes[s]), 18), cell, pbc));
  }
  Batch b = Batch::from_systems(sys);
  fill(b.add_standard("velocities"), rng, 0.005);
  fill(b.add_standard("forces"), rng, 8.0);
  fill(b.add_standard("energy"), rng, 50.0);
  auto* id = b.add_standard("system_id").data<std::int64_t>();
  for (std::int64_t s = 0; s < b.n_systems(); ++s) id[s] = 100 + 7 * s;
  return b;
}

std::string element_str(const Tensor& t, std::int64_t i) {
  std::ostringstream o;
  o << std::setprecision(17);
  switch (t.dtype()) {
    case DType::Float32:
      o << t.data<float>()[i];
      break;
    case DType::Float64:
      o << t.data<double>()[i];
      break;
    case DType::Int32:
      o << t.data<std::int32_t>()[i];
      break;
    case DType::Int64:
      o << t.data<std::int64_t>()[i];
      break;
    case DType::Bool:
      o << t.data<bool>()[i];
      break;
    case DType::UInt8:
      o << int(t.data<std::uint8_t>()[i]);
      break;
  }
  return o.str();
}

/// Bitwise equality of a CPU tensor and a GPU tensor.
testing::AssertionResult same_bits(const Tensor& cpu, const Tensor& gpu) {
  if (!gpu.is_cuda()) return testing::AssertionFailure() << "the second tensor is not on a GPU";
  const Tensor g = gpu.to(kCpu);
  if (cpu.dtype() != g.dtype() || cpu.shape() != g.shape())
    return testing::AssertionFailure() << "dtype/shape differ: " << dtype_name(cpu.dtype()) << " "
                                       << shape_str(cpu.shape()) << " vs " << dtype_name(g.dtype()) << " "
                                       << shape_str(g.shape());
  if (std::memcmp(cpu.raw(), g.raw(), cpu.nbytes()) == 0) return testing::AssertionSuccess();
  const std::size_t es = dtype_size(cpu.dtype());
  const auto* a = cpu.bytes();
  const auto* c = g.bytes();
  std::int64_t first = -1, n = 0;
  for (std::int64_t i = 0; i < cpu.numel(); ++i)
    if (std::memcmp(a + i * static_cast<std::int64_t>(es), c + i * static_cast<std::int64_t>(es), es) != 0) {
      if (first < 0) first = i;
      ++n;
    }
  return testing::AssertionFailure() << n << " of " << cpu.numel() << " elements differ; first at " << first << ": cpu "
                                     << element_str(cpu, first) << ", gpu " << element_str(g, first);
}

void expect_same_fields(const Batch& cpu, const Batch& gpu, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    ASSERT_TRUE(cpu.has(name) && gpu.has(name)) << name;
    EXPECT_TRUE(same_bits(cpu.get(name), gpu.get(name))) << "field " << name;
  }
}

/// Whether `queue` returns while the GPU's compute stream is still held by a spinning kernel,
/// i.e. without waiting for the GPU (the stream is released afterwards either way).
bool returns_without_waiting(const std::function<void()>& queue) {
  int* release = test::alloc_release_flag();
  test::launch_spinner(0, release, 10.0);
  cuda::Event spun;
  spun.record(cuda::compute_stream(0));
  queue();
  const bool still_spinning = !spun.done();
  *static_cast<volatile int*>(release) = 1;
  cuda::synchronize(cuda::compute_stream(0));
  test::free_release_flag(release);
  return still_spinning;
}

double rel_diff(double a, double b) { return std::abs(a - b) / std::max(1e-300, std::max(std::abs(a), std::abs(b))); }

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("batchmd_hooks_gpu_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string c; std::getline(in, c, ',');) out.push_back(c);
  return out;
}

using batchmd::test_support::error_if_thrown;
using batchmd::test_support::error_of;

/// Sets every element i of a float tensor (host) to f(i).
template <typename F>
void set_each(Tensor& t, F&& f) {
  dispatch_float(t.dtype(), [&](auto zero) {
    using T = decltype(zero);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data<T>()[i] = static_cast<T>(f(i));
  });
}

/// Sets element i of a float tensor on the host.
void set(Tensor& t, std::int64_t i, double v) {
  dispatch_float(t.dtype(), [&](auto zero) { t.data<decltype(zero)>()[i] = static_cast<decltype(zero)>(v); });
}

}  // namespace

TEST(HooksGpu, GpuIsPresent) { ASSERT_GT(cuda::device_count(), 0) << cuda::unavailable_reason(); }

TEST(HooksGpu, MaxForceClampMatchesTheCpuBitwise) {
  for (DType dt : kDtypes) {
    SCOPED_TRACE(dtype_name(dt));
    Batch c = make_batch(dt, 1);
    Batch g = c.to(kGpu);
    Rig rig;
    hooks::MaxForceClampHook hc(3.0), hg(3.0);
    auto cc = rig.ctx(c), cg = rig.ctx(g);
    hc.open(cc);
    hg.open(cg);
    expect_same_fields(c, g, {"forces", "positions", "velocities", "energy"});
    EXPECT_GT(hc.last_clamped(), 50);
    EXPECT_EQ(hg.last_clamped(), hc.last_clamped());
    // a second call (forces right at the bound may be rescaled by rounding, the same way)
    hc(cc);
    hg(cg);
    EXPECT_EQ(hg.last_clamped(), hc.last_clamped());
    EXPECT_EQ(hg.total_clamped(), hc.total_clamped());
    expect_same_fields(c, g, {"forces"});
    // the static kernel on fresh forces, and a tighter bound
    Batch c2 = make_batch(dt, 2);
    Batch g2 = c2.to(kGpu);
    EXPECT_EQ(hooks::MaxForceClampHook::clamp(g2, 0.5), hooks::MaxForceClampHook::clamp(c2, 0.5));
    expect_same_fields(c2, g2, {"forces"});
  }
}

TEST(HooksGpu, WrapPeriodicMatchesTheCpuBitwise) {
  for (DType dt : kDtypes) {
    SCOPED_TRACE(dtype_name(dt));
    Batch c = make_batch(dt, 3);
    Batch g = c.to(kGpu);
    Rig rig;
    hooks::WrapPeriodicHook hc, hg;
    auto cc = rig.ctx(c), cg = rig.ctx(g);
    hc.open(cc);
    hg.open(cg);
    expect_same_fields(c, g, {"positions", "images", "velocities", "forces"});
    EXPECT_GT(hc.last_moved(), 200);
    EXPECT_EQ(hg.last_moved(), hc.last_moved());
    // open systems are untouched; move atoms out again and wrap with the hook's step path
    for (int round = 0; round < 3; ++round) {
      Tensor& xc = c.get("positions");
      std::mt19937_64 rng(40 + static_cast<std::uint64_t>(round));
      Tensor kick(xc.dtype(), xc.shape());
      fill(kick, rng, 12.0);
      dispatch_float(dt, [&](auto zero) {
        using T = decltype(zero);
        for (std::int64_t i = 0; i < xc.numel(); ++i) xc.data<T>()[i] += kick.data<T>()[i];
      });
      g.get("positions").copy_from(xc);
      hc(cc);
      hg(cg);
      EXPECT_EQ(hg.last_moved(), hc.last_moved()) << "round " << round;
      expect_same_fields(c, g, {"positions", "images"});
    }
    hc.close(cc);
    hg.close(cg);
    const auto uc = hooks::WrapPeriodicHook::unwrapped_positions(c);
    const auto ug = hooks::WrapPeriodicHook::unwrapped_positions(g);
    EXPECT_EQ(uc, ug);
    // the static kernel
    Batch c2 = make_batch(dt, 4);
    Batch g2 = c2.to(kGpu);
    EXPECT_EQ(hooks::WrapPeriodicHook::wrap(g2), hooks::WrapPeriodicHook::wrap(c2));
    expect_same_fields(c2, g2, {"positions", "images"});
  }
}

TEST(HooksGpu, WrapPeriodicReportsASingularCellLikeTheCpu) {
  Batch c = make_batch(DType::Float64, 5);
  double* cell = c.get("cell").data<double>();
  for (int k = 6; k < 9; ++k) cell[9 * 3 + k] = 0;  // system 3 (periodic): c = 0
  Batch g = c.to(kGpu);
  const std::string want = error_of<InvalidArgument>([&] { hooks::WrapPeriodicHook::wrap(c); });
  ASSERT_NE(want.find("system 3 (system_id 121)"), std::string::npos) << want;
  EXPECT_EQ(error_of<InvalidArgument>([&] { hooks::WrapPeriodicHook::wrap(g); }), want);
  Rig rig;
  auto cg = rig.ctx(g);
  hooks::WrapPeriodicHook hg;
  EXPECT_EQ(error_of<InvalidArgument>([&] { hg.open(cg); }), want);
  // during the run it does not wait for the answer: reported at a later firing or at close()
  std::string got = error_if_thrown<InvalidArgument>([&] { hg(cg); });
  if (got.empty()) got = error_of<InvalidArgument>([&] { hg.close(cg); });
  EXPECT_EQ(got, want);
  // reported once: a clean batch afterwards passes
  Batch ok = make_batch(DType::Float64, 6).to(kGpu);
  auto co = rig.ctx(ok);
  EXPECT_NO_THROW(hg(co));
  EXPECT_NO_THROW(hg.close(co));
}

TEST(HooksGpu, FreezeAtomsMatchesTheCpuBitwiseAtCaptureAndAtEveryPin) {
  for (DType dt : kDtypes) {
    for (bool by_field : {false, true}) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + (by_field ? " field" : " mask"));
      Batch c = make_batch(dt, 7);
      std::vector<bool> mask(static_cast<std::size_t>(c.n_atoms()));
      for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = i % 3 == 1 || i == mask.size() - 1;
      if (by_field) {
        bool* fz = c.add_field("frozen", Level::Atom, DType::Bool, {}).data<bool>();
        for (std::size_t i = 0; i < mask.size(); ++i) fz[i] = mask[i];
      }
      Batch g = c.to(kGpu);
      auto hook = [&](void) {
        return by_field ? std::make_shared<hooks::FreezeAtomsHook>(std::string("frozen"))
                        : std::make_shared<hooks::FreezeAtomsHook>(mask);
      };
      auto hc = hook(), hg = hook();
      Rig rc, rgpu;
      hc->attach(rc.dyn);
      hg->attach(rgpu.dyn);
      auto cc = rc.ctx(c), cg = rgpu.ctx(g);
      hc->open(cc);
      hg->open(cg);
      expect_same_fields(c, g, {"positions", "velocities", "forces"});
      Tensor xref = c.get("positions").clone();  // the positions of the last capture
      std::int64_t want_frozen = 0;
      for (bool m : mask) want_frozen += m ? 1 : 0;
      EXPECT_EQ(hc->n_frozen(), want_frozen);
      EXPECT_EQ(hg->n_frozen(), want_frozen);
      // each stage: disturb every atom the same way on both, then run the group's hook there
      std::mt19937_64 rng(11);
      for (int s = 0; s < dynamics::kNumStages; ++s) {
        const auto stage = static_cast<Stage>(s);
        const auto& hooks_c = rc.dyn.hooks(stage);
        const auto& hooks_g = rgpu.dyn.hooks(stage);
        ASSERT_EQ(hooks_c.size(), hooks_g.size());
        if (hooks_c.empty()) continue;
        SCOPED_TRACE(dynamics::stage_name(stage));
        for (const char* name : {"positions", "velocities", "forces"}) {
          Tensor& t = c.get(name);
          Tensor kick(t.dtype(), t.shape());
          fill(kick, rng, 0.5);
          dispatch_float(dt, [&](auto zero) {
            using T = decltype(zero);
            for (std::int64_t i = 0; i < t.numel(); ++i) t.data<T>()[i] += kick.data<T>()[i];
          });
          g.get(name).copy_from(t);
        }
        (*hooks_c[0])(cc);
        (*hooks_g[0])(cg);
        expect_same_fields(c, g, {"positions", "velocities", "forces"});
        // frozen atoms sit at their capture positions; the capture stage re-takes them
        if (stage == hc->stage()) {
          xref = c.get("positions").clone();
          continue;
        }
        const Tensor xg = g.get("positions").to(kCpu);
        dispatch_float(dt, [&](auto zero) {
          using T = decltype(zero);
          for (std::size_t i = 0; i < mask.size(); ++i) {
            if (!mask[i]) continue;
            for (std::size_t k = 0; k < 3; ++k) {
              ASSERT_EQ(xg.data<T>()[3 * i + k], xref.data<T>()[3 * i + k]) << "atom " << i;
            }
          }
        });
      }
    }
  }
}

TEST(HooksGpu, BiasedPotentialRestraintMatchesTheCpu) {
  for (DType dt : kDtypes) {
    SCOPED_TRACE(dtype_name(dt));
    Batch c = make_batch(dt, 8);
    const std::int64_t n = c.n_atoms();
    std::mt19937_64 rng(9);
    std::uniform_real_distribution<double> u(-5, 5);
    std::vector<double> ref(static_cast<std::size_t>(3 * n));
    for (auto& r : ref) r = u(rng);
    std::vector<bool> sel(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < sel.size(); ++i) sel[i] = i % 4 != 2;
    Batch g = c.to(kGpu);
    Rig rig;
    hooks::BiasedPotentialHook hc(hooks::BiasedPotentialHook::harmonic_restraint(0.7, ref, sel), "r");
    hooks::BiasedPotentialHook hg(hooks::BiasedPotentialHook::harmonic_restraint(0.7, ref, sel), "r");
    auto cc = rig.ctx(c), cg = rig.ctx(g);
    hc(cc);
    hg(cg);
    expect_same_fields(c, g, {"forces", "positions"});
    const auto& bc = hc.last_bias_energy();
    const auto& bg = hg.last_bias_energy();
    ASSERT_EQ(bg.size(), bc.size());
    for (std::size_t s = 0; s < bc.size(); ++s) EXPECT_LE(rel_diff(bg[s], bc[s]), 1e-13) << "system " << s;
    const Tensor eg = g.get("energy").to(kCpu);
    dispatch_float(dt, [&](auto zero) {
      using T = decltype(zero);
      const double tol = dt == DType::Float32 ? 1e-6 : 1e-13;
      for (std::int64_t s = 0; s < c.n_systems(); ++s)
        EXPECT_LE(rel_diff(double(eg.data<T>()[s]), double(c.get("energy").data<T>()[s])), tol) << "system " << s;
    });
    hc.close(cc);
    hg.close(cg);
  }
}

TEST(HooksGpu, BiasedPotentialHostFunctionAndNonFiniteBias) {
  Batch c = make_batch(DType::Float64, 10);
  Batch g = c.to(kGpu);
  Rig rig;
  auto host_fn = [](Batch& b) {
    std::vector<double> e(static_cast<std::size_t>(b.n_systems()));
    for (std::size_t s = 0; s < e.size(); ++s) e[s] = 0.25 * static_cast<double>(s) - 0.3;
    return e;
  };
  hooks::BiasedPotentialHook hc(host_fn), hg(host_fn);
  auto cc = rig.ctx(c), cg = rig.ctx(g);
  hc(cc);
  hg(cg);
  expect_same_fields(c, g, {"energy", "forces"});
  EXPECT_EQ(hg.last_bias_energy(), hc.last_bias_energy());
  // a device bias with a NaN for system 2: the CPU throws at once, the GPU hook at close()
  hooks::BiasKernel bad([](Batch& b, Tensor& energy) {
    std::vector<double> e(static_cast<std::size_t>(b.n_systems()), 0.0);
    e[2] = std::numeric_limits<double>::quiet_NaN();
    energy.copy_from(Tensor::from(e, {b.n_systems()}));
  });
  hooks::BiasedPotentialHook bc(bad, "bad"), bg(bad, "bad");
  const std::string want = error_of<NumericalError>([&] { bc(cc); });
  ASSERT_NE(want.find("non-finite bias energy in system 2 (system_id 114)"), std::string::npos) << want;
  std::string got = error_if_thrown<NumericalError>([&] { bg(cg); });
  if (got.empty()) got = error_of<NumericalError>([&] { bg.close(cg); });
  EXPECT_EQ(got, want);
}

TEST(HooksGpu, NaNDetectorNamesTheSameSystemAndAtomAsTheCpu) {
  for (DType dt : kDtypes) {
    SCOPED_TRACE(dtype_name(dt));
    Batch c = make_batch(dt, 12);
    Rig rig;
    hooks::NaNDetectorHook det(1, Stage::AFTER_COMPUTE);
    {
      Batch g = c.to(kGpu);
      auto cg = rig.ctx(g, 7);
      EXPECT_NO_THROW(det.open(cg));
      EXPECT_NO_THROW(det(cg));
    }
    const auto* ap = c.atoms_ptr_data();
    set(c.get("forces"), 3 * (ap[4] + 123) + 1, std::nan(""));  // system 4, atom 123
    set(c.get("velocities"), 3 * (ap[4] + 200), INFINITY);      // later in the same system
    set(c.get("positions"), 3 * (ap[6] + 2) + 2, -INFINITY);    // system 6
    set(c.get("energy"), 5, std::nan(""));                      // system 5 (energy only)
    Batch g = c.to(kGpu);
    auto cc = rig.ctx(c, 7), cg = rig.ctx(g, 7);
    const std::string want = error_of<NumericalError>([&] { det(cc); });
    ASSERT_NE(want.find("non-finite velocities (inf) in system 4 (system_id 128), atom 200 of the system"),
              std::string::npos)
        << want;
    EXPECT_NE(want.find("at step 7 (AFTER_COMPUTE); 3 systems affected"), std::string::npos) << want;
    EXPECT_EQ(error_of<NumericalError>([&] { det(cg); }), want);
    EXPECT_EQ(error_of<NumericalError>([&] { det.open(cg); }), error_of<NumericalError>([&] { det.open(cc); }));
    // only the energy of one system
    Batch e = make_batch(dt, 13);
    set(e.get("energy"), 2, -INFINITY);
    Batch eg = e.to(kGpu);
    const std::string want_e = error_of<NumericalError>([&] { hooks::NaNDetectorHook::check(e, "here"); });
    ASSERT_NE(want_e.find("non-finite energy (-inf) in system 2 (system_id 114), here"), std::string::npos) << want_e;
    EXPECT_EQ(error_of<NumericalError>([&] { hooks::NaNDetectorHook::check(eg, "here"); }), want_e);
  }
}

TEST(HooksGpu, EnergyDriftMonitorSeesTheSameDriftAsTheCpu) {
  for (DType dt : kDtypes) {
    SCOPED_TRACE(dtype_name(dt));
    Batch c = make_batch(dt, 14);
    set_each(c.get("energy"), [](std::int64_t s) { return -100.0 - 10.0 * static_cast<double>(s); });
    const Batch base = c.clone();
    Batch g = c.to(kGpu);
    Rig rig;
    hooks::EnergyDriftMonitorHook mc(1e-3), mg(1e-3);
    auto cc = rig.ctx(c, 3), cg = rig.ctx(g, 3);
    mc.open(cc);
    mg.open(cg);
    // systems 1 and 4 gain energy: 0.5% of |E|, the rest 1e-5
    dispatch_float(dt, [&](auto zero) {
      using T = decltype(zero);
      T* e = c.get("energy").data<T>();
      for (std::int64_t s = 0; s < c.n_systems(); ++s)
        e[s] = static_cast<T>(double(e[s]) * (s == 1 || s == 4 ? 1.005 : 1.00001));
    });
    g.get("energy").copy_from(c.get("energy"));
    testing::internal::CaptureStderr();
    mc(cc);
    const std::string err_c = testing::internal::GetCapturedStderr();
    testing::internal::CaptureStderr();
    mg(cg);
    const std::string err_g = testing::internal::GetCapturedStderr();
    EXPECT_EQ(mc.warnings(), 2);
    EXPECT_EQ(mg.warnings(), 2);
    EXPECT_NE(err_g.find("system 4 (system_id 128)"), std::string::npos) << err_g;
    EXPECT_EQ(std::count(err_g.begin(), err_g.end(), '\n'), std::count(err_c.begin(), err_c.end(), '\n'));
    ASSERT_EQ(mg.drift().size(), mc.drift().size());
    for (std::size_t s = 0; s < mc.drift().size(); ++s)
      EXPECT_NEAR(mg.drift()[s], mc.drift()[s], 1e-9 * mc.drift()[s] + 1e-15) << "system " << s;
    EXPECT_NEAR(mg.max_drift(), mc.max_drift(), 1e-9 * mc.max_drift());
    // Stop names the system
    hooks::EnergyDriftMonitorHook stop(1e-3, hooks::DriftAction::Stop);
    Batch g2 = base.to(kGpu);
    auto c2 = rig.ctx(g2, 3);
    stop.open(c2);
    g2.get("energy").copy_from(c.get("energy"));
    const std::string msg = error_of<NumericalError>([&] { stop(c2); });
    EXPECT_NE(msg.find("system 1 (system_id 107): relative energy drift"), std::string::npos) << msg;
    EXPECT_NE(msg.find("at step 4"), std::string::npos) << msg;
  }
}

TEST(HooksGpu, LoggingWritesTheSameRowsAsTheCpu) {
  for (DType dt : kDtypes) {
    SCOPED_TRACE(dtype_name(dt));
    Batch c = make_batch(dt, 15);
    auto* st = c.add_field("status", Level::System, DType::Int32, {}).data<std::int32_t>();
    st[3] = 1;
    st[5] = 2;
    Batch g = c.to(kGpu);
    const std::string pc = temp_path(std::string("cpu_") + std::string(dtype_name(dt)) + ".csv");
    const std::string pg = temp_path(std::string("gpu_") + std::string(dtype_name(dt)) + ".csv");
    {
      Rig rig;
      hooks::LoggingHook lc(pc), lg(pg);
      for (std::int64_t step : {0, 1, 2}) {
        auto cc = rig.ctx(c, step), cg = rig.ctx(g, step);
        lc(cc);
        lg(cg);
      }
      auto cc = rig.ctx(c, 3), cg = rig.ctx(g, 3);
      lc.close(cc);
      lg.close(cg);
      EXPECT_EQ(lg.rows(), lc.rows());
    }
    const auto lines_c = read_lines(pc), lines_g = read_lines(pg);
    ASSERT_EQ(lines_g.size(), lines_c.size());
    ASSERT_EQ(lines_c.size(), 1 + 3 * kSizes.size());
    EXPECT_EQ(lines_g[0], lines_c[0]);
    EXPECT_EQ(lines_c[0], "step,system_id,energy,kinetic_energy,temperature,fmax,status");
    for (std::size_t l = 1; l < lines_c.size(); ++l) {
      const auto a = split_csv(lines_c[l]), b = split_csv(lines_g[l]);
      ASSERT_EQ(a.size(), 7u);
      ASSERT_EQ(b.size(), 7u) << lines_g[l];
      for (std::size_t k : {0u, 1u, 2u, 5u, 6u}) EXPECT_EQ(b[k], a[k]) << "line " << l << " column " << k;
      for (std::size_t k : {3u, 4u})  // kinetic energy and temperature: summed in another order
        EXPECT_LE(rel_diff(std::stod(b[k]), std::stod(a[k])), 1e-13) << "line " << l << " column " << k;
    }
    std::filesystem::remove(pc);
    std::filesystem::remove(pg);
  }
}

TEST(HooksGpu, SnapshotHooksWriteTheGpuBatch) {
  for (DType dt : kDtypes) {
    SCOPED_TRACE(dtype_name(dt));
    Batch c = make_batch(dt, 16);
    Batch g = c.to(kGpu);
    Rig rig;
    auto sink_c = std::make_shared<sinks::HostMemory>(100), sink_g = std::make_shared<sinks::HostMemory>(100);
    hooks::SnapshotHook sc(sink_c, 1), sg(sink_g, 1);
    auto cc = rig.ctx(c, 0), cg = rig.ctx(g, 0);
    sc(cc);
    sg(cg);
    std::vector<bool> conv(kSizes.size(), false);
    conv[1] = conv[4] = true;
    cc.newly_converged = conv;
    cg.newly_converged = conv;
    hooks::ConvergedSnapshotHook vc(sink_c), vg(sink_g);
    vc(cc);
    vg(cg);
    EXPECT_EQ(vg.written(), 2);
    sc.close(cc);
    sg.close(cg);
    vc.close(cc);
    vg.close(cg);
    const Batch rc = sink_c->read(), rg = sink_g->read();
    ASSERT_EQ(rg.n_systems(), rc.n_systems());
    EXPECT_EQ(rc.n_systems(), static_cast<std::int64_t>(kSizes.size()) + 2);
    for (const auto& [name, field] : rc.fields()) {
      ASSERT_TRUE(rg.has(name)) << name;
      const Tensor& a = field.tensor;
      const Tensor b = rg.get(name).to(kCpu);
      ASSERT_EQ(a.nbytes(), b.nbytes()) << name;
      EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << name;
    }
  }
}

TEST(HooksGpu, ProfilerCountsStagesOfAGpuBatch) {
  Batch g = make_batch(DType::Float32, 17).to(kGpu);
  for (bool sync : {false, true}) {
    hooks::ProfilerHook prof(sync);
    Rig rig;
    prof.attach(rig.dyn);
    auto cg = rig.ctx(g);
    for (int rep = 0; rep < 3; ++rep)
      for (int s = 0; s < dynamics::kNumStages; ++s)
        for (const auto& h : rig.dyn.hooks(static_cast<Stage>(s))) (*h)(cg);
    for (const auto& h : rig.dyn.hooks(Stage::AFTER_STEP)) h->close(cg);
    for (int s = 0; s < dynamics::kNumStages; ++s) EXPECT_EQ(prof.calls(static_cast<Stage>(s)), 3);
    EXPECT_GT(prof.total_seconds(), 0.0);
  }
}

TEST(HooksGpu, PerAtomHooksDoNotWaitForTheGpu) {
  for (DType dt : kDtypes) {
    SCOPED_TRACE(dtype_name(dt));
    Batch c = make_batch(dt, 18);
    std::vector<bool> mask(static_cast<std::size_t>(c.n_atoms()));
    for (std::size_t i = 0; i < mask.size(); i += 5) mask[i] = true;
    bool* fz = c.add_field("frozen", Level::Atom, DType::Bool, {}).data<bool>();
    for (std::size_t i = 0; i < mask.size(); ++i) fz[i] = i % 7 == 3;
    std::vector<double> ref(static_cast<std::size_t>(3 * c.n_atoms()), 0.5);
    Batch g = c.to(kGpu);
    // the same hooks on both devices: freeze (mask and field), clamp, wrap, restraint
    struct Set {
      Rig rig;
      std::shared_ptr<hooks::MaxForceClampHook> clamp = std::make_shared<hooks::MaxForceClampHook>(2.0);
      std::shared_ptr<hooks::WrapPeriodicHook> wrap = std::make_shared<hooks::WrapPeriodicHook>();
      std::shared_ptr<hooks::BiasedPotentialHook> bias;
      std::shared_ptr<hooks::FreezeAtomsHook> by_mask, by_field;
      Set(const std::vector<bool>& m, const std::vector<double>& r)
          : bias(std::make_shared<hooks::BiasedPotentialHook>(hooks::BiasedPotentialHook::harmonic_restraint(0.3, r))),
            by_mask(std::make_shared<hooks::FreezeAtomsHook>(m)),
            by_field(std::make_shared<hooks::FreezeAtomsHook>(std::string("frozen"))) {
        by_mask->attach(rig.dyn);
        by_field->attach(rig.dyn);
        rig.dyn.register_hook(bias);
        rig.dyn.register_hook(clamp);
        rig.dyn.register_hook(wrap);
      }
      void step(Batch& b, std::int64_t n) {
        auto ctx = rig.ctx(b, n);
        for (int s = 0; s < dynamics::kNumStages; ++s)
          for (const auto& h : rig.dyn.hooks(static_cast<Stage>(s))) (*h)(ctx);
      }
    };
    Set on_cpu(mask, ref), on_gpu(mask, ref);
    on_cpu.step(c, 0);
    on_gpu.step(g, 0);  // warm-up: device state uploaded, allocator warm
    cuda::synchronize(cuda::compute_stream(0));
    EXPECT_TRUE(returns_without_waiting([&] { on_gpu.step(g, 1); }));
    on_cpu.step(c, 1);
    // and the work was done, as on the CPU
    expect_same_fields(c, g, {"positions", "velocities", "forces", "images"});
    EXPECT_EQ(on_gpu.clamp->total_clamped(), on_cpu.clamp->total_clamped());
    EXPECT_EQ(on_gpu.wrap->last_moved(), on_cpu.wrap->last_moved());
    EXPECT_EQ(on_gpu.by_field->n_frozen(), on_cpu.by_field->n_frozen());
    EXPECT_EQ(on_gpu.by_mask->n_frozen(), on_cpu.by_mask->n_frozen());
    ASSERT_EQ(on_gpu.bias->last_bias_energy().size(), kSizes.size());
    for (std::size_t s = 0; s < kSizes.size(); ++s)
      EXPECT_LE(rel_diff(on_gpu.bias->last_bias_energy()[s], on_cpu.bias->last_bias_energy()[s]), 1e-13);
  }
}
