// SPDX-License-Identifier: Apache-2.0
// model/eam_potential: reading funcfl / setfl / Finnis–Sinclair EAM files and tabulating them the
// way LAMMPS's PairEAM (file2array, array2spline, interpolate) does — the algorithm restated from
// its description, in our own code: funcfl files are resampled onto one grid by 4-point Lagrange
// interpolation (and their Z(r) mixed into r*phi), setfl/fs tables are used as they are, and every
// table becomes LAMMPS's cubic spline. Every problem names the file and the line.
#include "batchmd/model/eam_potential.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"

namespace batchmd::model {

const char* eam_format_name(EAMFormat f) {
  switch (f) {
    case EAMFormat::Funcfl:
      return "funcfl";
    case EAMFormat::Setfl:
      return "setfl";
    case EAMFormat::FinnisSinclair:
      return "fs";
  }
  return "?";
}

EAMFormat parse_eam_format(const std::string& name) {
  if (name == "funcfl" || name == "eam") return EAMFormat::Funcfl;
  if (name == "setfl" || name == "alloy" || name == "eam/alloy") return EAMFormat::Setfl;
  if (name == "fs" || name == "eam/fs") return EAMFormat::FinnisSinclair;
  throw InvalidArgument("EAM format must be \"funcfl\", \"setfl\" or \"fs\", got \"" + name + "\"");
}

EAMFormat eam_format_from_path(const std::string& path) {
  auto ends = [&](const std::string& suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends(".eam")) return EAMFormat::Funcfl;
  if (ends(".alloy") || ends(".setfl")) return EAMFormat::Setfl;
  if (ends(".fs")) return EAMFormat::FinnisSinclair;
  throw InvalidArgument("'" + path +
                        "': the EAM format cannot be told from the file name (*.eam, *.eam.alloy, *.eam.fs); "
                        "give format = \"funcfl\" | \"setfl\" | \"fs\"");
}

std::int32_t EAMTables::element_index(std::int64_t z) const noexcept {
  for (std::size_t e = 0; e < elements.size(); ++e)
    if (elements[e] == z) return static_cast<std::int32_t>(e);
  return -1;
}

namespace {

// Words of a file, line by line, with the line numbers kept for messages.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)), in_(path_) {
    if (!in_) throw IOError("cannot open EAM potential file '" + path_ + "'");
  }
  [[noreturn]] void fail(const std::string& why) const {
    throw FormatError(path_ + ":" + std::to_string(line_) + ": " + why);
  }
  // The next line, whole (a comment line); fails at the end of the file.
  std::string line(const char* what) {
    if (!words_.empty()) fail(std::string("expected ") + what + " on a line of its own");
    std::string text;
    if (!std::getline(in_, text)) fail(std::string("the file ends before ") + what);
    ++line_;
    return text;
  }
  // The words of the next non-blank line.
  std::vector<std::string> words(const char* what) {
    for (;;) {
      std::istringstream ss(line(what));
      std::vector<std::string> w;
      for (std::string s; ss >> s;) w.push_back(s);
      if (!w.empty()) return w;
    }
  }
  // n numbers, as many to a line as the file puts there (a table may end mid-line).
  void numbers(std::size_t n, double* out, const std::string& what) {
    for (std::size_t k = 0; k < n; ++k) {
      while (words_.empty()) {
        std::string text;
        if (!std::getline(in_, text))
          fail("the file ends after " + std::to_string(k) + " of the " + std::to_string(n) + " values of " + what +
               " (truncated table?)");
        ++line_;
        std::istringstream ss(text);
        for (std::string s; ss >> s;) words_.push_back(s);
      }
      out[k] = number(words_.front(), what.c_str());
      words_.pop_front();
    }
  }
  // Nothing but blank lines may follow the last table.
  void expect_end() {
    if (!words_.empty())
      fail("unexpected value '" + words_.front() + "' after the last table (are nrho and nr right?)");
    std::string text;
    while (std::getline(in_, text)) {
      ++line_;
      std::istringstream ss(text);
      std::string w;
      if (ss >> w) fail("unexpected data '" + w + "' after the last table (are nrho and nr right?)");
    }
  }
  double number(const std::string& word, const char* what) const {
    const char* s = word.c_str();
    char* end = nullptr;
    errno = 0;
    // DYNAMO files may write exponents with D (Fortran): accept them as E.
    std::string fixed;
    if (word.find_first_of("dD") != std::string::npos) {
      fixed = word;
      std::replace(fixed.begin(), fixed.end(), 'd', 'e');
      std::replace(fixed.begin(), fixed.end(), 'D', 'e');
      s = fixed.c_str();
    }
    const double v = std::strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !std::isfinite(v))
      fail(std::string(what) + " must be a finite number, got '" + word + "'");
    return v;
  }
  long integer(const std::string& word, const char* what) const {
    const char* s = word.c_str();
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE)
      fail(std::string(what) + " must be an integer, got '" + word + "'");
    return v;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ifstream in_;
  int line_ = 0;
  std::deque<std::string> words_;
};

