// SPDX-License-Identifier: Apache-2.0
// Tests of variable-cell FIRE (cell_relax.hpp): the 0 K lattice constant of an fcc LJ crystal at
// zero and at a finite pressure against a direct lattice sum (bisection on the virial), in the
// isotropic and full-cell modes; a strained, jittered triclinic cell relaxed to zero stress as
// ASE's UnitCellFilter + FIRE relaxes it (ASE run as a real process); the lattice constant and
// cohesive energy of EAM copper as LAMMPS's fix box/relax + minimize finds them (lmp run here);
// errors for open systems.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/cell_math.hpp"
#include "batchmd/dynamics/cell_relax.hpp"
#include "batchmd/dynamics/units.hpp"
#include "batchmd/model/eam.hpp"
#include "npt_test_util.hpp"

using namespace batchmd;
using namespace batchmd::dynamics;
using batchmd::npt_test::argon_model;

namespace {

constexpr double kEps = 0.0104, kSigma = 3.40, kCut = 8.5;

/// Static pressure (eV/Å³) of a perfect fcc LJ lattice of cubic constant a, truncated at kCut:
/// P = −(2/3) Σ_R |R| φ'(|R|) / a³ over the lattice vectors R ≠ 0 (4 atoms per a³).
double lattice_pressure(double a) {
  double sum = 0;
  const int n = static_cast<int>(std::ceil(2 * kCut / a)) + 1;
  for (int i = -n; i <= n; ++i)
    for (int j = -n; j <= n; ++j)
      for (int k = -n; k <= n; ++k) {
        if ((i + j + k) % 2 != 0 || (i == 0 && j == 0 && k == 0)) continue;
        const double r = 0.5 * a * std::sqrt(double(i * i + j * j + k * k));
        if (r >= kCut) continue;
        const double sr6 = std::pow(kSigma / r, 6);
        sum += r * 4 * kEps * (-12 * sr6 * sr6 + 6 * sr6) / r;
      }
  return -2.0 / 3.0 * sum / (a * a * a);
}

/// The lattice constant where lattice_pressure(a) = p, by bisection.
double lattice_constant(double p) {
  double lo = 5.0, hi = 5.6;  // P(lo) > p > P(hi)
  for (int it = 0; it < 200; ++it) {
    const double mid = 0.5 * (lo + hi);
    (lattice_pressure(mid) > p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

Batch fcc(double a, int cells, double jitter, int element = 18) {
  std::ostringstream t;
  t.precision(17);
  t << "seed = 8\n[[crystal]]\nlattice = \"fcc\"\na = " << a << "\ncells = [" << cells << ", " << cells << ", " << cells
    << "]\nelement = " << element << "\njitter = " << jitter << "\n";
  return dyn_test::argon(t.str());
}

FIRECellConfig relax_config(CellMode mode, double p_bar) {
  FIRECellConfig c;
  c.mode = mode;
  c.pressure = p_bar * units::kBar;
  c.fire.max_step = 0.1;
  return c;
}

}  // namespace

// The cubic lattice constant to 1e-6 Å from 5.5 Å (stretched) and 5.1 Å (compressed), at 0 and
// 2 kbar, with the hydrostatic and the full filter.
TEST(FIRECell, FindsFccLatticeConstantOfLJArgon) {
  for (double p_bar : {0.0, 2000.0}) {
    const double a_ref = lattice_constant(p_bar * units::kBar);
    for (CellMode mode : {CellMode::Isotropic, CellMode::Full}) {
      for (double a_start : {5.5, 5.1}) {
        Batch b = fcc(a_start, 4, 0.0);
        FIRECell opt(argon_model(), 2.0, relax_config(mode, p_bar));
        opt.set_convergence(Convergence::fmax(1e-6) & Convergence::stress(1e-10));
        const auto steps = opt.run(b, 3000);
        const double* c = b.get("cell").data<double>();
        const double a = std::cbrt(std::abs(cellm::det3(c))) / 4;
        std::printf("P = %g bar, %s, start %.2f: a = %.9f Å (lattice sum %.9f) in %lld steps\n", p_bar,
                    cell_mode_name(mode).c_str(), a_start, a, a_ref, static_cast<long long>(steps));
        EXPECT_LT(steps, 3000) << "did not converge";
        EXPECT_NEAR(a, a_ref, 1e-6) << cell_mode_name(mode) << " P " << p_bar;
        EXPECT_EQ(b.get("status").data<std::int32_t>()[0], 1);
      }
    }
  }
}

// A triclinic, strained and jittered argon crystal relaxed to zero stress: the same energy and
// cell metric (lengths and angles: the filters may leave different rigid rotations) as ASE's
// UnitCellFilter + FIRE with ASE's Lennard-Jones calculator of the same parameters.
TEST(FIRECell, RelaxesStrainedTriclinicCellAsAse) {
  Batch b = fcc(5.3, 2, 0.05);  // 32 atoms: a cell shorter than twice the cutoff (several images)
  {
    // strain the cell and the positions with it: x ← x (I + e)
    const double e[9] = {1.03, 0.02, 0.0, -0.01, 0.98, 0.015, 0.01, 0.0, 1.01};
    double* c = b.get("cell").data<double>();
    double out[9];
    cellm::mul3(c, e, out);
    for (int k = 0; k < 9; ++k) c[k] = out[k];
    double* x = b.get("positions").data<double>();
    for (std::int64_t i = 0; i < b.n_atoms(); ++i) {
      double r[3];
      for (int k = 0; k < 3; ++k) r[k] = x[3 * i] * e[k] + x[3 * i + 1] * e[3 + k] + x[3 * i + 2] * e[6 + k];
      for (int k = 0; k < 3; ++k) x[3 * i + k] = r[k];
    }
  }
  const auto dir = npt_test::scratch_dir("ase_ucf");
  {
    std::ofstream py(dir / "relax.py");
    py.precision(17);
    py << "import numpy as np\nfrom ase import Atoms\nfrom ase.calculators.lj import LennardJones\n"
          "from ase.constraints import UnitCellFilter\nfrom ase.optimize import FIRE\n";
    py << "cell = np.array([";
    for (int k = 0; k < 9; ++k) py << b.get("cell").data<double>()[k] << ",";
    py << "]).reshape(3, 3)\npos = np.array([";
    for (std::int64_t i = 0; i < 3 * b.n_atoms(); ++i) py << b.get("positions").data<double>()[i] << ",";
    py << "]).reshape(-1, 3)\n";
    py << "a = Atoms('Ar%d' % len(pos), positions=pos, cell=cell, pbc=True)\n"
          "a.calc = LennardJones(sigma="
       << kSigma << ", epsilon=" << kEps << ", rc=" << kCut
       << ")\n"
          "FIRE(UnitCellFilter(a), logfile=None).run(fmax=1e-7, steps=20000)\n"
          "c = a.cell.cellpar()\n"
          "print(a.get_potential_energy(), *c, np.abs(a.get_stress()).max(), np.abs(a.get_forces()).max())\n";
  }
  const std::string cmd =
      "/usr/bin/python3 '" + (dir / "relax.py").string() + "' > '" + (dir / "out.txt").string() + "' 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "ASE failed; see " << (dir / "out.txt");
  double ref[9];
  {
    std::ifstream in(dir / "out.txt");
    for (double& r : ref) ASSERT_TRUE(in >> r) << "cannot parse ASE output in " << (dir / "out.txt");
  }
  EXPECT_LT(ref[7], 1e-8) << "ASE did not reach zero stress";

  FIRECell opt(argon_model(), 2.0, relax_config(CellMode::Full, 0));
  opt.set_convergence(Convergence::fmax(1e-7) & Convergence::stress(1e-10));
  const auto steps = opt.run(b, 20000);
  EXPECT_LT(steps, 20000);
  const double* c = b.get("cell").data<double>();
  double par[6];
  for (int d = 0; d < 3; ++d)
    par[d] = std::sqrt(c[3 * d] * c[3 * d] + c[3 * d + 1] * c[3 * d + 1] + c[3 * d + 2] * c[3 * d + 2]);
  auto angle = [&](int i, int j) {
    const double dot = c[3 * i] * c[3 * j] + c[3 * i + 1] * c[3 * j + 1] + c[3 * i + 2] * c[3 * j + 2];
    return std::acos(dot / (par[i] * par[j])) * 180 / std::acos(-1.0);
  };
  par[3] = angle(1, 2);
  par[4] = angle(0, 2);
  par[5] = angle(0, 1);
  const double e = b.get("energy").data<double>()[0];
  std::printf("batchmd: E %.10f eV, cell %.8f %.8f %.8f Å %.6f %.6f %.6f° in %lld steps\n", e, par[0], par[1], par[2],
              par[3], par[4], par[5], static_cast<long long>(steps));
  std::printf("ASE:     E %.10f eV, cell %.8f %.8f %.8f Å %.6f %.6f %.6f°\n", ref[0], ref[1], ref[2], ref[3], ref[4],
              ref[5], ref[6]);
  EXPECT_NEAR(e, ref[0], 1e-7);
  for (int d = 0; d < 3; ++d) EXPECT_NEAR(par[d], ref[1 + d], 1e-5) << "length " << d;
  for (int d = 3; d < 6; ++d) EXPECT_NEAR(par[d], ref[1 + d], 1e-4) << "angle " << d;
}

// EAM copper (a funcfl and a setfl file): a 3×3×3 fcc crystal from a = 3.70 Å relaxed at zero
// pressure with the hydrostatic filter reaches LAMMPS's `fix box/relax iso 0.0` + `minimize`
// lattice constant to 1e-6 Å and its cohesive energy per atom to 1e-9 eV.
TEST(FIRECell, FindsFccLatticeConstantOfEamCuAsLammpsBoxRelax) {
  const std::string pot = "/usr/share/lammps/potentials/";
  struct Case {
    std::string file, style, coeff;
  };
  for (const Case& k : {Case{"Cu_u3.eam", "eam", "1 1 " + pot + "Cu_u3.eam"},
                        Case{"Cu_mishin1.eam.alloy", "eam/alloy", "* * " + pot + "Cu_mishin1.eam.alloy Cu"}}) {
    const double a_start = 3.70;
    const int cells = 3;
    const auto dir = npt_test::scratch_dir("eam_box_relax");
    std::ostringstream in;
    in.precision(17);
    // Box/relax minimizations stop on the energy of a moving box: LAMMPS's docs advise repeating
    // them; three rounds leave |P| below 1e-8 bar here.
    in << "units metal\nboundary p p p\nlattice fcc " << a_start << "\nregion box block 0 " << cells << " 0 " << cells
       << " 0 " << cells << "\ncreate_box 1 box\ncreate_atoms 1 box\nmass 1 63.546\npair_style " << k.style
       << "\npair_coeff " << k.coeff
       << "\nfix r all box/relax iso 0.0 vmax 0.001\nmin_style cg\n"
          "minimize 0 1e-12 10000 100000\nminimize 0 1e-12 10000 100000\nminimize 0 1e-12 10000 100000\n"
          "print \"RESULT $(lx/"
       << cells << ":%.15f) $(pe/atoms:%.15f) $(press:%.6e)\" file result.txt\n";
    ASSERT_TRUE(npt_test::run_lammps(dir, in.str()));
    double a_ref = 0, e_ref = 0, p_ref = 0;
    {
      std::ifstream res(dir / "result.txt");
      std::string tag;
      ASSERT_TRUE(res >> tag >> a_ref >> e_ref >> p_ref) << "cannot parse " << (dir / "result.txt");
    }
    EXPECT_LT(std::abs(p_ref), 1e-3) << "LAMMPS did not reach zero pressure (bar)";

    Batch b = fcc(a_start, cells, 0.0, 29);
    FIRECell opt(model::load_eam({pot + k.file}), 2.0, relax_config(CellMode::Isotropic, 0));
    opt.set_convergence(Convergence::fmax(1e-6) & Convergence::stress(1e-10));
    const auto steps = opt.run(b, 3000);
    const double* c = b.get("cell").data<double>();
    const double a = std::cbrt(std::abs(cellm::det3(c))) / cells;
    const double e = b.get("energy").data<double>()[0] / static_cast<double>(b.n_atoms());
    std::printf("%s: a = %.12f Å, E = %.12f eV/atom in %lld steps; LAMMPS a = %.12f Å, E = %.12f eV/atom, P = %g bar\n",
                k.file.c_str(), a, e, static_cast<long long>(steps), a_ref, e_ref, p_ref);
    EXPECT_LT(steps, 3000) << "did not converge";
    EXPECT_NEAR(a, a_ref, 1e-6) << k.file;
    EXPECT_NEAR(e, e_ref, 1e-9) << k.file;
    EXPECT_EQ(b.get("status").data<std::int32_t>()[0], 1);
  }
}

TEST(FIRECell, OpenSystemIsAnErrorNamingIt) {
  Batch b = dyn_test::argon("[[cluster]]\ncount = 2\natoms = 13\n");
  FIRECell opt(argon_model(), 2.0);
  try {
    opt.run(b, 1);
    FAIL() << "expected an error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("system 0"), std::string::npos) << e.what();
  }
}

TEST(FIRECell, BadParametersAreRejected) {
  auto lj = argon_model();
  FIRECellConfig c;
  c.pressure = std::nan("");
  EXPECT_THROW(FIRECell(lj, 2.0, c), InvalidArgument);
  c = {};
  c.fire.max_step = 0;
  EXPECT_THROW(FIRECell(lj, 2.0, c), InvalidArgument);
  EXPECT_THROW(Convergence::stress(-1), InvalidArgument);
}
