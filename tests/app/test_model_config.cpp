// SPDX-License-Identifier: Apache-2.0
// Job files with SNAP, ZBL and summed models ([model], [[model]]) and [[crystal]] structures:
// parsing, every kind of bad input named by key, building the model, and the crystals built.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "batchmd/app/commands.hpp"
#include "batchmd/app/config.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/model/snap.hpp"
#include "batchmd/model/sum_model.hpp"
#include "batchmd/sinks/zarr_data.hpp"

using namespace batchmd;
using namespace batchmd::app;

namespace {

const std::string kPot = "/usr/share/lammps/potentials/";
const std::string kTa =
    "[[crystal]]\nlattice = \"bcc\"\na = 3.316\ncells = [2, 2, 2]\nelement = \"Ta\"\nmass = 180.88\n";

std::string error_of(const std::string& toml) {
  try {
    parse_config(toml, "job.toml");
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ModelConfig, SnapFromCoefficientAndParameterFiles) {
  const RunConfig c = parse_config(kTa + "[model]\ntype = \"snap\"\ncoeff = \"" + kPot +
                                       "Ta06A.snapcoeff\"\nparam = \"" + kPot + "Ta06A.snapparam\"\nskin = 0.5\n",
                                   "job.toml");
  ASSERT_EQ(c.model.terms.size(), 1u);
  EXPECT_EQ(c.model.terms[0].type, "snap");
  EXPECT_DOUBLE_EQ(c.model.terms[0].skin, 0.5);
  auto m = build_model(c.model, c.lj);
  EXPECT_EQ(m->name(), "snap");
  auto* snap = dynamic_cast<model::SNAP*>(m.get());
  ASSERT_NE(snap, nullptr);
  EXPECT_DOUBLE_EQ(snap->config().skin, 0.5);
  Batch b = build_systems(c), d = build_systems(c);
  m->compute(b);
  model::SNAPConfig direct;
  direct.params = model::read_snap_files(kPot + "Ta06A.snapcoeff", kPot + "Ta06A.snapparam");
  model::SNAP(direct).compute(d);
  EXPECT_EQ(b.get("energy").data<double>()[0], d.get("energy").data<double>()[0]);
}

TEST(ModelConfig, SnapIncludeFileBringsItsZblOverlay) {
  const RunConfig c = parse_config(kTa + "[model]\ntype = \"snap\"\nfile = \"" + kPot + "Ta06A.snap\"\n", "job.toml");
  auto m = build_model(c.model, c.lj);
  EXPECT_EQ(m->name(), "zbl+snap");
  Batch b = build_systems(c);
  m->compute(b);
  EXPECT_NEAR(b.get("energy").data<double>()[0] / 16, -11.85157, 1e-5);  // the published Ta06A energy
}

TEST(ModelConfig, SumsOfModelTables) {
  const RunConfig c =
      parse_config(kTa +
                       "[[model]]\ntype = \"zbl\"\ninner = 4.0\nouter = 4.8\npairs = [[\"Ta\", \"Ta\"]]\n"
                       "[[model]]\ntype = \"snap\"\ncoeff = \"" +
                       kPot + "Ta06A.snapcoeff\"\nparam = \"" + kPot + "Ta06A.snapparam\"\n",
                   "job.toml");
  ASSERT_EQ(c.model.terms.size(), 2u);
  EXPECT_EQ(c.model.terms[0].pairs.at(0), std::make_pair(std::int64_t{73}, std::int64_t{73}));
  auto m = build_model(c.model, c.lj);
  EXPECT_EQ(m->name(), "zbl+snap");
  // The same as the .snap file's overlay.
  const RunConfig f = parse_config(kTa + "[model]\ntype = \"snap\"\nfile = \"" + kPot + "Ta06A.snap\"\n", "job.toml");
  auto g = build_model(f.model, f.lj);
  Batch a = build_systems(c), b = build_systems(f);
  m->compute(a);
  g->compute(b);
  EXPECT_EQ(a.get("energy").data<double>()[0], b.get("energy").data<double>()[0]);
  EXPECT_EQ(neighbor_builds(*m), 2);  // one list per term
}

TEST(ModelConfig, RelativePathsAreRelativeToTheJobFile) {
  const auto dir = std::filesystem::temp_directory_path() / ("batchmd_model_config_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "pot");
  std::filesystem::copy_file(kPot + "Ta06A.snapcoeff", dir / "pot" / "Ta06A.snapcoeff");
  std::filesystem::copy_file(kPot + "Ta06A.snapparam", dir / "pot" / "Ta06A.snapparam");
  std::ofstream(dir / "job.toml")
      << kTa + "[model]\ntype = \"snap\"\ncoeff = \"pot/Ta06A.snapcoeff\"\nparam = \"pot/Ta06A.snapparam\"\n";
  const RunConfig c = load_config((dir / "job.toml").string());
  EXPECT_EQ(c.model.terms[0].coeff, (dir / "pot" / "Ta06A.snapcoeff").string());
  EXPECT_NO_THROW(build_model(c.model, c.lj));
  std::filesystem::remove_all(dir);
}

TEST(ModelConfig, LennardJonesStaysTheDefault) {
  const RunConfig c = parse_config(kTa, "job.toml");
  EXPECT_TRUE(c.model.empty());
  EXPECT_EQ(build_model(c.model, c.lj)->name(), "lennard_jones");
  const RunConfig d = parse_config(kTa + "[model]\ntype = \"lennard_jones\"\nsigma = 3.0\n", "job.toml");
  EXPECT_TRUE(d.model.empty());
  EXPECT_DOUBLE_EQ(d.lj.sigma, 3.0);
}

TEST(ModelConfig, BadModelTablesNameTheKey) {
  const std::string snap = "[model]\ntype = \"snap\"\n";
  EXPECT_NE(error_of(kTa + snap).find("'model.coeff' is required"), std::string::npos) << error_of(kTa + snap);
  EXPECT_NE(error_of(kTa + snap + "coeff = \"/nonexistent.snapcoeff\"\nparam = \"x\"\n")
                .find("'model.coeff' names no readable file: '/nonexistent.snapcoeff'"),
            std::string::npos);
  EXPECT_NE(error_of(kTa + snap + "file = \"" + kPot + "Ta06A.snap\"\ncoeff = \"" + kPot + "Ta06A.snapcoeff\"\n")
                .find("'model.file' and coeff/param are alternatives"),
            std::string::npos);
  EXPECT_NE(error_of(kTa + snap + "file = \"" + kPot + "Ta06A.snap\"\ncolour = 1\n").find("unknown key 'model.colour'"),
            std::string::npos);
  EXPECT_NE(
      error_of(kTa + "[model]\ntype = \"zbl\"\ninner = 4.0\nouter = 3.0\n").find("'model.outer' must be >= inner"),
      std::string::npos);
  EXPECT_NE(error_of(kTa + "[model]\ntype = \"zbl\"\nouter = 3.0\n").find("'model.inner' must be > 0"),
            std::string::npos);
  EXPECT_NE(error_of(kTa + "[model]\ntype = \"zbl\"\ninner = 1.0\nouter = 3.0\npairs = [[\"Ta\", \"Xx\"]]\n")
                .find("'model.pairs' 'Xx' is not a chemical element symbol"),
            std::string::npos);
  EXPECT_NE(error_of(kTa + "[model]\ntype = \"zbl\"\ninner = 1.0\nouter = 3.0\npairs = [\"Ta\"]\n")
                .find("'model.pairs' must be an array of element pairs"),
            std::string::npos);
  EXPECT_NE(error_of(kTa + "[model]\ntype = \"tersoff\"\n").find("'model.type' must be"), std::string::npos);
  EXPECT_NE(error_of(kTa + "[model]\ntype = \"eam\"\n").find("'model.file' is required"), std::string::npos);
  EXPECT_NE(
      error_of(kTa + "[[model]]\ntype = \"lennard_jones\"\n").find("'model[0].type' lennard_jones cannot be a term"),
      std::string::npos);
  EXPECT_NE(error_of(kTa + "[[model]]\ntype = \"zbl\"\ninner = 1.0\nouter = 2.0\n[[model]]\ntype = \"snap\"\n")
                .find("'model[1].coeff' is required"),
            std::string::npos);
}

TEST(ModelConfig, BadPotentialFilesSurfaceWhenTheModelIsBuilt) {
  const auto dir = std::filesystem::temp_directory_path() / ("batchmd_model_config_bad_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "bad.snapcoeff") << "1 31\nTa 0.5 1\n0.1\n";
  const RunConfig c = parse_config(kTa + "[model]\ntype = \"snap\"\ncoeff = \"" + (dir / "bad.snapcoeff").string() +
                                       "\"\nparam = \"" + kPot + "Ta06A.snapparam\"\n",
                                   "job.toml");
  try {
    build_model(c.model, c.lj);
    ADD_FAILURE() << "no error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.snapcoeff: truncated"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(CrystalConfig, BuildsLatticesWithVacanciesAndMasses) {
  const RunConfig c = parse_config(
      "[[crystal]]\nlattice = \"diamond\"\na = 5.83\ncells = [2, 1, 1]\n"
      "elements = [\"In\", \"In\", \"In\", \"In\", \"P\", \"P\", \"P\", 15]\nmasses = [114.76, 114.76, 114.76, 114.76, "
      "30.98, 30.98, 30.98, 30.98]\ntemperature_K = 100\n"
      "[[crystal]]\nlattice = \"bcc\"\na = 3.1803\ncells = [3, 3, 3]\nelement = 74\nmass = 183.84\nvacancies = [0, 5]\n"
      "count = 2\njitter = 0.05\n",
      "job.toml");
  Batch b = build_systems(c);
  ASSERT_EQ(b.n_systems(), 3);
  EXPECT_EQ(b.n_atoms(), 16 + 2 * (54 - 2));
  const auto* z = b.get("atomic_numbers").data<std::int64_t>();
  const auto* m = b.get("masses").data<double>();
  EXPECT_EQ(z[0], 49);
  EXPECT_EQ(z[4], 15);
  EXPECT_DOUBLE_EQ(m[4], 30.98);
  EXPECT_EQ(z[16], 74);
  EXPECT_DOUBLE_EQ(m[16], 183.84);
  const auto* cell = b.get("cell").data<double>();
  EXPECT_DOUBLE_EQ(cell[0], 2 * 5.83);
  EXPECT_DOUBLE_EQ(cell[4], 5.83);
  EXPECT_NEAR(dynamics::temperature(b)[0], 100.0, 1e-9);
  // The tetrahedral site of zincblende at a/4 (1, 1, 1).
  const auto* x = b.get("positions").data<double>();
  EXPECT_DOUBLE_EQ(x[3 * 4], 0.25 * 5.83);
  // Two vacancy crystals, jittered independently.
  EXPECT_NE(x[3 * 16], x[3 * (16 + 52)]);
}

TEST(CrystalConfig, BadTablesNameTheKey) {
  const std::string base = "[[crystal]]\na = 3.0\nmass = 50.0\n";
  EXPECT_NE(error_of(base).find("'crystal[0].element' is required"), std::string::npos);
  EXPECT_NE(error_of(base + "element = \"W\"\nlattice = \"hcp\"\n").find("'crystal[0].lattice' must be"),
            std::string::npos);
  EXPECT_NE(error_of("[[crystal]]\nelement = \"W\"\nmass = 1.0\n").find("'crystal[0].a' must be > 0"),
            std::string::npos);
  EXPECT_NE(error_of(base + "element = \"W\"\ncells = [2, 2]\n").find("'crystal[0].cells' must be three"),
            std::string::npos);
  EXPECT_NE(error_of(base + "element = \"W\"\ncells = [2, 0, 2]\n").find("must all be >= 1"), std::string::npos);
  EXPECT_NE(error_of(base + "elements = [\"W\", \"Be\", \"Ta\"]\n").find("one per basis site (2 for bcc)"),
            std::string::npos);
  EXPECT_NE(error_of(base + "element = \"W\"\nvacancies = [2]\n").find("site 2 is not in 0..1"), std::string::npos);
  // every element has a built-in weight now: no mass is needed
  EXPECT_EQ(error_of("[[crystal]]\na = 3.0\nelement = \"W\"\n"), "");
  EXPECT_NE(error_of(base + "element = \"W\"\njitter = -1\n").find("'crystal[0].jitter' must be >= 0"),
            std::string::npos);
  EXPECT_NE(error_of(base + "element = \"W\"\nsize = 3\n").find("unknown key 'crystal[0].size'"), std::string::npos);
  EXPECT_EQ(error_of("[[crystal]]\na = 3.0\nelement = \"Cu\"\nlattice = \"fcc\"\n"), "");  // Cu has a built-in weight
}

TEST(Examples, SnapExamplesParse) {
  const RunConfig ta = load_config(std::string(BATCHMD_SOURCE_DIR) + "/examples/snap_ta.toml");
  EXPECT_EQ(ta.model.terms.at(0).file, "/usr/share/lammps/potentials/Ta06A.snap");
  EXPECT_EQ(build_systems(ta).n_atoms(), 128);
  const RunConfig w = load_config(std::string(BATCHMD_SOURCE_DIR) + "/examples/snap_w_vacancy.toml");
  const Batch b = build_systems(w);
  EXPECT_EQ(b.n_systems(), 2);
  EXPECT_EQ(b.n_atoms(), 128 + 127);
}

TEST(ModelConfig, SnapRunsRestartBitForBitWithoutModelState) {
  // SNAP + ZBL sum over each atom's neighbors in a canonical order, so a restarted run — whose
  // neighbor lists are built at other moments, here forced often by a tiny skin — continues
  // exactly: 2N steps equal N steps plus a restart for N.
  namespace fs = std::filesystem;
  const auto dir = fs::temp_directory_path() / ("batchmd_snap_restart_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "job.toml") << "[run]\nsteps = 40\ndt_fs = 1.0\nseed = 5\n"
                                     "[model]\ntype = \"snap\"\nfile = \"" +
                                         kPot + "Ta06A.snap\"\nskin = 0.02\n" + kTa +
                                         "temperature_K = 600\n[output]\nsnapshot_every = 10\nprogress = false\n";
  auto run = [](app::RunOptions o) {
    o.quiet = true;
    std::FILE* devnull = std::fopen("/dev/null", "w");
    const int rc = app::run_command(o, devnull);
    std::fclose(devnull);
    return rc;
  };
  app::RunOptions o;
  o.config_path = (dir / "job.toml").string();
  o.output = (dir / "whole.zarr").string();
  ASSERT_EQ(run(o), 0);
  o.output = (dir / "part.zarr").string();
  o.steps = 20;
  ASSERT_EQ(run(o), 0);
  app::RunOptions r;
  r.restart = (dir / "part.zarr").string();
  r.steps = 20;
  ASSERT_EQ(run(r), 0);
  sinks::TrajectoryReader ra((dir / "whole.zarr").string()), rb((dir / "part.zarr").string());
  Batch a = sinks::last_snapshot_per_system(ra), b = sinks::last_snapshot_per_system(rb);
  EXPECT_EQ(b.get("step").data<std::int64_t>()[0], 40);
  for (const char* f : {"positions", "velocities", "forces", "energy"}) {
    ASSERT_EQ(a.get(f).nbytes(), b.get(f).nbytes()) << f;
    EXPECT_EQ(0, std::memcmp(a.get(f).raw(), b.get(f).raw(), a.get(f).nbytes())) << f << " differs";
  }
  fs::remove_all(dir);
}
