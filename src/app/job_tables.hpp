// SPDX-License-Identifier: Apache-2.0
// app/job_tables (internal): the job-file tables parsed outside config.cpp, which calls these —
// the model ([model] other than Lennard-Jones, [[model]] sums: model_config.cpp) and the
// [[crystal]] structure generators (crystal_config.cpp).
#pragma once
#include <toml++/toml.h>

#include <string>
#include <vector>

#include "batchmd/app/crystal_config.hpp"
#include "batchmd/app/model_config.hpp"
#include "batchmd/app/structure_files.hpp"

namespace batchmd::app {

/// Reads [model] when its type is not "lennard_jones", or [[model]] (one table per term of a
/// sum), into out, and returns true; returns false (out untouched) when the job has no model
/// table or a Lennard-Jones [model], which config.cpp reads. Relative file paths are resolved
/// against the directory of `origin` when that names a file. InvalidArgument names the key.
bool parse_model_tables(const toml::table& root, const std::string& origin, ModelSpec& out);

/// Appends the [[crystal]] tables of root to out (InvalidArgument naming the key).
void parse_crystal_tables(const toml::table& root, const std::string& origin, std::vector<CrystalSpec>& out);

/// Appends the [[structures]] tables of root to out (structure_files.cpp); relative files are
/// resolved against the directory of `origin` when that names a file. Checks keys, types, ranges
/// and that the file exists (InvalidArgument naming the key); the file is read later.
void parse_structure_tables(const toml::table& root, const std::string& origin, std::vector<StructureFileSpec>& out);

}  // namespace batchmd::app
