// SPDX-License-Identifier: Apache-2.0
// io/extxyz_info (internal): the comment line of an extended XYZ frame.
#include "extxyz_info.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace batchmd::io::detail {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

/// One word: up to unquoted whitespace (and, for a key, up to '='). Quotes group, backslash
/// escapes the next character.
std::string read_word(std::string_view s, std::size_t& i, bool key, const LineCursor& at) {
  std::string out;
  char close = 0;
  bool escaped = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (escaped) {
      out += c;
      escaped = false;
    } else if (c == '\\') {
      escaped = true;
    } else if (close) {
      if (c == close)
        close = 0;
      else
        out += c;
    } else if (c == '"' || c == '\'' || c == '{' || c == '[') {
      close = c == '{' ? '}' : c == '[' ? ']' : c;
    } else if (is_space(c) || (key && c == '=')) {
      break;
    } else {
      out += c;
    }
  }
  if (close)
    at.fail(std::string("unterminated ") +
            (close == '}'   ? "'{'"
             : close == ']' ? "'['"
                            : "quote") +
            " in the comment line");
  return out;
}

/// Tokens of a value as ASE splits them: on whitespace and commas.
std::vector<std::string_view> value_tokens(std::string_view v) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && (is_space(v[i]) || v[i] == ',')) ++i;
    const std::size_t b = i;
    while (i < v.size() && !is_space(v[i]) && v[i] != ',') ++i;
    if (i > b) out.push_back(v.substr(b, i - b));
  }
  return out;
}

/// A rectangular JSON array of numbers or booleans into `out`; false when it is not one.
bool from_json(const nlohmann::json& j, InfoValue& out) {
  Shape shape;
  const nlohmann::json* p = &j;
  while (p->is_array()) {
    shape.push_back(static_cast<std::int64_t>(p->size()));
    if (p->empty()) break;
    p = &(*p)[0];
  }
  std::vector<const nlohmann::json*> leaves;
  bool ok = true;
  auto walk = [&](auto&& self, const nlohmann::json& node, std::size_t depth) -> void {
    if (!ok) return;
    if (depth == shape.size()) {
      if (node.is_array()) ok = false;
      leaves.push_back(&node);
      return;
    }
    if (!node.is_array() || static_cast<std::int64_t>(node.size()) != shape[depth]) {
      ok = false;
      return;
    }
    for (const auto& c : node) self(self, c, depth + 1);
  };
  walk(walk, j, 0);
  if (!ok || leaves.empty()) return false;
  const bool all_bool = std::all_of(leaves.begin(), leaves.end(), [](auto* l) { return l->is_boolean(); });
  const bool all_int = std::all_of(leaves.begin(), leaves.end(), [](auto* l) { return l->is_number_integer(); });
  const bool all_num = std::all_of(leaves.begin(), leaves.end(), [](auto* l) { return l->is_number(); });
  if (!all_bool && !all_num) return false;
  out.shape = shape;
  if (all_bool) {
    out.kind = InfoValue::Kind::Bool;
    for (auto* l : leaves) out.bools.push_back(l->get<bool>());
  } else {
    out.kind = all_int ? InfoValue::Kind::Int : InfoValue::Kind::Float;
    for (auto* l : leaves) {
      out.floats.push_back(l->get<double>());
      if (all_int) out.ints.push_back(l->get<std::int64_t>());
    }
  }
  return true;
}

InfoValue type_value(const std::string& key, std::string text, const LineCursor& at) {
  InfoValue v;
  v.text = std::move(text);
  const auto toks = value_tokens(v.text);
  if (!toks.empty()) {
    v.shape = toks.size() == 1 ? Shape{} : Shape{static_cast<std::int64_t>(toks.size())};
    std::vector<std::int64_t> ints;
    for (auto t : toks)
      if (auto i = to_int(t)) ints.push_back(*i);
    if (ints.size() == toks.size()) {
      v.kind = InfoValue::Kind::Int;
      v.ints = ints;
      for (auto i : ints) v.floats.push_back(static_cast<double>(i));
      return v;
    }
    std::vector<double> floats;
    for (auto t : toks)
      if (auto d = to_double(t)) floats.push_back(*d);
    if (floats.size() == toks.size()) {
      v.kind = InfoValue::Kind::Float;
      v.floats = floats;
      return v;
    }
    std::vector<bool> bools;
    for (auto t : toks)
      if (t == "T" || t == "F") bools.push_back(t == "T");
    if (bools.size() == toks.size()) {
      v.kind = InfoValue::Kind::Bool;
      v.bools = bools;
      return v;
    }
  }
  if (v.text.starts_with("_JSON ")) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(v.text.substr(6));
    } catch (const nlohmann::json::exception& e) {
      at.fail("the _JSON value of '" + key + "' is not JSON: " + e.what());
    }
    InfoValue jv;
    jv.text = v.text;
    if (from_json(j, jv)) return jv;
  }
  v.kind = InfoValue::Kind::String;
  v.shape = {};
  return v;
}

}  // namespace

std::int64_t InfoValue::count() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::vector<InfoEntry> parse_comment(std::string_view line, const LineCursor& at) {
  std::vector<InfoEntry> out;
  if (line.find('=') == std::string_view::npos) return out;  // a plain XYZ title
  std::size_t i = 0;
  while (true) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i >= line.size()) break;
    if (line[i] == '=') at.fail("a '=' with no key before it in the comment line");
    std::string key = read_word(line, i, true, at);
    std::size_t j = i;
    while (j < line.size() && is_space(line[j])) ++j;
    std::string value = "T";  // a bare key is a flag
    if (j < line.size() && line[j] == '=') {
      i = j + 1;
      while (i < line.size() && is_space(line[i])) ++i;
      value = read_word(line, i, false, at);
    }
    out.push_back({key, type_value(key, std::move(value), at)});
  }
  return out;
}

}  // namespace batchmd::io::detail
