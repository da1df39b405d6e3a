// SPDX-License-Identifier: Apache-2.0
// EAM potential files: every file LAMMPS ships in /usr/share/lammps/potentials reads in its
// format, the tables have LAMMPS's shapes, and broken files — truncated tables, wrong counts,
// NaN, data after the last table, a file of another format, an element the file lacks — fail with
// an error that names the file and the line (or the element).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "batchmd/core/error.hpp"
#include "batchmd/model/eam.hpp"
#include "snap_test_util.hpp"

namespace batchmd::model {
namespace {

using namespace testing;

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

class EAMFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("batchmd_eam_files_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::vector<std::string>& lines) {
    const auto p = (dir_ / name).string();
    std::ofstream out(p);
    for (const auto& l : lines) out << l << "\n";
    return p;
  }
  // The message of the error read_eam throws (of type E), or a failure.
  template <typename E>
  std::string error_of(const std::vector<std::string>& files, EAMFormat f, const std::vector<std::string>& el = {}) {
    try {
      read_eam(files, f, el);
    } catch (const E& e) {
      return e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "wrong exception type: " << e.what();
      return {};
    }
    ADD_FAILURE() << "no error";
    return {};
  }
  std::filesystem::path dir_;
};

void expect_contains(const std::string& msg, const std::string& part) {
  EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
}

TEST_F(EAMFiles, EveryShippedFileReads) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(kPotentials)) {
    const std::string p = e.path().string();
    const std::string name = e.path().filename().string();
    if (!(name.ends_with(".eam") || name.ends_with(".eam.alloy") || name.ends_with(".eam.fs"))) continue;
    SCOPED_TRACE(name);
    const EAMTables t = read_eam({p}, eam_format_from_path(p));
    EXPECT_GT(t.n_elements(), 0);
    EXPECT_EQ(t.frho.size(), static_cast<std::size_t>(t.n_elements()) * (t.nrho + 1) * 7);
    EXPECT_EQ(t.n_z2r(), t.n_elements() * (t.n_elements() + 1) / 2);
    EXPECT_EQ(t.n_rhor(), t.format == EAMFormat::FinnisSinclair ? t.n_elements() * t.n_elements() : t.n_elements());
    ++n;
  }
  EXPECT_GE(n, 25);
}

TEST_F(EAMFiles, FuncflGridIsLammpsResampledGrid) {
  // Cu_u3.eam: nrho 500, nr 500 in the file; LAMMPS's common grid keeps (n-1) knots, rhomax from
  // the file's extent.
  const EAMTables t = read_eam({kPotentials + "Cu_u3.eam"}, EAMFormat::Funcfl);
  EXPECT_EQ(t.elements, std::vector<std::int64_t>{29});
  EXPECT_EQ(t.nr, 499);
  EXPECT_EQ(t.nrho, 499);
  EXPECT_NEAR(t.cutoff, 4.95, 1e-12);
  EXPECT_DOUBLE_EQ(t.rhomax, 499 * 5.0100200400801306e-04);
  EXPECT_DOUBLE_EQ(t.masses[0], 63.55);
}

TEST_F(EAMFiles, TruncatedTableNamesFileAndLine) {
  auto l = lines_of(kPotentials + "Cu_u3.eam");
  l.resize(150);
  const auto p = write("short.eam", l);
  const auto msg = error_of<FormatError>({p}, EAMFormat::Funcfl);
  expect_contains(msg, p + ":150:");
  expect_contains(msg, "truncated");
}

TEST_F(EAMFiles, NanNamesFileAndLine) {
  auto l = lines_of(kPotentials + "Cu_mishin1.eam.alloy");
  std::istringstream ss(l[20]);
  std::string first;
  ss >> first;
  l[20].replace(l[20].find(first), first.size(), "nan");
  const auto p = write("nan.eam.alloy", l);
  const auto msg = error_of<FormatError>({p}, EAMFormat::Setfl);
  expect_contains(msg, p + ":21:");
  expect_contains(msg, "finite number");
}

