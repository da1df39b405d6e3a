// SPDX-License-Identifier: Apache-2.0
// app/limits: the estimate of what a job implies, and the refusal of one that cannot run here.
//
// The memory model counts bytes per atom, per pair and per snapshot of the structures the job
// builds, from what the code holds (see the constants below); it errs high. It is checked against
// the machine before the first allocation that grows with the job, so an absurd value gets a
// clear error (exit 2) instead of std::bad_alloc, a segfault, or a hang with growing memory.
#include "batchmd/app/limits.hpp"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>
#include <string>
#include <thread>

#include "batchmd/core/error.hpp"
#include "batchmd/core/memory.hpp"
#include "batchmd/data/schema.hpp"

namespace batchmd::app {

namespace {

constexpr double kAvogadro = 6.02214076e23;
// One batch's atoms are indexed by int32 in the neighbour list (model/neighbor_list.cpp).
constexpr double kMaxBatchAtoms = 2147483646.0;
// Memory per atom of a running job, in units of the float size f, plus integer bytes: batch
// fields positions, velocities, forces (3f each), masses (f), atomic_numbers and system_index (8
// each); integrator state (up to 6f: FIRE's mixing, Langevin's noise, Nosé–Hoover's copies).
constexpr double kRunFloatsPerAtom = 16;
constexpr double kRunIntBytesPerAtom = 16;
// Neighbour list per atom (order, images, offsets, reference positions, inverse permutation,
// build scratch) and per pair (neighbor + shift index, int32 each, in the per-system buffers and
// the concatenated list, with the buffers' doubling headroom).
constexpr double kListBytesPerAtom = 192;
constexpr double kListBytesPerPair = 24;
// Building: each liquid's coordinates in a growing vector<double> (up to 2 x 24 bytes per atom)
// and every system held twice (as AtomicData and in the Batch) while the batch is assembled.
constexpr double kBuildBytesPerAtom = 48;
// Snapshot rows: per atom positions, velocities, forces (3f each), masses (f), atomic_numbers (8),
// atoms_mask (1); per system cell and stress (9f each), energy (f), pbc (3), step, system_id,
// atoms_ptr, edges_ptr (8 each), status (4), samples_mask (1).
constexpr double kSnapFloatsPerAtom = 10, kSnapIntBytesPerAtom = 9;
constexpr double kSnapFloatsPerSystem = 19, kSnapIntBytesPerSystem = 40;
// ZarrData holds queue_depth (4) snapshots waiting plus one encoding, and per array (about 16 per
// store) the raw tail of its last chunk and one encoded chunk.
constexpr double kSinkSnapshots = 5;
constexpr double kArraysPerStore = 16;
// The process itself: libraries, thread stacks, allocator slack.
constexpr double kBaseBytes = 64.0 * (1 << 20);

// Numbers as a reader wants them: whole numbers below 10^7 in full, others to 3 digits.
std::string fmt(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e7) return std::to_string(static_cast<std::int64_t>(v));
  std::ostringstream os;
  os.precision(3);
  os << v;
  return os.str();
}

std::string bytes_str(double b) {
  const char* unit[] = {"bytes", "KB", "MB", "GB", "TB", "PB"};
  int u = 0;
  while (b >= 1000 && u < 5) b /= 1000, ++u;
  return fmt(b) + " " + unit[u];
}

double sphere(double r) { return 4.0 / 3.0 * std::numbers::pi * r * r * r; }

// Cutoff radius of the neighbour list: the largest pair cutoff plus the skin.
double list_radius(const RunConfig& c) {
  double rc = c.lj.cutoff;
  for (const auto& p : c.lj.pairs) rc = std::max(rc, p.cutoff);
  return rc + c.lj.skin;
}

}  // namespace

int available_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

