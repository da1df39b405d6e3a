// SPDX-License-Identifier: Apache-2.0
// Tests of the job file's ranges (app/config key_ranges): every numeric key refuses values just
// outside its range and accepts its bounds, integers are never narrowed by wrapping, and
// docs/jobs.md shows the same table the parser enforces.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "batchmd/app/config.hpp"
#include "batchmd/core/error.hpp"

using namespace batchmd;
using namespace batchmd::app;

namespace {

std::string error_of(const std::string& toml) {
  try {
    parse_config(toml, "test.toml");
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

bool is_array_table(const std::string& t) {
  return t == "liquid" || t == "cluster" || t == "stage" || t == "model.pair";
}

// A job that sets `key` of the range's table to `value` (TOML text) and is valid otherwise.
std::string job_with(const KeyRange& r, const std::string& value) {
  const std::string t = r.table, k = r.key;
  std::string text;
  if (t != "liquid" && t != "cluster") text += "[[cluster]]\natoms = 13\n";
  if (t == "model.pair")
    return text + "[[model.pair]]\nelements = " +
           (k == "elements" ? "[18, " + value + "]" : "[18, 10]\n" + k + " = " + value) + "\n";
  text += is_array_table(t) ? "[[" + t + "]]\n" : "[" + t + "]\n";
  return text + k + " = " + value + "\n";
}

// The key as error messages name it.
std::string key_name(const KeyRange& r) {
  return std::string(r.table) + (is_array_table(r.table) ? "[0]." : ".") + r.key;
}

std::string number(double v, bool integer) {
  if (integer) return std::to_string(static_cast<std::int64_t>(v));
  std::ostringstream os;
  os.precision(17);
  os << v;
  std::string s = os.str();
  if (s.find_first_of(".en") == std::string::npos) s += ".0";  // a TOML float
  return s;
}

}  // namespace

TEST(ConfigRanges, EveryKeyRefusesValuesOutsideItsRange) {
  for (const KeyRange& r : key_ranges()) {
    if (std::string(r.key) == "element") continue;  // the table of atomic weights decides (below)
    std::vector<double> outside;
    if (r.integer) {
      outside.push_back(r.lo - 1);
      if (r.hi < 9e18) outside.push_back(r.hi + 1);
    } else {
      outside.push_back(r.lo_open ? r.lo : r.lo - std::max(1.0, std::abs(r.lo)));
      outside.push_back(r.hi * 2);
      outside.push_back(r.hi * (1 + 1e-9));
    }
    for (double v : outside) {
      const std::string e = error_of(job_with(r, number(v, r.integer)));
      std::string quoted = "'";  // (built by append: GCC 12 warns falsely on "'" + std::string)
      quoted.append(key_name(r)).append("'");
      EXPECT_NE(e.find(quoted), std::string::npos) << key_name(r) << " = " << v << ": " << e;
      EXPECT_NE(e.find("must be"), std::string::npos) << e;
    }
    if (!r.integer) {
      for (const char* bad : {"nan", "inf", "-inf"}) {
        EXPECT_NE(error_of(job_with(r, bad)).find(key_name(r)), std::string::npos) << key_name(r) << " = " << bad;
      }
    }
  }
}

TEST(ConfigRanges, EveryKeyAcceptsItsBounds) {
  for (const KeyRange& r : key_ranges()) {
    std::vector<double> inside = {r.hi};
    if (!r.lo_open) inside.push_back(r.lo);
    for (double v : inside) {
      std::string value = number(v, r.integer);
      if (r.hi >= 9e18 && v == r.hi) value = "9223372036854775807";
      const std::string toml = job_with(r, value);
      EXPECT_EQ(error_of(toml), "") << key_name(r) << " = " << value;
    }
  }
}

TEST(ConfigRanges, IntegersAreNeverWrappedIntoTheirField) {
  // Values that fit int64 but not the field: an error, not a wrapped or clamped value.
  EXPECT_NE(error_of("[run]\nthreads = 4294967297\n[[cluster]]\natoms = 13\n").find("'run.threads'"),
            std::string::npos);
  EXPECT_NE(error_of("[run]\nthreads = 9223372036854775807\n[[cluster]]\natoms = 13\n").find("got 9223372036854775807"),
            std::string::npos);
  EXPECT_NE(error_of("[output]\nlevel = 4294967297\n[[cluster]]\natoms = 13\n").find("'output.level'"),
            std::string::npos);
  EXPECT_NE(error_of("[run]\nseed = -1\n[[cluster]]\natoms = 13\n").find("got -1"), std::string::npos);
  EXPECT_NE(error_of("[run]\nsteps = -9223372036854775808\n[[cluster]]\natoms = 13\n").find("'run.steps'"),
            std::string::npos);
  // Beyond int64: the TOML parser itself refuses, naming the line.
  EXPECT_NE(error_of("[run]\nsteps = 99999999999999999999\n[[cluster]]\natoms = 13\n").find("test.toml:2"),
            std::string::npos);
  // The largest seed TOML can write is kept exactly.
  EXPECT_EQ(parse_config("[run]\nseed = 9223372036854775807\n[[cluster]]\natoms = 13\n", "t").seed,
            9223372036854775807ULL);
  EXPECT_EQ(parse_config("[output]\nlevel = -7\n[[cluster]]\natoms = 13\n", "t").level, -7);
}

TEST(ConfigRanges, TypesAndDependentRanges) {
  const std::string c = "[[cluster]]\natoms = 13\n";
  EXPECT_NE(error_of(c + "[run]\nsteps = 2.0\n").find("must be an integer"), std::string::npos);
  EXPECT_EQ(error_of(c + "[run]\ndt_fs = 2\n"), "");  // an integer is a fine real
  EXPECT_NE(error_of(c + "[output]\ncompressor = \"gzip\"\nlevel = 12\n").find("[0, 9] for gzip"), std::string::npos);
  EXPECT_NE(error_of(c + "[output]\ncompressor = \"blosc-lz4\"\nlevel = -1\n").find("'output.level'"),
            std::string::npos);
  EXPECT_EQ(error_of(c + "[output]\ncompressor = \"zstd\"\nlevel = 22\n"), "");
  EXPECT_NE(error_of("[[cluster]]\natoms = 13\nelement = 119\n").find("'cluster[0].element'"), std::string::npos);
  EXPECT_NE(error_of("[[liquid]]\nelement = 0\n").find("atomic number 0"), std::string::npos);
  EXPECT_NE(error_of(c + "[[model.pair]]\nelements = [18, 119]\n").find("'model.pair[0].elements'"), std::string::npos);
  EXPECT_NE(error_of(c + "[[model.pair]]\nelements = [0, 18]\n").find("got 0"), std::string::npos);
  EXPECT_NE(error_of(c + "[[stage]]\ntype = \"nvt_langevin\"\ntemperature_K = 0\n").find("for a thermostat"),
            std::string::npos);
}

TEST(ConfigRanges, DocsShowTheTableTheParserEnforces) {
  std::ifstream in(std::string(BATCHMD_SOURCE_DIR) + "/docs/jobs.md");
  ASSERT_TRUE(in) << "docs/jobs.md";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  for (const KeyRange& r : key_ranges()) {
    const std::string table =
        is_array_table(r.table) ? "[[" + std::string(r.table) + "]]" : "[" + std::string(r.table) + "]";
    const std::string row = "| `" + table + "` | `" + r.key + "` | `" + describe_range(r) + "` | " + r.unit + " |";
    EXPECT_NE(doc.find(row), std::string::npos) << "docs/jobs.md lacks the row\n" << row;
  }
}

TEST(ConfigRanges, ExamplesCommentEveryKeyWithItsRange) {
  // Each example job states the range of every numeric key it sets, in a comment on its line.
  for (const char* name : {"argon.toml", "relax_then_nvt.toml"}) {
    std::ifstream in(std::string(BATCHMD_SOURCE_DIR) + "/examples/" + name);
    ASSERT_TRUE(in) << name;
    std::string line, table;
    int checked = 0;
    while (std::getline(in, line)) {
      if (line.starts_with("[")) {
        table = line.substr(line.find_first_not_of('['), line.find(']') - line.find_first_not_of('['));
        continue;
      }
      const auto eq = line.find(" = ");
      if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
      const std::string key = line.substr(0, eq);
      for (const KeyRange& r : key_ranges())
        if (table == r.table && key == r.key) {
          const auto hash = line.find('#');
          EXPECT_TRUE(hash != std::string::npos && line.find(describe_range(r), hash) != std::string::npos)
              << name << " does not state the range " << describe_range(r) << " on\n"
              << line;
          ++checked;
        }
    }
    EXPECT_GT(checked, 5) << name;
  }
}
