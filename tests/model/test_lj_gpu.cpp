// GPU tests of the Lennard-Jones model (src/model/lj_gpu.cu): LennardJones::compute on a batch on
// cuda:0 against the CPU LennardJones on the same batch — periodic liquids, boxes smaller than
// 2 (cutoff + skin) (several images of an atom, its own included), triclinic cells, slabs and
// wires (mixed pbc), open clusters, empty systems, mixed batches and two species with overrides;
// many steps with random moves, drift out of the cell and lattice jumps (rebuilds must happen at
// the same steps as on the CPU); finite differences and strain derivatives of GPU energies; lagged
// error reports (NaN positions, list overflow); restore_state; determinism; no cudaMalloc once warm.
//
// Tolerances, GPU against CPU on the same input (the two sum pairs in different orders, and the
// GPU sums a full list in T):
//  - forces: float64 1e-10, float32 2e-5, relative to the force scale max|F| + 100 eps/sigma (each
//    side rounds ~100 pair forces per atom at 6e-8; a host emulation of the kernels reached 0.4e-5);
//  - energies and virials: float64 1e-10, float32 3e-5, relative to |value| + 10 n eps (n atoms of
//    the system; float32 virials sum ~100 pair terms r*F per atom, each rounded at 1e-7);
//  - stress: the virial tolerance divided by the volume.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/core/tensor.hpp"
#include "batchmd/data/batch.hpp"
#include "batchmd/model/lennard_jones.hpp"

namespace batchmd::model {
namespace {

const Device kGpu{Device::Kind::CUDA, 0};

class LJGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda::device_count() == 0) GTEST_SKIP() << "no GPU: " << cuda::unavailable_reason();
  }
};
template <typename T>
class LJGpuTyped : public LJGpu {};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(LJGpuTyped, FloatTypes);

template <typename T>
constexpr DType dtype() {
  return sizeof(T) == 4 ? DType::Float32 : DType::Float64;
}

// ---------------------------------------------------------------------------------------------
// Systems (argon-like: the default LJConfig, eps 0.0104 eV, sigma 3.4 Å, cutoff 8.5 Å, skin 1 Å).

using Vec = std::vector<double>;

// fcc, nc^3 cells of side a, jittered.
Vec fcc(int nc, double a, double jitter, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-jitter, jitter);
  const double basis[4][3] = {{0, 0, 0}, {.5, .5, 0}, {.5, 0, .5}, {0, .5, .5}};
  Vec x;
  for (int i = 0; i < nc; ++i)
    for (int j = 0; j < nc; ++j)
      for (int k = 0; k < nc; ++k)
        for (const auto& b : basis) {
          x.push_back((i + b[0]) * a + u(rng));
          x.push_back((j + b[1]) * a + u(rng));
          x.push_back((k + b[2]) * a + u(rng));
        }
  return x;
}

// n1^3 points of a grid in fractional coordinates of `cell`, jittered.
Vec grid_in_cell(int n1, const Vec& cell, double jitter, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-jitter, jitter);
  Vec x;
  for (int i = 0; i < n1; ++i)
    for (int j = 0; j < n1; ++j)
      for (int k = 0; k < n1; ++k) {
        const double f[3] = {(i + .5) / n1, (j + .5) / n1, (k + .5) / n1};
        for (int e = 0; e < 3; ++e) x.push_back(f[0] * cell[e] + f[1] * cell[3 + e] + f[2] * cell[6 + e] + u(rng));
      }
  return x;
}

std::vector<std::int64_t> argon(const Vec& x) { return std::vector<std::int64_t>(x.size() / 3, 18); }

