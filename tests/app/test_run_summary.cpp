// SPDX-License-Identifier: Apache-2.0
// `batchmd run`'s summary, checked against independent physics: the energies it prints against a
// brute-force Lennard-Jones sum over the stored states, NVE energy conservation against velocity
// Verlet's second-order error, and the embedded default job (its shape as the README states it,
// relaxed structures against the Cambridge Cluster Database minima and the perfect fcc lattice,
// Langevin temperature and equipartition); the --dtype and --threads overrides.
#include <omp.h>

#include <algorithm>
#include <numeric>

#include "app_test_util.hpp"
#include "batchmd/app/config.hpp"
#include "batchmd/app/limits.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/sinks/zarr_data.hpp"

using namespace batchmd;
using namespace batchmd::app_test;

namespace {

std::string nve_job(double dt_fs, int steps, int every) {
  return "[run]\nsteps = " + std::to_string(steps) + "\ndt_fs = " + std::to_string(dt_fs) +
         "\n[model]\nshift_energy = true\n"
         "[[liquid]]\ncount = 1\ncells = 3\n[[cluster]]\ncount = 1\natoms = 13\n"
         "[output]\nprogress = false\nsnapshot_every = " +
         std::to_string(every) + "\n";
}

/// Largest |E(t) - E(0)| over the stored samples of one system (stored energy + kinetic energy).
double max_energy_error(const sinks::TrajectoryReader& r, std::int64_t system_id, double e0) {
  const Batch b = r.read_system(system_id);
  double worst = 0;
  for (std::int64_t s = 0; s < b.n_systems(); ++s)
    worst = std::max(worst, std::abs(doubles(b, "energy")[s] + kinetic_energy(b, s) - e0));
  return worst;
}

/// Gershgorin bound on the largest vibrational angular frequency (rad/fs) of system s in its
/// current configuration: the Hessian of a pair potential has off-diagonal blocks of norm
/// max(|V''(r)|, |V'(r)/r|) and diagonal blocks minus their sum, so every eigenvalue is below
/// max_i 2 sum_j max(|V''|, |V'/r|); divided by the mass it bounds omega^2.
double omega_max(const Batch& b, std::int64_t s, const LJ& p) {
  const auto x = doubles(b, "positions"), cell = doubles(b, "cell"), m = doubles(b, "masses");
  const auto* pbc = b.get("pbc").data<bool>();
  const auto* ap = b.atoms_ptr_data();
  double worst = 0;
  for (std::int64_t i = ap[s]; i < ap[s + 1]; ++i) {
    double row = 0;
    for (std::int64_t j = ap[s]; j < ap[s + 1]; ++j) {
      if (i == j) continue;
      double d2 = 0;
      for (int c = 0; c < 3; ++c) {
        double d = x[3 * j + c] - x[3 * i + c];
        const double L = cell[9 * s + 4 * c];
        if (pbc[3 * s + c]) d -= L * std::round(d / L);  // nearest image: the stiff contacts
        d2 += d * d;
      }
      const double r = std::sqrt(d2);
      if (r >= p.cutoff) continue;
      const double sr6 = std::pow(p.sigma / r, 6);
      const double v1 = 4 * p.epsilon * (-12 * sr6 * sr6 + 6 * sr6) / r;         // V'(r)
      const double v2 = 4 * p.epsilon * (156 * sr6 * sr6 - 42 * sr6) / (r * r);  // V''(r)
      row += std::max(std::abs(v2), std::abs(v1 / r));
    }
    worst = std::max(worst, 2 * row / (m[i] * kAmuA2PerFs2InEv));  // eV/(Å² amu) -> fs^-2
  }
  return std::sqrt(worst);
}

}  // namespace

