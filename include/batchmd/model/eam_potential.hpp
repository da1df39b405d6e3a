// SPDX-License-Identifier: Apache-2.0
// model/eam_potential: embedded-atom (EAM) potential files in LAMMPS's three formats, read and
// tabulated exactly as LAMMPS's `pair_style eam`, `eam/alloy` and `eam/fs` do, so that energies
// and forces agree with LAMMPS to rounding:
//   funcfl (`.eam`, DYNAMO single element): F(rho), Z(r) and rho(r) on the file's grids; several
//     funcfl files (one per element) are resampled onto one grid by 4-point Lagrange
//     interpolation and mixed with phi_ij(r) r = 27.2 * 0.529 * Z_i(r) Z_j(r) (Hartree * Bohr);
//   setfl (`.eam.alloy`): per element F(rho) and rho(r), then r*phi(r) for every element pair;
//   Finnis–Sinclair (`.eam.fs`): as setfl, but a density function per (element, element) pair.
// Every tabulated function is then turned into LAMMPS's piecewise cubic: knot slopes from a
// five-point finite difference, Hermite cubics between knots (LAMMPS PairEAM::interpolate).
//
// E = sum_i F_a(i)(rho_i) + 1/2 sum_i sum_j phi_a(i)a(j)(r_ij),  rho_i = sum_j rho_[a(j)->a(i)](r_ij)
// with F linearly continued beyond the table's last density (as LAMMPS does). Units: Å, eV.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace batchmd::model {

enum class EAMFormat { Funcfl, Setfl, FinnisSinclair };

/// "funcfl", "setfl", "fs".
const char* eam_format_name(EAMFormat f);
/// Parses "funcfl" | "setfl" | "fs" (also "alloy", "eam", "eam/alloy", "eam/fs"); InvalidArgument
/// naming the accepted values otherwise.
EAMFormat parse_eam_format(const std::string& name);
/// The format a file name implies: *.eam -> funcfl, *.alloy -> setfl, *.fs -> fs. InvalidArgument
/// when the name says nothing (give the format explicitly then).
EAMFormat eam_format_from_path(const std::string& path);

/// A tabulated EAM potential, ready for the kernels. Splines are LAMMPS's: for function f and
/// knot m (1-based, 1..n; row 0 unused) 7 coefficients c[0..6], evaluated at fraction p in [0, 1]
/// of the interval as  f = ((c3 p + c4) p + c5) p + c6,  f' = (c0 p + c1) p + c2  (per Å or per
/// unit density).
struct EAMTables {
  std::vector<std::string> files;  ///< the files read (for messages)
  EAMFormat format = EAMFormat::Setfl;
  std::vector<std::int64_t> elements;  ///< atomic number of each element, in file order
  std::vector<double> masses;          ///< amu, as the file gives them
  int nrho = 0, nr = 0;                ///< knots of the density and distance grids
  double drho = 0, dr = 0;             ///< grid spacings (density units, Å)
  double rhomax = 0;                   ///< F is continued linearly beyond this density
  double cutoff = 0;                   ///< Å: pairs at r >= cutoff do not interact
  std::vector<double> frho;            ///< [elements][nrho + 1][7] F_a(rho)
  std::vector<double> rhor;            ///< [n_rhor][nr + 1][7] density functions
  std::vector<double> z2r;             ///< [n_z2r][nr + 1][7] r * phi(r)  (eV Å)
  /// [a * n + b]: the density function giving the density at an atom of element b from a
  /// neighbor of element a (LAMMPS's type2rhor[a][b]; setfl: rho_a, fs: rho_ab of the file).
  std::vector<std::int32_t> rhor_index;
  /// [a * n + b]: the pair function of elements a and b (symmetric).
  std::vector<std::int32_t> z2r_index;
  std::int32_t n_elements() const noexcept { return static_cast<std::int32_t>(elements.size()); }
  std::int32_t n_rhor() const noexcept { return static_cast<std::int32_t>(rhor.size() / (7 * (nr + 1))); }
  std::int32_t n_z2r() const noexcept { return static_cast<std::int32_t>(z2r.size() / (7 * (nr + 1))); }
  /// Index of the element with atomic number z, or -1.
  std::int32_t element_index(std::int64_t z) const noexcept;
};

/// Reads EAM potential files. funcfl takes one file per element (the element is the atomic
/// number on its second line); setfl and fs take exactly one file. `elements` (symbols),
/// optional: for setfl/fs the subset of the file's elements to use (default all); for funcfl one
/// symbol per file, overriding the files' atomic numbers.
/// Throws IOError when a file cannot be read, FormatError naming the file and line for a
/// malformed file (bad or non-finite numbers, counts that do not match, truncated tables, data
/// after the last table, grids too short to spline, a file of another format), InvalidArgument
/// for an element that is not in the file or is named twice.
EAMTables read_eam(const std::vector<std::string>& files, EAMFormat format,
                   const std::vector<std::string>& elements = {});

}  // namespace batchmd::model
