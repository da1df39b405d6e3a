// SPDX-License-Identifier: Apache-2.0
// Stores written in the Python ALCHEMI toolkit's layout (README: "stores written by the Python
// ALCHEMI toolkit in the same layout read back") by two independent writers — zarrita (Zarr v3,
// with zarr-python 3's codecs and group documents, as the toolkit writes today) and zarr-python 2
// (Zarr v2, the ".zattrs" layout of the toolkit's documentation) — read with TrajectoryReader,
// `inspect` and `convert` (whose XYZ ASE reads back). Scripts: tests/app/alchemi/. A missing node,
// zarrita, python3 or zarr-python is a failure, not a skip.
#include <nlohmann/json.hpp>
#include <set>

#include "app_test_util.hpp"
#include "batchmd/sinks/zarr_data.hpp"

using namespace batchmd;
using namespace batchmd::app_test;
using nlohmann::json;

namespace {

enum class Writer { Zarrita, ZarrPython2 };

std::string writer_name(Writer w) { return w == Writer::Zarrita ? "zarrita_v3" : "zarr_python2_v2"; }
void PrintTo(Writer w, std::ostream* os) { *os << writer_name(w); }  // readable CTest names

/// Runs a command; returns its stdout, failing the test (with stderr) on a non-zero exit.
std::string run_tool(const std::string& cmd) {
  const std::string err = tmp_path("tool.err");
  std::FILE* p = ::popen((cmd + " 2>'" + err + "'").c_str(), "r");
  if (!p) {
    ADD_FAILURE() << "popen failed: " << cmd;
    return "";
  }
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = ::pclose(p);
  EXPECT_EQ(status, 0) << cmd << "\n" << read_text(err);
  return out;
}

std::string write_toolkit_store(Writer w, const std::string& variant) {
  const std::string store = tmp_path(writer_name(w) + "_" + variant + ".zarr");
  const std::string dir = std::string(BATCHMD_SOURCE_DIR) + "/tests/app/alchemi";
  const std::string out = w == Writer::Zarrita
                              ? run_tool("node " + dir + "/toolkit_store.mjs '" + store + "' " +
                                         BATCHMD_ZARRITA_NODE_MODULES + " " + variant)
                              : run_tool("/usr/bin/python3 " + dir + "/toolkit_store_v2.py '" + store + "' " + variant);
  EXPECT_NE(out.find("\"ok\""), std::string::npos) << out;
  return store;
}

// The values the writers store (toolkit_store.mjs, toolkit_store_v2.py): 6 samples, sample i with
// 2 + 5i mod 7 atoms; in the "full" variant a chain of bonds per sample and sample 3 deleted.
constexpr std::int64_t kSamples = 6;
std::int64_t natoms(std::int64_t i) { return 2 + (i * 5) % 7; }
struct Expected {
  std::vector<double> positions, forces, energy, cell;
  std::vector<std::int64_t> numbers, label;
  std::vector<bool> pbc;
};
Expected expected_sample(std::int64_t i) {
  Expected e;
  const auto d = static_cast<double>(i);
  for (std::int64_t a = 0; a < natoms(i); ++a) {
    const auto da = static_cast<double>(a);
    e.positions.insert(e.positions.end(), {d * 10 + da, -0.5 * da, 0.25 * d});
    e.forces.insert(e.forces.end(), {0.125 * da, -d, 1.0});
    e.numbers.push_back(1 + (i + a) % 20);
  }
  e.energy = {-1.5 * d};
  e.cell = {10 + d, 0, 0, 0, 11, 0, 0, 0, 12};
  e.pbc = {i % 2 == 0, true, false};
  e.label = {100 + i};
  return e;
}

/// Sample `s` of batch `b` holds exactly the writers' values of sample `i`.
void expect_sample(const Batch& b, std::int64_t s, std::int64_t i) {
  const Expected e = expected_sample(i);
  const AtomicData got = b.system(s);
  ASSERT_EQ(got.n_atoms(), natoms(i)) << "sample " << i;
  auto floats = [&](const char* name) {
    std::vector<double> v;
    const Tensor& t = got.get(name);
    EXPECT_EQ(t.dtype(), DType::Float32) << name;
    for (std::int64_t k = 0; k < t.numel(); ++k) v.push_back(t.data<float>()[k]);
    return v;
  };
  EXPECT_EQ(floats("positions"), e.positions) << "sample " << i;
  EXPECT_EQ(floats("forces"), e.forces) << "sample " << i;
  EXPECT_EQ(floats("energy"), e.energy) << "sample " << i;
  EXPECT_EQ(got.get("energy").shape(), (Shape{1, 1})) << "the toolkit stores energy as [N, 1]";
  EXPECT_EQ(floats("cell"), e.cell) << "sample " << i;
  const Tensor& z = got.get("atomic_numbers");
  EXPECT_EQ(std::vector<std::int64_t>(z.data<std::int64_t>(), z.data<std::int64_t>() + z.numel()), e.numbers);
  const Tensor& p = got.get("pbc");
  EXPECT_EQ(std::vector<bool>(p.data<bool>(), p.data<bool>() + 3), e.pbc) << "sample " << i;
  EXPECT_EQ(got.get("label").data<std::int64_t>()[0], e.label[0]) << "sample " << i;
}

json ase_read(const std::string& xyz) {
  return json::parse(run_tool("/usr/bin/python3 " + std::string(BATCHMD_SOURCE_DIR) +
                              "/tests/app/interop/read_extxyz.py '" + xyz + "'"));
}

class ToolkitStore : public ::testing::TestWithParam<Writer> {};

}  // namespace

