// SPDX-License-Identifier: Apache-2.0
// model/snap_params: reading LAMMPS .snapcoeff / .snapparam files into SNAPParams, and checking
// SNAPParams. Line syntax follows LAMMPS (whitespace-separated words, '#' starts a comment,
// quotes around words are dropped); every problem is reported with the file and line.
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
#include "batchmd/model/snap.hpp"
#include "snap_basis.hpp"

namespace batchmd::model {

namespace {

struct Line {
  int number = 0;  // 1-based
  std::vector<std::string> words;
};

// Every non-blank, non-comment line of a file, split into words.
std::vector<Line> read_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IOError("cannot open SNAP file '" + path + "'");
  std::vector<Line> out;
  std::string text;
  int n = 0;
  while (std::getline(in, text)) {
    ++n;
    if (auto hash = text.find('#'); hash != std::string::npos) text.resize(hash);
    for (char& c : text)
      if (c == '"' || c == '\'' || c == '\r' || c == '\t' || c == '\f') c = ' ';
    std::istringstream ss(text);
    Line line{n, {}};
    for (std::string w; ss >> w;) line.words.push_back(w);
    if (!line.words.empty()) out.push_back(std::move(line));
  }
  if (in.bad()) throw IOError("error reading SNAP file '" + path + "'");
  return out;
}

[[noreturn]] void fail(const std::string& path, int line, const std::string& why) {
  throw FormatError(path + ":" + std::to_string(line) + ": " + why);
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

long integer(const std::string& path, int line, const std::string& word, const char* what) {
  const char* s = word.c_str();
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || errno == ERANGE)
    fail(path, line, std::string(what) + " must be an integer, got '" + word + "'");
  return v;
}

bool flag(const std::string& path, int line, const std::string& word, const std::string& key) {
  const long v = integer(path, line, word, key.c_str());
  if (v != 0 && v != 1) fail(path, line, key + " must be 0 or 1, got " + word);
  return v == 1;
}

struct CoeffBlock {
  SNAPElement element;
  int line = 0;  // of the element header
};

struct CoeffFile {
  int n_coeff = 0;  // per element, from the header
  int header_line = 0;
  std::vector<CoeffBlock> blocks;
};

CoeffFile read_coeff(const std::string& path) {
  const auto lines = read_lines(path);
  if (lines.empty()) throw FormatError(path + ": empty SNAP coefficient file (expected 'nelements ncoefficients')");
  CoeffFile f;
  const Line& head = lines[0];
  f.header_line = head.number;
  if (head.words.size() != 2)
    fail(path, head.number,
         "expected 'nelements ncoefficients', found " + std::to_string(head.words.size()) + " words");
  const long n_elem = integer(path, head.number, head.words[0], "number of elements");
  const long n_coeff = integer(path, head.number, head.words[1], "number of coefficients");
  if (n_elem < 1) fail(path, head.number, "number of elements must be >= 1, got " + head.words[0]);
  if (n_coeff < 1) fail(path, head.number, "number of coefficients must be >= 1, got " + head.words[1]);
  f.n_coeff = static_cast<int>(n_coeff);
  std::size_t k = 1;
  for (long e = 0; e < n_elem; ++e) {
    if (k >= lines.size())
      throw FormatError(path + ": truncated: expected " + std::to_string(n_elem) + " element blocks, found " +
                        std::to_string(e));
    const Line& l = lines[k++];
    if (l.words.size() != 3)
      fail(path, l.number,
           "expected an element block header 'Element radius weight', found " + std::to_string(l.words.size()) +
               " words (a coefficient count that does not match the header?)");
    CoeffBlock b;
    b.line = l.number;
    b.element.symbol = l.words[0];
    b.element.atomic_number = find_atomic_number(l.words[0]).value_or(0);
    if (b.element.atomic_number == 0) fail(path, l.number, "'" + l.words[0] + "' is not a chemical element symbol");
    b.element.radius = number(path, l.number, l.words[1], "element radius");
    b.element.weight = number(path, l.number, l.words[2], "element weight");
    for (const auto& o : f.blocks)
      if (o.element.symbol == b.element.symbol)
        fail(path, l.number,
             "element " + b.element.symbol + " appears twice (first at line " + std::to_string(o.line) + ")");
    for (long c = 0; c < n_coeff; ++c) {
      if (k >= lines.size())
        throw FormatError(path + ": truncated: element " + b.element.symbol + " (line " + std::to_string(l.number) +
                          ") has " + std::to_string(c) + " of " + std::to_string(n_coeff) + " coefficients");
      const Line& cl = lines[k++];
      if (cl.words.size() != 1)
        fail(path, cl.number,
             "expected one coefficient of element " + b.element.symbol + ", found " + std::to_string(cl.words.size()) +
                 " words (the block is shorter than the header's " + std::to_string(n_coeff) + " coefficients?)");
      b.element.coefficients.push_back(number(path, cl.number, cl.words[0], "coefficient"));
    }
    f.blocks.push_back(std::move(b));
  }
  if (k < lines.size())
    fail(path, lines[k].number,
         "unexpected content after the last of the " + std::to_string(n_elem) +
             " element blocks (the blocks are longer than the header's " + std::to_string(n_coeff) + " coefficients?)");
  return f;
}

}  // namespace

