// SPDX-License-Identifier: Apache-2.0
// Stillinger–Weber's and Morse's tests written once for every backend: compute() on a batch on the
// backend, checked on the CPU against central differences of the energy (float64) or the float64
// model (float32), on a GPU against the CPU model on the same batch — Si.sw, GaN.sw, the
// six-element CdTeZnSeHgS0.sw and Morse with and without shift; periodic, triclinic, slab, open,
// dense (more neighbors than the GPU kernel keeps locally) and empty systems in one batch; float64
// and float32; batched equal to separate (bit for bit: no atomics); atoms wrapped back into the
// cell between calls; MD following the reference; the uncovered-element error.
// test_sw_model.cpp (test_sw, CI) instantiates the bodies with {cpu}, test_sw_gpu.cpp
// (test_sw_gpu, the GPU machine) with {cuda}. Energies themselves are checked against LAMMPS by
// test_sw.cpp and test_morse.cpp.
//
// Tolerances (expect_agree), a result against its reference (GPU against CPU: the same pairs in
// the same order and the same arithmetic, CUDA's exp and FMA contraction differing in the last
// bits; CPU float32 against float64): float64 1e-10 relative to the system's force scale and to
// |E| + n; float32 2e-4 of the force scale, 2e-5 of |E| + n. Central differences:
// 2e-7 of the system's force or virial scale (worst seen 3e-8). On the CPU, float32 against float64
// to half the float32 tolerances (worst seen 24% of them).
#pragma once
#include <gtest/gtest.h>

#include "batchmd/core/error.hpp"
#include "batchmd/model/morse.hpp"
#include "batchmd/model/stillinger_weber.hpp"
#include "model_backend_support.hpp"