TEST_P(ToolkitStore, TrajectoryReaderInspectAndConvertReadItBack) {
  const Writer w = GetParam();
  const std::string store = write_toolkit_store(w, "simple");

  // ---- TrajectoryReader: every sample, by range, index list and one at a time
  sinks::TrajectoryReader r(store);
  EXPECT_EQ(r.zarr_format(), w == Writer::Zarrita ? 3 : 2);
  ASSERT_EQ(r.num_samples(), kSamples);
  EXPECT_TRUE(r.batchmd_attributes().empty()) << "not a batchmd store";
  std::set<std::string> names;
  for (const auto& f : r.fields()) names.insert(f.group + "/" + f.name);
  EXPECT_EQ(names, (std::set<std::string>{"core/atomic_numbers", "core/cell", "core/energy", "core/forces", "core/pbc",
                                          "core/positions", "custom/label"}));
  const Batch all = r.read_range(0, kSamples);
  for (std::int64_t i = 0; i < kSamples; ++i) expect_sample(all, i, i);
  const Batch some = r.read_indices({5, 1, 2});
  expect_sample(some, 0, 5);
  expect_sample(some, 1, 1);
  expect_sample(some, 2, 2);
  expect_sample(r.read(4), 0, 4);
  std::vector<std::int64_t> counts;
  for (std::int64_t i = 0; i < kSamples; ++i) counts.push_back(natoms(i));
  EXPECT_EQ(r.atom_counts(), counts);

  // ---- batchmd inspect (text and JSON)
  std::FILE* f = std::tmpfile();
  EXPECT_EQ(app::inspect_command({store, false}, f), 0);
  std::rewind(f);
  std::string text(1 << 16, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), f));
  std::fclose(f);
  EXPECT_NE(text.find(w == Writer::Zarrita ? "zarr format:  v3" : "zarr format:  v2"), std::string::npos) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex("samples: +6\n"))) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex("atoms: +31 total"))) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex("custom/label +system +int64"))) << text;
  f = std::tmpfile();
  EXPECT_EQ(app::inspect_command({store, true}, f), 0);
  std::rewind(f);
  text.assign(1 << 16, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), f));
  std::fclose(f);
  const json j = json::parse(text);
  EXPECT_EQ(j["samples"], kSamples) << text;

  // ---- batchmd convert, read back by ASE
  const std::string xyz = tmp_path(writer_name(w) + ".xyz");
  app::ConvertOptions c;
  c.url = store;
  c.output = xyz;
  f = std::tmpfile();
  EXPECT_EQ(app::convert_command(c, f), 0);
  std::fclose(f);
  const json frames = ase_read(xyz)["frames"];
  ASSERT_EQ(frames.size(), static_cast<std::size_t>(kSamples));
  for (std::int64_t i = 0; i < kSamples; ++i) {
    const Expected e = expected_sample(i);
    const json& fr = frames[static_cast<std::size_t>(i)];
    ASSERT_EQ(fr["natoms"], natoms(i));
    EXPECT_EQ(fr["numbers"].get<std::vector<std::int64_t>>(), e.numbers) << "frame " << i;
    std::vector<double> x;
    for (const auto& row : fr["positions"])
      for (double v : row) x.push_back(v);
    EXPECT_EQ(x, e.positions) << "frame " << i;
    EXPECT_EQ(fr["energy"].get<double>(), e.energy[0]) << "frame " << i;
    EXPECT_EQ(fr["pbc"].get<std::vector<bool>>(), e.pbc) << "frame " << i;
  }
  fs::remove_all(store);
  fs::remove(xyz);
}

