// SPDX-License-Identifier: Apache-2.0
// LAMMPS SNAP files: every model Debian ships (lammps-data: /usr/share/lammps/potentials) loads
// with the descriptor count its twojmax and flags imply; malformed coefficient, parameter and
// include files, coefficient counts that do not match, and elements the model does not cover are
// errors that name the file and line (or the element, system and atom).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../support/error_of.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/model/snap.hpp"
#include "batchmd/model/snap_potential.hpp"
#include "batchmd/model/sum_model.hpp"
#include "snap_test_util.hpp"

namespace batchmd::model {
namespace {

using namespace testing;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct TempFiles {
  std::filesystem::path dir = scratch_dir("files");
  ~TempFiles() { std::filesystem::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  }
};

using batchmd::test_support::error_of;

std::string with_line_replaced(const std::string& text, int line, const std::string& replacement) {
  std::istringstream in(text);
  std::string out, l;
  for (int n = 1; std::getline(in, l); ++n) out += (n == line ? replacement : l) + "\n";
  return out;
}
std::string first_lines(const std::string& text, int n) {
  std::istringstream in(text);
  std::string out, l;
  for (int k = 0; k < n && std::getline(in, l); ++k) out += l + "\n";
  return out;
}

TEST(SnapFiles, EveryShippedModelLoads) {
  struct Expect {
    const char* file;
    const char* name;
    int descriptors;
    std::size_t coefficients;
  };
  const Expect all[] = {
      {"Ta06A.snap", "zbl+snap", 30, 31},
      {"W_2940_2017_2.snap", "zbl+snap", 55, 56},
      {"WBe_Wood_PRB2019.snap", "zbl+snap", 55, 56},
      {"Mo_Chen_PRM2017.snap", "snap", 30, 31},
      {"InP_JCPA2020.snap", "zbl+snap", 240, 241},
      {"Cu_Zuo_JPCA2020.snap", "snap", 55, 56},
      {"Cu_Zuo_JPCA2020.quadratic.snap", "snap", 30, 496},
      {"Ge_Zuo_JPCA2020.snap", "snap", 55, 56},
      {"Ge_Zuo_JPCA2020.quadratic.snap", "snap", 30, 496},
      {"Li_Zuo_JPCA2020.snap", "snap", 55, 56},
      {"Li_Zuo_JPCA2020.quadratic.snap", "snap", 30, 496},
      {"Mo_Zuo_JPCA2020.snap", "snap", 30, 31},
      {"Mo_Zuo_JPCA2020.quadratic.snap", "snap", 30, 496},
      {"Ni_Zuo_JPCA2020.snap", "snap", 55, 56},
      {"Ni_Zuo_JPCA2020.quadratic.snap", "snap", 30, 496},
      {"Si_Zuo_JPCA2020.snap", "snap", 55, 56},
      {"Si_Zuo_JPCA2020.quadratic.snap", "snap", 55, 1596},
  };
  for (const Expect& e : all) {
    SCOPED_TRACE(e.file);
    const SNAPPotentialFile f = read_snap_potential(kPotentials + e.file);
    EXPECT_EQ(f.snap.params.descriptors(), e.descriptors);
    for (const auto& el : f.snap.params.elements) EXPECT_EQ(el.coefficients.size(), e.coefficients);
    EXPECT_EQ(load_snap_potential(kPotentials + e.file)->name(), e.name);
  }
  // Keywords beyond the basics: InP sets chemflag, bnormflag, wselfallflag.
  const SNAPParams inp = read_snap_potential(kPotentials + "InP_JCPA2020.snap").snap.params;
  EXPECT_TRUE(inp.chemflag && inp.bnormflag && inp.wselfallflag && inp.bzeroflag);
  ASSERT_EQ(inp.elements.size(), 2u);
  EXPECT_EQ(inp.elements[1].symbol, "P");
  EXPECT_DOUBLE_EQ(inp.elements[1].radius, 3.82945);
  EXPECT_DOUBLE_EQ(inp.elements[1].weight, 0.929316);
  // Mo_Chen's parameter file has only rcutfac and twojmax: LAMMPS's defaults apply.
  const SNAPParams mo = read_snap_potential(kPotentials + "Mo_Chen_PRM2017.snap").snap.params;
  EXPECT_TRUE(mo.bzeroflag && mo.switchflag && !mo.quadraticflag);
  EXPECT_DOUBLE_EQ(mo.rfac0, 0.99363);
  // The W-Be overlay: ZBL on all three element pairs.
  const auto wbe = read_snap_potential(kPotentials + "WBe_Wood_PRB2019.snap");
  ASSERT_TRUE(wbe.zbl.has_value());
  EXPECT_TRUE(wbe.zbl->pairs.allows(74, 4) && wbe.zbl->pairs.allows(4, 4) && wbe.zbl->pairs.allows(74, 74));
  EXPECT_DOUBLE_EQ(wbe.zbl->inner, 4.0);
  EXPECT_DOUBLE_EQ(wbe.zbl->outer, 4.8);
  // Ta06A's: ZBL on Ta-Ta only.
  const auto ta = read_snap_potential(kPotentials + "Ta06A.snap");
  EXPECT_EQ(ta.zbl->pairs.describe(), "(73,73)");
}

TEST(SnapFiles, UnsupportedPairStylesAreNamed) {
  // W + He with tabulated pair styles (LAMMPS `table`), which batchmd does not have.
  const auto msg = error_of<FormatError>([] { read_snap_potential(kPotentials + "W_2940_2017_2_He_JW2013.snap"); });
  EXPECT_NE(msg.find("W_2940_2017_2_He_JW2013.snap:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("table"), std::string::npos) << msg;
}

TEST(SnapFiles, SelectsElementsLikePairCoeff) {
  const std::string c = kPotentials + "WBe_Wood_PRB2019.snapcoeff", p = kPotentials + "WBe_Wood_PRB2019.snapparam";
  const SNAPParams be = read_snap_files(c, p, {"Be"});
  ASSERT_EQ(be.elements.size(), 1u);
  EXPECT_EQ(be.elements[0].atomic_number, 4);
  const SNAPParams swapped = read_snap_files(c, p, {"Be", "W"});
  EXPECT_EQ(swapped.elements[0].symbol, "Be");
  const auto msg = error_of<FormatError>([&] { read_snap_files(c, p, {"Ta"}); });
  EXPECT_NE(msg.find("element Ta not found"), std::string::npos) << msg;
  // chemflag descriptors index the elements: all of them, in file order.
  const std::string ic = kPotentials + "InP_JCPA2020.snapcoeff", ip = kPotentials + "InP_JCPA2020.snapparam";
  EXPECT_THROW(read_snap_files(ic, ip, {"In"}), FormatError);
  EXPECT_THROW(read_snap_files(ic, ip, {"P", "In"}), FormatError);
}

TEST(SnapFiles, MalformedCoefficientFilesNameFileAndLine) {
  TempFiles t;
  const std::string coeff = slurp(kPotentials + "Ta06A.snapcoeff");  // header on line 5, Ta on 6
  const std::string param = t.write("ok.snapparam", slurp(kPotentials + "Ta06A.snapparam"));
  auto check = [&](const std::string& text, const std::string& want) {
    const std::string c = t.write("bad.snapcoeff", text);
    const auto msg = error_of<FormatError>([&] { read_snap_files(c, param); });
    EXPECT_NE(msg.find(want), std::string::npos) << "expected '" << want << "' in: " << msg;
  };
  check(with_line_replaced(coeff, 5, "1 31 7"), "bad.snapcoeff:5: expected 'nelements ncoefficients'");
  // A well-formed 2J=8 file with the 2J=6 parameters: the count does not match twojmax.
  check(slurp(kPotentials + "W_2940_2017_2.snapcoeff"), "bad.snapcoeff:5: 56 coefficients per element, but twojmax 6");
  check(with_line_replaced(coeff, 5, "1 56"), "truncated: element Ta (line 6) has 31 of 56 coefficients");
  check(with_line_replaced(coeff, 5, "one 31"), "bad.snapcoeff:5: number of elements must be an integer");
  check(with_line_replaced(coeff, 6, "Xx 0.5 1"), "bad.snapcoeff:6: 'Xx' is not a chemical element symbol");
  check(with_line_replaced(coeff, 6, "Ta 0.5"), "bad.snapcoeff:6: expected an element block header");
  check(with_line_replaced(coeff, 9, "0.5x"), "bad.snapcoeff:9: coefficient must be a finite number");
  check(with_line_replaced(coeff, 9, "nan"), "bad.snapcoeff:9: coefficient must be a finite number");
  check(with_line_replaced(coeff, 9, "0.1 0.2"), "bad.snapcoeff:9: expected one coefficient");
  check(first_lines(coeff, 20), "truncated: element Ta (line 6) has 14 of 31 coefficients");
  check(coeff + "0.123\n", "bad.snapcoeff:38: unexpected content after the last");
  check("# nothing\n", "empty SNAP coefficient file");
  EXPECT_THROW(read_snap_files((t.dir / "missing.snapcoeff").string(), param), IOError);
}

TEST(SnapFiles, MalformedParameterFilesNameFileAndLine) {
  TempFiles t;
  const std::string coeff = t.write("ok.snapcoeff", slurp(kPotentials + "Ta06A.snapcoeff"));
  auto check = [&](const std::string& text, const std::string& want) {
    const std::string p = t.write("bad.snapparam", text);
    const auto msg = error_of<FormatError>([&] { read_snap_files(coeff, p); });
    EXPECT_NE(msg.find(want), std::string::npos) << "expected '" << want << "' in: " << msg;
  };
  check("rcutfac 4.67637\ntwojmax 6\nrfac0 0.99363\ncolour blue\n", "bad.snapparam:4: unknown SNAP parameter 'colour'");
  check("rcutfac 4.67637\n", "the required keyword twojmax is missing");
  check("twojmax 6\n", "the required keyword rcutfac is missing");
  check("rcutfac 4.67637\ntwojmax 6.5\n", "bad.snapparam:2: twojmax must be an integer");
  check("rcutfac 4.67637\ntwojmax 6\nbzeroflag 2\n", "bad.snapparam:3: bzeroflag must be 0 or 1");
  check("rcutfac 4.67637 5\ntwojmax 6\n", "bad.snapparam:1: expected 'keyword value'");
  check("rcutfac -1\ntwojmax 6\n", "rcutfac must be > 0");
  check("rcutfac 4.67637\ntwojmax 8\n", "31 coefficients per element, but twojmax 8");
  check("rcutfac 4.67637\ntwojmax 6\nquadraticflag 1\n", "with quadraticflag");
  check("rcutfac 4.67637\ntwojmax 6\nsinner 1.0\ndinner 0.5\n", "sinner/dinner given but switchinnerflag is 0");
  check("rcutfac 4.67637\ntwojmax 6\nswitchinnerflag 1\n", "switchinnerflag 1 needs sinner and dinner");
  check("rcutfac 4.67637\ntwojmax 6\nswitchinnerflag 1\nsinner 1 2\ndinner 0.5\n",
        "sinner needs one value per element");
  // Every keyword LAMMPS knows is accepted.
  const std::string p = t.write("all.snapparam",
                                "rcutfac 4.67637\ntwojmax 6\nrfac0 0.99\nrmin0 0\nswitchflag 1\nbzeroflag 0\n"
                                "quadraticflag 0\nchemflag 0\nbnormflag 0\nwselfallflag 0\nswitchinnerflag 1\n"
                                "sinner 1.5\ndinner 0.5\nchunksize 1024\nparallelthresh 100\n");
  const SNAPParams all = read_snap_files(coeff, p);
  EXPECT_EQ(all.chunksize, 1024);
  EXPECT_EQ(all.parallelthresh, 100);
  EXPECT_DOUBLE_EQ(all.sinner[0], 1.5);
}

TEST(SnapFiles, MalformedIncludeFilesNameFileAndLine) {
  TempFiles t;
  for (const char* f : {"Ta06A.snapcoeff", "Ta06A.snapparam"}) t.write(f, slurp(kPotentials + f));
  auto check = [&](const std::string& text, const std::string& want) {
    const std::string p = t.write("bad.snap", text);
    const auto msg = error_of<FormatError>([&] { read_snap_potential(p); });
    EXPECT_NE(msg.find(want), std::string::npos) << "expected '" << want << "' in: " << msg;
  };
  const std::string good =
      "variable zi equal 4\n"
      "pair_style hybrid/overlay &\n zbl ${zi} 4.8 snap\n"
      "pair_coeff 1 1 zbl 73 73\n"
      "pair_coeff * * snap Ta06A.snapcoeff Ta06A.snapparam Ta\n";
  // The good one loads, with files relative to the include file.
  const auto f = read_snap_potential(t.write("good.snap", good));
  EXPECT_DOUBLE_EQ(f.zbl->inner, 4.0);
  check(good + "run 10\n", "bad.snap:6: command 'run' is not supported");
  check(with_line_replaced(good, 1, "variable zj equal 4"), "bad.snap:2: undefined variable 'zi'");
  check(with_line_replaced(good, 4, "pair_coeff 1 1 zbl 74 74"),
        "bad.snap:4: ZBL charges 74 74 are not the atomic numbers of Ta and Ta");
  check(with_line_replaced(good, 4, "pair_coeff 1 2 zbl 73 73"), "bad.snap:4: atom type '2' is outside 1..1");
  check(with_line_replaced(good, 5, "pair_coeff * * snap Ta06A.snapcoeff Ta06A.snapparam W"), "element W not found");
  check("pair_style eam\n", "bad.snap:1: pair style 'eam' is not supported");
  check("pair_style hybrid/overlay zbl 4 4.8 snap\npair_coeff * * snap Ta06A.snapcoeff Ta06A.snapparam Ta\n",
        "pair_style has zbl but no zbl pair_coeff");
  check("variable a equal ${b}*2\n", "undefined variable 'b'");
  check("variable a equal 2*3\npair_style hybrid/overlay zbl ${a} 4.8 snap\n", "must be a number, got '2*3'");
  EXPECT_THROW(read_snap_potential((t.dir / "none.snap").string()), IOError);
}

TEST(SnapFiles, AnElementTheModelDoesNotCoverIsNamed) {
  auto m = load_snap_potential(kPotentials + "Ta06A.snap");
  Sys a = bcc(2, 3.316, 73), b = bcc(2, 3.316, 73);
  b.z[3] = 74;
  Batch batch = batch_of({a, b});
  const auto msg = error_of<InvalidArgument>([&] { m->compute(batch); });
  EXPECT_NE(msg.find("element W (Z = 74) of atom 3 in system 1 is not covered by the model (Ta)"), std::string::npos)
      << msg;
  // Leaving W out explicitly (LAMMPS's NULL in pair_coeff) is fine: SNAP ignores those atoms.
  SNAPPotentialFile f = read_snap_potential(kPotentials + "Ta06A.snap");
  f.snap.pairs = ElementPairs::among({73});
  SNAP only_ta(f.snap);
  EXPECT_NO_THROW(only_ta.compute(batch));
}

TEST(SnapFiles, InvalidParametersAreRejected) {
  SNAPConfig c;
  c.params = read_snap_potential(kPotentials + "Ta06A.snap").snap.params;
  c.params.rfac0 = 1.5;
  EXPECT_THROW(SNAP{c}, InvalidArgument);
  c.params.rfac0 = 0.99363;
  c.params.elements[0].coefficients.pop_back();
  EXPECT_THROW(SNAP{c}, InvalidArgument);
  c.params = read_snap_potential(kPotentials + "Ta06A.snap").snap.params;
  c.skin = -0.5;
  EXPECT_THROW(SNAP{c}, InvalidArgument);
  c.skin = 1;
  c.params.rmin0 = 10;  // beyond the cutoff
  EXPECT_THROW(SNAP{c}, InvalidArgument);
}

}  // namespace
}  // namespace batchmd::model
