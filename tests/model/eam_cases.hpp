// SPDX-License-Identifier: Apache-2.0
// EAM's tests written once for every backend: compute() on a batch on the backend, checked on the
// CPU against central differences of the energy (float64) or the float64 model (float32), on a
// GPU against the CPU model on the same batch — for the three formats (Cu_u3.eam funcfl,
// AlCu.eam.alloy setfl, NiAlH_jea.eam.fs Finnis–Sinclair with asymmetric cross densities) on a
// mixed batch (periodic crystal, small triclinic cell, slab, empty system, open cluster) in
// float64 and float32; batched equal to separate (bit for bit: no atomics); an element
// restriction; MD following the reference; the error for an uncovered element.
// test_eam_model.cpp (test_eam, CI) instantiates the bodies with {cpu}, test_eam_gpu.cpp
// (test_eam_gpu, the GPU machine) with {cuda}. Energies themselves are checked against LAMMPS and
// ASE by test_eam_lammps.cpp and test_eam_ase.cpp.
//
// Tolerances (expect_agree), a result against its reference (GPU against CPU: the same arithmetic
// over a full list instead of a half list, so another summation order; CPU float32 against
// float64): float64 1e-10 of the force scale and of |E| + 1; float32 2e-4 and 2e-5. Central
// differences: 2e-7 of the system's force or virial scale (worst seen 3e-8). On the CPU, float32
// against float64 to half the float32 tolerances (worst seen 24% of them).
#pragma once
#include <gtest/gtest.h>

#include "batchmd/core/error.hpp"
#include "batchmd/model/eam.hpp"
#include "model_backend_support.hpp"

namespace batchmd::model::eam_cases {

using namespace backend_cases;

class EamOn : public ModelOn {};

// A mixed batch of fcc crystals (mixed_cubic): elements from zs, atom i taking zs[7 i + 3].
inline std::vector<Sys> mixed(double a, const std::vector<std::int64_t>& zs, std::uint64_t seed) {
  return mixed_cubic(fcc, a, zs, seed, 0.12, 0.12, [](std::size_t i) { return i * 7 + 3; });
}

inline void expect_agree(const Out& c, const Out& g, const Batch&, bool f32, double scale, const std::string& where) {
  const double tf = scale * (f32 ? 2e-4 : 1e-10), te = scale * (f32 ? 2e-5 : 1e-10);
  ASSERT_EQ(c.forces.size(), g.forces.size()) << where;
  const double fs = std::max(max_abs(c.forces), 1.0);
  for (std::size_t k = 0; k < c.forces.size(); ++k)
    EXPECT_NEAR(g.forces[k], c.forces[k], tf * fs) << where << " f" << k;
  for (std::size_t s = 0; s < c.energy.size(); ++s)
    EXPECT_NEAR(g.energy[s], c.energy[s], te * (std::abs(c.energy[s]) + 1)) << where << " E" << s;
  const double ws = std::max(max_abs(c.virial), 1.0);
  for (std::size_t k = 0; k < c.virial.size(); ++k)
    EXPECT_NEAR(g.virial[k], c.virial[k], tf * ws) << where << " W" << k;
  const double ss = std::max(max_abs(c.stress), 1e-3);
  for (std::size_t k = 0; k < c.stress.size(); ++k)
    EXPECT_NEAR(g.stress[k], c.stress[k], tf * ss) << where << " S" << k;
}

inline constexpr double kFdRel = 2e-7;

struct FileCase {
  std::string file;
  double a;
  std::vector<std::int64_t> z;
};

TEST_P(EamOn, ThreeFormatsAgreeWithTheReference) {
  for (const FileCase& fc : {FileCase{"Cu_u3.eam", 3.615, {29}}, FileCase{"AlCu.eam.alloy", 3.9, {13, 29}},
                             FileCase{"NiAlH_jea.eam.fs", 3.52, {28, 13, 1}}}) {
    for (DType dt : {DType::Float64, DType::Float32}) {
      const std::string where = fc.file + dtype_tag(dt);
      const Make make = [&] { return load_eam({kPotentials + fc.file}); };
      auto m = make();
      const std::vector<Sys> systems = mixed(fc.a, fc.z, 3);
      const Batch host = batch_of(systems, dt);
      expect_correct(backend(), make, systems, dt, run(*m, host.to(device())), expect_agree, kFdRel, where);
      // A second call (the list is reused, displacements recomputed) gives the same.
      expect_correct(backend(), make, systems, dt, run(*m, host.to(device())), expect_agree, kFdRel,
                     where + " (second call)");
    }
  }
}

TEST_P(EamOn, BatchedEqualsSeparateBitForBit) {
  const Make make = [] { return load_eam({kPotentials + "AlCu.eam.alloy"}); };
  expect_batched_equals_separate(backend(), make, mixed(3.9, {13, 29}, 11), true, "mixed");
  // Triclinic alloys, a slab of one and an open Cu cluster.
  std::vector<Sys> systems{alcu_triclinic(5), fcc(3, 4.05, 13), alcu_triclinic(6)};
  jitter(systems[1], 0.1, 8);
  systems[2].pbc = {true, true, false};
  systems[2].cell[8] = 0;
  Sys cl = fcc(2, 3.615, 29);
  cl.pbc = {false, false, false};
  cl.cell.assign(9, 0.0);
  jitter(cl, 0.1, 9);
  systems.push_back(cl);
  expect_batched_equals_separate(backend(), make, systems, true, "alloys");
}

TEST_P(EamOn, ElementRestrictionAgreesWithTheReference) {
  const Make make = [] {
    EAMConfig c;
    c.tables = read_eam({kPotentials + "AlCu.eam.alloy"}, EAMFormat::Setfl);
    c.pairs = ElementPairs({{29, 29}, {13, 29}});  // no Al-Al: Al atoms are left out
    return std::make_shared<EAM>(std::move(c));
  };
  // He: not in the file, left out too.
  expect_agrees(backend(), make, mixed(3.9, {13, 29, 2}, 21), DType::Float64, expect_agree, kFdRel, "restricted");
}

TEST_P(EamOn, MolecularDynamicsFollowsTheReference) {
  // 100 steps of 2 fs of Cu_u3 from 600 K: on a GPU the run follows the CPU's; on the CPU the
  // total energy is conserved.
  Sys s = fcc(3, 3.615, 29);
  s.masses.assign(static_cast<std::size_t>(s.n()), 63.55);
  Batch host = batch_of({s});
  dynamics::maxwell_boltzmann(host, 600.0, 5);
  expect_md_follows_reference(
      backend(), [] { return load_eam({kPotentials + "Cu_u3.eam"}); }, host, 2.0, 100, 1e-7, 1e-8, false,
      1e-4);  // drift seen 2.0e-5
}

TEST_P(EamOn, UncoveredElementIsAnError) {
  auto m = load_eam({kPotentials + "Cu_u3.eam"});
  Sys s = fcc(2, 3.615, 29);
  s.z[3] = 28;
  Batch b = batch_of({s}).to(device());
  EXPECT_THROW(m->compute(b), InvalidArgument);
}

}  // namespace batchmd::model::eam_cases
