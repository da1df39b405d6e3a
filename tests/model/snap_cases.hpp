// SPDX-License-Identifier: Apache-2.0
// SNAP's and ZBL's tests written once for every backend: compute() on a batch on the backend,
// checked on the CPU against central differences of the energy (float64) or the float64 model
// (float32), on a GPU against the CPU model on the same batch — every shipped model family
// (Ta06A + ZBL, W 2J=8, W-Be, InP chemflag, Cu quadratic) and synthetic models for every flag the
// kernels branch on; periodic, triclinic, slab, open and empty systems in one batch; batched equal
// to separate (bit for bit: no atomics anywhere); atoms wrapped back into the cell between calls
// (the image-shift upload on a GPU); MD following the reference; the error for an uncovered
// element. test_snap_model.cpp (test_snap, CI) instantiates the bodies with {cpu},
// test_snap_gpu.cpp (test_snap_gpu, the GPU machine) with {cuda}. Energies themselves are checked
// against LAMMPS by test_snap_reference.cpp and test_zbl.cpp.
//
// Tolerances (expect_agree), a result against its reference (GPU against CPU: the same arithmetic
// in a different order, Z on the fly, per-warp partial sums; CPU float32 against float64): float64
// 1e-10 relative to the force scale and to |E| + n; float32 2e-4 of the force scale, 2e-5 of
// |E| + n (float32 sums of ~50 neighbor terms of U, then Z products). Central differences:
// 2e-7 of the system's force or virial scale (worst seen 3e-8). On the CPU, float32 against float64
// to half the float32 tolerances (worst seen 24% of them).
#pragma once
#include <gtest/gtest.h>

#include <random>

#include "batchmd/core/error.hpp"
#include "batchmd/model/snap.hpp"
#include "batchmd/model/snap_potential.hpp"
#include "batchmd/model/zbl.hpp"
#include "model_backend_support.hpp"