// The grid line "nrho drho nr dr cutoff", common to the three formats.
struct Grid {
  int nrho = 0, nr = 0;
  double drho = 0, dr = 0, cut = 0;
};
Grid read_grid(Reader& in) {
  const auto w = in.words("the grid line 'nrho drho nr dr cutoff'");
  if (w.size() < 5) in.fail("the grid line needs 5 values 'nrho drho nr dr cutoff', got " + std::to_string(w.size()));
  Grid g;
  const long nrho = in.integer(w[0], "nrho"), nr = in.integer(w[2], "nr");
  g.drho = in.number(w[1], "drho");
  g.dr = in.number(w[3], "dr");
  g.cut = in.number(w[4], "cutoff");
  // Five knots at least: the spline slopes use a five-point stencil.
  if (nrho < 5 || nrho > 10000000) in.fail("nrho must be in 5..10^7, got " + w[0]);
  if (nr < 5 || nr > 10000000) in.fail("nr must be in 5..10^7, got " + w[2]);
  if (!(g.drho > 0)) in.fail("drho must be > 0, got " + w[1]);
  if (!(g.dr > 0)) in.fail("dr must be > 0, got " + w[3]);
  if (!(g.cut > 0)) in.fail("the cutoff must be > 0 Å, got " + w[4]);
  g.nrho = static_cast<int>(nrho);
  g.nr = static_cast<int>(nr);
  return g;
}

std::int64_t element_of(Reader& in, const std::string& symbol) {
  const auto z = find_atomic_number(symbol);
  if (!z) in.fail("'" + symbol + "' is not an element symbol");
  return *z;
}

// A 1-based table of n values (index 0 unused), as LAMMPS keeps them.
std::vector<double> table(Reader& in, int n, const std::string& what) {
  std::vector<double> t(static_cast<std::size_t>(n) + 1, 0.0);
  in.numbers(static_cast<std::size_t>(n), t.data() + 1, what);
  return t;
}

struct Funcfl {
  std::int64_t z = 0;
  double mass = 0;
  Grid grid;
  std::vector<double> frho, zr, rhor;  // 1-based
};

Funcfl read_funcfl(const std::string& path) {
  Reader in(path);
  Funcfl f;
  in.line("the comment line");
  const auto w = in.words("the line 'Z mass lattice-constant lattice'");
  if (w.size() < 2) in.fail("expected 'Z mass ...' (atomic number and mass): is this a funcfl (.eam) file?");
  const long z = in.integer(w[0], "the atomic number");
  if (z < 1 || z > 118) in.fail("the atomic number must be in 1..118, got " + w[0]);
  f.z = z;
  f.mass = in.number(w[1], "the mass");
  f.grid = read_grid(in);
  f.frho = table(in, f.grid.nrho, "F(rho)");
  f.zr = table(in, f.grid.nr, "Z(r)");
  f.rhor = table(in, f.grid.nr, "rho(r)");
  in.expect_end();
  return f;
}

struct Setfl {
  std::vector<std::int64_t> z;
  std::vector<double> mass;
  Grid grid;
  std::vector<std::vector<double>> frho;               // [element], 1-based
  std::vector<std::vector<std::vector<double>>> rhor;  // [element][1 or n_elements], 1-based
  std::vector<std::vector<std::vector<double>>> z2r;   // [i][j <= i], 1-based
};