// A 500-atom periodic liquid-density box (28.75 Å).
AtomicData liquid(DType dt, std::mt19937_64& rng) {
  const double a = 5.75;
  const Vec x = fcc(5, a, 0.3, rng);
  return AtomicData::make(dt, x, argon(x), {5 * a, 0, 0, 0, 5 * a, 0, 0, 0, 5 * a}, {true, true, true});
}
// 64 atoms in a 14.5 Å cube: smaller than 2 (cutoff + skin) = 19 Å.
AtomicData small_box(DType dt, std::mt19937_64& rng) {
  const Vec cell = {14.5, 0, 0, 0, 14.5, 0, 0, 0, 14.5};
  const Vec x = grid_in_cell(4, cell, 0.3, rng);
  return AtomicData::make(dt, x, argon(x), cell, {true, true, true});
}
// 2 atoms in a ~5.5 Å triclinic cell: every neighbor is a periodic image, the atom's own included.
AtomicData tiny_box(DType dt, std::mt19937_64&) {
  const Vec cell = {5.5, 0, 0, 1.2, 5.6, 0, 0.8, -1.1, 5.3};
  const Vec x = {3.2, 2.4, 2.65, 2.0, 3.1, 5.9};
  return AtomicData::make(dt, x, argon(x), cell, {true, true, true});
}
// 125 atoms in a strongly sheared triclinic cell.
AtomicData triclinic(DType dt, std::mt19937_64& rng) {
  const Vec cell = {20, 0, 0, 6, 19, 0, -4, 5, 18};
  const Vec x = grid_in_cell(5, cell, 0.4, rng);
  return AtomicData::make(dt, x, argon(x), cell, {true, true, true});
}
// A slab: periodic along a and b (sheared), open along z; 64 atoms.
AtomicData slab(DType dt, std::mt19937_64& rng) {
  Vec x = grid_in_cell(4, {17, 0, 0, 3, 16, 0, 0, 0, 30}, 0.3, rng);
  for (std::size_t i = 2; i < x.size(); i += 3) x[i] *= 0.5;
  return AtomicData::make(dt, x, argon(x), {17, 0, 0, 3, 16, 0, 0, 0, 0}, {true, true, false});
}
// A wire: periodic along a only (11 Å < 2 (cutoff + skin)); 27 atoms.
AtomicData wire(DType dt, std::mt19937_64&) {
  Vec x;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) x.insert(x.end(), {i * 3.67 + 0.1 * j, j * 3.7, k * 3.75});
  return AtomicData::make(dt, x, argon(x), {11, 0, 0, 0, 0, 0, 0, 0, 0}, {true, false, false});
}
// An open cluster of n atoms (no cell).
AtomicData cluster(DType dt, std::mt19937_64& rng, int n = 55) {
  Vec x = grid_in_cell(4, {14.5, 0, 0, 0, 14.5, 0, 0, 0, 14.5}, 0.3, rng);
  x.resize(3 * static_cast<std::size_t>(n));
  return AtomicData::make(dt, x, argon(x), {}, {false, false, false});
}
AtomicData empty_system(DType dt) {
  return AtomicData::make(dt, {}, {}, {12, 0, 0, 0, 12, 0, 0, 0, 12}, {true, true, true});
}

// Every third atom krypton, atom 4 hydrogen (no override: default parameters).
AtomicData with_species(AtomicData d) {
  auto* z = d.get("atomic_numbers").data<std::int64_t>();
  const std::int64_t n = d.n_atoms();
  for (std::int64_t i = 0; i < n; i += 3) z[i] = 36;
  if (n > 4) z[4] = 1;
  return d;
}
LJConfig two_species(bool shift) {
  LJConfig c;
  c.shift_energy = shift;
  c.pairs.push_back({18, 36, 0.014, 3.6, 9.0});
  c.pairs.push_back({36, 36, 0.017, 3.9, 9.5});
  return c;
}

template <typename... A>
std::vector<AtomicData> systems(A&&... a) {
  std::vector<AtomicData> v;
  (v.push_back(std::move(a)), ...);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Comparison.

std::vector<double> to_doubles(const Tensor& t) {
  const Tensor h = t.is_cuda() ? t.to(Device::cpu()) : t.clone();
  if (h.dtype() == DType::Float32) return {h.data<float>(), h.data<float>() + h.numel()};
  return {h.data<double>(), h.data<double>() + h.numel()};
}

struct Result {
  std::vector<double> energy, forces, virial, stress;
};
Result result_of(const Batch& b, bool stress) {
  Result r;
  r.energy = to_doubles(b.get("energy"));
  r.forces = to_doubles(b.get("forces"));
  if (stress) {
    r.virial = to_doubles(b.get("virial"));
    r.stress = to_doubles(b.get("stress"));
  }
  return r;
}

double det3(const double* c) {
  return c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) + c[2] * (c[3] * c[7] - c[4] * c[6]);
}