// The toolkit stores *index* fields concatenated along their last axis — edge_index as int64
// [2, E] with store-wide atom indices — while batchmd writes [E, 2] with sample-local indices:
// the reader takes both (and the batch always holds [E, 2], global in the batch). A soft-deleted
// sample (meta/samples_mask false; its data zeroed) keeps its index but convert leaves it out.
TEST_P(ToolkitStore, EdgesCustomEdgeFieldsAndSoftDeletedSamplesReadBack) {
  const Writer w = GetParam();
  const std::string store = write_toolkit_store(w, "full");
  sinks::TrajectoryReader r(store);
  ASSERT_EQ(r.num_samples(), kSamples);
  EXPECT_EQ(r.live_samples(), (std::vector<bool>{true, true, true, false, true, true}));
  EXPECT_EQ(r.live_samples(), (std::vector<bool>{true, true, true, false, true, true}));
  const Batch all = r.read_range(0, kSamples);
  for (std::int64_t i = 0; i < kSamples; ++i)
    if (i != 3) expect_sample(all, i, i);
  // edges: a chain per sample, as [E, 2] global in the batch (the batchmd convention)
  ASSERT_TRUE(all.has("edge_index"));
  const Tensor& ei = all.get("edge_index");
  const Tensor& bond = all.get("bond_length");
  const auto* ap = all.atoms_ptr_data();
  std::int64_t e = 0;
  for (std::int64_t i = 0; i < kSamples; ++i)
    for (std::int64_t k = 0; k + 1 < natoms(i); ++k, ++e) {
      if (i == 3) continue;  // deleted: zeroed by the toolkit
      EXPECT_EQ(ei.data<std::int64_t>()[2 * e], ap[i] + k) << "edge " << e;
      EXPECT_EQ(ei.data<std::int64_t>()[2 * e + 1], ap[i] + k + 1) << "edge " << e;
      EXPECT_EQ(bond.data<float>()[e], static_cast<float>(static_cast<double>(i) + 0.5 * static_cast<double>(k)));
    }
  // convert leaves the deleted sample out
  const std::string xyz = tmp_path(writer_name(w) + "_full.xyz");
  app::ConvertOptions c;
  c.url = store;
  c.output = xyz;
  std::FILE* f = std::tmpfile();
  EXPECT_EQ(app::convert_command(c, f), 0);
  std::fclose(f);
  EXPECT_EQ(ase_read(xyz)["frames"].size(), static_cast<std::size_t>(kSamples - 1));
  fs::remove_all(store);
  fs::remove(xyz);
}

INSTANTIATE_TEST_SUITE_P(Writers, ToolkitStore, ::testing::Values(Writer::Zarrita, Writer::ZarrPython2),
                         [](const auto& i) { return writer_name(i.param); });
