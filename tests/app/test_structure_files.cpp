// SPDX-License-Identifier: Apache-2.0
// [[structures]] tables, `run --structures/--model` jobs and the element check: the keys and
// every kind of bad value named by key, frames selected as documented, replicate against ASE's
// Atoms.repeat (run by /usr/bin/python3), velocities kept or drawn, jitter, pbc override, the
// mix with generated systems, the estimate, the file read once, and an element the potential
// lacks refused with the file and frame named.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "batchmd/app/config.hpp"
#include "batchmd/app/element_check.hpp"
#include "batchmd/app/limits.hpp"
#include "batchmd/app/structure_job.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/io/structures.hpp"

using namespace batchmd;
using namespace batchmd::app;
namespace fs = std::filesystem;

namespace {

const std::string kPot = "/usr/share/lammps/potentials/";
const std::string kExample = std::string(BATCHMD_SOURCE_DIR) + "/examples/noble_gases.xyz";

std::string scratch(const std::string& name) {
  const fs::path p = fs::path(::testing::TempDir()) / ("batchmd_structs_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  return p.string();
}

std::string write(const std::string& name, const std::string& text) {
  const std::string p = scratch(name);
  std::ofstream(p) << text;
  return p;
}

// A job of one [[structures]] table reading `file` with extra keys.
std::string job(const std::string& file, const std::string& keys = "") {
  return "[[structures]]\nfile = \"" + file + "\"\n" + keys;
}

std::string error_of(const std::string& toml) {
  try {
    const RunConfig c = parse_config(toml, "job.toml");
    (void)build_systems(c);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::vector<double> floats(const Tensor& t) {
  std::vector<double> v(static_cast<std::size_t>(t.numel()));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = t.data<double>()[i];
  return v;
}

// Three frames of different sizes; the second carries velocities (ASE's momenta).
std::string three_frames() {
  return write("three.xyz",
               "2\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3 pbc=\"T T T\"\n"
               "Ar 0 0 0\nAr 2 2 2\n"
               "3\nLattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3:vel:R:3 pbc=\"T T T\"\n"
               "Kr 0 0 0 0.01 0 0\nKr 2.5 2.5 0 0 0.02 0\nAr 2.5 0 2.5 0 0 -0.03\n"
               "1\nProperties=species:S:1:pos:R:3 pbc=\"F F F\"\nNe 1 1 1\n");
}

}  // namespace

TEST(StructureFiles, EveryFrameByDefaultInFileOrder) {
  const RunConfig c = parse_config(job(three_frames()), "job.toml");
  Batch b = build_systems(c);
  ASSERT_EQ(b.n_systems(), 3);
  EXPECT_EQ(b.n_atoms(), 6);
  EXPECT_EQ(b.atoms_ptr_data()[1], 2);
  EXPECT_EQ(b.atoms_ptr_data()[2], 5);
  EXPECT_EQ(b.get("atomic_numbers").data<std::int64_t>()[2], 36);
  EXPECT_EQ(b.get("atomic_numbers").data<std::int64_t>()[5], 10);
  EXPECT_DOUBLE_EQ(b.get("cell").data<double>()[9], 5.0);  // system 1's a_x
  EXPECT_FALSE(b.get("pbc").data<bool>()[6]);              // the open Ne atom
  EXPECT_NEAR(b.get("masses").data<double>()[2], 83.798, 1e-3);
  for (std::int64_t s = 0; s < 3; ++s) EXPECT_EQ(b.get("system_id").data<std::int64_t>()[s], s);
}

TEST(StructureFiles, FramesAsIndexListSliceAndAll) {
  const std::string f = three_frames();
  auto atoms_of = [&](const std::string& frames) {
    Batch b = build_systems(parse_config(job(f, "frames = " + frames + "\n"), "job.toml"));
    std::vector<std::int64_t> n;
    for (std::int64_t s = 0; s < b.n_systems(); ++s) n.push_back(b.atoms_ptr_data()[s + 1] - b.atoms_ptr_data()[s]);
    return n;
  };
  EXPECT_EQ(atoms_of("1"), (std::vector<std::int64_t>{3}));
  EXPECT_EQ(atoms_of("-1"), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(atoms_of("[2, 0, 2]"), (std::vector<std::int64_t>{1, 2, 1}));
  EXPECT_EQ(atoms_of("\"1:\""), (std::vector<std::int64_t>{3, 1}));
  EXPECT_EQ(atoms_of("\"::2\""), (std::vector<std::int64_t>{2, 1}));
  EXPECT_EQ(atoms_of("\"::-1\""), (std::vector<std::int64_t>{1, 3, 2}));
  EXPECT_EQ(atoms_of("\"all\""), (std::vector<std::int64_t>{2, 3, 1}));
  EXPECT_EQ(atoms_of("\"0,2\""), (std::vector<std::int64_t>{2, 1}));
}

TEST(StructureFiles, BadKeysAreNamed) {
  const std::string f = three_frames();
  EXPECT_NE(error_of(job(f, "frames = 3\n")).find("job.toml: 'structures[0]': "), std::string::npos);
  EXPECT_NE(error_of(job(f, "frames = 3\n")).find("3"), std::string::npos);
  EXPECT_NE(error_of(job(f, "frames = -4\n")).find("structures[0]"), std::string::npos);
  EXPECT_NE(error_of(job(f, "frames = \"5:9\"\n")).find("structures[0]"), std::string::npos);
  EXPECT_NE(error_of(job(f, "frames = \"1:x\"\n")).find("'structures[0].frames' is not a frame selection"),
            std::string::npos);
  EXPECT_NE(error_of(job(f, "frames = []\n")).find("'structures[0].frames' is an empty list"), std::string::npos);
  EXPECT_NE(error_of(job(f, "frames = 1.5\n")).find("'structures[0].frames' must be"), std::string::npos);
  EXPECT_NE(error_of(job(f, "replicate = [1, 0, 1]\n")).find("'structures[0].replicate' must be three integers in"),
            std::string::npos);
  EXPECT_NE(error_of(job(f, "replicate = [-2, 1, 1]\n")).find("'structures[0].replicate'"), std::string::npos);
  EXPECT_NE(error_of(job(f, "replicate = [2, 2]\n")).find("'structures[0].replicate' must be three"),
            std::string::npos);
  EXPECT_NE(error_of(job(f, "count = 0\n")).find("'structures[0].count' must be an integer in [1, 1000000]"),
            std::string::npos);
  EXPECT_NE(error_of(job(f, "temperature_K = -1.0\n")).find("'structures[0].temperature_K'"), std::string::npos);
  EXPECT_NE(error_of(job(f, "temperature_K = nan\n")).find("'structures[0].temperature_K'"), std::string::npos);
  EXPECT_NE(error_of(job(f, "jitter = -0.1\n")).find("'structures[0].jitter'"), std::string::npos);
  EXPECT_NE(error_of(job(f, "pbc = [true, false]\n")).find("'structures[0].pbc' must be"), std::string::npos);
  EXPECT_NE(error_of(job(f, "pbc = 1\n")).find("'structures[0].pbc' must be"), std::string::npos);
  EXPECT_NE(error_of(job(f, "format = \"pdb\"\n")).find("'structures[0].format'"), std::string::npos);
  EXPECT_NE(error_of(job(f, "elements = [\"Xx\"]\n")).find("'structures[0].elements' 'Xx'"), std::string::npos);
  EXPECT_NE(error_of(job(f, "colour = 1\n")).find("unknown key 'structures[0].colour'"), std::string::npos);
  EXPECT_NE(error_of(job("/no/such/file.xyz")).find("'structures[0].file' names no readable file"), std::string::npos);
  EXPECT_NE(error_of("[[structures]]\nformat = \"extxyz\"\n").find("'structures[0].file' is required"),
            std::string::npos);
  EXPECT_NE(error_of(job(write("noext", "1\n\nAr 0 0 0\n"))).find("'structures[0].format' is needed"),
            std::string::npos);
  EXPECT_NE(error_of("structures = 3\n").find("'structures' must be an array of tables"), std::string::npos);
  // The open Ne frame can be neither replicated nor made periodic.
  EXPECT_NE(error_of(job(f, "frames = 2\nreplicate = [2, 1, 1]\n")).find("'structures[0].replicate' repeats"),
            std::string::npos);
  EXPECT_NE(error_of(job(f, "frames = 2\npbc = true\n")).find("'structures[0].pbc' makes direction a"),
            std::string::npos);
}

TEST(StructureFiles, ReplicateMatchesAseRepeat) {
  // A triclinic two-element cell with ASE's repeat((2, 3, 1)) as the reference, both written by ASE.
  const std::string base = scratch("tri.xyz"), rep = scratch("tri_rep.xyz");
  const std::string py =
      "/usr/bin/python3 -c \"from ase import Atoms; import ase.io; "
      "a = Atoms('CuNi', positions=[(0.1, 0.2, 0.3), (1.4, 1.1, 0.9)], "
      "cell=[(2.6, 0, 0), (0.9, 2.4, 0), (0.3, 0.5, 2.7)], pbc=True); "
      "ase.io.write('" +
      base + "', a); ase.io.write('" + rep + "', a.repeat((2, 3, 1)))\"";
  ASSERT_EQ(std::system(py.c_str()), 0) << py;
  Batch b = build_systems(parse_config(job(base, "replicate = [2, 3, 1]\n"), "job.toml"));
  const auto ref = io::read_structures(rep);
  ASSERT_EQ(b.n_atoms(), ref[0].n_atoms());
  const auto p = floats(b.get("positions")), q = floats(ref[0].get("positions"));
  for (std::size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(p[i], q[i], 1e-7) << i;
  const auto c = floats(b.get("cell")), d = floats(ref[0].get("cell"));
  for (std::size_t i = 0; i < 9; ++i) EXPECT_NEAR(c[i], d[i], 1e-9) << i;
  for (std::int64_t a = 0; a < b.n_atoms(); ++a)
    EXPECT_EQ(b.get("atomic_numbers").data<std::int64_t>()[a], ref[0].get("atomic_numbers").data<std::int64_t>()[a]);
}

TEST(StructureFiles, VelocitiesFromTheFileOrDrawnAtTemperature) {
  const std::string f = three_frames();
  // No temperature_K: the file's velocities (frame 1, replicated), zero for frames without.
  Batch kept = build_systems(parse_config(job(f, "frames = [0, 1]\nreplicate = [1, 2, 1]\n"), "job.toml"));
  const auto v = floats(kept.get("velocities"));
  for (std::size_t i = 0; i < 12; ++i) EXPECT_EQ(v[i], 0.0);  // frame 0: 4 atoms
  const double file_v[9] = {0.01, 0, 0, 0, 0.02, 0, 0, 0, -0.03};
  for (std::size_t i = 0; i < 18; ++i) EXPECT_DOUBLE_EQ(v[12 + i], file_v[i % 9]) << i;
  // temperature_K: Maxwell–Boltzmann from the seed, one stream per system; copies differ.
  const std::string hot = job(kExample, "frames = 0\nreplicate = [3, 3, 3]\ncount = 2\ntemperature_K = 50.0\n");
  Batch b = build_systems(parse_config(hot, "job.toml")), again = build_systems(parse_config(hot, "job.toml"));
  const auto t = dynamics::temperature(b);
  ASSERT_EQ(t.size(), 2u);
  for (double x : t) EXPECT_NEAR(x, 50.0, 10.0);  // 864 atoms each: a few per cent
  EXPECT_NE(b.get("velocities").data<double>()[0], b.get("velocities").data<double>()[3 * 864]);
  EXPECT_EQ(floats(b.get("velocities")), floats(again.get("velocities")));
  // temperature_K = 0 overrides the file's velocities.
  Batch cold = build_systems(parse_config(job(f, "frames = 1\ntemperature_K = 0.0\n"), "job.toml"));
  for (double x : floats(cold.get("velocities"))) EXPECT_EQ(x, 0.0);
}

TEST(StructureFiles, JitterAndPbcOverride) {
  const std::string f = three_frames();
  Batch plain = build_systems(parse_config(job(f, "frames = 0\n"), "job.toml"));
  Batch j = build_systems(parse_config(job(f, "frames = 0\njitter = 0.1\npbc = [true, true, false]\n"), "job.toml"));
  const auto p = floats(plain.get("positions")), q = floats(j.get("positions"));
  double largest = 0;
  for (std::size_t i = 0; i < p.size(); ++i) largest = std::max(largest, std::abs(q[i] - p[i]));
  EXPECT_GT(largest, 0.0);
  EXPECT_LE(largest, 0.1);
  EXPECT_TRUE(j.get("pbc").data<bool>()[0]);
  EXPECT_FALSE(j.get("pbc").data<bool>()[2]);
}

TEST(StructureFiles, MixWithGeneratorsAfterThemAndEstimateIsExact) {
  const RunConfig c = parse_config(
      "[[cluster]]\natoms = 13\ncount = 2\n" + job(kExample, "frames = \"0:2\"\ncount = 3\nreplicate = [1, 1, 2]\n"),
      "job.toml");
  const JobEstimate e = estimate_job(c);
  Batch b = build_systems(c);
  ASSERT_EQ(b.n_systems(), 2 + 2 * 3);
  EXPECT_EQ(e.systems, 8);
  EXPECT_EQ(e.atoms, static_cast<double>(b.n_atoms()));
  EXPECT_EQ(b.n_atoms(), 2 * 13 + 3 * 2 * (32 + 31));
  EXPECT_EQ(b.get("atomic_numbers").data<std::int64_t>()[26], 18);  // the first file atom follows the clusters
  EXPECT_EQ(b.get("atomic_numbers").data<std::int64_t>()[26 + 3 * 64], 36);
  EXPECT_GT(e.neighbors_per_atom, 0.0);
}

TEST(StructureFiles, AHugeReplicateIsRefusedBeforeAnythingIsBuilt) {
  const std::string f = three_frames();
  std::string e;
  try {
    check_job_limits(parse_config(job(f, "frames = 0\nreplicate = [10000, 10000, 10000]\n"), "job.toml"));
  } catch (const InvalidArgument& ex) {
    e = ex.what();
  }
  EXPECT_NE(e.find("2e+12 atoms (most in structures[0] frame 0 (count = 1: 2e+12 atoms each))"), std::string::npos)
      << e;
}

TEST(StructureFiles, TheFileIsReadOnce) {
  // The estimate reads the file; building uses what it read, even if the file is gone by then —
  // also for a second table that selects from the same file (one read for both).
  const std::string f = write("once.xyz", "2\nLattice=\"4 0 0 0 4 0 0 0 4\" pbc=\"T T T\"\nAr 0 0 0\nAr 2 2 2\n");
  const RunConfig c = parse_config(job(f, "count = 2\n") + job(f, "replicate = [2, 1, 1]\n"), "job.toml");
  EXPECT_EQ(estimate_job(c).atoms, 8);
  fs::remove(f);
  Batch b = build_systems(c);
  EXPECT_EQ(b.n_systems(), 3);
  EXPECT_EQ(b.n_atoms(), 8);
}

TEST(StructureFiles, MalformedFileNamesFileAndLine) {
  const std::string f = write("bad.xyz", "2\nLattice=\"4 0 0 0 4 0 0 0 4\"\nAr 0 0 0\nAr 2 x 2\n");
  const std::string e = error_of(job(f));
  EXPECT_NE(e.find(f + ":4"), std::string::npos) << e;
}

TEST(StructureFiles, LammpsDataTypesNamedByElements) {
  const std::string f = write("two.data",
                              "two types, no masses\n\n2 atoms\n2 atom types\n0 4 xlo xhi\n0 4 ylo yhi\n0 4 zlo zhi\n\n"
                              "Atoms # atomic\n\n1 1 0 0 0\n2 2 2 2 2\n");
  EXPECT_NE(error_of(job(f)).find("two.data"), std::string::npos);
  Batch b = build_systems(parse_config(job(f, "elements = [\"Cu\", \"Ni\"]\n"), "job.toml"));
  EXPECT_EQ(b.get("atomic_numbers").data<std::int64_t>()[0], 29);
  EXPECT_EQ(b.get("atomic_numbers").data<std::int64_t>()[1], 28);
  EXPECT_NEAR(b.get("masses").data<double>()[1], 58.693, 1e-3);
}

TEST(ElementCheck, AnElementThePotentialLacksIsRefusedNamingFileAndFrame) {
  // Ta06A (SNAP, tantalum only) and a file whose second frame holds tungsten.
  const std::string f = write("ta_w.xyz",
                              "2\nLattice=\"3.3 0 0 0 3.3 0 0 0 3.3\" pbc=\"T T T\"\nTa 0 0 0\nTa 1.65 1.65 1.65\n"
                              "2\nLattice=\"3.2 0 0 0 3.2 0 0 0 3.2\" pbc=\"T T T\"\nTa 0 0 0\nW 1.6 1.6 1.6\n");
  const RunConfig c =
      parse_config("[[crystal]]\nlattice = \"bcc\"\na = 3.3\nelement = \"Ta\"\nmass = 180.88\n" +
                       job(f, "count = 2\n") + "[model]\ntype = \"snap\"\nfile = \"" + kPot + "Ta06A.snap\"\n",
                   "job.toml");
  Batch b = build_systems(c);
  const auto m = build_model(c.model, c.lj);
  ASSERT_TRUE(model_elements(*m).has_value());
  EXPECT_EQ(*model_elements(*m), (std::vector<std::int64_t>{73}));
  std::string e;
  try {
    check_model_elements(b, *m, c, true);
  } catch (const InvalidArgument& ex) {
    e = ex.what();
  }
  EXPECT_NE(e.find("no parameters for element W (Z = 74), found in system 3, structures[0] (file '" + f +
                   "', frame 1, copy 0), atom 1; it covers Ta"),
            std::string::npos)
      << e;
  // Without W the same check passes; Lennard-Jones takes every element.
  Batch ta = build_systems(parse_config(
      job(f, "frames = 0\n") + "[model]\ntype = \"snap\"\nfile = \"" + kPot + "Ta06A.snap\"\n", "job.toml"));
  EXPECT_NO_THROW(check_model_elements(ta, *m, c, false));
  EXPECT_FALSE(model_elements(*build_model({}, c.lj)).has_value());
}

TEST(StructureJob, ComposedFromFilesAndModelSpec) {
  RunOptions o;
  o.structures = {kExample};
  o.model = "lj";
  std::string name;
  RunConfig c = structure_job(o, name);
  EXPECT_EQ(name, "1 structure file, model lj");
  ASSERT_EQ(c.structures.size(), 1u);
  EXPECT_EQ(c.structures[0].file, kExample);
  ASSERT_EQ(c.stages.size(), 2u);  // the default protocol: FIRE, then NVT at 300 K
  EXPECT_EQ(c.stages[0].type, "fire");
  EXPECT_EQ(c.stages[1].temperature_K, 300.0);
  EXPECT_TRUE(c.model.empty());
  // The recorded job is a job file: parsed again, the same systems.
  const RunConfig again = parse_config(c.source_toml, "recorded");
  EXPECT_EQ(build_systems(again).n_atoms(), build_systems(c).n_atoms());

  o.model = "snap:" + kPot + "Ta06A.snapcoeff," + kPot + "Ta06A.snapparam";
  c = structure_job(o, name);
  ASSERT_EQ(c.model.terms.size(), 1u);
  EXPECT_EQ(c.model.terms[0].coeff, kPot + "Ta06A.snapcoeff");
  EXPECT_EQ(c.model.terms[0].param, kPot + "Ta06A.snapparam");

  // --model alone: the embedded default job with that model.
  RunOptions only_model;
  only_model.model = "snap:" + kPot + "Ta06A.snap";
  c = structure_job(only_model, name);
  EXPECT_EQ(name, "embedded default job, model snap:" + kPot + "Ta06A.snap");
  EXPECT_EQ(c.liquids.size(), 2u);
  EXPECT_EQ(c.model.terms.size(), 1u);

  // A model TOML file, its paths relative to itself.
  const std::string dir = scratch("modeldir");
  fs::create_directories(dir);
  fs::copy_file(kPot + "Ta06A.snap", dir + "/Ta06A.snap");
  std::ofstream(dir + "/ta.toml") << "[model]\ntype = \"snap\"\nfile = \"Ta06A.snap\"\n";
  o.model = dir + "/ta.toml";
  c = structure_job(o, name);
  ASSERT_EQ(c.model.terms.size(), 1u);
  EXPECT_EQ(c.model.terms[0].file, dir + "/Ta06A.snap");
}

TEST(StructureJob, BadSpecsAndCombinations) {
  auto error = [](RunOptions o) {
    std::string name;
    try {
      (void)structure_job(o, name);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  RunOptions o;
  o.structures = {kExample};
  EXPECT_NE(error(o).find("run --structures: no potential: give --model"), std::string::npos);
  o.model = "snap";
  EXPECT_NE(error(o).find("--model snap: expected lj, TYPE:FILE"), std::string::npos);
  o.model = "snap:/no/such.snap";
  EXPECT_NE(error(o).find("'/no/such.snap' names no readable file"), std::string::npos);
  o.model = "nosuchmodel:" + kExample;  // a type the job parser does not know: named by its key
  EXPECT_NE(error(o).find("'model.type' must be"), std::string::npos);
  o.model = "/no/model.toml";
  EXPECT_NE(error(o).find("--model /no/model.toml: no such model file"), std::string::npos);
  const std::string extra = write("extra.toml", "[model]\ntype = \"lennard_jones\"\n[run]\nsteps = 3\n");
  o.model = extra;
  EXPECT_NE(error(o).find("holds only [model] or [[model]] tables, not 'run'"), std::string::npos);
  const std::string bad = write("bad_model.toml", "[model]\ntype = \"lennard_jones\"\nepsilon = -1.0\n");
  o.model = bad;
  EXPECT_NE(error(o).find(bad + ": 'model.epsilon' must be > 0"), std::string::npos);
  o.model = "lj";
  o.structures = {"/no/such.xyz"};
  EXPECT_NE(error(o).find("run --structures: '/no/such.xyz' names no readable file"), std::string::npos);
  o.structures = {kExample};
  o.restart = "x.zarr";
  EXPECT_NE(error(o).find("--structures cannot be combined with --restart"), std::string::npos);
}