// GPU result g against CPU result c of the host batch b (tolerances above).
void expect_agree(const Result& c, const Result& g, const Batch& b, bool f32, const LJConfig& cfg,
                  const std::string& where) {
  const double tol_f = f32 ? 2e-5 : 1e-10;
  const double tol_e = f32 ? 3e-5 : 1e-10;
  double eps = cfg.epsilon, sigma = cfg.sigma;
  for (const auto& p : cfg.pairs) {
    eps = std::max(eps, p.epsilon);
    sigma = std::min(sigma, p.sigma);
  }
  ASSERT_EQ(c.forces.size(), g.forces.size()) << where;
  ASSERT_EQ(c.energy.size(), g.energy.size()) << where;
  double fmax = 0;
  for (double f : c.forces) fmax = std::max(fmax, std::abs(f));
  const double fscale = fmax + 100 * eps / sigma;
  int bad = 0;
  for (std::size_t k = 0; k < c.forces.size() && bad < 10; ++k)
    if (!(std::abs(c.forces[k] - g.forces[k]) <= tol_f * fscale)) {
      ++bad;
      ADD_FAILURE() << where << ": force component " << k << " (atom " << k / 3 << "): CPU " << c.forces[k] << " GPU "
                    << g.forces[k] << " (scale " << fscale << ")";
    }
  const std::int64_t* ptr = b.atoms_ptr_data();
  const Tensor* cell = b.has("cell") ? &b.get("cell") : nullptr;
  const std::vector<double> cells = cell ? to_doubles(*cell) : std::vector<double>();
  for (std::size_t s = 0; s < c.energy.size(); ++s) {
    const double n = static_cast<double>(ptr[s + 1] - ptr[s]);
    const double escale = 10 * n * eps;
    EXPECT_LE(std::abs(c.energy[s] - g.energy[s]), tol_e * (std::abs(c.energy[s]) + escale))
        << where << ": energy of system " << s << ": CPU " << c.energy[s] << " GPU " << g.energy[s];
    if (c.virial.empty()) continue;
    ASSERT_EQ(c.virial.size(), g.virial.size()) << where;
    const double vol = cells.empty() ? 0.0 : std::abs(det3(&cells[9 * s]));
    for (std::size_t e = 0; e < 9; ++e) {
      const double cw = c.virial[9 * s + e], gw = g.virial[9 * s + e];
      const double wtol = tol_e * (std::abs(cw) + escale);
      EXPECT_LE(std::abs(cw - gw), wtol) << where << ": virial[" << e << "] of system " << s << ": CPU " << cw
                                         << " GPU " << gw;
      const double cs = c.stress[9 * s + e], gs = g.stress[9 * s + e];
      if (cs == 0.0) {
        EXPECT_EQ(gs, 0.0) << where << ": stress[" << e << "] of system " << s;
      } else {
        EXPECT_LE(std::abs(cs - gs), wtol / vol + 1e-12) << where << ": stress[" << e << "] of system " << s;
      }
    }
  }
}

// A CPU batch and its GPU copy, each with its own model.
struct Pair {
  Batch cpu, gpu;
  LennardJones mc, mg;
  bool f32;
  LJConfig cfg;
  Pair(std::vector<AtomicData> sys, const LJConfig& c)
      : cpu(Batch::from_systems(sys)),
        gpu(cpu.to(kGpu)),
        mc(c),
        mg(c),
        f32(cpu.float_dtype() == DType::Float32),
        cfg(c) {}
  void compute_and_compare(const std::string& where, bool stress = true) {
    mc.compute(cpu, stress);
    mg.compute(gpu, stress);
    expect_agree(result_of(cpu, stress), result_of(gpu, stress), cpu, f32, cfg, where);
  }
  // Host positions -> GPU.
  void upload() { gpu.get("positions").copy_from(cpu.get("positions")); }
};

template <typename T>
void agree_once(std::vector<AtomicData> sys, const LJConfig& cfg, const std::string& where) {
  Pair p(std::move(sys), cfg);
  p.compute_and_compare(where + " (stress)", true);
  // Again without stress: the list is kept, energies and forces are rewritten.
  p.compute_and_compare(where + " (no stress)", false);
  EXPECT_EQ(p.mg.neighbor_builds(), 1);
}

// ---------------------------------------------------------------------------------------------

TYPED_TEST(LJGpuTyped, PeriodicLiquid) {
  std::mt19937_64 rng(1);
  agree_once<TypeParam>(systems(liquid(dtype<TypeParam>(), rng)), LJConfig{}, "liquid");
}