Setfl read_setfl(const std::string& path, bool fs) {
  Reader in(path);
  Setfl f;
  for (int k = 0; k < 3; ++k) in.line("the three comment lines");
  const auto w = in.words("the element line 'N el1 el2 ...'");
  const long n = in.integer(w[0], "the number of elements");
  if (n < 1 || n > 118) in.fail("the number of elements must be in 1..118, got " + w[0]);
  if (static_cast<long>(w.size()) != n + 1)
    in.fail("the element line says " + w[0] + " elements but names " + std::to_string(w.size() - 1));
  std::vector<std::string> names(w.begin() + 1, w.end());
  for (const auto& s : names) {
    const std::int64_t z = element_of(in, s);
    if (std::find(f.z.begin(), f.z.end(), z) != f.z.end()) in.fail("element '" + s + "' is named twice");
    f.z.push_back(z);
  }
  f.grid = read_grid(in);
  const std::size_t ne = names.size();
  f.frho.resize(ne);
  f.rhor.resize(ne);
  f.mass.resize(ne);
  for (std::size_t e = 0; e < ne; ++e) {
    const auto h = in.words("the element header 'Z mass lattice-constant lattice'");
    if (h.size() < 2) in.fail("expected the header of element " + names[e] + ": 'Z mass lattice-constant lattice'");
    in.integer(h[0], "the atomic number");
    f.mass[e] = in.number(h[1], "the mass");
    f.frho[e] = table(in, f.grid.nrho, "F(rho) of " + names[e]);
    const std::size_t nd = fs ? ne : 1;
    for (std::size_t b = 0; b < nd; ++b)
      f.rhor[e].push_back(
          table(in, f.grid.nr, fs ? "rho(r) of " + names[e] + " at " + names[b] : "rho(r) of " + names[e]));
  }
  f.z2r.resize(ne);
  for (std::size_t i = 0; i < ne; ++i)
    for (std::size_t j = 0; j <= i; ++j)
      f.z2r[i].push_back(table(in, f.grid.nr, "r*phi(r) of " + names[i] + "-" + names[j]));
  in.expect_end();
  return f;
}

// LAMMPS's spline of a 1-based table f[1..n] with knot spacing delta: [n + 1][7] coefficients.
void spline(int n, double delta, const double* f, double* out) {
  auto c = [&](int m, int k) -> double& { return out[7 * m + k]; };
  for (int m = 1; m <= n; ++m) c(m, 6) = f[m];
  // Knot slopes (per interval): one-sided at the ends, 3-point next to them, 5-point inside.
  c(1, 5) = c(2, 6) - c(1, 6);
  c(2, 5) = 0.5 * (c(3, 6) - c(1, 6));
  c(n - 1, 5) = 0.5 * (c(n, 6) - c(n - 2, 6));
  c(n, 5) = c(n, 6) - c(n - 1, 6);
  for (int m = 3; m <= n - 2; ++m) c(m, 5) = ((c(m - 2, 6) - c(m + 2, 6)) + 8.0 * (c(m + 1, 6) - c(m - 1, 6))) / 12.0;
  // Hermite cubic on each interval from the values and slopes at its two knots.
  for (int m = 1; m <= n - 1; ++m) {
    c(m, 4) = 3.0 * (c(m + 1, 6) - c(m, 6)) - 2.0 * c(m, 5) - c(m + 1, 5);
    c(m, 3) = c(m, 5) + c(m + 1, 5) - 2.0 * (c(m + 1, 6) - c(m, 6));
  }
  c(n, 4) = 0.0;
  c(n, 3) = 0.0;
  // Derivative coefficients, per unit of the abscissa.
  for (int m = 1; m <= n; ++m) {
    c(m, 2) = c(m, 5) / delta;
    c(m, 1) = 2.0 * c(m, 4) / delta;
    c(m, 0) = 3.0 * c(m, 3) / delta;
  }
}

// 4-point Lagrange interpolation of a funcfl table (1-based, n values, spacing h) at x, as
// LAMMPS's file2array resamples funcfl files (nodes k-1..k+2, clamped to the table).
double lagrange(const std::vector<double>& t, int n, double h, double x) {
  double p = x / h + 1.0;
  int k = static_cast<int>(p);
  k = std::min(k, n - 2);
  k = std::max(k, 2);
  p -= k;
  p = std::min(p, 2.0);
  const double c1 = -p * (p - 1.0) * (p - 2.0) / 6.0;
  const double c2 = 0.5 * (p * p - 1.0) * (p - 2.0);
  const double c3 = -0.5 * p * (p + 1.0) * (p - 2.0);
  const double c4 = p * (p * p - 1.0) / 6.0;
  return c1 * t[k - 1] + c2 * t[k] + c3 * t[k + 1] + c4 * t[k + 2];
}