TEST_F(EAMFiles, WrongElementCountNamesTheLine) {
  auto l = lines_of(kPotentials + "AlCu.eam.alloy");
  l[3] = "3 Al Cu";
  const auto p = write("count.eam.alloy", l);
  expect_contains(error_of<FormatError>({p}, EAMFormat::Setfl), p + ":4: the element line says 3 elements but names 2");
}

TEST_F(EAMFiles, TooFewValuesForTheGridIsTrailingOrTruncated) {
  // nr one larger than the tables: the last table runs out at the end of the file.
  auto l = lines_of(kPotentials + "Cu_u3.eam");
  l[2] = "  500  5.0100200400801306e-04  501  1.0000000000000009e-02  4.9499999999999886e+00";
  const auto p = write("bignr.eam", l);
  expect_contains(error_of<FormatError>({p}, EAMFormat::Funcfl), "ends after");
  // nr one smaller: a value is left after the last table.
  l[2] = "  500  5.0100200400801306e-04  499  1.0000000000000009e-02  4.9499999999999886e+00";
  const auto q = write("smallnr.eam", l);
  expect_contains(error_of<FormatError>({q}, EAMFormat::Funcfl), "after the last table");
}

TEST_F(EAMFiles, AnotherFormatIsRejected) {
  // A setfl file read as funcfl, a funcfl file read as setfl, a two-element setfl read as fs, and
  // a Stillinger–Weber file.
  expect_contains(error_of<FormatError>({kPotentials + "AlCu.eam.alloy"}, EAMFormat::Funcfl),
                  kPotentials + "AlCu.eam.alloy:");
  expect_contains(error_of<FormatError>({kPotentials + "Cu_u3.eam"}, EAMFormat::Setfl), kPotentials + "Cu_u3.eam:4:");
  expect_contains(error_of<FormatError>({kPotentials + "AlCu.eam.alloy"}, EAMFormat::FinnisSinclair),
                  kPotentials + "AlCu.eam.alloy:");
  expect_contains(error_of<FormatError>({kPotentials + "Si.sw"}, EAMFormat::Funcfl), kPotentials + "Si.sw:");
}

TEST_F(EAMFiles, ElementNotInTheFile) {
  expect_contains(error_of<InvalidArgument>({kPotentials + "AlCu.eam.alloy"}, EAMFormat::Setfl, {"Ni"}),
                  "element 'Ni' is not in '" + kPotentials + "AlCu.eam.alloy'");
  expect_contains(error_of<InvalidArgument>({kPotentials + "AlCu.eam.alloy"}, EAMFormat::Setfl, {"Qq"}), "Qq");
  // An atom the potential does not cover: an error before anything is computed.
  auto eam = load_eam({kPotentials + "Cu_u3.eam"});
  Sys s = fcc(2, 3.615, 29);
  s.z[5] = 28;
  Batch b = batch_of({s});
  try {
    eam->compute(b);
    ADD_FAILURE() << "no error";
  } catch (const InvalidArgument& e) {
    expect_contains(e.what(), "atom 5 of system 0 is Ni");
    expect_contains(e.what(), "Cu_u3.eam");
  }
}

TEST_F(EAMFiles, MissingFileAndFormatNames) {
  EXPECT_THROW(read_eam({(dir_ / "none.eam").string()}, EAMFormat::Funcfl), IOError);
  EXPECT_THROW(eam_format_from_path("x.table"), InvalidArgument);
  EXPECT_EQ(eam_format_from_path("a/Fe_mm.eam.fs"), EAMFormat::FinnisSinclair);
  EXPECT_EQ(eam_format_from_path("Cu_zhou.eam.alloy"), EAMFormat::Setfl);
  EXPECT_THROW(parse_eam_format("tersoff"), InvalidArgument);
  EXPECT_THROW(read_eam({kPotentials + "AlCu.eam.alloy", kPotentials + "Cu_mishin1.eam.alloy"}, EAMFormat::Setfl),
               InvalidArgument);
}

}  // namespace
}  // namespace batchmd::model