TYPED_TEST(LJGpuTyped, BoxesSmallerThanTwiceTheCutoff) {
  std::mt19937_64 rng(2);
  const DType dt = dtype<TypeParam>();
  agree_once<TypeParam>(systems(small_box(dt, rng), small_box(dt, rng)), LJConfig{}, "64-atom boxes");
  agree_once<TypeParam>(systems(tiny_box(dt, rng)), LJConfig{}, "2-atom triclinic box");
}

TYPED_TEST(LJGpuTyped, TriclinicCell) {
  std::mt19937_64 rng(3);
  agree_once<TypeParam>(systems(triclinic(dtype<TypeParam>(), rng)), LJConfig{}, "triclinic");
}

TYPED_TEST(LJGpuTyped, MixedPbc) {
  std::mt19937_64 rng(4);
  const DType dt = dtype<TypeParam>();
  agree_once<TypeParam>(systems(slab(dt, rng)), LJConfig{}, "slab");
  agree_once<TypeParam>(systems(wire(dt, rng)), LJConfig{}, "wire");
}

TYPED_TEST(LJGpuTyped, OpenClusters) {
  std::mt19937_64 rng(5);
  const DType dt = dtype<TypeParam>();
  agree_once<TypeParam>(systems(cluster(dt, rng, 55), cluster(dt, rng, 13), cluster(dt, rng, 1)), LJConfig{},
                        "clusters");
}

TYPED_TEST(LJGpuTyped, MixedBatch) {
  std::mt19937_64 rng(6);
  const DType dt = dtype<TypeParam>();
  agree_once<TypeParam>(systems(cluster(dt, rng), liquid(dt, rng), tiny_box(dt, rng), empty_system(dt), slab(dt, rng),
                                small_box(dt, rng), wire(dt, rng), triclinic(dt, rng), cluster(dt, rng, 13)),
                        LJConfig{}, "mixed batch");
}

TYPED_TEST(LJGpuTyped, TwoSpeciesWithOverrides) {
  std::mt19937_64 rng(7);
  const DType dt = dtype<TypeParam>();
  agree_once<TypeParam>(
      systems(with_species(liquid(dt, rng)), with_species(cluster(dt, rng)), with_species(slab(dt, rng))),
      two_species(false), "two species");
  agree_once<TypeParam>(systems(with_species(small_box(dt, rng)), with_species(triclinic(dt, rng))), two_species(true),
                        "two species, shifted");
}

// Random moves, a drift of every atom out of the cell and lattice jumps (as a wrap hook does):
// every step agrees with the CPU, and the list is rebuilt at the same steps.
TYPED_TEST(LJGpuTyped, ManyStepsWithRebuildsAndAtomsLeavingTheCell) {
  using T = TypeParam;
  std::mt19937_64 rng(8);
  const DType dt = dtype<T>();
  Pair p(systems(liquid(dt, rng), small_box(dt, rng), tiny_box(dt, rng), slab(dt, rng), wire(dt, rng), cluster(dt, rng),
                 with_species(triclinic(dt, rng))),
         two_species(false));
  std::normal_distribution<double> step(0, 0.02);
  const double drift[3] = {0.09, -0.06, 0.05};  // Å per step
  for (int it = 0; it < 60; ++it) {
    p.compute_and_compare("step " + std::to_string(it), it % 2 == 0);
    if (::testing::Test::HasFailure()) return;
    EXPECT_EQ(p.mg.neighbor_builds(), p.mc.neighbor_builds()) << "step " << it;
    T* x = p.cpu.get("positions").data<T>();
    const T* cell = p.cpu.get("cell").data<T>();
    const bool* pbc = p.cpu.get("pbc").data<bool>();
    const std::int64_t* sys = p.cpu.system_index().data<std::int64_t>();
    const std::int64_t n = p.cpu.n_atoms();
    for (std::int64_t i = 0; i < n; ++i)
      for (int e = 0; e < 3; ++e) x[3 * i + e] = static_cast<T>(double(x[3 * i + e]) + step(rng) + drift[e]);
    if (it % 4 == 1)  // every 7th atom jumps by -1, 0 or 1 lattice vector along its periodic directions
      for (std::int64_t i = 0; i < n; i += 7) {
        const std::int64_t s = sys[i];
        for (int d = 0; d < 3; ++d) {
          if (!pbc[3 * s + d]) continue;
          const int k = static_cast<int>((i + it + d) % 3) - 1;
          for (int e = 0; e < 3; ++e)
            x[3 * i + e] = static_cast<T>(double(x[3 * i + e]) + k * double(cell[9 * s + 3 * d + e]));
        }
      }
    p.upload();
  }
  EXPECT_GE(p.mg.neighbor_builds(), 8);
  EXPECT_EQ(p.mg.state(), p.mc.state());  // built from the same positions at the same steps
}

