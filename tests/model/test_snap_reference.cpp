// SPDX-License-Identifier: Apache-2.0
// SNAP against LAMMPS's published runs: the thermo output of the examples in LAMMPS's repository,
// examples/snap/log.15Jun20.snap.<model>.g++.1 (LAMMPS 15 Jun 2020; numbers quoted below with
// the file they come from), reproduced digit for digit as printed:
//  - step 0 of in.snap.Ta06A, W.2940, Mo_Chen, WBe.PRB2019 (W-Be), InP.JCPA2020 (chemflag) and
//    scale.Ni_Zuo_JCPA2020 (log.11Sep2026..., a 0.2/0.8 mix of Zuo's linear 2J=8 and quadratic
//    2J=6 Ni models): potential energy per atom and pressure, whose kinetic part is that of
//    300 K with LAMMPS's 3N-3 degrees of freedom;
//  - the whole Ta06A NVE trajectory (dt 0.5 fs, thermo every 10 steps to step 100) and the first
//    steps of the Ni mix, from LAMMPS's own initial velocities (Debian's lmp runs the example's
//    `velocity all create 300.0 4928459 loop geom`, and `set type/fraction` for W-Be);
//  - log.03Jul20.snap.compute.g++.1: bispectrum components, their position and strain
//    derivatives (twojmax 2, two element radii and weights, no switching) and the ZBL energy and
//    stress of two atoms in a 2 Å cell.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/dynamics/units.hpp"
#include "batchmd/model/snap.hpp"
#include "batchmd/model/snap_potential.hpp"
#include "batchmd/model/sum_model.hpp"
#include "batchmd/model/zbl.hpp"
#include "snap_test_util.hpp"