TEST(RunCommand, ShortRunConservesEnergyAndReports) {
  // One 108-atom periodic liquid and one 13-atom cluster, plain NVE (velocity Verlet) with the
  // energy-shifted potential, 400 fs at dt = 2 fs and again at dt = 1 fs.
  const std::string store2 = tmp_path("nve_dt2.zarr"), store1 = tmp_path("nve_dt1.zarr");
  app::RunOptions o;
  o.config_path = write_file("nve_dt2.toml", nve_job(2.0, 200, 5));
  o.output = store2;
  const RunResult r2 = run_captured(o);
  ASSERT_EQ(r2.rc, 0) << r2.out;
  o.config_path = write_file("nve_dt1.toml", nve_job(1.0, 400, 10));
  o.output = store1;
  const RunResult r1 = run_captured(o);
  ASSERT_EQ(r1.rc, 0) << r1.out;
  // snapshots at steps 1, 6, ..., 196 plus the final state after 200 steps
  EXPECT_NE(r2.out.find("snapshots: 41 taken, 82 samples in " + store2), std::string::npos) << r2.out;
  EXPECT_NE(r2.out.find("velocity_verlet, 200 steps of 2 fs"), std::string::npos) << r2.out;

  // 1. The printed E(0), E(end) and drift are the total energies of the start and end states:
  // recomputed here by brute force from the job's initial batch and the stored final snapshot.
  const auto rows = summary_rows(r2.out);
  ASSERT_EQ(rows.size(), 2u) << r2.out;
  const Batch start = app::build_systems(app::parse_config(nve_job(2.0, 200, 5), "job"));
  sinks::TrajectoryReader reader2(store2), reader1(store1);
  const Batch end = sinks::last_snapshot_per_system(reader2);
  const LJ lj;
  for (std::int64_t s = 0; s < 2; ++s) {
    const auto& row = rows[static_cast<std::size_t>(s)];
    EXPECT_EQ(row.system_id, s);
    EXPECT_EQ(row.kind, s == 0 ? "periodic" : "cluster");
    EXPECT_EQ(row.atoms, s == 0 ? 108 : 13);
    EXPECT_EQ(end.get("step").data<std::int64_t>()[s], 200);
    const double e0 = lj_energy(start, s, lj) + kinetic_energy(start, s);
    const double e1 = lj_energy(end, s, lj) + kinetic_energy(end, s);
    EXPECT_NEAR(row.e0, e0, 1e-6) << "system " << s;  // printed with 6 decimals
    EXPECT_NEAR(row.e1, e1, 1e-6) << "system " << s;
    EXPECT_NEAR(row.drift, std::abs(e1 - e0) / std::abs(e0), 0.01 * row.drift + 1e-12) << "system " << s;
  }

  // 2. Velocity Verlet's energy error is bounded by its shadow Hamiltonian: for a mode of angular
  // frequency w the true energy oscillates about the conserved one with relative amplitude
  // (w dt)^2 / 4, so |E(t) - E(0)| <= (w_max dt)^2 / 2 * (energy in the modes, about 2 K), with
  // w_max bounded from the stored configurations (Gershgorin, omega_max above) and K the largest
  // kinetic energy seen.
  for (std::int64_t s = 0; s < 2; ++s) {
    const Batch traj = reader2.read_system(s);
    double w = 0, k = 0;
    for (std::int64_t i = 0; i < traj.n_systems(); ++i) {
      w = std::max(w, omega_max(traj, i, lj));
      k = std::max(k, kinetic_energy(traj, i));
    }
    const double e0 = lj_energy(start, s, lj) + kinetic_energy(start, s);
    const double err = max_energy_error(reader2, s, e0);
    const double bound = (w * 2.0) * (w * 2.0) * k;
    std::printf("system %lld: max |E(t)-E(0)| = %.3g eV, bound (w_max dt)^2 K = %.3g eV (w_max = %.3g rad/fs)\n",
                static_cast<long long>(s), err, bound, w);
    EXPECT_LT(err, bound) << "system " << s;
    EXPECT_GT(err, 0.0) << "system " << s << ": an exactly constant energy means nothing moved";
  }

  // 3. The error is second order in dt: halving dt over the same 400 fs divides it by ~4. Checked
  // on the cluster, where every pair stays inside the cutoff; in the periodic liquid pairs cross
  // the cutoff, where the shifted potential's force jumps, which adds an O(dt) random walk.
  const double e0c = lj_energy(start, 1, lj) + kinetic_energy(start, 1);
  const double ratio = max_energy_error(reader2, 1, e0c) / max_energy_error(reader1, 1, e0c);
  std::printf("cluster: energy error ratio dt=2 fs / dt=1 fs = %.3f (second order: 4)\n", ratio);
  EXPECT_GT(ratio, 3.0);
  EXPECT_LT(ratio, 5.3);
  fs::remove_all(store2);
  fs::remove_all(store1);
}

