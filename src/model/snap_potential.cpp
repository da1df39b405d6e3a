// SPDX-License-Identifier: Apache-2.0
// model/snap_potential: reads LAMMPS .snap include files (the subset of the input language they
// use) and builds their model.
#include "batchmd/model/snap_potential.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"
#include "batchmd/model/sum_model.hpp"

namespace batchmd::model {

namespace {

struct Command {
  int line = 0;  // first line of the command
  std::vector<std::string> words;
};

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(int line, const std::string& why) const {
    throw FormatError(path_ + ":" + std::to_string(line) + ": " + why);
  }

  // Commands with comments removed, continuations joined, variables defined and substituted.
  std::vector<Command> commands() {
    std::ifstream in(path_);
    if (!in) throw IOError("cannot open SNAP potential file '" + path_ + "'");
    std::vector<Command> out;
    std::string text, joined;
    int n = 0, first = 0;
    while (std::getline(in, text)) {
      ++n;
      if (auto hash = text.find('#'); hash != std::string::npos) text.resize(hash);
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
      if (joined.empty()) first = n;
      if (!text.empty() && text.back() == '&') {
        text.pop_back();
        joined += text + " ";
        continue;
      }
      joined += text;
      Command c{first, split(substitute(joined, first))};
      joined.clear();
      if (c.words.empty()) continue;
      if (c.words[0] == "variable") {
        define(c);
        continue;
      }
      out.push_back(std::move(c));
    }
    if (!joined.empty()) fail(first, "the file ends inside a '&' continuation");
    return out;
  }

 private:
  static std::vector<std::string> split(const std::string& s) {
    std::istringstream ss(s);
    std::vector<std::string> w;
    for (std::string t; ss >> t;) {
      if (t.size() >= 2 && (t.front() == '"' || t.front() == '\'') && t.back() == t.front())
        t = t.substr(1, t.size() - 2);
      w.push_back(t);
    }
    return w;
  }

  std::string substitute(const std::string& s, int line) const {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '$' || i + 1 >= s.size()) {
        out += s[i];
        continue;
      }
      std::string name;
      if (s[i + 1] == '{') {
        const auto close = s.find('}', i + 2);
        if (close == std::string::npos) fail(line, "unterminated ${...}");
        name = s.substr(i + 2, close - i - 2);
        i = close;
      } else {
        name = s.substr(i + 1, 1);
        ++i;
      }
      auto it = vars_.find(name);
      if (it == vars_.end()) fail(line, "undefined variable '" + name + "'");
      out += it->second;
    }
    return out;
  }

  void define(const Command& c) {
    if (c.words.size() != 4)
      fail(c.line, "expected 'variable NAME equal|index|string VALUE' (other variable forms are not supported)");
    const std::string& style = c.words[2];
    if (style != "equal" && style != "index" && style != "string")
      fail(c.line, "variable style '" + style + "' is not supported (equal, index, string)");
    // An index variable keeps an earlier definition (LAMMPS lets the command line override it).
    if (style == "index" && vars_.count(c.words[1])) return;
    vars_[c.words[1]] = c.words[3];
  }

  std::string path_;
  std::map<std::string, std::string> vars_;
};

double to_number(const Reader& r, int line, const std::string& w, const char* what) {
  try {
    std::size_t used = 0;
    const double v = std::stod(w, &used);
    if (used == w.size()) return v;
  } catch (const std::exception&) {
  }
  r.fail(line, std::string(what) + " must be a number, got '" + w + "' (expressions are not supported)");
}

// Types a pair_coeff type field covers: "3", "*", "2*", "*3", "1*2" (1-based, n types).
std::vector<int> type_range(const Reader& r, int line, const std::string& w, int n) {
  auto num = [&](const std::string& s, int dflt) {
    if (s.empty()) return dflt;
    try {
      std::size_t used = 0;
      const int v = std::stoi(s, &used);
      if (used == s.size()) return v;
    } catch (const std::exception&) {
    }
    r.fail(line, "bad atom type '" + w + "'");
  };
  int lo, hi;
  if (auto star = w.find('*'); star != std::string::npos) {
    lo = num(w.substr(0, star), 1);
    hi = num(w.substr(star + 1), n);
  } else {
    lo = hi = num(w, 0);
  }
  if (lo < 1 || hi > n || lo > hi)
    r.fail(line, "atom type '" + w + "' is outside 1.." + std::to_string(n) + " (the types of the snap pair_coeff)");
  std::vector<int> t;
  for (int k = lo; k <= hi; ++k) t.push_back(k);
  return t;
}

}  // namespace