int SNAPParams::descriptors() const {
  const int per_triple = detail::snap_triples(twojmax);
  const int n = static_cast<int>(elements.size());
  return chemflag ? per_triple * n * n * n : per_triple;
}

int SNAPParams::coefficients_per_element() const {
  const int k = descriptors();
  return quadraticflag ? 1 + k + k * (k + 1) / 2 : 1 + k;
}

double SNAPParams::max_cutoff() const {
  double r = 0;
  for (std::size_t a = 0; a < elements.size(); ++a)
    for (std::size_t b = 0; b < elements.size(); ++b) r = std::max(r, cutoff(a, b));
  return r;
}

int SNAPParams::element_index(std::int64_t z) const {
  for (std::size_t e = 0; e < elements.size(); ++e)
    if (elements[e].atomic_number == z) return static_cast<int>(e);
  return -1;
}

void SNAPParams::validate() const {
  const std::string who = "SNAP model" + (origin.empty() ? std::string() : " (" + origin + ")");
  auto bad = [&](const std::string& why) { throw InvalidArgument(who + ": " + why); };
  if (elements.empty()) bad("no elements");
  if (twojmax < 0 || twojmax > 24) bad("twojmax must be in 0..24, got " + std::to_string(twojmax));
  if (!std::isfinite(rcutfac) || !(rcutfac > 0)) bad("rcutfac must be > 0, got " + std::to_string(rcutfac));
  if (!std::isfinite(rfac0) || !(rfac0 > 0) || rfac0 > 1) bad("rfac0 must be in (0, 1], got " + std::to_string(rfac0));
  if (!std::isfinite(rmin0) || rmin0 < 0) bad("rmin0 must be >= 0, got " + std::to_string(rmin0));
  const int want = coefficients_per_element();
  for (std::size_t e = 0; e < elements.size(); ++e) {
    const SNAPElement& el = elements[e];
    if (el.atomic_number < 1 || el.atomic_number > 118)
      bad("element '" + el.symbol + "' has atomic number " + std::to_string(el.atomic_number));
    if (!std::isfinite(el.radius) || !(el.radius > 0))
      bad("element " + el.symbol + ": radius must be > 0, got " + std::to_string(el.radius));
    if (!std::isfinite(el.weight)) bad("element " + el.symbol + ": weight must be finite");
    if (static_cast<int>(el.coefficients.size()) != want)
      bad("element " + el.symbol + " has " + std::to_string(el.coefficients.size()) + " coefficients; twojmax " +
          std::to_string(twojmax) + (quadraticflag ? " with" : " without") + " quadraticflag" +
          (chemflag ? " and chemflag over " + std::to_string(elements.size()) + " elements" : std::string()) +
          " needs " + std::to_string(want));
    for (double c : el.coefficients)
      if (!std::isfinite(c)) bad("element " + el.symbol + " has a non-finite coefficient");
    for (std::size_t o = 0; o < e; ++o)
      if (elements[o].atomic_number == el.atomic_number) bad("element " + el.symbol + " appears twice");
  }
  for (std::size_t a = 0; a < elements.size(); ++a)
    for (std::size_t b = 0; b < elements.size(); ++b)
      if (!(cutoff(a, b) > rmin0))
        bad("rmin0 " + std::to_string(rmin0) + " Å is not below the cutoff of " + elements[a].symbol + "-" +
            elements[b].symbol + " (" + std::to_string(cutoff(a, b)) + " Å)");
  if (switchinnerflag) {
    if (sinner.size() != elements.size() || dinner.size() != elements.size())
      bad("switchinnerflag needs one sinner and one dinner value per element");
    for (std::size_t e = 0; e < elements.size(); ++e)
      if (!std::isfinite(sinner[e]) || sinner[e] < 0 || !std::isfinite(dinner[e]) || !(dinner[e] > 0))
        bad("element " + elements[e].symbol + ": sinner must be >= 0 and dinner > 0");
  }
}