namespace batchmd::model::snap_cases {

using namespace backend_cases;

class SnapOn : public ModelOn {};

// A mixed batch of bcc crystals (mixed_cubic): elements from zs in turn.
inline std::vector<Sys> mixed(double a, const std::vector<std::int64_t>& zs, std::uint64_t seed) {
  return mixed_cubic(bcc, a, zs, seed, 0.15, 0.2, [](std::size_t i) { return i; });
}

inline void expect_agree(const Out& c, const Out& g, const Batch& b, bool f32, double scale, const std::string& where) {
  expect_agree_per_system(c, g, b, f32, scale, false, where);
}

inline constexpr double kFdRel = 2e-7;

inline Make shipped(const std::string& file) {
  return [file] { return load_snap_potential(kPotentials + file); };
}

TEST_P(SnapOn, ShippedModelsAgreeWithTheReference) {
  const Backend be = backend();
  for (DType dt : {DType::Float64, DType::Float32}) {
    const std::string t = dtype_tag(dt);
    expect_agrees(be, shipped("Ta06A.snap"), mixed(3.316, {73}, 1), dt, expect_agree, kFdRel, "Ta06A" + t);
    expect_agrees(be, shipped("W_2940_2017_2.snap"), mixed(3.1803, {74}, 2), dt, expect_agree, kFdRel, "W 2J=8" + t);
    expect_agrees(be, shipped("WBe_Wood_PRB2019.snap"), mixed(3.1803, {74, 74, 4}, 3), dt, expect_agree, kFdRel,
                  "W-Be" + t);
    expect_agrees(be, shipped("Cu_Zuo_JPCA2020.quadratic.snap"), mixed(2.9, {29}, 4), dt, expect_agree, kFdRel,
                  "Cu quadratic" + t);
  }
  expect_agrees(be, shipped("InP_JCPA2020.snap"), mixed(3.0, {49, 15}, 5), DType::Float64, expect_agree, kFdRel,
                "InP chemflag");
  // LAMMPS's chemflag adjoint is not the derivative of the energy for asymmetric coefficients
  // (test_snap_physics.cpp): on the CPU its reference is the float64 CPU model itself, so only
  // the GPU checks it here; the CPU checks it against LAMMPS (test_snap_reference.cpp).
  if (be == Backend::Cuda)
    expect_agrees(
        be,
        [] {
          SNAPPotentialFile f = read_snap_potential(kPotentials + "InP_JCPA2020.snap");
          f.snap.lammps_chemflag_forces = true;
          return std::make_shared<SNAP>(f.snap);
        },
        mixed(3.0, {49, 15}, 6), DType::Float64, expect_agree, kFdRel, "InP, LAMMPS's chemflag adjoint");
}

TEST_P(SnapOn, EveryFlagAgreesWithTheReference) {
  struct Case {
    bool chem, quad, bnorm, wselfall, inner, bzero, switchflag;
    double rmin0;
  };
  const Case cases[] = {{true, true, false, true, true, true, true, 0.3},
                        {false, false, true, false, true, false, false, 0.0},
                        {true, false, true, false, false, true, true, 0.0}};
  int k = 0;
  for (const Case& c : cases) {
    auto make = [&c, k] {
      SNAPConfig cfg;
      auto& p = cfg.params;
      p.rcutfac = 1.0;
      p.twojmax = 5;  // odd: the mirrored row of the last layer
      p.rmin0 = c.rmin0;
      p.bzeroflag = c.bzero;
      p.switchflag = c.switchflag;
      p.quadraticflag = c.quad;
      p.chemflag = c.chem;
      p.bnormflag = c.bnorm;
      p.wselfallflag = c.wselfall;
      p.switchinnerflag = c.inner;
      p.elements = {{"W", 74, 2.3, 1.0, {}}, {"Be", 4, 2.0, 0.8, {}}, {"Ta", 73, 2.2, 0.9, {}}};
      if (c.inner) {
        p.sinner = {2.0, 1.8, 1.9};
        p.dinner = {0.6, 0.5, 0.4};
      }
      std::mt19937_64 rng(40 + k);
      std::uniform_real_distribution<double> u(-1, 1);
      const int n = p.coefficients_per_element();
      for (auto& e : p.elements) {
        e.coefficients.resize(static_cast<std::size_t>(n));
        for (int q = 0; q < n; ++q) e.coefficients[q] = (q <= p.descriptors() ? 0.05 : 1e-4) * u(rng);
      }
      return std::shared_ptr<Model>(std::make_shared<SNAP>(cfg));
    };
    expect_agrees(backend(), make, mixed(3.1803, {74, 4, 73}, 10 + k), DType::Float64, expect_agree, kFdRel,
                  "flag case " + std::to_string(k));
    ++k;
  }
}

TEST_P(SnapOn, ZblAgreesWithTheReference) {
  for (DType dt : {DType::Float64, DType::Float32}) {
    expect_agrees(
        backend(),
        [] {
          ZBLConfig c;
          c.inner = 2.0;
          c.outer = 4.0;
          c.pairs = ElementPairs({{74, 74}, {74, 4}});
          return std::make_shared<ZBL>(c);
        },
        mixed(3.1803, {74, 4}, 20), dt, expect_agree, kFdRel, "ZBL" + dtype_tag(dt));
  }
}

TEST_P(SnapOn, BatchedEqualsSeparateBitForBit) {
  const Make make = shipped("WBe_Wood_PRB2019.snap");
  expect_batched_equals_separate(backend(), make, mixed(3.1803, {74, 74, 4}, 30), true, "mixed, fresh models");
  // A crystal with one Be, a W-Be triclinic cell, an empty system and an open cluster; each system
  // alone on the batch's model (its list built for the batch).
  Sys crystal = bcc(3, 3.1803, 74);
  crystal.z[5] = 4;
  jitter(crystal, 0.1, 12);
  Sys cluster = bcc(2, 3.1803, 74);
  cluster.pbc = {false, false, false};
  cluster.cell.assign(9, 0.0);
  jitter(cluster, 0.2, 13);
  Sys empty;
  empty.cell = {10, 0, 0, 0, 10, 0, 0, 0, 10};
  expect_batched_equals_separate(backend(), make, {crystal, wbe_triclinic(14), empty, cluster}, false,
                                 "one model reused");
}

TEST_P(SnapOn, AtomsWrappedBetweenCallsKeepTheirNeighbors) {
  // Every third atom of a periodic crystal moved by a lattice vector between two calls (what a
  // wrap hook does): no rebuild, the per-atom image shifts change, the results must not.
  Sys s = bcc(3, 3.316, 73);
  jitter(s, 0.1, 31);
  const auto& c = s.cell;
  expect_wrapped_atoms_change_nothing(backend(), shipped("Ta06A.snap"), s, {c[0] - c[3], c[1] - c[4], c[2] - c[5]},
                                      1e-10, "Ta06A");
}

TEST_P(SnapOn, MolecularDynamicsFollowsTheReference) {
  // 50 NVE steps of 1 fs of Ta06A from 600 K (rebuilds included): on a GPU positions follow the
  // CPU's to the accumulated rounding of 50 steps; on the CPU the total energy is conserved.
  Sys s = bcc(3, 3.316, 73);
  s.masses.assign(static_cast<std::size_t>(s.n()), 180.88);
  Batch host = batch_of({s});
  dynamics::maxwell_boltzmann(host, 600.0, 5);
  expect_md_follows_reference(backend(), shipped("Ta06A.snap"), host, 1.0, 50, 1e-8, 1e-8, true,
                              1e-5);  // drift seen 7.5e-7
}

TEST_P(SnapOn, UncoveredElementIsAnError) {
  auto m = load_snap_potential(kPotentials + "Ta06A.snap");
  Sys s = bcc(2, 3.316, 73);
  s.z[5] = 74;
  Batch b = batch_of({s}).to(device());
  EXPECT_THROW(m->compute(b), InvalidArgument);
}

}  // namespace batchmd::model::snap_cases