// A batch of another structure, then one with the same atoms_ptr but other cells and atoms.
TYPED_TEST(LJGpuTyped, StructureAndCellChanges) {
  std::mt19937_64 rng(9);
  const DType dt = dtype<TypeParam>();
  const LJConfig cfg{};
  LennardJones mc(cfg), mg(cfg);
  auto check = [&](std::vector<AtomicData> sys, const std::string& where) {
    Batch cpu = Batch::from_systems(sys);
    Batch gpu = cpu.to(kGpu);
    mc.compute(cpu, true);
    mg.compute(gpu, true);
    expect_agree(result_of(cpu, true), result_of(gpu, true), cpu, dt == DType::Float32, cfg, where);
  };
  check(systems(small_box(dt, rng), cluster(dt, rng)), "first structure");
  check(systems(liquid(dt, rng), tiny_box(dt, rng), cluster(dt, rng, 13)), "second structure");
  // Same atom counts per system: only positions, cells and pbc differ.
  check(systems(small_box(dt, rng), cluster(dt, rng)), "first structure again");
  {
    std::mt19937_64 r2(10);
    AtomicData a = small_box(dt, r2);
    AtomicData b = slab(dt, r2);  // 64 atoms too, other cell and pbc
    check(systems(std::move(b), cluster(dt, rng)), "same atoms_ptr, other cell and pbc");
    check(systems(std::move(a), cluster(dt, rng)), "same atoms_ptr, back");
  }
}

// Forces are -dE/dx of the GPU energies (float64, shifted energy so no pair jumps at the cutoff).
TEST_F(LJGpu, ForcesAreMinusGradientOfEnergy) {
  std::mt19937_64 rng(11);
  LJConfig cfg;
  cfg.shift_energy = true;
  Batch cpu = Batch::from_systems(
      systems(tiny_box(DType::Float64, rng), triclinic(DType::Float64, rng), cluster(DType::Float64, rng, 20)));
  Batch gpu = cpu.to(kGpu);
  LennardJones m(cfg);
  m.compute(gpu, false);
  const std::vector<double> f0 = to_doubles(gpu.get("forces"));
  double fmax = 0;
  for (double f : f0) fmax = std::max(fmax, std::abs(f));
  ASSERT_GT(fmax, 1e-3);
  const double h = 1e-5;
  const std::int64_t* ptr = cpu.atoms_ptr_data();
  const std::int64_t* sys = cpu.system_index().data<std::int64_t>();
  auto* x = cpu.get("positions").data<double>();
  for (std::int64_t i : {0L, 1L, 2L, 40L, 77L, 126L, 130L, 146L}) {
    const std::int64_t s = sys[i];
    for (int d = 0; d < 3; ++d) {
      const double x0 = x[3 * i + d];
      double e[2];
      for (int sign = 0; sign < 2; ++sign) {
        x[3 * i + d] = x0 + (sign == 0 ? h : -h);
        gpu.get("positions").copy_from(cpu.get("positions"));
        m.compute(gpu, false);
        e[sign] = to_doubles(gpu.get("energy"))[static_cast<std::size_t>(s)];
      }
      x[3 * i + d] = x0;
      const double fd = -(e[0] - e[1]) / (2 * h);
      const double f = f0[static_cast<std::size_t>(3 * i + d)];
      EXPECT_NEAR(f, fd, 1e-6 + 1e-6 * std::abs(f))
          << "atom " << i << " (system " << s << ", first atom " << ptr[s] << ") component " << d;
    }
  }
}

