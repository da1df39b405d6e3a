// SPDX-License-Identifier: Apache-2.0
// The Lennard-Jones model's tests, written once for every backend: LennardJones::compute on a
// batch on the CPU is checked against an independent reference (direct sums over every periodic
// image, tests/model/model_test_util.hpp; finite differences), on a GPU against the CPU model on
// the same input. test_lj_model.cpp (test_model, run by CI) instantiates them with {cpu},
// test_lj_gpu.cpp (test_model_gpu, run on the GPU machine) with {cuda}.
//
// Cases: periodic liquids, boxes smaller than 2 (cutoff + skin) (several images of an atom, its own
// included), triclinic cells, slabs and wires (mixed pbc), open clusters, empty systems, mixed
// batches and two species with overrides; many steps with random moves, drift out of the cell and
// lattice jumps (the list reused, rebuilt only when needed); structure and cell changes; finite
// differences and strain derivatives; reported non-finite positions; restore_state; determinism.
//
// Tolerances (expect_agree, lj_model_support.hpp), a result against a reference that sums the
// same pairs in another order or exactly (a GPU's full list in T against the CPU's half list; a
// reused list against a fresh one; the CPU against the direct sum in double):
//  - forces: float64 1e-10, float32 2e-5, relative to the force scale max|F| + 100 eps/sigma (each
//    side rounds ~100 pair forces per atom at 6e-8; a host emulation of the kernels reached 0.4e-5);
//  - energies and virials: float64 1e-10, float32 3e-5, relative to |value| + 10 n eps (n atoms of
//    the system; float32 virials sum ~100 pair terms r*F per atom, each rounded at 1e-7);
//  - stress: the virial tolerance divided by the volume.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "../support/backend.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/core/tensor.hpp"
#include "batchmd/data/batch.hpp"
#include "batchmd/model/lennard_jones.hpp"
#include "lj_model_support.hpp"

namespace batchmd::model::lj_cases {

using test_support::Backend;
using test_support::backend_name;
using test_support::device_of;

// ---------------------------------------------------------------------------------------------
// Fixtures: (backend, dtype) and backend alone (float64 or fixed-dtype cases).

class LJModel : public ::testing::TestWithParam<std::tuple<Backend, DType>> {
 protected:
  void SetUp() override { test_support::require_backend(backend()); }
  Backend backend() const { return std::get<0>(GetParam()); }
  DType dt() const { return std::get<1>(GetParam()); }
};
inline std::string lj_model_name(const ::testing::TestParamInfo<std::tuple<Backend, DType>>& p) {
  return backend_name(std::get<0>(p.param)) + "_" + std::string(dtype_name(std::get<1>(p.param)));
}

class LJModelOn : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { test_support::require_backend(GetParam()); }
  Backend backend() const { return GetParam(); }
};
inline std::string lj_backend_name(const ::testing::TestParamInfo<Backend>& p) { return backend_name(p.param); }

// ---------------------------------------------------------------------------------------------
// One structure, one model.

TEST_P(LJModel, PeriodicLiquid) {
  std::mt19937_64 rng(1);
  agree_once(backend(), systems(liquid(dt(), rng)), LJConfig{}, "liquid");
}

TEST_P(LJModel, BoxesSmallerThanTwiceTheCutoff) {
  std::mt19937_64 rng(2);
  agree_once(backend(), systems(small_box(dt(), rng), small_box(dt(), rng)), LJConfig{}, "64-atom boxes");
  agree_once(backend(), systems(tiny_box(dt(), rng)), LJConfig{}, "2-atom triclinic box");
}

TEST_P(LJModel, TriclinicCell) {
  std::mt19937_64 rng(3);
  agree_once(backend(), systems(triclinic(dt(), rng)), LJConfig{}, "triclinic");
}

TEST_P(LJModel, MixedPbc) {
  std::mt19937_64 rng(4);
  agree_once(backend(), systems(slab(dt(), rng)), LJConfig{}, "slab");
  agree_once(backend(), systems(wire(dt(), rng)), LJConfig{}, "wire");
}