// Appends the spline of a 1-based table to dst.
void append_spline(std::vector<double>& dst, int n, double delta, const std::vector<double>& f) {
  const std::size_t at = dst.size();
  dst.resize(at + 7 * (static_cast<std::size_t>(n) + 1), 0.0);
  spline(n, delta, f.data(), dst.data() + at);
}

std::int32_t lower_triangle(std::int32_t i, std::int32_t j) {
  if (i < j) std::swap(i, j);
  return i * (i + 1) / 2 + j;
}

EAMTables tabulate_funcfl(const std::vector<Funcfl>& files) {
  EAMTables t;
  double rmax = 0, rhomax = 0;
  for (const auto& f : files) {
    t.dr = std::max(t.dr, f.grid.dr);
    t.drho = std::max(t.drho, f.grid.drho);
    rmax = std::max(rmax, (f.grid.nr - 1) * f.grid.dr);
    rhomax = std::max(rhomax, (f.grid.nrho - 1) * f.grid.drho);
    t.cutoff = std::max(t.cutoff, f.grid.cut);
    t.elements.push_back(f.z);
    t.masses.push_back(f.mass);
  }
  // As LAMMPS: the common grid has the coarsest spacing and (rounded) the largest extent.
  t.nr = static_cast<int>(rmax / t.dr + 0.5);
  t.nrho = static_cast<int>(rhomax / t.drho + 0.5);
  t.rhomax = rhomax;
  if (t.nr < 5 || t.nrho < 5)
    throw FormatError(files.size() == 1 ? "EAM funcfl grid too short" : "EAM funcfl grids too short");
  const auto n = static_cast<std::int32_t>(files.size());
  std::vector<double> v;
  for (const auto& f : files) {
    v.assign(static_cast<std::size_t>(t.nrho) + 1, 0.0);
    for (int m = 1; m <= t.nrho; ++m) v[m] = lagrange(f.frho, f.grid.nrho, f.grid.drho, (m - 1) * t.drho);
    append_spline(t.frho, t.nrho, t.drho, v);
  }
  for (const auto& f : files) {
    v.assign(static_cast<std::size_t>(t.nr) + 1, 0.0);
    for (int m = 1; m <= t.nr; ++m) v[m] = lagrange(f.rhor, f.grid.nr, f.grid.dr, (m - 1) * t.dr);
    append_spline(t.rhor, t.nr, t.dr, v);
  }
  for (std::int32_t i = 0; i < n; ++i)
    for (std::int32_t j = 0; j <= i; ++j) {
      const Funcfl &fi = files[static_cast<std::size_t>(i)], &fj = files[static_cast<std::size_t>(j)];
      v.assign(static_cast<std::size_t>(t.nr) + 1, 0.0);
      for (int m = 1; m <= t.nr; ++m) {
        const double r = (m - 1) * t.dr;
        // Z_i(r) Z_j(r) in Hartree Bohr -> eV Å, with LAMMPS's rounded constants.
        v[m] = 27.2 * 0.529 * lagrange(fi.zr, fi.grid.nr, fi.grid.dr, r) * lagrange(fj.zr, fj.grid.nr, fj.grid.dr, r);
      }
      append_spline(t.z2r, t.nr, t.dr, v);
    }
  t.rhor_index.resize(static_cast<std::size_t>(n * n));
  t.z2r_index.resize(static_cast<std::size_t>(n * n));
  for (std::int32_t a = 0; a < n; ++a)
    for (std::int32_t b = 0; b < n; ++b) {
      t.rhor_index[a * n + b] = a;
      t.z2r_index[a * n + b] = lower_triangle(a, b);
    }
  return t;
}