// W_ab = -dE/d(eps_ab) for x -> x (I + eps), cell -> cell (I + eps): each deformation changes the
// cell on the device, which must trigger a rebuild with the new cell.
TEST_F(LJGpu, VirialIsMinusStrainDerivativeOfEnergy) {
  std::mt19937_64 rng(12);
  LJConfig cfg;
  cfg.shift_energy = true;
  Batch cpu = Batch::from_systems(systems(triclinic(DType::Float64, rng), tiny_box(DType::Float64, rng)));
  Batch gpu = cpu.to(kGpu);
  LennardJones m(cfg);
  m.compute(gpu, true);
  const std::vector<double> w0 = to_doubles(gpu.get("virial"));
  const std::vector<double> x0 = to_doubles(cpu.get("positions"));
  const std::vector<double> c0 = to_doubles(cpu.get("cell"));
  const double eps = 1e-6;
  const std::int64_t builds_before = m.neighbor_builds();
  for (std::size_t a = 0; a < 3; ++a)
    for (std::size_t b = 0; b < 3; ++b) {
      double e[2][2];
      for (int sign = 0; sign < 2; ++sign) {
        const double de = sign == 0 ? eps : -eps;
        auto* x = cpu.get("positions").data<double>();
        auto* c = cpu.get("cell").data<double>();
        std::copy(x0.begin(), x0.end(), x);
        std::copy(c0.begin(), c0.end(), c);
        for (std::size_t i = 0; i < x0.size() / 3; ++i) x[3 * i + b] += de * x0[3 * i + a];
        for (std::size_t r = 0; r < 6; ++r) c[3 * r + b] += de * c0[3 * r + a];  // rows of both cells
        gpu.get("positions").copy_from(cpu.get("positions"));
        gpu.get("cell").copy_from(cpu.get("cell"));
        m.compute(gpu, false);
        const auto en = to_doubles(gpu.get("energy"));
        e[sign][0] = en[0];
        e[sign][1] = en[1];
      }
      for (int s = 0; s < 2; ++s) {
        const double w_fd = -(e[0][s] - e[1][s]) / (2 * eps);
        EXPECT_NEAR(w0[9 * static_cast<std::size_t>(s) + 3 * a + b], w_fd, 1e-5 * (1 + std::abs(w_fd)))
            << "system " << s << " W[" << a << "][" << b << "]";
      }
    }
  EXPECT_GE(m.neighbor_builds(), builds_before + 18);  // every changed cell rebuilt the list
}

// Two models on the same batch give bitwise the same results (deterministic list and sums).
TEST_F(LJGpu, Deterministic) {
  std::mt19937_64 rng(13);
  Batch gpu = Batch::from_systems(
                  systems(liquid(DType::Float32, rng), cluster(DType::Float32, rng), tiny_box(DType::Float32, rng)))
                  .to(kGpu);
  LennardJones a{LJConfig{}}, b{LJConfig{}};
  a.compute(gpu, true);
  const Result ra = result_of(gpu, true);
  b.compute(gpu, true);
  const Result rb = result_of(gpu, true);
  EXPECT_EQ(ra.forces, rb.forces);
  EXPECT_EQ(ra.energy, rb.energy);
  EXPECT_EQ(ra.virial, rb.virial);
}