SNAPPotentialFile read_snap_potential(const std::string& path) {
  Reader reader(path);
  const auto cmds = reader.commands();
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  auto resolve = [&](const std::string& f) {
    const std::filesystem::path p(f);
    return (p.is_absolute() || dir.empty() ? p : dir / p).string();
  };

  bool have_style = false, hybrid = false, with_zbl = false;
  double inner = 0, outer = 0;
  int style_line = 0;
  const Command* snap_coeff = nullptr;
  std::vector<const Command*> zbl_coeffs;
  for (const Command& c : cmds) {
    const auto& w = c.words;
    if (w[0] == "pair_style") {
      if (have_style) reader.fail(c.line, "a second pair_style");
      have_style = true;
      style_line = c.line;
      if (w.size() == 2 && w[1] == "snap") continue;
      if (w.size() < 2 || w[1] != "hybrid/overlay")
        reader.fail(c.line, "pair style '" + (w.size() > 1 ? w[1] : std::string()) +
                                "' is not supported (snap, or hybrid/overlay of zbl and snap)");
      hybrid = true;
      bool have_snap = false;
      for (std::size_t k = 2; k < w.size(); ++k) {
        if (w[k] == "snap" && !have_snap) {
          have_snap = true;
        } else if (w[k] == "zbl" && !with_zbl && k + 2 < w.size()) {
          with_zbl = true;
          inner = to_number(reader, c.line, w[k + 1], "the ZBL inner cutoff");
          outer = to_number(reader, c.line, w[k + 2], "the ZBL outer cutoff");
          k += 2;
        } else {
          reader.fail(c.line, "pair style '" + w[k] + "' in hybrid/overlay is not supported (zbl and snap only)");
        }
      }
      if (!have_snap) reader.fail(c.line, "hybrid/overlay without snap");
    } else if (w[0] == "pair_coeff") {
      if (!have_style) reader.fail(c.line, "pair_coeff before pair_style");
      // pair_coeff I J [style] args...: the first argument after the style name
      const std::size_t arg = hybrid ? 4 : 3;
      if (w.size() < arg) reader.fail(c.line, "pair_coeff needs more arguments");
      const std::string style = hybrid ? w[3] : "snap";
      if (style == "snap") {
        if (snap_coeff) reader.fail(c.line, "a second snap pair_coeff");
        if (w[1] != "*" || w[2] != "*") reader.fail(c.line, "the snap pair_coeff must be for * *");
        if (w.size() < arg + 3) reader.fail(c.line, "expected 'pair_coeff * * [snap] COEFF PARAM Element...'");
        snap_coeff = &c;
      } else if (style == "zbl") {
        if (!with_zbl) reader.fail(c.line, "pair_coeff for zbl, which pair_style does not use");
        if (w.size() != 6) reader.fail(c.line, "expected 'pair_coeff I J zbl Z_I Z_J'");
        zbl_coeffs.push_back(&c);
      } else {
        reader.fail(c.line, "pair_coeff for pair style '" + style + "', which is not supported");
      }
    } else {
      reader.fail(c.line, "command '" + w[0] + "' is not supported in a SNAP potential file");
    }
  }
  if (!have_style) throw FormatError(path + ": no pair_style");
  if (!snap_coeff) throw FormatError(path + ": no snap pair_coeff");

  // Types -> elements from the snap line.
  const auto& sw = snap_coeff->words;
  const std::size_t first_file = hybrid ? 4 : 3;
  std::vector<std::string> type_element(sw.begin() + static_cast<std::ptrdiff_t>(first_file) + 2, sw.end());
  if (type_element.empty()) reader.fail(snap_coeff->line, "the snap pair_coeff names no elements");
  std::vector<std::string> used;
  for (const auto& e : type_element)
    if (e != "NULL") used.push_back(e);
  SNAPPotentialFile out;
  out.snap.params = read_snap_files(resolve(sw[first_file]), resolve(sw[first_file + 1]), used);
  if (used.size() != type_element.size()) {
    std::vector<std::int64_t> z;
    for (const auto& e : out.snap.params.elements) z.push_back(e.atomic_number);
    out.snap.pairs = ElementPairs::among(z);
  }

  if (with_zbl) {
    if (zbl_coeffs.empty()) reader.fail(style_line, "pair_style has zbl but no zbl pair_coeff");
    ZBLConfig z;
    z.inner = inner;
    z.outer = outer;
    const int nt = static_cast<int>(type_element.size());
    for (const Command* c : zbl_coeffs) {
      const auto& w = c->words;
      const double zi = to_number(reader, c->line, w[4], "Z_I"), zj = to_number(reader, c->line, w[5], "Z_J");
      for (int ti : type_range(reader, c->line, w[1], nt))
        for (int tj : type_range(reader, c->line, w[2], nt)) {
          if (tj < ti) continue;
          const std::string& ei = type_element[static_cast<std::size_t>(ti - 1)];
          const std::string& ej = type_element[static_cast<std::size_t>(tj - 1)];
          if (ei == "NULL" || ej == "NULL") reader.fail(c->line, "ZBL on a type that snap maps to NULL has no element");
          const std::int64_t za = find_atomic_number(ei).value_or(0), zb = find_atomic_number(ej).value_or(0);
          if (zi != double(za) || zj != double(zb))
            reader.fail(c->line, "ZBL charges " + w[4] + " " + w[5] + " are not the atomic numbers of " + ei + " and " +
                                     ej + " (" + std::to_string(za) + ", " + std::to_string(zb) + ")");
          z.pairs.add(za, zb);
        }
    }
    out.zbl = z;
  }
  return out;
}

std::shared_ptr<Model> load_snap_potential(const std::string& path, double skin) {
  SNAPPotentialFile f = read_snap_potential(path);
  f.snap.skin = skin;
  auto snap = std::make_shared<SNAP>(std::move(f.snap));
  if (!f.zbl) return snap;
  f.zbl->skin = skin;
  return std::make_shared<SumModel>(std::vector<std::shared_ptr<Model>>{std::make_shared<ZBL>(*f.zbl), snap});
}

}  // namespace batchmd::model
