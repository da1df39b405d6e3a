// SPDX-License-Identifier: Apache-2.0
// io/text (internal): line cursor, tokens, numbers.
#include "text.hpp"

#include <cctype>
#include <charconv>
#include <cmath>

#include "batchmd/core/error.hpp"

namespace batchmd::io::detail {

void fail_at(std::string_view source, std::int64_t line, const std::string& what) {
  std::string msg(source);
  if (line > 0) msg += ":" + std::to_string(line);
  msg += ": " + what;
  throw FormatError(msg);
}

std::optional<std::string_view> LineCursor::try_next() {
  if (at_end()) return std::nullopt;
  std::size_t end = text_.find('\n', pos_);
  if (end == std::string_view::npos) end = text_.size();
  std::string_view line = text_.substr(pos_, end - pos_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  pos_ = end + 1;
  ++line_;
  return line;
}

std::string_view LineCursor::next(std::string_view what) {
  if (auto l = try_next()) return *l;
  fail_at(source_, line_ + 1, "unexpected end of file: expected " + std::string(what));
}

std::optional<std::string_view> LineCursor::peek() const {
  LineCursor copy = *this;
  return copy.try_next();
}

bool LineCursor::skip_blank() {
  while (auto l = peek()) {
    if (!trim(*l).empty()) return true;
    try_next();
  }
  return false;
}

std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; };
  while (i < s.size()) {
    while (i < s.size() && space(s[i])) ++i;
    const std::size_t b = i;
    while (i < s.size() && !space(s[i])) ++i;
    if (i > b) out.push_back(s.substr(b, i - b));
  }
  return out;
}

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string quote(std::string_view tok) {
  std::string out = "'";
  const std::size_t n = std::min<std::size_t>(tok.size(), 40);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(tok[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (tok.size() > n) out += "...";
  return out + "'";
}

std::optional<double> to_double(std::string_view tok) {
  if (!tok.empty() && tok.front() == '+') tok.remove_prefix(1);
  if (tok.empty() || tok.front() == '+') return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
  if (ec == std::errc() && p == tok.data() + tok.size()) return v;
  // Fortran writes exponents as D (1.5D-03); accept them like VASP and LAMMPS do.
  const std::size_t d = tok.find_first_of("dD");
  if (ec == std::errc() && d != std::string_view::npos && p == tok.data() + d) {
    std::string t(tok);
    t[d] = 'e';
    auto [p2, ec2] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec2 == std::errc() && p2 == t.data() + t.size()) return v;
  }
  return std::nullopt;
}

std::optional<std::int64_t> to_int(std::string_view tok) {
  if (!tok.empty() && tok.front() == '+') tok.remove_prefix(1);
  if (tok.empty() || tok.front() == '+') return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
  if (ec == std::errc() && p == tok.data() + tok.size()) return v;
  return std::nullopt;
}

double parse_double(std::string_view tok, const LineCursor& at, std::string_view what) {
  const auto v = to_double(tok);
  if (!v) at.fail("expected a number for " + std::string(what) + ", found " + quote(tok));
  if (!std::isfinite(*v)) at.fail(std::string(what) + " is " + quote(tok) + ", not a finite number");
  return *v;
}

std::int64_t parse_int(std::string_view tok, const LineCursor& at, std::string_view what) {
  const auto v = to_int(tok);
  if (!v) at.fail("expected an integer for " + std::string(what) + ", found " + quote(tok));
  return *v;
}

void append_double(std::string& s, double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) throw Error("cannot format a number");
  const std::string_view t(buf, static_cast<std::size_t>(end - buf));
  s += t;
  if (t.find_first_of(".eEni") == std::string_view::npos) s += ".0";
}

void append_int(std::string& s, std::int64_t v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  s.append(buf, static_cast<std::size_t>(end - buf));
}

}  // namespace batchmd::io::detail