// NaN positions are reported (naming system and atom) at the next call after a sync, and within
// two calls without one.
TEST_F(LJGpu, NonFinitePositionIsReported) {
  for (bool sync : {true, false}) {
    std::mt19937_64 rng(14);
    Batch cpu = Batch::from_systems(systems(cluster(DType::Float64, rng), small_box(DType::Float64, rng)));
    Batch gpu = cpu.to(kGpu);
    LennardJones m{LJConfig{}};
    m.compute(gpu, false);
    double& y = cpu.get("positions").data<double>()[3 * 60 + 1];  // system 1, atom 5
    const double y0 = y;
    y = std::nan("");
    gpu.get("positions").copy_from(cpu.get("positions"));
    std::string msg;
    int calls = 0;
    try {
      for (calls = 1; calls <= 3; ++calls) {
        m.compute(gpu, false);
        if (sync) (void)to_doubles(gpu.get("forces"));
      }
    } catch (const NumericalError& e) {
      msg = e.what();
    }
    ASSERT_FALSE(msg.empty()) << "no NumericalError";
    EXPECT_LE(calls, sync ? 2 : 3) << msg;
    EXPECT_NE(msg.find("system 1, atom 5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("not finite"), std::string::npos) << msg;
    // Fixed positions work again.
    y = y0;
    gpu.get("positions").copy_from(cpu.get("positions"));
    EXPECT_NO_THROW(m.compute(gpu, false));
    EXPECT_NO_THROW(m.compute(gpu, false));
  }
}

// A structure compressed far beyond its starting density overflows the list: NumericalError.
TEST_F(LJGpu, ListOverflowIsReported) {
  std::mt19937_64 rng(15);
  Batch cpu = Batch::from_systems(systems(liquid(DType::Float64, rng)));
  Batch gpu = cpu.to(kGpu);
  LennardJones m{LJConfig{}};
  m.compute(gpu, false);
  // Shrink by 0.6: 4.6x the density (the list has room for 1.5x + 16).
  for (const char* f : {"positions", "cell"}) {
    auto* v = cpu.get(f).data<double>();
    for (std::int64_t k = 0; k < cpu.get(f).numel(); ++k) v[k] *= 0.6;
    gpu.get(f).copy_from(cpu.get(f));
  }
  std::string msg;
  try {
    for (int calls = 0; calls < 3; ++calls) m.compute(gpu, false);
  } catch (const NumericalError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("overflowed"), std::string::npos) << msg;
}

// restore_state: a new model restored from state() holds the same list, so it gives bitwise the
// same results and rebuilds at the same steps as the model it continues.
TEST_F(LJGpu, RestoreState) {
  std::mt19937_64 rng(16);
  Batch cpu = Batch::from_systems(systems(liquid(DType::Float64, rng), cluster(DType::Float64, rng)));
  Batch gpu = cpu.to(kGpu);
  LennardJones a{LJConfig{}};
  std::normal_distribution<double> step(0, 0.08);
  auto move = [&] {
    auto* x = cpu.get("positions").data<double>();
    for (std::int64_t k = 0; k < 3 * cpu.n_atoms(); ++k) x[k] += step(rng);
    gpu.get("positions").copy_from(cpu.get("positions"));
  };
  a.compute(gpu, true);
  move();
  a.compute(gpu, true);  // most likely no rebuild: the reference is the first positions
  const std::vector<double> state = a.state();
  ASSERT_EQ(state.size(), static_cast<std::size_t>(3 * cpu.n_atoms()));
  LennardJones b{LJConfig{}};
  EXPECT_THROW(b.restore_state(gpu, std::vector<double>(6, 0.0)), InvalidArgument);
  b.restore_state(gpu, state);
  EXPECT_EQ(b.state(), state);
  for (int it = 0; it < 12; ++it) {
    move();
    a.compute(gpu, true);
    const Result ra = result_of(gpu, true);
    b.compute(gpu, true);
    const Result rb = result_of(gpu, true);
    EXPECT_EQ(ra.forces, rb.forces) << "step " << it;
    EXPECT_EQ(ra.energy, rb.energy) << "step " << it;
    EXPECT_EQ(ra.virial, rb.virial) << "step " << it;
    EXPECT_EQ(a.state(), b.state()) << "step " << it;
  }
  EXPECT_GT(a.neighbor_builds(), 1);
}

// After the first call (setup) and a warm-up, steps — rebuilds included — allocate no GPU memory.
TEST_F(LJGpu, NoCudaMallocOnceWarm) {
  std::mt19937_64 rng(17);
  Batch cpu = Batch::from_systems(systems(liquid(DType::Float32, rng), cluster(DType::Float32, rng)));
  Batch gpu = cpu.to(kGpu);
  LennardJones m{LJConfig{}};
  std::normal_distribution<double> step(0, 0.05);
  auto move = [&] {
    auto* x = cpu.get("positions").data<float>();
    for (std::int64_t k = 0; k < 3 * cpu.n_atoms(); ++k) x[k] = static_cast<float>(x[k] + step(rng) + 0.1);
    gpu.get("positions").copy_from(cpu.get("positions"));
  };
  m.compute(gpu, true);
  move();
  m.compute(gpu, true);
  const auto before = cuda::allocator_stats();
  const std::int64_t builds = m.neighbor_builds();
  for (int it = 0; it < 20; ++it) {
    move();
    m.compute(gpu, it % 2 == 0);
  }
  const auto after = cuda::allocator_stats();
  EXPECT_EQ(after.cuda_mallocs, before.cuda_mallocs);
  EXPECT_GT(m.neighbor_builds(), builds);
}

}  // namespace
}  // namespace batchmd::model