namespace batchmd::model {
namespace {

using namespace testing;

// |value - printed| within half a unit of the printed number's last digit.
void expect_printed(double value, const std::string& printed, const std::string& what) {
  const auto dot = printed.find('.');
  const int decimals = dot == std::string::npos ? 0 : static_cast<int>(printed.size() - dot - 1);
  const double tol = 0.5 * std::pow(10.0, -decimals) * (1 + 1e-9);
  EXPECT_NEAR(value, std::stod(printed), tol) << what << " (LAMMPS printed " << printed << ")";
}

// Positions, types and velocities of a LAMMPS-made configuration (commands after `units metal`).
Dump lammps_configuration(const std::string& name, const std::string& commands) {
  const auto dir = scratch_dir(name);
  const std::string script =
      "units metal\n" + commands +
      "\nwrite_dump all custom conf.dump id type x y z vx vy vz modify sort id format float %.17g\n";
  Dump d;
  if (run_lammps(dir, script)) d = read_dump(dir / "conf.dump");
  std::filesystem::remove_all(dir);
  return d;
}

// The example's system from a dump: elements by type, masses by type, velocities in Å/fs.
Sys from_dump(const Dump& d, const std::vector<std::int64_t>& z_of_type, const std::vector<double>& mass_of_type) {
  Sys s;
  const auto x = d.column("x"), y = d.column("y"), zc = d.column("z"), t = d.column("type");
  const auto vx = d.column("vx"), vy = d.column("vy"), vz = d.column("vz");
  for (std::size_t i = 0; i < x.size(); ++i) {
    const auto ty = static_cast<std::size_t>(t[i]) - 1;
    s.x.insert(s.x.end(), {x[i], y[i], zc[i]});
    s.z.push_back(z_of_type[ty]);
    s.masses.push_back(mass_of_type[ty]);
    s.v.insert(s.v.end(), {vx[i] / 1000, vy[i] / 1000, vz[i] / 1000});  // Å/ps -> Å/fs
  }
  s.cell = {d.box[1] - d.box[0], 0, 0, 0, d.box[3] - d.box[2], 0, 0, 0, d.box[5] - d.box[4]};
  return s;
}

std::string bcc_commands(double a, int types, const std::string& masses) {
  return "boundary p p p\nlattice bcc " + std::to_string(a) + "\nregion box block 0 4 0 4 0 4\ncreate_box " +
         std::to_string(types) + " box\ncreate_atoms 1 box\n" + masses;
}
const std::string kVelocity = "\npair_style zero 6.0\npair_coeff * *\nvelocity all create 300.0 4928459 loop geom\n";

// Thermo quantities as LAMMPS computes them (metal units, norm yes), from a batch with energy,
// virial, masses and velocities.
struct Thermo {
  double temp, epair, toteng, press;
};
Thermo thermo(const Batch& b, const std::vector<double>& m) {
  const auto n = static_cast<double>(b.n_atoms());
  const auto v = doubles(b.get("velocities")), w = doubles(b.get("virial"));
  const auto c = doubles(b.get("cell"));
  double mv2 = 0;
  for (std::size_t i = 0; i < m.size(); ++i)
    for (int d = 0; d < 3; ++d) mv2 += m[i] * (1000 * v[3 * i + d]) * (1000 * v[3 * i + d]);
  const double ke = 0.5 * mv2 * kLmpMvv2e;
  const double vol = c[0] * c[4] * c[8];
  const double pe = doubles(b.get("energy"))[0];
  return {2 * ke / ((3 * n - 3) * kLmpBoltz), pe / n, (pe + ke) / n,
          (2 * ke + w[0] + w[4] + w[8]) / (3 * vol) * kLmpNktv2p};
}

void expect_thermo(const Thermo& t, const std::string& temp, const std::string& epair, const std::string& toteng,
                   const std::string& press, const std::string& where) {
  expect_printed(t.temp, temp, where + " Temp");
  expect_printed(t.epair, epair, where + " E_pair");
  expect_printed(t.toteng, toteng, where + " TotEng");
  expect_printed(t.press, press, where + " Press");
}

Thermo step0(Model& m, const Sys& s) {
  Batch b = batch_of({s});
  m.compute(b, true);
  return thermo(b, s.masses);
}

// LAMMPS turns force/mass into acceleration with its own constant (metal ftm2v = 1/1.0364269e-4
// Å/ps^2 per eV/(Å amu)), 3.7e-8 relative from batchmd's CODATA value (units::kAccel): over 100
// steps that alone moves the 8th printed digit. The MD tests give the integrator masses scaled
// by the ratio, so it moves atoms exactly as LAMMPS does; thermo() uses the true masses.
Sys with_lammps_acceleration(Sys s) {
  const double lammps_accel_per_fs2 = 1e-6 / kLmpMvv2e;
  for (double& m : s.masses) m *= units::kAccel / lammps_accel_per_fs2;
  return s;
}

TEST(SnapReference, Ta06AStartsWherePublished) {
  // log.15Jun20.snap.Ta06A.g++.1: "0 300 -11.85157 0 -11.813095 2717.1661"
  const Sys s =
      from_dump(lammps_configuration("ta", bcc_commands(3.316, 1, "mass 1 180.88") + kVelocity), {73}, {180.88});
  auto m = load_snap_potential(kPotentials + "Ta06A.snap");
  EXPECT_EQ(m->name(), "zbl+snap");
  expect_thermo(step0(*m, s), "300", "-11.85157", "-11.813095", "2717.1661", "Ta06A step 0");
}

TEST(SnapReference, W2940StartsWherePublished) {
  // log.15Jun20.snap.W.2940.g++.1: "0 300 -11.028325 0 -10.98985 3010.497"
  const Sys s =
      from_dump(lammps_configuration("w", bcc_commands(3.1803, 1, "mass 1 183.84") + kVelocity), {74}, {183.84});
  auto m = load_snap_potential(kPotentials + "W_2940_2017_2.snap");
  expect_thermo(step0(*m, s), "300", "-11.028325", "-10.98985", "3010.497", "W_2940 step 0");
}

TEST(SnapReference, MoChenStartsWherePublished) {
  // log.15Jun20.snap.Mo_Chen.g++.1 (SNAP only, LAMMPS defaults bzeroflag 1 etc.; the example
  // gives Mo the mass of W): "0 300 -22.405975 0 -22.3675 2575.7657"
  const Sys s =
      from_dump(lammps_configuration("mo", bcc_commands(3.160, 1, "mass 1 183.84") + kVelocity), {42}, {183.84});
  auto m = load_snap_potential(kPotentials + "Mo_Chen_PRM2017.snap");
  EXPECT_EQ(m->name(), "snap");
  expect_thermo(step0(*m, s), "300", "-22.405975", "-22.3675", "2575.7657", "Mo_Chen step 0");
}

TEST(SnapReference, TungstenBerylliumStartsWherePublished) {
  // log.15Jun20.snap.WBe.PRB2019.g++.1 (5 of 128 W atoms turned Be by LAMMPS's set
  // type/fraction): "0 300 -8.5980876 0 -8.5596125 -35284.855"
  const Sys s = from_dump(lammps_configuration("wbe", bcc_commands(3.1803, 2, "mass 1 183.84\nmass 2 9.012182") +
                                                          "\nset group all type/fraction 2 0.05 3590153" + kVelocity),
                          {74, 4}, {183.84, 9.012182});
  EXPECT_EQ(std::count(s.z.begin(), s.z.end(), 4), 5);
  auto m = load_snap_potential(kPotentials + "WBe_Wood_PRB2019.snap");
  expect_thermo(step0(*m, s), "300", "-8.5980876", "-8.5596125", "-35284.855", "W-Be step 0");
}

TEST(SnapReference, IndiumPhosphideChemflagStartsWherePublished) {
  // log.15Jun20.snap.InP.JCPA2020.g++.1 (explicit multi-element SNAP, 512 atoms of zincblende):
  // "0 300 -3.4805794 0 -3.4418771 1353.5968"
  const Sys s =
      from_dump(lammps_configuration("inp",
                                     "boundary p p p\nlattice diamond 5.83\nregion box block 0 4 0 4 0 4\n"
                                     "create_box 2 box\ncreate_atoms 1 box basis 5 2 basis 6 2 basis 7 2 basis 8 2\n"
                                     "mass 1 114.76\nmass 2 30.98" +
                                         kVelocity),
                {49, 15}, {114.76, 30.98});
  // LAMMPS's chemflag adjoint reproduces the printed pressure; batchmd's default forces (the exact
  // gradient of the energy, see SNAPConfig::lammps_chemflag_forces) differ from it by 1e-7 of the
  // virial for this coefficient set.
  SNAPPotentialFile f = read_snap_potential(kPotentials + "InP_JCPA2020.snap");
  ASSERT_TRUE(f.zbl.has_value());
  f.snap.lammps_chemflag_forces = true;
  SumModel lammps_like({std::make_shared<ZBL>(*f.zbl), std::make_shared<SNAP>(f.snap)});
  expect_thermo(step0(lammps_like, s), "300", "-3.4805794", "-3.4418771", "1353.5968", "InP step 0");
  auto exact = load_snap_potential(kPotentials + "InP_JCPA2020.snap");
  const Thermo t = step0(*exact, s);
  expect_printed(t.epair, "-3.4805794", "InP step 0 E_pair (exact forces)");
  EXPECT_NEAR(t.press, 1353.5968, 3e-4) << "InP step 0 Press (exact forces)";
}

// 0.2 x Ni linear (2J=8) + 0.8 x Ni quadratic (2J=6) (LAMMPS: hybrid/overlay snap snap with fix
// adapt scale): the energy, forces and virial are the weighted sums of the two models'.
struct Mix {
  std::shared_ptr<Model> lin = load_snap_potential(kPotentials + "Ni_Zuo_JPCA2020.snap");
  std::shared_ptr<Model> quad = load_snap_potential(kPotentials + "Ni_Zuo_JPCA2020.quadratic.snap");
};

TEST(SnapReference, NickelLinearQuadraticMixStartsWherePublished) {
  // log.11Sep2026.snap.scale.Ni_Zuo_JCPA2020.g++.1: "0 300 -5.7803044 0 -5.7418854 5405.399"
  const Sys s = from_dump(lammps_configuration("ni",
                                               "boundary p p p\nlattice fcc 3.52\nregion box block 0 3 0 3 0 3\n"
                                               "create_box 1 box\ncreate_atoms 1 box\nmass 1 34." +
                                                   kVelocity),
                          {28}, {34.0});
  Mix mix;
  Batch a = batch_of({s}), b = batch_of({s});
  mix.lin->compute(a, true);
  mix.quad->compute(b, true);
  const Thermo ta = thermo(a, s.masses), tb = thermo(b, s.masses);
  const Thermo t{ta.temp, 0.2 * ta.epair + 0.8 * tb.epair, 0.2 * ta.toteng + 0.8 * tb.toteng,
                 // the kinetic part of the pressure once: 0.2 P_a + 0.8 P_b has it with weight 1
                 0.2 * ta.press + 0.8 * tb.press};
  expect_thermo(t, "300", "-5.7803044", "-5.7418854", "5405.399", "Ni mix step 0");
}

// An NVE run of a SNAP model from the example's start, with thermo every `every` steps against the
// published lines.
struct Line {
  long step;
  const char *temp, *epair, *toteng, *press;
};

TEST(SnapReference, Ta06ATrajectoryMatchesThePublishedRun) {
  const Sys s =
      from_dump(lammps_configuration("ta_md", bcc_commands(3.316, 1, "mass 1 180.88") + kVelocity), {73}, {180.88});
  auto model = load_snap_potential(kPotentials + "Ta06A.snap");
  Batch b = batch_of({with_lammps_acceleration(s)});
  dynamics::DemoDynamics md(model, 0.5);
  // log.15Jun20.snap.Ta06A.g++.1
  const Line lines[] = {{10, "296.01467", "-11.851059", "-11.813095", "2697.4796"},
                        {20, "284.53666", "-11.849587", "-11.813095", "2289.1527"},
                        {30, "266.51577", "-11.847275", "-11.813095", "1851.7131"},
                        {40, "243.05007", "-11.844266", "-11.813095", "1570.684"},
                        {50, "215.51032", "-11.840734", "-11.813094", "1468.1899"},
                        {60, "185.48331", "-11.836883", "-11.813094", "1524.8757"},
                        {70, "154.6736", "-11.832931", "-11.813094", "1698.3351"},
                        {80, "124.79303", "-11.829099", "-11.813094", "1947.0715"},
                        {90, "97.448054", "-11.825592", "-11.813094", "2231.9563"},
                        {100, "74.035418", "-11.822589", "-11.813094", "2515.8526"}};
  long done = 0;
  for (const Line& l : lines) {
    md.run(b, l.step - done);
    done = l.step;
    model->compute(b, true);
    expect_thermo(thermo(b, s.masses), l.temp, l.epair, l.toteng, l.press, "Ta06A step " + std::to_string(l.step));
  }
}

TEST(SnapReference, NickelMixTrajectoryMatchesThePublishedRun) {
  const Sys s = from_dump(lammps_configuration("ni_md",
                                               "boundary p p p\nlattice fcc 3.52\nregion box block 0 3 0 3 0 3\n"
                                               "create_box 1 box\ncreate_atoms 1 box\nmass 1 34." +
                                                   kVelocity),
                          {28}, {34.0});
  // The mix as a model of its own: a sum whose terms carry the weights (scaled copies of SNAP
  // coefficients, so E = 0.2 E_lin + 0.8 E_quad exactly).
  auto scaled = [](const std::string& file, double w) {
    SNAPPotentialFile f = read_snap_potential(kPotentials + file);
    for (auto& e : f.snap.params.elements)
      for (auto& c : e.coefficients) c *= w;
    return std::make_shared<SNAP>(f.snap);
  };
  auto model = std::make_shared<SumModel>(std::vector<std::shared_ptr<Model>>{
      scaled("Ni_Zuo_JPCA2020.snap", 0.2), scaled("Ni_Zuo_JPCA2020.quadratic.snap", 0.8)});
  Batch b = batch_of({with_lammps_acceleration(s)});
  dynamics::DemoDynamics md(model, 0.5);
  // log.11Sep2026.snap.scale.Ni_Zuo_JCPA2020.g++.1 (thermo every step)
  const Line lines[] = {{1, "299.79168", "-5.7802777", "-5.7418854", "5417.3696"},
                        {5, "294.81887", "-5.7796408", "-5.7418853", "5702.8949"},
                        {10, "279.64818", "-5.7776976", "-5.7418849", "6570.39"},
                        {20, "224.64407", "-5.7706522", "-5.7418836", "9667.1553"}};
  long done = 0;
  for (const Line& l : lines) {
    md.run(b, l.step - done);
    done = l.step;
    model->compute(b, true);
    expect_thermo(thermo(b, s.masses), l.temp, l.epair, l.toteng, l.press, "Ni mix step " + std::to_string(l.step));
  }
}

TEST(SnapReference, BispectrumComputeExample) {
  // log.03Jul20.snap.compute.g++.1: two type-2 atoms in a 2 Å bcc cell displaced at random by
  // 0.1 Å (LAMMPS's displace_atoms, seed 123456); SNAP twojmax 2, rcutfac 1, radii 2.3 / 2.0,
  // weights 1 / 0.96, no switching, no bzero; ZBL 4 / 4.8 with Z = 73 as the potential.
  //   PotEng 322.86952   Pxy 1505558.1   (ZBL)
  //   c_bsum2[1] 364182.88   (sum over atoms of B_000)
  //   c_vbsum[55] -240.25066 (xz of sum_i sum_j r_j (x) dB_222^i/dR_j, i.e. W_zx of E = sum B_222)
  //   v_db_2_25 1381.7961    (y of -sum_i dB_222^i/dR_2, the force on atom 2 of E = sum B_222)
  const Dump d = lammps_configuration("compute",
                                      "boundary p p p\natom_modify map hash\nlattice bcc 2.0\n"
                                      "region box block 0 1 0 1 0 1\ncreate_box 2 box\ncreate_atoms 2 box\n"
                                      "mass * 180.88\ndisplace_atoms all random 0.1 0.1 0.1 123456" +
                                          kVelocity);
  Sys s = from_dump(d, {73, 73}, {180.88, 180.88});
  s.v.clear();
  ASSERT_EQ(s.n(), 2);

  ZBLConfig zc;
  zc.inner = 4;
  zc.outer = 4.8;
  ZBL zbl(zc);
  const Result zr = evaluate(zbl, s);
  expect_printed(zr.energy[0], "322.86952", "ZBL PotEng");
  expect_printed(zr.virial[1] / 8.0 * kLmpNktv2p, "1505558.1", "ZBL Pxy");

  // SNAP with the compute's parameters: element "Ta" plays type 1 (unused), "W" type 2.
  SNAPConfig c;
  auto& p = c.params;
  p.rcutfac = 1.0;
  p.twojmax = 2;
  p.rfac0 = 0.99363;
  p.rmin0 = 0;
  p.switchflag = false;
  p.bzeroflag = false;
  p.elements = {{"Ta", 73, 2.3, 1.0, {}}, {"W", 74, 2.0, 0.96, {}}};
  ASSERT_EQ(p.descriptors(), 5);  // B_000, B_101, B_112, B_202, B_222
  for (auto& e : p.elements) e.coefficients.assign(6, 0.0);
  p.elements[1].coefficients[5] = 1.0;  // E_i = B_222 of a type-2 atom
  for (auto& z : s.z) z = 74;
  SNAP snap(c);
  Batch b = batch_of({s});
  const auto desc = snap.descriptors(b);
  expect_printed(desc[0] + desc[5], "364182.88", "sum of B_000");
  const Result r = evaluate(snap, s);
  expect_printed(r.virial[6], "-240.25066", "W_zx of sum B_222");
  expect_printed(r.forces[4], "1381.7961", "F_y of atom 2 from sum B_222");
  EXPECT_NEAR(r.energy[0], desc[4] + desc[9], 1e-9 * std::abs(r.energy[0]));
}

}  // namespace
}  // namespace batchmd::model