namespace batchmd::model::sw_cases {

using namespace backend_cases;

class SwOn : public ModelOn {};

inline std::shared_ptr<Model> sw(const std::string& file) {
  SWConfig c;
  c.params = read_sw_file(kPotentials + file);
  return std::make_shared<StillingerWeber>(std::move(c));
}
inline std::shared_ptr<Model> morse(bool shift) {
  MorseConfig c;
  c.pairs = {
      {29, 29, 0.3429, 1.3588, 2.866, 5.5}, {47, 47, 0.3323, 1.369, 3.115, 6.0}, {29, 47, 0.33, 1.36, 2.99, 5.8}};
  c.shift_energy = shift;
  return std::make_shared<Morse>(c);
}

// A mixed batch on a zincblende lattice of constant a: a displaced crystal, a triclinic random
// alloy, a slab, an empty system, an open cluster and a dense amorphous cell; elements from zs.
inline std::vector<Sys> mixed(double a, const std::vector<std::int64_t>& zs, double dmin, std::uint64_t seed) {
  Sys crystal = zincblende(2, 2, 2, a, zs[0], zs[zs.size() - 1]);
  jitter(crystal, 0.12, seed);
  const Sys tri = random_alloy({2 * a, 0, 0, 0.3 * a, 2 * a, 0, -0.2 * a, 0.25 * a, 2 * a}, {true, true, true}, 50,
                               dmin, zs, seed + 1);
  Sys slab = zincblende(2, 2, 1, a, zs[0], zs[zs.size() - 1]);
  jitter(slab, 0.1, seed + 2);
  open_along(slab, 2);
  Sys cluster = zincblende(1, 1, 1, a, zs[0], zs[zs.size() - 1]);
  jitter(cluster, 0.1, seed + 3);
  for (int d = 0; d < 3; ++d) open_along(cluster, d);
  const Sys dense = random_alloy({7.0, 0, 0, 0.8, 7.0, 0, -0.6, 0.5, 7.0}, {true, true, true}, 80, 1.1, zs, seed + 4);
  Sys empty;
  empty.cell = {10, 0, 0, 0, 10, 0, 0, 0, 10};
  return {crystal, tri, slab, empty, cluster, dense};
}

inline void expect_agree(const Out& c, const Out& g, const Batch& b, bool f32, double scale, const std::string& where) {
  expect_agree_per_system(c, g, b, f32, scale, true, where);
}

inline constexpr double kFdRel = 2e-7;

TEST_P(SwOn, StillingerWeberAgreesWithTheReference) {
  for (DType dt : {DType::Float64, DType::Float32}) {
    const std::string t = dtype_tag(dt);
    expect_agrees(
        backend(), [] { return sw("Si.sw"); }, mixed(5.431, {14}, 2.1, 1), dt, expect_agree, kFdRel, "Si.sw" + t);
    expect_agrees(
        backend(), [] { return sw("GaN.sw"); }, mixed(4.5, {31, 7}, 1.75, 2), dt, expect_agree, kFdRel, "GaN.sw" + t);
    expect_agrees(
        backend(), [] { return sw("CdTeZnSeHgS0.sw"); }, mixed(6.4, {48, 52, 30, 34, 80, 16}, 2.3, 3), dt, expect_agree,
        kFdRel, "six" + t);
  }
}

TEST_P(SwOn, MorseAgreesWithTheReference) {
  for (DType dt : {DType::Float64, DType::Float32})
    for (bool shift : {false, true})
      expect_agrees(
          backend(), [shift] { return morse(shift); }, mixed(3.7, {29, 47}, 1.6, 4), dt, expect_agree, kFdRel,
          std::string(shift ? "shifted" : "unshifted") + dtype_tag(dt));
}

TEST_P(SwOn, BatchedEqualsSeparateBitForBit) {
  expect_batched_equals_separate(
      backend(), [] { return sw("GaN.sw"); }, mixed(4.5, {31, 7}, 1.75, 5), true, "GaN");
  // Si: a displaced crystal, a slab open along y, an open cluster.
  Sys a = zincblende(2, 2, 2, 5.431, 14, 14);
  jitter(a, 0.1, 13);
  Sys b = zincblende(3, 2, 2, 5.431, 14, 14);
  jitter(b, 0.1, 14);
  open_along(b, 1);
  Sys c = zincblende(2, 2, 2, 5.431, 14, 14);
  for (int d = 0; d < 3; ++d) open_along(c, d);
  expect_batched_equals_separate(
      backend(), [] { return sw("Si.sw"); }, {a, b, c}, true, "Si");
}

TEST_P(SwOn, AtomsWrappedBetweenCallsKeepTheirNeighbors) {
  // Tolerance: on the CPU 1e-12 (the same pairs, other image shifts); on a GPU 1e-10.
  const double tol = on_cpu() ? 1e-12 : 1e-10;
  const Make make = [] { return sw("Si.sw"); };
  Sys s = zincblende(3, 3, 3, 5.431, 14, 14);
  jitter(s, 0.1, 6);
  const auto& c = s.cell;
  expect_wrapped_atoms_change_nothing(backend(), make, s, {c[0] - c[3], c[1] - c[4], c[2] - c[5]}, tol, "a - b");
  Sys t = zincblende(3, 3, 3, 5.431, 14, 14);
  jitter(t, 0.1, 19);
  expect_wrapped_atoms_change_nothing(
      backend(), make, t, {c[0] - c[3] + 2 * c[6], c[1] - c[4] + 2 * c[7], c[2] - c[5] + 2 * c[8]}, tol, "a - b + 2c");
}

TEST_P(SwOn, MolecularDynamicsFollowsTheReference) {
  // 50 NVE steps of 1 fs of Si.sw from 1000 K (rebuilds included): on a GPU the run follows the
  // CPU's; on the CPU the total energy is conserved.
  Sys s = zincblende(3, 3, 3, 5.431, 14, 14);
  s.masses.assign(static_cast<std::size_t>(s.n()), 28.0855);
  Batch host = batch_of({s});
  dynamics::maxwell_boltzmann(host, 1000.0, 7);
  expect_md_follows_reference(
      backend(), [] { return sw("Si.sw"); }, host, 1.0, 50, 1e-8, 1e-8, true, 2e-4);  // drift seen 3.6e-5
}

TEST_P(SwOn, UncoveredElementIsAnError) {
  auto m = sw("GaN.sw");
  Sys s = zincblende(2, 2, 2, 4.5, 31, 7);
  s.z[5] = 14;
  Batch b = batch_of({s}).to(device());
  EXPECT_THROW(m->compute(b), InvalidArgument);
  auto mo = morse(false);
  Sys c = fcc(2, 3.615, 29);
  c.z[3] = 28;  // no Cu-Ni entry
  Batch bc = batch_of({c}).to(device());
  EXPECT_THROW(mo->compute(bc), InvalidArgument);
}

}  // namespace batchmd::model::sw_cases