TEST_P(LJModel, OpenClusters) {
  std::mt19937_64 rng(5);
  agree_once(backend(), systems(cluster(dt(), rng, 55), cluster(dt(), rng, 13), cluster(dt(), rng, 1)), LJConfig{},
             "clusters");
}

TEST_P(LJModel, MixedBatch) {
  std::mt19937_64 rng(6);
  const DType d = dt();
  agree_once(backend(),
             systems(cluster(d, rng), liquid(d, rng), tiny_box(d, rng), empty_system(d), slab(d, rng),
                     small_box(d, rng), wire(d, rng), triclinic(d, rng), cluster(d, rng, 13)),
             LJConfig{}, "mixed batch");
}

TEST_P(LJModel, TwoSpeciesWithOverrides) {
  std::mt19937_64 rng(7);
  const DType d = dt();
  agree_once(backend(),
             systems(with_species(liquid(d, rng)), with_species(cluster(d, rng)), with_species(slab(d, rng))),
             two_species(false), "two species");
  agree_once(backend(), systems(with_species(small_box(d, rng)), with_species(triclinic(d, rng))), two_species(true),
             "two species, shifted");
}

// ---------------------------------------------------------------------------------------------
// A model kept across calls.

// Random moves, a drift of every atom out of the cell and lattice jumps (as a wrap hook does): every
// step is right and the list is reused between rebuilds. CPU: each step against a model built
// afresh (and the direct sum at the first and last steps), with rebuilds far fewer than steps. GPU:
// each step against a CPU model kept alike, rebuilding at the same steps from the same positions.
template <typename T>
void many_steps(Backend be) {
  std::mt19937_64 rng(8);
  const DType d = sizeof(T) == 4 ? DType::Float32 : DType::Float64;
  const LJConfig cfg = two_species(false);
  Batch host = Batch::from_systems(systems(liquid(d, rng), small_box(d, rng), tiny_box(d, rng), slab(d, rng),
                                           wire(d, rng), cluster(d, rng), with_species(triclinic(d, rng))));
  Batch dev = host.to(device_of(be));
  LennardJones m(cfg), cpu_kept(cfg);
  const bool f32 = d == DType::Float32;
  std::normal_distribution<double> step(0, 0.02);
  const double drift[3] = {0.09, -0.06, 0.05};  // Å per step
  const int n_steps = 60;
  for (int it = 0; it < n_steps; ++it) {
    const bool stress = it % 2 == 0;
    const std::string where = "step " + std::to_string(it);
    m.compute(dev, stress);
    const Result got = result_of(dev, stress);
    if (be == Backend::Cpu) {
      Batch fresh_batch = host.clone();
      LennardJones fresh(cfg);
      fresh.compute(fresh_batch, stress);
      expect_agree(result_of(fresh_batch, stress), got, host, f32, cfg, where + " (vs a fresh list)");
      if (it == n_steps - 1) expect_agree(brute_force(host, cfg, stress), got, host, f32, cfg, where);
    } else {
      cpu_kept.compute(host, stress);
      expect_agree(result_of(host, stress), got, host, f32, cfg, where + " (vs the CPU model)");
      EXPECT_EQ(m.neighbor_builds(), cpu_kept.neighbor_builds()) << where;
    }
    if (::testing::Test::HasFailure()) return;
    T* x = host.get("positions").data<T>();
    const T* cell = host.get("cell").data<T>();
    const bool* pbc = host.get("pbc").data<bool>();
    const std::int64_t* sys = host.system_index().data<std::int64_t>();
    const std::int64_t n = host.n_atoms();
    for (std::int64_t i = 0; i < n; ++i)
      for (int e = 0; e < 3; ++e) x[3 * i + e] = static_cast<T>(double(x[3 * i + e]) + step(rng) + drift[e]);
    if (it % 4 == 1)  // every 7th atom jumps by -1, 0 or 1 lattice vector along its periodic directions
      for (std::int64_t i = 0; i < n; i += 7) {
        const std::int64_t s = sys[i];
        for (int dd = 0; dd < 3; ++dd) {
          if (!pbc[3 * s + dd]) continue;
          const int k = static_cast<int>((i + it + dd) % 3) - 1;
          for (int e = 0; e < 3; ++e)
            x[3 * i + e] = static_cast<T>(double(x[3 * i + e]) + k * double(cell[9 * s + 3 * dd + e]));
        }
      }
    dev.get("positions").copy_from(host.get("positions"));
  }
  EXPECT_GE(m.neighbor_builds(), 8);
  EXPECT_LT(m.neighbor_builds(), n_steps / 2) << "the list is rebuilt more often than the skin needs";
  if (be == Backend::Cuda) {
    EXPECT_EQ(m.state(), cpu_kept.state());  // built from the same positions
  }
}