JobEstimate estimate_job(const RunConfig& c) {
  JobEstimate e;
  const double f = c.dtype == "float32" ? 4.0 : 8.0;
  const double rc = list_radius(c);
  const double v_cut = sphere(rc);
  double build_extra = 0;  // the largest transient of one generator call
  double most = -1;
  auto account = [&](const std::string& name, const std::string& sizes, double count, double atoms_each,
                     double per_atom_neighbors) {
    const double atoms = count * atoms_each;
    e.systems += count;
    e.atoms += atoms;
    e.largest_system_atoms = std::max(e.largest_system_atoms, atoms_each);
    e.neighbor_pairs += atoms * per_atom_neighbors;
    if (per_atom_neighbors > e.neighbors_per_atom) {
      e.neighbors_per_atom = per_atom_neighbors;
      e.densest = name;
    }
    if (atoms > most) {
      most = atoms;
      e.largest = name + " (" + sizes + ")";
    }
  };
  for (std::size_t i = 0; i < c.liquids.size(); ++i) {
    const LiquidSpec& s = c.liquids[i];
    const double cells = static_cast<double>(s.cells);
    const double atoms = 4 * cells * cells * cells;
    const double rho = s.density_g_cm3 / atomic_mass(s.element) * kAvogadro * 1e-24;  // atoms/Å³
    // Periodic images included: the sphere holds rho * v_cut atoms whatever the box size.
    account("liquid[" + std::to_string(i) + "]",
            "count = " + std::to_string(s.count) + ", cells = " + std::to_string(s.cells) + ": " + fmt(atoms) +
                " atoms each",
            static_cast<double>(s.count), atoms, 0.5 * rho * v_cut);
    build_extra = std::max(build_extra, kBuildBytesPerAtom * atoms);
  }
  for (std::size_t i = 0; i < c.clusters.size(); ++i) {
    const ClusterSpec& s = c.clusters[i];
    const double atoms = static_cast<double>(s.atoms);
    const double a = s.spacing * std::sqrt(2.0);
    const double rho = 4.0 / (a * a * a);
    account("cluster[" + std::to_string(i) + "]",
            "count = " + std::to_string(s.count) + ", atoms = " + std::to_string(s.atoms), static_cast<double>(s.count),
            atoms, 0.5 * std::min(atoms - 1, rho * v_cut));
    // make_cluster sorts every fcc site of a (2m+1)^3-cell block: 24 bytes each.
    const double m = std::ceil(std::cbrt(atoms)) + 2;
    build_extra = std::max(build_extra, 4 * std::pow(2 * m + 1, 3) * 24);
  }
  for (std::size_t i = 0; i < c.crystals.size(); ++i) {
    const CrystalSpec& s = c.crystals[i];
    const double basis = static_cast<double>(lattice_basis(s.lattice).size());
    const double cells =
        static_cast<double>(s.cells[0]) * static_cast<double>(s.cells[1]) * static_cast<double>(s.cells[2]);
    const double atoms = std::max(0.0, basis * cells - static_cast<double>(s.vacancies.size()));
    const double rho = basis / (s.a * s.a * s.a);
    account("crystal[" + std::to_string(i) + "]",
            "count = " + std::to_string(s.count) + ", cells = " + fmt(cells) + ": " + fmt(atoms) + " atoms each",
            static_cast<double>(s.count), atoms, 0.5 * rho * v_cut);
    build_extra = std::max(build_extra, kBuildBytesPerAtom * atoms);
  }
  for (const StructureFileSpec& s : c.structures) {  // the file is read here once (cached for the build)
    double held = 0;                                 // the selected frames stay cached until the batch is built
    for (const StructureFrameSize& fr : structure_sizes(s)) {
      // Periodic: the number density of the cell. Open or partly open: a dense solid's 0.2 atoms/Å³
      // (above every element's), at most every other atom.
      const double nb = fr.volume > 0 ? 0.5 * fr.atoms / fr.volume * v_cut : 0.5 * std::min(fr.atoms - 1, 0.2 * v_cut);
      account(s.where + " frame " + std::to_string(fr.frame),
              "count = " + std::to_string(s.count) + ": " + fmt(fr.atoms) + " atoms each", static_cast<double>(s.count),
              fr.atoms, nb);
      held += fr.atoms * kBuildBytesPerAtom;
      build_extra = std::max(build_extra, held + kBuildBytesPerAtom * fr.atoms);
    }
  }
  e.snapshot_bytes = e.atoms * (kSnapFloatsPerAtom * f + kSnapIntBytesPerAtom) +
                     e.systems * (kSnapFloatsPerSystem * f + kSnapIntBytesPerSystem);
  const double batch = e.atoms * (kRunFloatsPerAtom * f + kRunIntBytesPerAtom);
  const double list = e.atoms * kListBytesPerAtom + e.neighbor_pairs * kListBytesPerPair;
  // Chunk buffers fill only as data arrives: at most what the run writes.
  const double snapshots = static_cast<double>(c.steps) / static_cast<double>(c.snapshot_every) + 2;
  const double stores = c.hooks.converged_snapshots && c.stages.size() > 1 ? 2 : 1;
  const double chunks =
      stores * std::min(2 * kArraysPerStore * static_cast<double>(c.chunk_bytes), snapshots * e.snapshot_bytes);
  double sink = stores * kSinkSnapshots * e.snapshot_bytes + chunks;
  if (c.output.starts_with("memory://")) sink += stores * snapshots * e.snapshot_bytes;  // the store is RAM
  const double build = 2 * batch + build_extra;
  const double run = batch + list + sink;
  e.memory_bytes = kBaseBytes + std::max(build, run);
  return e;
}