SNAPParams read_snap_files(const std::string& coeff_path, const std::string& param_path,
                           const std::vector<std::string>& wanted) {
  SNAPParams p;
  p.origin = coeff_path + ", " + param_path;
  const CoeffFile cf = read_coeff(coeff_path);

  // Elements: the requested ones, in the requested order (like pair_coeff's list).
  if (wanted.empty()) {
    for (const auto& b : cf.blocks) p.elements.push_back(b.element);
  } else {
    for (const auto& name : wanted) {
      auto it = std::find_if(cf.blocks.begin(), cf.blocks.end(),
                             [&](const CoeffBlock& b) { return b.element.symbol == name; });
      if (it == cf.blocks.end())
        throw FormatError(coeff_path + ": element " + name + " not found in the SNAP coefficient file");
      for (const auto& e : p.elements)
        if (e.symbol == name) throw InvalidArgument("SNAP element " + name + " requested twice");
      p.elements.push_back(it->element);
    }
  }

  // Parameters.
  bool have_rcutfac = false, have_twojmax = false, have_sinner = false, have_dinner = false;
  int sinner_line = 0;
  for (const Line& l : read_lines(param_path)) {
    const std::string& key = l.words[0];
    if (key == "sinner" || key == "dinner") {
      if (l.words.size() != p.elements.size() + 1)
        fail(param_path, l.number,
             key + " needs one value per element (" + std::to_string(p.elements.size()) + "), found " +
                 std::to_string(l.words.size() - 1));
      auto& v = key == "sinner" ? p.sinner : p.dinner;
      v.clear();
      for (std::size_t e = 1; e < l.words.size(); ++e)
        v.push_back(number(param_path, l.number, l.words[e], key.c_str()));
      (key == "sinner" ? have_sinner : have_dinner) = true;
      sinner_line = l.number;
      continue;
    }
    if (l.words.size() != 2)
      fail(param_path, l.number, "expected 'keyword value', found " + std::to_string(l.words.size()) + " words");
    const std::string& val = l.words[1];
    if (key == "rcutfac") {
      p.rcutfac = number(param_path, l.number, val, "rcutfac");
      have_rcutfac = true;
    } else if (key == "twojmax") {
      p.twojmax = static_cast<int>(integer(param_path, l.number, val, "twojmax"));
      have_twojmax = true;
      if (p.twojmax < 0 || p.twojmax > 24) fail(param_path, l.number, "twojmax must be in 0..24, got " + val);
    } else if (key == "rfac0") {
      p.rfac0 = number(param_path, l.number, val, "rfac0");
    } else if (key == "rmin0") {
      p.rmin0 = number(param_path, l.number, val, "rmin0");
    } else if (key == "switchflag") {
      p.switchflag = flag(param_path, l.number, val, key);
    } else if (key == "bzeroflag") {
      p.bzeroflag = flag(param_path, l.number, val, key);
    } else if (key == "quadraticflag") {
      p.quadraticflag = flag(param_path, l.number, val, key);
    } else if (key == "chemflag") {
      p.chemflag = flag(param_path, l.number, val, key);
    } else if (key == "bnormflag") {
      p.bnormflag = flag(param_path, l.number, val, key);
    } else if (key == "wselfallflag") {
      p.wselfallflag = flag(param_path, l.number, val, key);
    } else if (key == "switchinnerflag") {
      p.switchinnerflag = flag(param_path, l.number, val, key);
    } else if (key == "chunksize") {
      p.chunksize = static_cast<int>(integer(param_path, l.number, val, "chunksize"));
    } else if (key == "parallelthresh") {
      p.parallelthresh = static_cast<int>(integer(param_path, l.number, val, "parallelthresh"));
    } else {
      fail(param_path, l.number, "unknown SNAP parameter '" + key + "'");
    }
  }
  if (!have_rcutfac) throw FormatError(param_path + ": the required keyword rcutfac is missing");
  if (!have_twojmax) throw FormatError(param_path + ": the required keyword twojmax is missing");
  if (p.switchinnerflag && !(have_sinner && have_dinner))
    throw FormatError(param_path + ": switchinnerflag 1 needs sinner and dinner");
  if (!p.switchinnerflag && (have_sinner || have_dinner))
    fail(param_path, sinner_line, "sinner/dinner given but switchinnerflag is 0");
  if (p.chemflag) {
    if (p.elements.size() != cf.blocks.size())
      throw FormatError(coeff_path + ": with chemflag every element of the file must be used (" +
                        std::to_string(cf.blocks.size()) + " in the file, " + std::to_string(p.elements.size()) +
                        " selected)");
    for (std::size_t e = 0; e < p.elements.size(); ++e)
      if (p.elements[e].symbol != cf.blocks[e].element.symbol)
        throw FormatError(coeff_path + ": with chemflag the elements must be given in file order (" +
                          cf.blocks[e].element.symbol + " is element " + std::to_string(e + 1) + ")");
  }
  // The coefficient count must match twojmax and the flags.
  const int want = p.coefficients_per_element();
  if (cf.n_coeff != want)
    fail(coeff_path, cf.header_line,
         std::to_string(cf.n_coeff) + " coefficients per element, but twojmax " + std::to_string(p.twojmax) +
             (p.quadraticflag ? " with" : " without") + " quadraticflag" +
             (p.chemflag ? " and chemflag over " + std::to_string(p.elements.size()) + " elements" : std::string()) +
             " (" + param_path + ") needs " + std::to_string(want));
  try {
    p.validate();
  } catch (const InvalidArgument& e) {
    throw FormatError(e.what());
  }
  return p;
}

}  // namespace batchmd::model