TEST_P(LJModel, ManyStepsWithRebuildsAndAtomsLeavingTheCell) {
  if (dt() == DType::Float32)
    many_steps<float>(backend());
  else
    many_steps<double>(backend());
}

// A batch of another structure, then one with the same atoms_ptr but other cells and atoms.
TEST_P(LJModel, StructureAndCellChanges) {
  std::mt19937_64 rng(9);
  const DType d = dt();
  const LJConfig cfg{};
  LennardJones m(cfg);
  auto check = [&](std::vector<AtomicData> sys, const std::string& where) {
    const Batch host = Batch::from_systems(sys);
    Batch dev = host.to(device_of(backend()));
    m.compute(dev, true);
    expect_correct(backend(), host, result_of(dev, true), cfg, where);
  };
  check(systems(small_box(d, rng), cluster(d, rng)), "first structure");
  check(systems(liquid(d, rng), tiny_box(d, rng), cluster(d, rng, 13)), "second structure");
  // Same atom counts per system: only positions, cells and pbc differ.
  check(systems(small_box(d, rng), cluster(d, rng)), "first structure again");
  {
    std::mt19937_64 r2(10);
    AtomicData a = small_box(d, r2);
    AtomicData b = slab(d, r2);  // 64 atoms too, other cell and pbc
    check(systems(std::move(b), cluster(d, rng)), "same atoms_ptr, other cell and pbc");
    check(systems(std::move(a), cluster(d, rng)), "same atoms_ptr, back");
  }
}

