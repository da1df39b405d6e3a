// SPDX-License-Identifier: Apache-2.0
// model/sw_params: reading LAMMPS .sw files into SWParams. The syntax follows LAMMPS's
// PotentialFileReader: '#' starts a comment, words are whitespace-separated, and an entry's 14
// words may continue over several lines (Si.sw puts them on two). Every problem names the file
// and the line, so a user can fix the file.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"
#include "batchmd/model/stillinger_weber.hpp"

namespace batchmd::model {

namespace {

constexpr std::size_t kWords = 14;  // 3 element symbols + 11 parameters

[[noreturn]] void fail(const std::string& path, int line, const std::string& why) {
  throw FormatError("Stillinger-Weber file " + path + ":" + std::to_string(line) + ": " + why);
}

struct RawEntry {
  std::vector<std::string> words;
  std::vector<int> line;  // of each word
  int first_line = 0, last_line = 0;
};

// The entries of a file as groups of 14 words (a group ends at the end of the line that
// completes it; more than 14 words there is an error).
std::vector<RawEntry> read_entries(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IOError("cannot open Stillinger-Weber file '" + path + "'");
  std::vector<RawEntry> out;
  RawEntry cur;
  std::string text;
  int n = 0;
  while (std::getline(in, text)) {
    ++n;
    if (auto hash = text.find('#'); hash != std::string::npos) text.resize(hash);
    for (char& c : text)
      if (c == '\r' || c == '\t' || c == '\f' || c == '\v') c = ' ';
    std::istringstream ss(text);
    bool any = false;
    for (std::string w; ss >> w;) {
      if (cur.words.empty()) cur.first_line = n;
      cur.words.push_back(w);
      cur.line.push_back(n);
      any = true;
    }
    if (!any) continue;
    cur.last_line = n;
    if (cur.words.size() > kWords)
      fail(path, n,
           "an entry has " + std::to_string(cur.words.size()) +
               " words, expected 14 (element1 element2 element3 epsilon sigma a lambda gamma costheta0 A B p q tol)" +
               (cur.first_line != n ? " (it starts on line " + std::to_string(cur.first_line) + ")" : ""));
    if (cur.words.size() == kWords) {
      out.push_back(std::move(cur));
      cur = RawEntry{};
    }
  }
  if (in.bad()) throw IOError("error reading Stillinger-Weber file '" + path + "'");
  if (!cur.words.empty())
    fail(path, cur.last_line,
         "truncated entry: " + std::to_string(cur.words.size()) + " of 14 words at the end of the file" +
             " (it starts on line " + std::to_string(cur.first_line) + ")");
  return out;
}

double number(const std::string& path, int line, const std::string& word, const char* what) {
  const char* s = word.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s, &end);
  if (end == s || *end != '\0' || errno == ERANGE || !std::isfinite(v))
    fail(path, line, std::string(what) + " must be a finite number, got '" + word + "'");
  return v;
}

}  // namespace

double SWParams::pair_cutoff(int i, int j) const {
  const SWEntry& e = entry(i, j, j);
  double rc = e.sigma * e.a;
  if (e.tol > 0) {  // LAMMPS's shortcut: where exp(sigma/(r - a sigma)) < tol (tol at most 0.01)
    const double tol = std::min(e.tol, 0.01);
    rc += (e.gamma < 1.0 ? e.gamma : 1.0) * e.sigma / std::log(tol);
  }
  return std::max(rc, 0.0);
}

double SWParams::max_cutoff() const {
  double m = 0;
  const auto n = static_cast<int>(elements.size());
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) m = std::max(m, pair_cutoff(i, j));
  return m;
}

int SWParams::element_index(std::int64_t z) const {
  const auto it = std::find(elements.begin(), elements.end(), z);
  return it == elements.end() ? -1 : static_cast<int>(it - elements.begin());
}

SWParams read_sw_file(const std::string& path, const std::vector<std::string>& elements) {
  const auto raw = read_entries(path);
  // Every symbol must be an element (also in entries the model skips: a typo is a typo).
  std::vector<std::int64_t> in_file;
  for (const auto& r : raw)
    for (int w = 0; w < 3; ++w) {
      const auto z = find_atomic_number(r.words[static_cast<std::size_t>(w)]).value_or(0);
      if (z == 0)
        fail(path, r.line[static_cast<std::size_t>(w)],
             "'" + r.words[static_cast<std::size_t>(w)] + "' is not a chemical element symbol");
      if (std::find(in_file.begin(), in_file.end(), z) == in_file.end()) in_file.push_back(z);
    }
  SWParams p;
  if (elements.empty()) {
    p.elements = in_file;
  } else {
    for (const auto& s : elements) {
      const auto z = find_atomic_number(s).value_or(0);
      if (z == 0) throw InvalidArgument("Stillinger-Weber: '" + s + "' is not a chemical element symbol");
      if (std::find(in_file.begin(), in_file.end(), z) == in_file.end())
        throw InvalidArgument("Stillinger-Weber: element " + s + " has no entries in " + path);
      if (std::find(p.elements.begin(), p.elements.end(), z) != p.elements.end())
        throw InvalidArgument("Stillinger-Weber: element " + s + " is listed twice");
      p.elements.push_back(z);
    }
  }
  if (p.elements.empty()) throw FormatError("Stillinger-Weber file " + path + ": no entries");
  const auto n = static_cast<int>(p.elements.size());
  p.entries.assign(static_cast<std::size_t>(n * n * n), SWEntry{});
  std::vector<int> line_of(static_cast<std::size_t>(n * n * n), 0);
  for (const auto& r : raw) {
    int idx[3];
    for (int w = 0; w < 3; ++w)
      idx[w] = p.element_index(find_atomic_number(r.words[static_cast<std::size_t>(w)]).value());
    if (idx[0] < 0 || idx[1] < 0 || idx[2] < 0) continue;  // an element the model does not use
    const int line = r.first_line;
    const std::size_t at = static_cast<std::size_t>((idx[0] * n + idx[1]) * n + idx[2]);
    if (line_of[at] != 0)
      fail(path, line,
           "duplicate entry " + r.words[0] + " " + r.words[1] + " " + r.words[2] + " (first on line " +
               std::to_string(line_of[at]) + ")");
    SWEntry e;
    e.i = idx[0];
    e.j = idx[1];
    e.k = idx[2];
    const char* names[11] = {"epsilon", "sigma", "a", "lambda", "gamma", "costheta0", "A", "B", "p", "q", "tol"};
    double* dst[11] = {&e.epsilon, &e.sigma, &e.a, &e.lambda, &e.gamma, &e.costheta0, &e.A, &e.B, &e.p, &e.q, &e.tol};
    for (int k = 0; k < 11; ++k) {
      const auto w = static_cast<std::size_t>(3 + k);
      *dst[k] = number(path, r.line[w], r.words[w], names[k]);
      if (k != 5 && *dst[k] < 0) fail(path, r.line[w], std::string(names[k]) + " must be >= 0, got " + r.words[w]);
    }
    p.entries[at] = e;
    line_of[at] = line;
  }
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      for (int k = 0; k < n; ++k)
        if (line_of[static_cast<std::size_t>((i * n + j) * n + k)] == 0)
          throw FormatError("Stillinger-Weber file " + path + ": missing the entry " +
                            std::string(element_symbol(p.elements[static_cast<std::size_t>(i)])) + " " +
                            std::string(element_symbol(p.elements[static_cast<std::size_t>(j)])) + " " +
                            std::string(element_symbol(p.elements[static_cast<std::size_t>(k)])));
  return p;
}

}  // namespace batchmd::model
