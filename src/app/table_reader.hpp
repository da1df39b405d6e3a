// SPDX-License-Identifier: Apache-2.0
// app/table_reader (internal): strict reading of one TOML table of a job file for the parsers
// outside config.cpp (model_config.cpp, crystal_config.cpp): typed keys, element symbols or
// numbers, and unknown keys rejected — every error names the origin and the key path.
#pragma once
#include <toml++/toml.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"

namespace batchmd::app::detail {

class TableReader {
 public:
  TableReader(const toml::table& t, std::string where, std::string origin)
      : t_(t), where_(std::move(where)), origin_(std::move(origin)) {}

  const std::string& where() const { return where_; }
  bool has(const char* key) const { return t_.get(key) != nullptr; }
  /// A key whose value the caller reads itself (a type of its own); marks it as known.
  const toml::node* node(const char* key) { return use(key); }

  void get(const char* key, double& out) {
    if (const toml::node* n = use(key)) {
      auto v = n->value<double>();
      if (!v) fail(key, "must be a number");
      out = *v;
    }
  }
  void get(const char* key, bool& out) {
    if (const toml::node* n = use(key)) {
      auto v = n->value<bool>();
      if (!v) fail(key, "must be true or false");
      out = *v;
    }
  }
  void get(const char* key, std::int64_t& out) {
    if (const toml::node* n = use(key)) {
      if (!n->is_integer()) fail(key, "must be an integer");
      out = *n->value<std::int64_t>();
    }
  }
  void get(const char* key, std::string& out) {
    if (const toml::node* n = use(key)) {
      auto v = n->value<std::string>();
      if (!v) fail(key, "must be a string");
      out = *v;
    }
  }
  /// An array of numbers (a single number is a one-element list).
  void get(const char* key, std::vector<double>& out) {
    const toml::node* n = use(key);
    if (!n) return;
    out.clear();
    if (auto v = n->value<double>()) {
      out.push_back(*v);
      return;
    }
    if (!n->is_array()) fail(key, "must be a number or an array of numbers");
    for (const auto& e : *n->as_array()) {
      auto v = e.value<double>();
      if (!v) fail(key, "must be an array of numbers");
      out.push_back(*v);
    }
  }
  void get(const char* key, std::vector<std::int64_t>& out) {
    const toml::node* n = use(key);
    if (!n) return;
    out.clear();
    if (!n->is_array()) fail(key, "must be an array of integers");
    for (const auto& e : *n->as_array()) {
      if (!e.is_integer()) fail(key, "must be an array of integers");
      out.push_back(*e.value<std::int64_t>());
    }
  }
  void get(const char* key, std::vector<std::string>& out) {
    const toml::node* n = use(key);
    if (!n) return;
    out.clear();
    if (!n->is_array()) fail(key, "must be an array of strings");
    for (const auto& e : *n->as_array()) {
      auto v = e.value<std::string>();
      if (!v) fail(key, "must be an array of strings");
      out.push_back(*v);
    }
  }
  /// An element given as a symbol ("W") or an atomic number (74).
  std::int64_t element(const char* key, const toml::node& n) {
    if (n.is_integer()) {
      const auto z = *n.value<std::int64_t>();
      if (z < 1 || z > 118) fail(key, "has atomic number " + std::to_string(z) + ", outside 1..118");
      return z;
    }
    if (auto s = n.value<std::string>()) {
      const auto z = find_atomic_number(*s).value_or(0);
      if (z == 0) fail(key, "'" + *s + "' is not a chemical element symbol");
      return z;
    }
    fail(key, "must be an element symbol (\"W\") or atomic number (74)");
  }
  /// One element or an array of elements.
  void elements(const char* key, std::vector<std::int64_t>& out) {
    const toml::node* n = use(key);
    if (!n) return;
    out.clear();
    if (n->is_array())
      for (const auto& e : *n->as_array()) out.push_back(element(key, e));
    else
      out.push_back(element(key, *n));
  }
  /// Pairs of elements: [["W", "W"], ["W", "Be"]].
  void element_pairs(const char* key, std::vector<std::pair<std::int64_t, std::int64_t>>& out) {
    const toml::node* n = use(key);
    if (!n) return;
    if (!n->is_array()) fail(key, "must be an array of element pairs, e.g. [[\"W\", \"W\"], [\"W\", \"Be\"]]");
    for (const auto& e : *n->as_array()) {
      if (!e.is_array() || e.as_array()->size() != 2)
        fail(key, "must be an array of element pairs, e.g. [[\"W\", \"W\"], [\"W\", \"Be\"]]");
      out.emplace_back(element(key, *e.as_array()->get(0)), element(key, *e.as_array()->get(1)));
    }
  }
  void positive(const char* key, double v) {
    if (!(v > 0) || !std::isfinite(v)) fail(key, "must be > 0");
  }
  void non_negative(const char* key, double v) {
    if (!(v >= 0) || !std::isfinite(v)) fail(key, "must be >= 0");
  }
  /// Rejects keys nobody asked for.
  void finish() const {
    for (auto&& [k, v] : t_)
      if (!seen_.count(std::string(k.str())))
        throw InvalidArgument(origin_ + ": unknown key '" + path(std::string(k.str())) + "'");
  }
  [[noreturn]] void fail(const std::string& key, const std::string& why) const {
    throw InvalidArgument(origin_ + ": '" + path(key) + "' " + why);
  }

 private:
  const toml::node* use(const char* key) {
    seen_.insert(key);
    return t_.get(key);
  }
  std::string path(const std::string& k) const { return where_.empty() ? k : where_ + "." + k; }
  const toml::table& t_;
  std::string where_, origin_;
  std::set<std::string> seen_;
};

}  // namespace batchmd::app::detail