// Forces are -dE/dx of the backend's own energies (float64, shifted energy so no pair jumps at
// the cutoff).
TEST_P(LJModelOn, ForcesAreMinusGradientOfEnergy) {
  std::mt19937_64 rng(11);
  LJConfig cfg;
  cfg.shift_energy = true;
  Batch host = Batch::from_systems(
      systems(tiny_box(DType::Float64, rng), triclinic(DType::Float64, rng), cluster(DType::Float64, rng, 20)));
  Batch dev = host.to(device_of(backend()));
  LennardJones m(cfg);
  m.compute(dev, false);
  const std::vector<double> f0 = to_doubles(dev.get("forces"));
  double fmax = 0;
  for (double f : f0) fmax = std::max(fmax, std::abs(f));
  ASSERT_GT(fmax, 1e-3);
  const double h = 1e-5;
  const std::int64_t* ptr = host.atoms_ptr_data();
  const std::int64_t* sys = host.system_index().data<std::int64_t>();
  auto* x = host.get("positions").data<double>();
  for (std::int64_t i : {0L, 1L, 2L, 40L, 77L, 126L, 130L, 146L}) {
    const std::int64_t s = sys[i];
    for (int d = 0; d < 3; ++d) {
      const double x0 = x[3 * i + d];
      double e[2];
      for (int sign = 0; sign < 2; ++sign) {
        x[3 * i + d] = x0 + (sign == 0 ? h : -h);
        dev.get("positions").copy_from(host.get("positions"));
        m.compute(dev, false);
        e[sign] = to_doubles(dev.get("energy"))[static_cast<std::size_t>(s)];
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
// cell, which the model's list must follow (kept, the pair shifts taken in the new cell).
TEST_P(LJModelOn, VirialIsMinusStrainDerivativeOfEnergy) {
  std::mt19937_64 rng(12);
  LJConfig cfg;
  cfg.shift_energy = true;
  Batch host = Batch::from_systems(systems(triclinic(DType::Float64, rng), tiny_box(DType::Float64, rng)));
  Batch dev = host.to(device_of(backend()));
  LennardJones m(cfg);
  m.compute(dev, true);
  const std::vector<double> w0 = to_doubles(dev.get("virial"));
  const std::vector<double> x0 = to_doubles(host.get("positions"));
  const std::vector<double> c0 = to_doubles(host.get("cell"));
  const double eps = 1e-6;
  const std::int64_t builds_before = m.neighbor_builds();
  for (std::size_t a = 0; a < 3; ++a)
    for (std::size_t b = 0; b < 3; ++b) {
      double e[2][2];
      for (int sign = 0; sign < 2; ++sign) {
        const double de = sign == 0 ? eps : -eps;
        auto* x = host.get("positions").data<double>();
        auto* c = host.get("cell").data<double>();
        std::copy(x0.begin(), x0.end(), x);
        std::copy(c0.begin(), c0.end(), c);
        for (std::size_t i = 0; i < x0.size() / 3; ++i) x[3 * i + b] += de * x0[3 * i + a];
        for (std::size_t r = 0; r < 6; ++r) c[3 * r + b] += de * c0[3 * r + a];  // rows of both cells
        dev.get("positions").copy_from(host.get("positions"));
        dev.get("cell").copy_from(host.get("cell"));
        m.compute(dev, false);
        const auto en = to_doubles(dev.get("energy"));
        e[sign][0] = en[0];
        e[sign][1] = en[1];
      }
      for (int s = 0; s < 2; ++s) {
        const double w_fd = -(e[0][s] - e[1][s]) / (2 * eps);
        EXPECT_NEAR(w0[9 * static_cast<std::size_t>(s) + 3 * a + b], w_fd, 1e-5 * (1 + std::abs(w_fd)))
            << "system " << s << " W[" << a << "][" << b << "]";
      }
    }
  // Both cells are fully periodic: on every backend the list stays valid through these 1e-6
  // strains (the skin absorbs them: tests/dynamics/test_npt_neighbor.cpp), so none was rebuilt.
  EXPECT_EQ(m.neighbor_builds(), builds_before);
}

// Two models on the same batch give bitwise the same results (deterministic list and sums).
TEST_P(LJModelOn, Deterministic) {
  std::mt19937_64 rng(13);
  Batch dev = Batch::from_systems(
                  systems(liquid(DType::Float32, rng), cluster(DType::Float32, rng), tiny_box(DType::Float32, rng)))
                  .to(device_of(backend()));
  LennardJones a{LJConfig{}}, b{LJConfig{}};
  a.compute(dev, true);
  const Result ra = result_of(dev, true);
  b.compute(dev, true);
  const Result rb = result_of(dev, true);
  EXPECT_EQ(ra.forces, rb.forces);
  EXPECT_EQ(ra.energy, rb.energy);
  EXPECT_EQ(ra.virial, rb.virial);
}

// NaN positions are a NumericalError naming system and atom: on the CPU at once, on a GPU at the
// next call after a sync and within two calls without one. Fixed positions work again.
TEST_P(LJModelOn, NonFinitePositionIsReported) {
  for (bool sync : {true, false}) {
    std::mt19937_64 rng(14);
    Batch host = Batch::from_systems(systems(cluster(DType::Float64, rng), small_box(DType::Float64, rng)));
    Batch dev = host.to(device_of(backend()));
    LennardJones m{LJConfig{}};
    m.compute(dev, false);
    double& y = host.get("positions").data<double>()[3 * 60 + 1];  // system 1, atom 5
    const double y0 = y;
    y = std::nan("");
    dev.get("positions").copy_from(host.get("positions"));
    std::string msg;
    int calls = 0;
    try {
      for (calls = 1; calls <= 3; ++calls) {
        m.compute(dev, false);
        if (sync) (void)to_doubles(dev.get("forces"));
      }
    } catch (const NumericalError& e) {
      msg = e.what();
    }
    ASSERT_FALSE(msg.empty()) << "no NumericalError";
    EXPECT_LE(calls, backend() == Backend::Cpu ? 1 : (sync ? 2 : 3)) << msg;
    EXPECT_NE(msg.find("system 1, atom 5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("not finite"), std::string::npos) << msg;
    y = y0;
    dev.get("positions").copy_from(host.get("positions"));
    EXPECT_NO_THROW(m.compute(dev, false));
    EXPECT_NO_THROW(m.compute(dev, false));
  }
}

// restore_state: a new model restored from state() holds the same list, so it gives bitwise the
// same results and rebuilds at the same steps as the model it continues.
TEST_P(LJModelOn, RestoreState) {
  std::mt19937_64 rng(16);
  Batch host = Batch::from_systems(systems(liquid(DType::Float64, rng), cluster(DType::Float64, rng)));
  Batch dev = host.to(device_of(backend()));
  LennardJones a{LJConfig{}};
  std::normal_distribution<double> step(0, 0.08);
  auto move = [&] {
    auto* x = host.get("positions").data<double>();
    for (std::int64_t k = 0; k < 3 * host.n_atoms(); ++k) x[k] += step(rng);
    dev.get("positions").copy_from(host.get("positions"));
  };
  LennardJones on_cpu{LJConfig{}};  // the same history on the CPU: its state restarts a GPU model too
  a.compute(dev, true);
  if (backend() != Backend::Cpu) on_cpu.compute(host, true);
  move();
  a.compute(dev, true);  // most likely no rebuild: the reference is the first positions
  if (backend() != Backend::Cpu) on_cpu.compute(host, true);
  const std::vector<double> state = a.state();
  // Per atom, on either backend: the reference position and the cell the list was built in.
  ASSERT_EQ(state.size(), 12 * static_cast<std::size_t>(host.n_atoms()));
  LennardJones b{LJConfig{}};
  EXPECT_THROW(b.restore_state(dev, std::vector<double>(6, 0.0)), InvalidArgument);
  b.restore_state(dev, state);
  EXPECT_EQ(b.state(), state);
  LennardJones c{LJConfig{}};  // on the GPU: restored from the CPU model's state
  if (backend() != Backend::Cpu) {
    EXPECT_EQ(on_cpu.state(), state);
    c.restore_state(dev, on_cpu.state());
  }
  for (int it = 0; it < 12; ++it) {
    move();
    a.compute(dev, true);
    const Result ra = result_of(dev, true);
    b.compute(dev, true);
    const Result rb = result_of(dev, true);
    EXPECT_EQ(ra.forces, rb.forces) << "step " << it;
    EXPECT_EQ(ra.energy, rb.energy) << "step " << it;
    EXPECT_EQ(ra.virial, rb.virial) << "step " << it;
    EXPECT_EQ(a.state(), b.state()) << "step " << it;
    if (backend() != Backend::Cpu) {
      c.compute(dev, true);
      const Result rc = result_of(dev, true);
      EXPECT_EQ(ra.forces, rc.forces) << "step " << it;
      EXPECT_EQ(ra.energy, rc.energy) << "step " << it;
      EXPECT_EQ(a.state(), c.state()) << "step " << it;
    }
  }
  EXPECT_GT(a.neighbor_builds(), 1);
}

}  // namespace batchmd::model::lj_cases
