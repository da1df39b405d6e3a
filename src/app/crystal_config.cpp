// SPDX-License-Identifier: Apache-2.0
// app/crystal_config: [[crystal]] tables and the crystals they describe.
#include "batchmd/app/crystal_config.hpp"

#include <algorithm>
#include <set>

#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"
#include "job_tables.hpp"
#include "table_reader.hpp"

namespace batchmd::app {

std::vector<std::array<double, 3>> lattice_basis(const std::string& lattice) {
  if (lattice == "sc") return {{0, 0, 0}};
  if (lattice == "bcc") return {{0, 0, 0}, {.5, .5, .5}};
  if (lattice == "fcc") return {{0, 0, 0}, {.5, .5, 0}, {.5, 0, .5}, {0, .5, .5}};
  if (lattice == "diamond")  // LAMMPS's order: the fcc sites, then the tetrahedral ones
    return {{0, 0, 0},       {0, .5, .5},     {.5, 0, .5},     {.5, .5, 0},
            {.25, .25, .25}, {.25, .75, .75}, {.75, .25, .75}, {.75, .75, .25}};
  throw InvalidArgument("unknown lattice '" + lattice + "' (sc, bcc, fcc or diamond)");
}

AtomicData make_crystal(const CrystalSpec& s, DType dtype, std::mt19937_64& rng) {
  const auto basis = lattice_basis(s.lattice);
  const auto nb = basis.size();
  std::uniform_real_distribution<double> u(-s.jitter, s.jitter);
  const std::set<std::int64_t> vacant(s.vacancies.begin(), s.vacancies.end());
  std::vector<double> pos, mass;
  std::vector<std::int64_t> z;
  std::int64_t site = 0;
  for (std::int64_t i = 0; i < s.cells[0]; ++i)
    for (std::int64_t j = 0; j < s.cells[1]; ++j)
      for (std::int64_t k = 0; k < s.cells[2]; ++k)
        for (std::size_t b = 0; b < nb; ++b, ++site) {
          if (vacant.count(site)) continue;
          const double cell[3] = {double(i), double(j), double(k)};
          for (int d = 0; d < 3; ++d) pos.push_back((cell[d] + basis[b][static_cast<std::size_t>(d)]) * s.a);
          const std::int64_t el = s.elements.size() == 1 ? s.elements[0] : s.elements[b];
          z.push_back(el);
          mass.push_back(s.masses.empty() ? atomic_mass(el) : s.masses.size() == 1 ? s.masses[0] : s.masses[b]);
        }
  if (s.jitter > 0)
    for (double& v : pos) v += u(rng);
  const double L[3] = {double(s.cells[0]) * s.a, double(s.cells[1]) * s.a, double(s.cells[2]) * s.a};
  // make() looks masses up by atomic number (a table that stops at Xe): build with hydrogen, then
  // set the real elements and masses.
  AtomicData d = AtomicData::make(dtype, pos, std::vector<std::int64_t>(z.size(), 1),
                                  {L[0], 0, 0, 0, L[1], 0, 0, 0, L[2]}, {true, true, true});
  const auto n = static_cast<std::int64_t>(z.size());
  d.set("atomic_numbers", Level::Atom, Tensor::from(z, {n}));
  Tensor m(dtype, {n});
  dispatch_float(dtype, [&](auto zero) {
    using T = decltype(zero);
    for (std::int64_t a = 0; a < n; ++a) m.data<T>()[a] = static_cast<T>(mass[static_cast<std::size_t>(a)]);
  });
  d.set("masses", Level::Atom, std::move(m));
  return d;
}

void parse_crystal_tables(const toml::table& root, const std::string& origin, std::vector<CrystalSpec>& out) {
  const toml::node* n = root.get("crystal");
  if (n == nullptr) return;
  if (!n->is_array_of_tables()) throw InvalidArgument(origin + ": 'crystal' must be an array of tables ([[crystal]])");
  std::size_t i = 0;
  for (const auto& e : *n->as_array()) {
    detail::TableReader r(*e.as_table(), "crystal[" + std::to_string(i++) + "]", origin);
    CrystalSpec s;
    r.get("count", s.count);
    r.get("lattice", s.lattice);
    r.get("a", s.a);
    std::vector<std::int64_t> cells;
    r.get("cells", cells);
    if (r.has("element") && r.has("elements")) r.fail("element", "and elements are alternatives");
    r.elements("element", s.elements);
    r.elements("elements", s.elements);
    if (r.has("mass") && r.has("masses")) r.fail("mass", "and masses are alternatives");
    r.get("mass", s.masses);
    r.get("masses", s.masses);
    r.get("vacancies", s.vacancies);
    r.get("jitter", s.jitter);
    r.get("temperature_K", s.temperature_K);
    r.finish();
    if (s.count < 1) r.fail("count", "must be >= 1");
    std::size_t nb = 0;
    try {
      nb = lattice_basis(s.lattice).size();
    } catch (const InvalidArgument&) {
      r.fail("lattice", "must be \"sc\", \"bcc\", \"fcc\" or \"diamond\"");
    }
    r.positive("a", s.a);
    if (!cells.empty()) {
      if (cells.size() != 3) r.fail("cells", "must be three integers [nx, ny, nz]");
      for (int d = 0; d < 3; ++d) {
        if (cells[static_cast<std::size_t>(d)] < 1) r.fail("cells", "must all be >= 1");
        s.cells[static_cast<std::size_t>(d)] = cells[static_cast<std::size_t>(d)];
      }
    }
    if (s.elements.empty()) r.fail("element", "is required (a symbol such as \"W\" or an atomic number)");
    if (s.elements.size() != 1 && s.elements.size() != nb)
      r.fail("elements", "needs one element, or one per basis site (" + std::to_string(nb) + " for " + s.lattice + ")");
    if (s.masses.size() > 1 && s.masses.size() != nb)
      r.fail("masses", "needs one mass per basis site (" + std::to_string(nb) + " for " + s.lattice + ")");
    for (double m : s.masses) r.positive("mass", m);
    if (s.masses.empty())
      for (auto z : s.elements) try {
          (void)atomic_mass(z);
        } catch (const InvalidArgument&) {
          r.fail("mass", "is needed: no standard atomic weight is built in for Z = " + std::to_string(z));
        }
    const std::int64_t sites = s.cells[0] * s.cells[1] * s.cells[2] * static_cast<std::int64_t>(nb);
    for (auto v : s.vacancies)
      if (v < 0 || v >= sites)
        r.fail("vacancies", "site " + std::to_string(v) + " is not in 0.." + std::to_string(sites - 1));
    r.non_negative("jitter", s.jitter);
    r.non_negative("temperature_K", s.temperature_K);
    out.push_back(s);
  }
}

}  // namespace batchmd::app
