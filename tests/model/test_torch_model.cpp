// SPDX-License-Identifier: Apache-2.0
// TorchScript models (model::TorchScriptModel through the libtorch plugin) against independent
// references. The models are written at test time by tests/model/torch_models.py with Debian's
// python3-torch (the same libtorch as the plugin): a Lennard-Jones potential in torch against
// batchmd's LennardJones, a neural many-body model against finite differences and against its own
// model-supplied forces, a MACE-like model in MACE's LAMMPS export convention against the same
// module evaluated by torch in Python (edges from a brute-force image search there), batched
// against one system at a time, a short NVE run, and the errors of bad models and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/model/lennard_jones.hpp"
#include "batchmd/model/torch_model.hpp"
#include "lj_model_support.hpp"
#include "torch_test_support.hpp"

namespace batchmd::model {
namespace {

using namespace torch_tests;
using json = nlohmann::json;
using lj_cases::Vec;

// Argon liquid (periodic cubic), a 2-atom triclinic box (neighbors are own images), a sheared
// triclinic box, a slab, a wire and an open cluster.
Batch lj_systems() {
  std::mt19937_64 rng(5);
  const DType d = DType::Float64;
  return Batch::from_systems(lj_cases::systems(lj_cases::liquid(d, rng), lj_cases::tiny_box(d, rng),
                                               lj_cases::triclinic(d, rng), lj_cases::slab(d, rng),
                                               lj_cases::wire(d, rng), lj_cases::cluster(d, rng, 40)));
}

// Argon with copper on every third site: a periodic triclinic box, a slab and an open cluster.
std::vector<AtomicData> ar_cu_systems(DType d = DType::Float64) {
  std::mt19937_64 rng(9);
  const Vec cell = {10.5, 0, 0, 1.5, 10.0, 0, -1.0, 0.8, 9.8};
  Vec x = lj_cases::grid_in_cell(3, cell, 0.25, rng);
  auto box = AtomicData::make(d, x, lj_cases::argon(x), cell, {true, true, true});
  auto slab = lj_cases::slab(d, rng);
  auto cluster = lj_cases::cluster(d, rng, 20);
  std::vector<AtomicData> v;
  for (auto* s : {&box, &slab, &cluster}) {
    auto* z = s->get("atomic_numbers").data<std::int64_t>();
    for (std::int64_t i = 0; i < s->n_atoms(); i += 3) z[i] = 29;
    v.push_back(std::move(*s));
  }
  return v;
}

TEST_F(Torch, LennardJonesInTorchEqualsNativeLennardJones) {
  TorchScriptModel torch_lj(config("lj"));
  EXPECT_EQ(torch_lj.convention(), TorchConvention::Batched);
  EXPECT_EQ(torch_lj.cutoff(), 8.5);
  LennardJones native(LJConfig{});  // argon: the parameters the torch module holds
  // Without stress the module reads the shifts batchmd computed; with stress, shifts from the
  // strained cell (unit_shifts . cell) and forces and virial by autograd.
  for (bool stress : {false, true}) {
    Batch a = lj_systems(), b = lj_systems();
    torch_lj.compute(a, stress);
    native.compute(b, stress);
    expect_close(values(a, "energy"), values(b, "energy"), 1e-12, "energy");
    expect_close(values(a, "forces"), values(b, "forces"), 1e-12, "forces");
    if (stress) {
      expect_close(values(a, "virial"), values(b, "virial"), 1e-12, "virial");
      expect_close(values(a, "stress"), values(b, "stress"), 1e-12, "stress");
    }
    EXPECT_GT(max_abs(values(b, "forces")), 0.01);
  }
}

TEST_F(Torch, AutogradForcesAndVirialMatchFiniteDifferences) {
  TorchScriptModel m(config("manybody"));
  EXPECT_EQ(m.elements(), (std::vector<std::int64_t>{18, 29}));
  Batch b = Batch::from_systems(ar_cu_systems());
  m.compute(b, true);
  const auto f = values(b, "forces"), w = values(b, "virial");
  const std::int64_t* ptr = b.atoms_ptr_data();
  const double h = 1e-4;
  auto energies = [&](Batch& x) {
    m.compute(x, false);
    return values(x, "energy");
  };
  // Forces: central differences of the system energy, a few atoms of every system.
  for (std::int64_t s = 0; s < b.n_systems(); ++s)
    for (std::int64_t a = ptr[s]; a < std::min(ptr[s + 1], ptr[s] + 4); ++a)
      for (int d = 0; d < 3; ++d) {
        Batch x = b.clone();
        double* p = x.get("positions").data<double>();
        p[3 * a + d] += h;
        const double ep = energies(x)[s];
        p[3 * a + d] -= 2 * h;
        const double em = energies(x)[s];
        EXPECT_NEAR(f[3 * a + d], -(ep - em) / (2 * h), 1e-6) << "system " << s << " atom " << a << " dir " << d;
      }
  // Virial: W = -dE/d(strain) with x -> x (1 + e), cell -> cell (1 + e), every system at once
  // (open systems have no cell; their atoms move all the same).
  const double hs = 1e-5;  // strain step: the energy is stiffer in strain than in one coordinate
  for (int ab = 0; ab < 9; ++ab) {
    std::vector<double> e[2];
    for (int sign = 0; sign < 2; ++sign) {
      Batch x = b.clone();
      const double eps = sign == 0 ? hs : -hs;
      const int r = ab / 3, c = ab % 3;
      auto strain = [&](double* v, std::int64_t rows) {
        for (std::int64_t i = 0; i < rows; ++i) v[3 * i + c] += eps * v[3 * i + r];
      };
      strain(x.get("positions").data<double>(), x.n_atoms());
      strain(x.get("cell").data<double>(), 3 * x.n_systems());
      e[sign] = energies(x);
    }
    for (std::int64_t s = 0; s < b.n_systems(); ++s)
      EXPECT_NEAR(w[9 * s + ab], -(e[0][s] - e[1][s]) / (2 * hs), 1e-6) << "system " << s << " component " << ab;
  }
}

TEST_F(Torch, ModelSuppliedForcesEqualAutograd) {
  TorchScriptModel by_autograd(config("manybody")), own(config("manybody_forces"));
  Batch a = Batch::from_systems(ar_cu_systems()), b = a.clone();
  for (int call = 0; call < 2; ++call) {  // the second call uses what the first one learnt
    by_autograd.compute(a, true);
    own.compute(b, true);
    expect_close(values(a, "energy"), values(b, "energy"), 1e-13, "energy");
    expect_close(values(a, "forces"), values(b, "forces"), 1e-12, "forces");
    expect_close(values(a, "virial"), values(b, "virial"), 1e-12, "virial");
  }
  EXPECT_GT(max_abs(values(a, "forces")), 1e-3);
}

TEST_F(Torch, Float32ModelOnFloat32Batch) {
  TorchScriptModel m64(config("manybody")), m32(config("manybody_f32"));
  EXPECT_EQ(m32.dtype(), DType::Float32);
  Batch a = Batch::from_systems(ar_cu_systems(DType::Float64));
  Batch b = Batch::from_systems(ar_cu_systems(DType::Float32));
  m64.compute(a, true);
  m32.compute(b, true);
  expect_close(values(b, "energy"), values(a, "energy"), 1e-5, "energy");
  expect_close(values(b, "forces"), values(a, "forces"), 1e-5, "forces");
}

// Every system alone through a fresh model equals the same system in the batch.
void expect_batched_equals_separate(const std::string& path, const std::vector<AtomicData>& systems) {
  TorchScriptConfig c;
  c.path = path;
  TorchScriptModel batched(c);
  Batch all = Batch::from_systems(systems);
  batched.compute(all, true);
  const std::int64_t* ptr = all.atoms_ptr_data();
  const auto e = values(all, "energy"), f = values(all, "forces"), w = values(all, "virial");
  for (std::size_t s = 0; s < systems.size(); ++s) {
    TorchScriptModel alone_model(c);
    std::vector<AtomicData> single;
    single.push_back(systems[s].clone());
    Batch one = Batch::from_systems(single);
    alone_model.compute(one, true);
    EXPECT_NEAR(values(one, "energy")[0], e[s], 1e-12 * std::max(1.0, std::abs(e[s]))) << path << " system " << s;
    const auto fo = values(one, "forces"), wo = values(one, "virial");
    for (std::size_t k = 0; k < fo.size(); ++k) ASSERT_NEAR(fo[k], f[3 * ptr[s] + k], 1e-12) << path << " system " << s;
    for (int k = 0; k < 9; ++k) EXPECT_NEAR(wo[k], w[9 * s + k], 1e-11) << path << " system " << s;
  }
}

TEST_F(Torch, BatchedEqualsSeparate) { expect_batched_equals_separate(path("manybody"), ar_cu_systems()); }

// Water-like H/O in a triclinic box, a copper cluster with hydrogen, and a slab.
std::vector<AtomicData> mace_systems() {
  std::mt19937_64 rng(21);
  const Vec cell = {7.5, 0, 0, 0.9, 7.2, 0, -0.6, 0.5, 7.0};
  Vec x = lj_cases::grid_in_cell(3, cell, 0.2, rng);
  std::vector<std::int64_t> z(x.size() / 3, 1);
  for (std::size_t i = 0; i < z.size(); i += 3) z[i] = 8;
  auto water = AtomicData::make(DType::Float64, x, z, cell, {true, true, true});
  Vec xc = lj_cases::grid_in_cell(3, {8, 0, 0, 0, 8, 0, 0, 0, 8}, 0.2, rng);
  std::vector<std::int64_t> zc(xc.size() / 3, 29);
  zc[4] = 1;
  auto cluster = AtomicData::make(DType::Float64, xc, zc, {}, {false, false, false});
  Vec xs = lj_cases::grid_in_cell(3, {6.5, 0, 0, 1, 6.8, 0, 0, 0, 9}, 0.2, rng);
  std::vector<std::int64_t> zs(xs.size() / 3, 8);
  for (std::size_t i = 1; i < zs.size(); i += 2) zs[i] = 1;
  auto slab = AtomicData::make(DType::Float64, xs, zs, {6.5, 0, 0, 1, 6.8, 0, 0, 0, 0}, {true, true, false});
  std::vector<AtomicData> v;
  v.push_back(std::move(water));
  v.push_back(std::move(cluster));
  v.push_back(std::move(slab));
  return v;
}

TEST_F(Torch, MaceLammpsConventionMatchesTheModuleCalledFromPython) {
  TorchScriptModel m(config("mace"));
  EXPECT_EQ(m.convention(), TorchConvention::MaceLammps);
  EXPECT_EQ(m.cutoff(), 4.5);  // the module's r_max
  EXPECT_EQ(m.elements(), (std::vector<std::int64_t>{1, 8, 29}));
  const auto systems = mace_systems();
  Batch b = Batch::from_systems(systems), plain = b.clone();
  m.compute(b, true);
  m.compute(plain, false);  // compute_virials false: the module reads batchmd's shifts
  json in = json::array();
  for (const auto& s : systems) {
    json j;
    j["positions"] = lj_cases::to_doubles(s.get("positions"));
    j["numbers"] = std::vector<std::int64_t>(s.get("atomic_numbers").data<std::int64_t>(),
                                             s.get("atomic_numbers").data<std::int64_t>() + s.n_atoms());
    j["cell"] = s.has("cell") ? lj_cases::to_doubles(s.get("cell")) : std::vector<double>(9, 0.0);
    const bool* p = s.get("pbc").data<bool>();
    j["pbc"] = {p[0], p[1], p[2]};
    in.push_back(j);
  }
  const std::string in_path = scratch_ + "/mace_in.json", out_path = scratch_ + "/mace_out.json";
  std::ofstream(in_path) << in.dump();
  std::string out;
  ASSERT_EQ(run(std::string(kPython) + " " BATCHMD_MODEL_TEST_DIR "/torch_models.py mace-ref " + path("mace") + " " +
                    in_path + " " + out_path,
                &out),
            0)
      << out;
  const json ref = json::parse(std::ifstream(out_path));
  expect_close(values(b, "energy"), ref["energy"].get<std::vector<double>>(), 1e-12, "energy");
  expect_close(values(b, "forces"), ref["forces"].get<std::vector<double>>(), 1e-12, "forces");
  expect_close(values(b, "virial"), ref["virial"].get<std::vector<double>>(), 1e-12, "virial");
  expect_close(values(plain, "energy"), ref["energy"].get<std::vector<double>>(), 1e-12, "energy (no virial)");
  expect_close(values(plain, "forces"), ref["forces"].get<std::vector<double>>(), 1e-12, "forces (no virial)");
  EXPECT_GT(max_abs(values(b, "forces")), 1e-3);
}

TEST_F(Torch, MaceLammpsBatchedEqualsSeparate) { expect_batched_equals_separate(path("mace"), mace_systems()); }

TEST_F(Torch, NveConservesEnergy) {
  // 27 Ar/Cu atoms in a periodic box, velocity Verlet at 1 fs for 300 steps, 300 K.
  auto model = std::make_shared<TorchScriptModel>(config("manybody"));
  auto systems = ar_cu_systems();
  systems.resize(1);
  Batch b = Batch::from_systems(systems);
  dynamics::maxwell_boltzmann(b, 300.0, 3);
  dynamics::VelocityVerlet md(model, 1.0);
  auto total = [&] { return values(b, "energy")[0] + dynamics::kinetic_energy(b)[0]; };
  md.run(b, 1);
  const double e0 = total(), ke0 = dynamics::kinetic_energy(b)[0];
  double worst = 0;
  for (int k = 0; k < 30; ++k) {
    md.run(b, 10);
    worst = std::max(worst, std::abs(total() - e0));
  }
  EXPECT_LT(worst, 1e-3 * ke0) << "E0 " << e0 << " KE0 " << ke0;
  EXPECT_GT(ke0, 0.5);
}

// ---- errors

TEST_F(Torch, BadFilesAndModulesAreInvalidArgumentsNamingTheFile) {
  const std::string missing = scratch_ + "/missing.pt";
  auto msg = error_of<InvalidArgument>([&] {
    TorchScriptConfig c;
    c.path = missing;
    TorchScriptModel m(c);
  });
  EXPECT_NE(msg.find(missing), std::string::npos) << msg;
  EXPECT_NE(msg.find("cannot open"), std::string::npos) << msg;

  const std::string text = scratch_ + "/not_a_model.pt";
  std::ofstream(text) << "not a model\n";
  msg = error_of<InvalidArgument>([&] {
    TorchScriptConfig c;
    c.path = text;
    TorchScriptModel m(c);
  });
  EXPECT_NE(msg.find("not a TorchScript archive"), std::string::npos) << msg;

  msg = error_of<InvalidArgument>([&] { TorchScriptModel m(config("bad_signature")); });
  EXPECT_NE(msg.find(path("bad_signature")), std::string::npos) << msg;
  EXPECT_NE(msg.find("neither calling convention"), std::string::npos) << msg;

  auto c = config("lj");
  c.convention = TorchConvention::MaceLammps;
  msg = error_of<InvalidArgument>([&] { TorchScriptModel m(c); });
  EXPECT_NE(msg.find("is not the mace-lammps convention"), std::string::npos) << msg;

  msg = error_of<InvalidArgument>([&] { TorchScriptModel m(config("no_cutoff")); });
  EXPECT_NE(msg.find("no cutoff"), std::string::npos) << msg;
  auto nc = config("no_cutoff");
  nc.cutoff = 3.0;
  EXPECT_NO_THROW(TorchScriptModel m(nc));

  auto el = config("manybody");
  el.elements = {18, 30};
  msg = error_of<InvalidArgument>([&] { TorchScriptModel m(el); });
  EXPECT_NE(msg.find("differ from the module's atomic_numbers (Ar, Cu)"), std::string::npos) << msg;

  auto dt = config("manybody_f32");
  dt.dtype = DType::Float64;
  msg = error_of<InvalidArgument>([&] { TorchScriptModel m(dt); });
  EXPECT_NE(msg.find("computes in float32"), std::string::npos) << msg;
}

TEST_F(Torch, BadOutputsAndInputsAtComputeTime) {
  Batch b = Batch::from_systems(ar_cu_systems());
  {
    TorchScriptModel m(config("bad_outputs"));
    const auto msg = error_of<InvalidArgument>([&] { m.compute(b); });
    EXPECT_NE(msg.find(path("bad_outputs")), std::string::npos) << msg;
    EXPECT_NE(msg.find("returned no 'energy'"), std::string::npos) << msg;
  }
  {
    TorchScriptModel m(config("bad_shape"));
    const auto msg = error_of<InvalidArgument>([&] { m.compute(b); });
    EXPECT_NE(msg.find("'energy' has shape [3, 2], expected [3]"), std::string::npos) << msg;
  }
  {
    TorchScriptModel m(config("bad_nan"));
    const auto msg = error_of<NumericalError>([&] { m.compute(b); });
    EXPECT_NE(msg.find("non-finite values in 'energy'"), std::string::npos) << msg;
  }
  {
    TorchScriptModel m(config("manybody_f32"));
    const auto msg = error_of<InvalidArgument>([&] { m.compute(b); });
    EXPECT_NE(msg.find("computes in float32 but the batch is float64"), std::string::npos) << msg;
  }
  {
    TorchScriptModel m(config("manybody"));
    Batch neon = b.clone();
    neon.get("atomic_numbers").data<std::int64_t>()[b.atoms_ptr_data()[1] + 2] = 10;
    const auto msg = error_of<InvalidArgument>([&] { m.compute(neon); });
    EXPECT_NE(msg.find("element Ne (Z = 10) of atom 2 in system 1 is not covered by the model (Ar, Cu)"),
              std::string::npos)
        << msg;
  }
  {
    TorchScriptModel m(config("mace"));
    const auto msg = error_of<InvalidArgument>([&] { m.compute(b); });  // argon: not H, O, Cu
    EXPECT_NE(msg.find("element Ar"), std::string::npos) << msg;
  }
}

TEST_F(Torch, MissingPluginIsAnInvalidArgument) {
  std::string why;
  EXPECT_TRUE(torch_plugin_available({}, &why)) << why;
  EXPECT_FALSE(torch_plugin_available(scratch_ + "/no_plugin.so", &why));
  auto c = config("lj");
  c.plugin = scratch_ + "/no_plugin.so";
  const auto msg = error_of<InvalidArgument>([&] { TorchScriptModel m(c); });
  EXPECT_NE(msg.find("libtorch plugin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no_plugin.so: no such file"), std::string::npos) << msg;
  c.plugin = path("lj");  // a file, but not a shared library
  EXPECT_THROW(TorchScriptModel m(c), InvalidArgument);
}

TEST_F(Torch, PluginOfAnotherInterfaceVersionIsRefused) {
  auto c = config("lj");
  c.plugin = BATCHMD_TORCH_PLUGIN_V1;  // exports the plugin's symbols, interface version 1
  const auto msg = error_of<InvalidArgument>([&] { TorchScriptModel m(c); });
  EXPECT_NE(msg.find("plugin interface version 1, this batchmd needs 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("rebuild the plugin"), std::string::npos) << msg;
}

}  // namespace
}  // namespace batchmd::model