void check_job_limits(const RunConfig& c) {
  // Values the command line may override (--threads, --steps) bypass the parser's ranges.
  if (c.steps < 0 || c.steps > 1'000'000'000'000)
    throw InvalidArgument("steps = " + std::to_string(c.steps) + " ([run] steps or --steps) must lie in [0, 10^12]");
  const int cpus = available_cpus();
  if (c.threads > cpus)
    throw InvalidArgument("threads = " + std::to_string(c.threads) + " ([run] threads or --threads) is more than the " +
                          std::to_string(cpus) + " CPUs this process may use; 0 uses all of them");
  const JobEstimate e = estimate_job(c);
  if (e.atoms > kMaxBatchAtoms)
    throw InvalidArgument("the job describes " + fmt(e.atoms) + " atoms (most in " + e.largest +
                          "); one batch holds at most 2147483646: lower its count, cells or atoms");
  if (e.neighbors_per_atom > kMaxNeighborsPerAtom)
    throw InvalidArgument(e.densest + ": model cutoff + skin = " + fmt(list_radius(c)) + " Å at this density gives ~" +
                          fmt(e.neighbors_per_atom) + " neighbours per atom, more than the " +
                          fmt(kMaxNeighborsPerAtom) + " the neighbour list allows: lower model.cutoff" +
                          (e.densest.starts_with("structures")
                               ? std::string()
                               : " or " + e.densest +
                                     (e.densest.starts_with("liquid")    ? ".density_g_cm3"
                                      : e.densest.starts_with("crystal") ? ".a"
                                                                         : ".spacing")));
  const std::optional<double> avail = available_memory_bytes();
  const double limit = c.max_memory_gb > 0 ? c.max_memory_gb * 1e9 : avail.value_or(0);
  if (limit > 0 && e.memory_bytes > limit)
    throw InvalidArgument("the job needs an estimated " + bytes_str(e.memory_bytes) + " of memory (" + fmt(e.atoms) +
                          " atoms in " + fmt(e.systems) + " systems, most in " + e.largest + "; ~" +
                          fmt(e.neighbor_pairs) + " neighbour pairs; " + bytes_str(e.snapshot_bytes) +
                          " per snapshot), more than " +
                          (c.max_memory_gb > 0 ? "[run] max_memory_gb = " + fmt(c.max_memory_gb) + " GB"
                                               : "the " + bytes_str(limit) +
                                                     " this machine has available (set [run] max_memory_gb to "
                                                     "choose the bound)"));
}

}  // namespace batchmd::app