namespace {

// Cambridge Cluster Database (Wales & Doye) global minima of LJ_n, in units of epsilon.
double lj_global_minimum(std::int64_t n) {
  switch (n) {
    case 13:
      return -44.326801;
    case 55:
      return -279.248470;
    case 147:
      return -876.461207;
    default:
      ADD_FAILURE() << "no reference minimum for LJ" << n;
      return 0;
  }
}

/// The perfect fcc lattice filling system s's cubic box with its number of atoms (4 per cell).
Batch perfect_fcc_like(const Batch& b, std::int64_t s) {
  const auto* ap = b.atoms_ptr_data();
  const std::int64_t n = ap[s + 1] - ap[s];
  const auto cells = static_cast<std::int64_t>(std::llround(std::cbrt(static_cast<double>(n) / 4)));
  EXPECT_EQ(4 * cells * cells * cells, n);
  const double L = doubles(b, "cell")[9 * s], a = L / static_cast<double>(cells);
  const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
  std::vector<double> x;
  for (std::int64_t i = 0; i < cells; ++i)
    for (std::int64_t j = 0; j < cells; ++j)
      for (std::int64_t k = 0; k < cells; ++k)
        for (const auto& f : basis)
          for (double v : {static_cast<double>(i) + f[0], static_cast<double>(j) + f[1], static_cast<double>(k) + f[2]})
            x.push_back(v * a);
  std::vector<AtomicData> one;
  one.push_back(AtomicData::make(DType::Float64, x, std::vector<std::int64_t>(static_cast<std::size_t>(n), 18),
                                 {L, 0, 0, 0, L, 0, 0, 0, L}, {true, true, true}));
  return Batch::from_systems(one);
}

double max_force_norm(const Batch& b, std::int64_t s) {
  const auto f = doubles(b, "forces");
  const auto* ap = b.atoms_ptr_data();
  double m = 0;
  for (std::int64_t i = ap[s]; i < ap[s + 1]; ++i)
    m = std::max(m, std::sqrt(f[3 * i] * f[3 * i] + f[3 * i + 1] * f[3 * i + 1] + f[3 * i + 2] * f[3 * i + 2]));
  return m;
}

}  // namespace