// setfl / fs: the tables of the elements `use` (indices into the file), as they are.
EAMTables tabulate_setfl(const Setfl& f, bool fs, const std::vector<std::size_t>& use) {
  EAMTables t;
  t.nrho = f.grid.nrho;
  t.nr = f.grid.nr;
  t.drho = f.grid.drho;
  t.dr = f.grid.dr;
  t.rhomax = (t.nrho - 1) * t.drho;
  t.cutoff = f.grid.cut;
  const auto n = static_cast<std::int32_t>(use.size());
  for (std::size_t e : use) {
    t.elements.push_back(f.z[e]);
    t.masses.push_back(f.mass[e]);
    append_spline(t.frho, t.nrho, t.drho, f.frho[e]);
  }
  t.rhor_index.resize(static_cast<std::size_t>(n * n));
  t.z2r_index.resize(static_cast<std::size_t>(n * n));
  for (std::int32_t a = 0; a < n; ++a) {
    const std::size_t ea = use[static_cast<std::size_t>(a)];
    if (!fs) append_spline(t.rhor, t.nr, t.dr, f.rhor[ea][0]);
    for (std::int32_t b = 0; b < n; ++b) {
      const std::size_t eb = use[static_cast<std::size_t>(b)];
      if (fs) append_spline(t.rhor, t.nr, t.dr, f.rhor[ea][eb]);
      t.rhor_index[a * n + b] = fs ? a * n + b : a;
      t.z2r_index[a * n + b] = lower_triangle(a, b);
    }
  }
  for (std::int32_t i = 0; i < n; ++i)
    for (std::int32_t j = 0; j <= i; ++j) {
      std::size_t ei = use[static_cast<std::size_t>(i)], ej = use[static_cast<std::size_t>(j)];
      if (ei < ej) std::swap(ei, ej);
      append_spline(t.z2r, t.nr, t.dr, f.z2r[ei][ej]);
    }
  return t;
}

std::string joined(const std::vector<std::string>& files) {
  std::string s;
  for (const auto& f : files) s += (s.empty() ? "'" : ", '") + f + "'";
  return s;
}

}  // namespace

EAMTables read_eam(const std::vector<std::string>& files, EAMFormat format, const std::vector<std::string>& elements) {
  if (files.empty()) throw InvalidArgument("EAM: no potential file given");
  EAMTables t;
  if (format == EAMFormat::Funcfl) {
    if (!elements.empty() && elements.size() != files.size())
      throw InvalidArgument("EAM funcfl: give one element per file (" + std::to_string(files.size()) + " files, " +
                            std::to_string(elements.size()) + " elements)");
    std::vector<Funcfl> ff;
    for (std::size_t k = 0; k < files.size(); ++k) {
      ff.push_back(read_funcfl(files[k]));
      if (!elements.empty()) ff.back().z = atomic_number(elements[k]);
      for (std::size_t q = 0; q + 1 < ff.size(); ++q)
        if (ff[q].z == ff.back().z)
          throw InvalidArgument("EAM funcfl: " + joined({files[q], files[k]}) + " are both for element " +
                                std::string(element_symbol(ff.back().z)) + " (name the elements with 'elements')");
    }
    t = tabulate_funcfl(ff);
  } else {
    if (files.size() != 1)
      throw InvalidArgument(std::string("EAM ") + eam_format_name(format) + ": exactly one potential file, got " +
                            std::to_string(files.size()) + " (" + joined(files) + ")");
    const bool fs = format == EAMFormat::FinnisSinclair;
    const Setfl f = read_setfl(files[0], fs);
    std::vector<std::size_t> use;
    if (elements.empty()) {
      for (std::size_t e = 0; e < f.z.size(); ++e) use.push_back(e);
    } else {
      for (const auto& s : elements) {
        const std::int64_t z = atomic_number(s);
        const auto it = std::find(f.z.begin(), f.z.end(), z);
        if (it == f.z.end()) throw InvalidArgument("EAM: element '" + s + "' is not in '" + files[0] + "'");
        const auto e = static_cast<std::size_t>(it - f.z.begin());
        if (std::find(use.begin(), use.end(), e) != use.end())
          throw InvalidArgument("EAM: element '" + s + "' is named twice in elements");
        use.push_back(e);
      }
    }
    t = tabulate_setfl(f, fs, use);
  }
  t.files = files;
  t.format = format;
  return t;
}

}  // namespace batchmd::model
