// SPDX-License-Identifier: Apache-2.0
// Job files with Stillinger-Weber ([model] type = "sw") and Morse ([model] type = "morse" with
// [[model.pair]] tables) models: parsing, bad input named by key, the model built equal to one
// made directly, sums with other terms, and the si_sw example.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "batchmd/app/commands.hpp"
#include "batchmd/app/config.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/model/morse.hpp"
#include "batchmd/model/stillinger_weber.hpp"
#include "batchmd/model/sum_model.hpp"

using namespace batchmd;
using namespace batchmd::app;

namespace {

const std::string kPot = "/usr/share/lammps/potentials/";
const std::string kGaN =
    "[[crystal]]\nlattice = \"diamond\"\na = 4.5\ncells = [2, 2, 2]\nelements = [\"Ga\", \"Ga\", \"Ga\", \"Ga\", "
    "\"N\", \"N\", \"N\", \"N\"]\n";
const std::string kCu = "[[crystal]]\nlattice = \"fcc\"\na = 3.615\ncells = [3, 3, 3]\nelement = \"Cu\"\n";
const std::string kMorse =
    "[model]\ntype = \"morse\"\ncutoff = 6.0\nshift_energy = true\n"
    "[[model.pair]]\nelements = [\"Cu\", \"Cu\"]\nd0 = 0.3429\nalpha = 1.3588\nr0 = 2.866\n";

std::string error_of(const std::string& toml) {
  try {
    parse_config(toml, "job.toml");
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(SwConfig, BuildsTheModelOfTheFile) {
  const RunConfig c = parse_config(
      kGaN + "[model]\ntype = \"sw\"\nfile = \"" + kPot + "GaN.sw\"\nelements = [\"Ga\", \"N\"]\nskin = 0.7\n",
      "job.toml");
  auto m = build_model(c.model, c.lj);
  auto* sw = dynamic_cast<model::StillingerWeber*>(m.get());
  ASSERT_NE(sw, nullptr);
  EXPECT_DOUBLE_EQ(sw->config().skin, 0.7);
  EXPECT_EQ(sw->config().params.elements, (std::vector<std::int64_t>{31, 7}));
  Batch b = build_systems(c), d = build_systems(c);
  m->compute(b);
  model::SWConfig direct;
  direct.params = model::read_sw_file(kPot + "GaN.sw");
  model::StillingerWeber(direct).compute(d);
  EXPECT_EQ(b.get("energy").data<double>()[0], d.get("energy").data<double>()[0]);
  EXPECT_LT(b.get("energy").data<double>()[0], 0.0);
}

TEST(MorseConfig, BuildsThePairTable) {
  const RunConfig c = parse_config(kCu + kMorse, "job.toml");
  auto m = build_model(c.model, c.lj);
  auto* morse = dynamic_cast<model::Morse*>(m.get());
  ASSERT_NE(morse, nullptr);
  ASSERT_EQ(morse->config().pairs.size(), 1u);
  const auto& p = morse->config().pairs[0];
  EXPECT_EQ(p.z_a, 29);
  EXPECT_DOUBLE_EQ(p.d0, 0.3429);
  EXPECT_DOUBLE_EQ(p.alpha, 1.3588);
  EXPECT_DOUBLE_EQ(p.r0, 2.866);
  EXPECT_DOUBLE_EQ(p.cutoff, 6.0);  // the model's default
  EXPECT_TRUE(morse->config().shift_energy);
}

TEST(MorseConfig, IsATermOfASum) {
  const RunConfig c = parse_config(kCu +
                                       "[[model]]\ntype = \"zbl\"\ninner = 1.0\nouter = 2.0\n"
                                       "[[model]]\ntype = \"morse\"\n"
                                       "[[model.pair]]\nelements = [\"Cu\", \"Cu\"]\nd0 = 0.3429\nalpha = 1.3588\n"
                                       "r0 = 2.866\ncutoff = 5.5\n",
                                   "job.toml");
  auto m = build_model(c.model, c.lj);
  EXPECT_EQ(m->name(), "zbl+morse");
  EXPECT_DOUBLE_EQ(m->cutoff(), 5.5);
}

TEST(SwMorseConfig, BadTablesNameTheKey) {
  auto has = [](const std::string& e, const std::string& what) { EXPECT_NE(e.find(what), std::string::npos) << e; };
  has(error_of(kGaN + "[model]\ntype = \"sw\"\n"), "'model.file' is required");
  has(error_of(kGaN + "[model]\ntype = \"sw\"\nfile = \"/nonexistent.sw\"\n"), "'model.file' names no readable file");
  has(error_of(kGaN + "[model]\ntype = \"sw\"\nfile = \"" + kPot + "GaN.sw\"\npairs = [[\"Ga\", \"N\"]]\n"),
      "'model.pairs' is not supported for sw");
  has(error_of(kGaN + "[model]\ntype = \"sw\"\nfile = \"" + kPot + "GaN.sw\"\ncutoff = 3\n"),
      "unknown key 'model.cutoff'");
  has(error_of(kCu + "[model]\ntype = \"morse\"\n"), "'model.pair' must be one or more tables");
  has(error_of(kCu + "[model]\ntype = \"morse\"\n[[model.pair]]\nelements = [\"Cu\"]\nd0 = 1\nalpha = 1\nr0 = 2\n"
                     "cutoff = 5\n"),
      "'model.pair[0].elements' must be two elements");
  has(error_of(kCu + "[model]\ntype = \"morse\"\n[[model.pair]]\nelements = [\"Cu\", \"Cu\"]\nalpha = 1\nr0 = 2\n"
                     "cutoff = 5\n"),
      "'model.pair[0].d0' is required");
  has(error_of(kCu + "[model]\ntype = \"morse\"\n[[model.pair]]\nelements = [\"Cu\", \"Cu\"]\nd0 = 1\nalpha = 1\n"
                     "r0 = 2\n"),
      "'model.pair[0].cutoff' is required");
  has(error_of(kCu + "[model]\ntype = \"morse\"\n[[model.pair]]\nelements = [\"Cu\", \"Cu\"]\nd0 = 1\nalpha = -1\n"
                     "r0 = 2\ncutoff = 5\n"),
      "'model.pair[0].alpha' must be > 0");
  has(error_of(kCu + "[model]\ntype = \"morse\"\n[[model.pair]]\nelements = [\"Cu\", \"Xx\"]\nd0 = 1\nalpha = 1\n"
                     "r0 = 2\ncutoff = 5\n"),
      "'Xx' is not a chemical element symbol");
  has(error_of(kCu + kMorse + "[[model.pair]]\nelements = [\"Cu\", \"Cu\"]\nd0 = 1\nalpha = 1\nr0 = 2\n"),
      "'model.pair[1].elements' names a pair given twice");
  has(error_of(kCu + kMorse + "pairs = [[\"Cu\", \"Cu\"]]\n"), "unknown key 'model.pair[0].pairs'");
  has(error_of(kCu + "[model]\ntype = \"morse\"\nd0 = 1\n[[model.pair]]\nelements = [\"Cu\", \"Cu\"]\nd0 = 1\n"
                     "alpha = 1\nr0 = 2\ncutoff = 5\n"),
      "unknown key 'model.d0'");
  has(error_of(kCu + "[model]\ntype = \"tersoff\"\n"), "\"sw\", \"morse\"");
}

TEST(SwConfig, BadPotentialFilesSurfaceWhenTheModelIsBuilt) {
  const auto dir = std::filesystem::temp_directory_path() / ("batchmd_sw_config_bad_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "bad.sw") << "# a truncated entry\nSi Si Si 2.1683 2.0951 1.80 21.0\n";
  const RunConfig c =
      parse_config(kGaN + "[model]\ntype = \"sw\"\nfile = \"" + (dir / "bad.sw").string() + "\"\n", "job.toml");
  try {
    build_model(c.model, c.lj);
    ADD_FAILURE() << "no error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.sw:2: truncated"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(Examples, SiSwExampleParses) {
  const RunConfig c = load_config(std::string(BATCHMD_SOURCE_DIR) + "/examples/si_sw.toml");
  ASSERT_EQ(c.model.terms.size(), 1u);
  EXPECT_EQ(c.model.terms[0].type, "sw");
  EXPECT_EQ(build_systems(c).n_atoms(), 216 + 215);
}
