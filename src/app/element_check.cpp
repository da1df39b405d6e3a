// SPDX-License-Identifier: Apache-2.0
// app/element_check: which elements a job's model evaluates, and the check of a batch against
// them. The models say it through Model::covered_elements() (SNAP: its coefficient file; a sum:
// what every term takes); this file names the structure that holds an element they do not take.
#include "batchmd/app/element_check.hpp"

#include <algorithm>
#include <string>

#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"

namespace batchmd::app {

std::optional<std::vector<std::int64_t>> model_elements(const model::Model& m) { return m.covered_elements(); }

namespace {

// The table of cfg that made system s (build_systems' order: liquids, clusters, crystals, files).
std::string describe_system(const RunConfig& c, std::int64_t s) {
  const std::int64_t index = s;
  auto in = [&](const auto& specs, const char* name) -> std::string {
    for (std::size_t i = 0; i < specs.size(); ++i) {
      if (s < specs[i].count) return std::string(name) + "[" + std::to_string(i) + "]";
      s -= specs[i].count;
    }
    return {};
  };
  std::string found = in(c.liquids, "liquid");
  if (found.empty()) found = in(c.clusters, "cluster");
  if (found.empty()) found = in(c.crystals, "crystal");
  if (!found.empty()) return "system " + std::to_string(index) + ", " + found;
  for (const auto& spec : c.structures) {
    const std::int64_t n = structure_system_count(spec);
    if (s < n) return "system " + std::to_string(index) + ", " + describe_structure_system(spec, s);
    s -= n;
  }
  return "system " + std::to_string(index);
}

std::string element_list(const std::vector<std::int64_t>& z) {
  std::string out;
  for (auto e : z) out += (out.empty() ? "" : ", ") + element_label(e);
  return out;
}

}  // namespace

void check_model_elements(const Batch& batch, const model::Model& m, const RunConfig& cfg, bool built_from_cfg) {
  const auto covered = model_elements(m);
  if (!covered) return;
  const Tensor z = batch.get("atomic_numbers").to(Device::cpu());
  const auto* zp = z.data<std::int64_t>();
  const auto* ptr = batch.atoms_ptr_data();
  std::int64_t s = 0;
  for (std::int64_t a = 0; a < batch.n_atoms(); ++a) {
    while (ptr[s + 1] <= a) ++s;
    if (std::binary_search(covered->begin(), covered->end(), zp[a])) continue;
    throw InvalidArgument("the model (" + m.name() + ") has no parameters for element " + element_label(zp[a]) +
                          " (Z = " + std::to_string(zp[a]) + "), found in " +
                          (built_from_cfg ? describe_system(cfg, s) : "system " + std::to_string(s)) + ", atom " +
                          std::to_string(a - ptr[s]) + "; it covers " + element_list(*covered) +
                          ": choose another potential (--model or [model]) or leave that structure out");
  }
}

}  // namespace batchmd::app
