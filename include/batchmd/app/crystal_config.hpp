// SPDX-License-Identifier: Apache-2.0
// app/crystal_config: periodic crystals as starting structures ([[crystal]] tables): sc, bcc,
// fcc and diamond (zincblende with two elements) supercells of any element, with vacancies,
// thermal jitter and Maxwell–Boltzmann velocities.
//
//   [[crystal]]
//   lattice = "bcc"          # sc, bcc, fcc, diamond
//   a = 3.316                # Å, cubic lattice constant
//   cells = [4, 4, 4]        # conventional cells along x, y, z
//   element = "Ta"           # symbol or atomic number; or elements = [...], one per basis site
//   mass = 180.88            # amu (default: standard atomic weight; or masses = [...] per site)
//   vacancies = [0]          # optional: indices of sites left empty
//   jitter = 0.0             # Å, uniform random displacement per coordinate
//   temperature_K = 300.0
//   count = 1                # copies (independent jitter and velocities)
#pragma once
#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "batchmd/data/batch.hpp"

namespace batchmd::app {

struct CrystalSpec {
  std::int64_t count = 1;
  std::string lattice = "bcc";
  double a = 0;  ///< Å
  std::array<std::int64_t, 3> cells{1, 1, 1};
  std::vector<std::int64_t> elements;   ///< one (all sites) or one per basis site
  std::vector<double> masses;           ///< amu: empty (standard weights), one, or one per basis site
  std::vector<std::int64_t> vacancies;  ///< site indices (in generation order) left empty
  double jitter = 0;                    ///< Å
  double temperature_K = 0;
};

/// Fractional basis of a cubic lattice (LAMMPS's order for diamond); InvalidArgument otherwise.
std::vector<std::array<double, 3>> lattice_basis(const std::string& lattice);

/// One crystal of the spec (positions, atomic numbers, masses, cell, pbc), jittered with rng.
AtomicData make_crystal(const CrystalSpec& spec, DType dtype, std::mt19937_64& rng);

}  // namespace batchmd::app