TEST(RunCommand, DefaultJobShapeRelaxationAndThermalisation) {
  // README: "32 argon systems (16 periodic boxes of 108 and 256 atoms ..., 16 open clusters of 13,
  // 55 and 147 atoms; 3,908 atoms), Lennard-Jones, relaxed with FIRE until every force is below
  // 0.005 eV/Å, then Langevin NVT at 40 K ... 2 fs", relaxed structures in a second store.
  // 400 of its 2,000 steps: FIRE converges within ~50, leaving ~700 fs (7 energy relaxation times
  // 1/gamma) of Langevin dynamics.
  const std::string store = tmp_path("default.zarr"), relaxed = tmp_path("default.relaxed.zarr");
  app::RunOptions o;
  o.steps = 400;
  o.output = store;
  const RunResult r = run_captured(o);
  ASSERT_EQ(r.rc, 0) << r.out;

  // the shape, as printed and as built
  EXPECT_NE(r.out.find("batchmd run: embedded default job"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("32 systems (16 periodic, 16 open), 3908 atoms, float64, lennard_jones"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("fused(fire+nvt_langevin), 400 steps of 2 fs, snapshot every 50 steps -> " + store),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("relaxed structures -> " + relaxed), std::string::npos) << r.out;
  const app::RunConfig cfg = app::parse_config(app::kDefaultConfigToml, "default");
  const Batch start = app::build_systems(cfg);
  std::map<std::int64_t, int> sizes;
  for (std::int64_t s = 0; s < start.n_systems(); ++s)
    ++sizes[start.atoms_ptr_data()[s + 1] - start.atoms_ptr_data()[s]];
  EXPECT_EQ(sizes, (std::map<std::int64_t, int>{{13, 6}, {55, 6}, {108, 8}, {147, 4}, {256, 8}}));
  ASSERT_EQ(cfg.stages.size(), 2u);
  EXPECT_EQ(cfg.stages[0].type, "fire");
  EXPECT_EQ(cfg.stages[0].fmax, 0.005);
  EXPECT_EQ(cfg.stages[1].type, "nvt_langevin");
  EXPECT_EQ(cfg.stages[1].temperature_K, 40.0);
  EXPECT_EQ(cfg.dt_fs, 2.0);
  EXPECT_EQ(cfg.steps, 2000);

  // every system was relaxed (one converged snapshot each), then moved on to Langevin
  EXPECT_NE(r.out.find("systems per stage: fire 0, nvt_langevin 32, finished 0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("relaxed structures: 32 in " + relaxed), std::string::npos) << r.out;
  const LJ lj;  // the default job's model: argon, cutoff 8.5 Å, shifted
  sinks::TrajectoryReader rel(relaxed);
  const Batch relaxed_batch = sinks::last_snapshot_per_system(rel);
  ASSERT_EQ(relaxed_batch.n_systems(), 32);
  for (std::int64_t s = 0; s < 32; ++s) {
    const std::int64_t n = relaxed_batch.atoms_ptr_data()[s + 1] - relaxed_batch.atoms_ptr_data()[s];
    const bool periodic = relaxed_batch.get("pbc").data<bool>()[3 * s];
    EXPECT_LE(max_force_norm(relaxed_batch, s), 0.005) << "relaxed system " << s;
    const double e = lj_energy(relaxed_batch, s, lj);
    EXPECT_NEAR(doubles(relaxed_batch, "energy")[s], e, 1e-9 * std::abs(e)) << "relaxed system " << s;
    if (periodic) {
      // A jittered fcc box starts in the basin of its perfect lattice and relaxes towards it. At
      // 1.40 g/cm³ the lattice is stretched (nearest neighbours at 4.06 Å, close to the pair
      // potential's inflection point, 4.23 Å) and soft, so FIRE stops at fmax = 0.005 eV/Å about
      // 0.1-0.2 % above it; allow 0.5 %.
      const double e_fcc = lj_energy(perfect_fcc_like(relaxed_batch, s), 0, lj);
      EXPECT_GE(e, e_fcc - 1e-9 * std::abs(e_fcc)) << "relaxed system " << s;
      EXPECT_LE(e, e_fcc + 5e-3 * std::abs(e_fcc)) << "relaxed system " << s;
    } else {
      // The Cambridge global minimum (full potential) is a strict lower bound of the untruncated
      // energy of any structure; a relaxed compact cluster (the fcc cut relaxes to a cuboctahedral
      // local minimum) lies within 10 % of it. An exploded or unrelaxed cluster does not.
      const double emin = lj_global_minimum(n) * lj.epsilon;
      LJ untruncated;
      untruncated.cutoff = 1e3;
      untruncated.shift = false;
      const double e_full = lj_energy(relaxed_batch, s, untruncated);
      EXPECT_GE(e_full, emin) << "relaxed LJ" << n;
      EXPECT_LE(e_full, 0.9 * emin) << "relaxed LJ" << n << " is far from any low minimum";
      // truncating and shifting raises the energy (V < 0 beyond r_min)
      EXPECT_GT(e, e_full) << "relaxed LJ" << n;
    }
  }

  // the summary's per-system E_pot, T and fmax are those of the final snapshot
  sinks::TrajectoryReader traj(store);
  const Batch end = sinks::last_snapshot_per_system(traj);
  const auto rows = summary_rows(r.out);
  ASSERT_EQ(rows.size(), 32u) << r.out;
  double k_total = 0, n_total = 0;
  for (std::int64_t s = 0; s < 32; ++s) {
    const auto& row = rows[static_cast<std::size_t>(s)];
    const std::int64_t n = end.atoms_ptr_data()[s + 1] - end.atoms_ptr_data()[s];
    EXPECT_EQ(end.get("step").data<std::int64_t>()[s], 400);
    EXPECT_EQ(row.atoms, n);
    EXPECT_EQ(row.stage, "nvt_langevin");
    const double epot = lj_energy(end, s, lj), k = kinetic_energy(end, s);
    EXPECT_NEAR(row.epot, epot, 1e-6) << "system " << s;                                                   // %.6f
    EXPECT_NEAR(row.temperature, 2 * k / (static_cast<double>(3 * n - 3) * kBoltzmannEvPerK), 0.05) << s;  // 3N-3 dof
    EXPECT_NEAR(row.fmax, max_force_norm(end, s), 0.005 * row.fmax) << "system " << s;                     // %.2e
    k_total += k;
    n_total += static_cast<double>(n);
  }
  // Langevin equipartition: <K> = 3/2 N k T over all 3N degrees of freedom (the thermostat does not
  // conserve momentum). One instantaneous sample of 11,724 degrees of freedom: relative standard
  // deviation sqrt(2 / 3N) = 1.3 %; 5 sigma. (Exact for any potential, unlike the equipartition of
  // the potential energy, which the soft, stretched lattices here do not follow.)
  const double t_all = 2 * k_total / (3 * n_total * kBoltzmannEvPerK);
  const double sigma_t = 40.0 * std::sqrt(2 / (3 * n_total));
  std::printf("default job: T over all systems = %.2f K (target 40 +- %.2f)\n", t_all, sigma_t);
  EXPECT_NEAR(t_all, 40.0, 5 * sigma_t);
  fs::remove_all(store);
  fs::remove_all(relaxed);
}

TEST(RunCommand, DtypeAndThreadsOverrides) {
  // --dtype float32: the whole run in single precision, the store holds float32 arrays.
  const std::string store = tmp_path("f32.zarr");
  app::RunOptions o;
  o.config_path = write_file("f32.toml", nve_job(2.0, 50, 10));
  o.output = store;
  o.dtype = "float32";
  o.threads = 1;
  o.device = "cpu";
  RunResult r = run_captured(o);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("121 atoms, float32, lennard_jones on cpu (1 threads"), std::string::npos) << r.out;
  sinks::TrajectoryReader reader(store);
  for (const auto& f : reader.fields()) {
    if (f.name == "positions" || f.name == "velocities" || f.name == "forces" || f.name == "energy") {
      EXPECT_EQ(f.dtype, DType::Float32) << f.name;
    }
  }
  // the float32 run follows the float64 one closely over 50 steps
  const Batch b32 = sinks::last_snapshot_per_system(reader);
  fs::remove_all(store);
  o.dtype.reset();
  r = run_captured(o);
  ASSERT_EQ(r.rc, 0) << r.out;
  const Batch b64 = sinks::last_snapshot_per_system(sinks::TrajectoryReader(store));
  const auto x32 = doubles(b32, "positions"), x64 = doubles(b64, "positions");
  double worst = 0;
  for (std::size_t i = 0; i < x32.size(); ++i) worst = std::max(worst, std::abs(x32[i] - x64[i]));
  EXPECT_LT(worst, 1e-3) << "Å";
  EXPECT_GT(worst, 0.0) << "float32 and float64 runs cannot agree to the last bit";

  // --threads N sets the team of every parallel loop that follows (num_threads(), parallel_for);
  // N is at most the CPUs this process may use (more is refused: test_limits)
  for (int n : {1, 2, app::available_cpus()}) {
    fs::remove_all(store);
    o.threads = n;
    r = run_captured(o);
    ASSERT_EQ(r.rc, 0) << r.out;
    EXPECT_NE(r.out.find("on cpu (" + std::to_string(n) + " threads"), std::string::npos) << r.out;
    EXPECT_EQ(num_threads(), n);
    std::vector<int> team(64, 0);
    parallel_for_dynamic(64, [&](std::int64_t i) { team[static_cast<std::size_t>(i)] = omp_get_num_threads(); });
    EXPECT_EQ(*std::max_element(team.begin(), team.end()), n);
  }
  fs::remove_all(store);
}
