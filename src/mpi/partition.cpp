// SPDX-License-Identifier: Apache-2.0
// mpi/partition: cost estimates and the contiguous, cost-balanced split of a job's systems.
#include "batchmd/mpi/partition.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "batchmd/core/error.hpp"

namespace batchmd::mpi {

std::vector<double> system_costs(const Batch& batch, double cutoff_A) {
  const Batch host = batch.is_cuda() ? batch.to(Device::cpu()) : Batch();
  const Batch& b = batch.is_cuda() ? host : batch;
  const std::int64_t ns = b.n_systems();
  const auto* ap = b.atoms_ptr_data();
  const double rc = std::max(cutoff_A, 1e-3);
  const double sphere = 4.0 / 3.0 * std::numbers::pi * rc * rc * rc;
  std::vector<double> pos(3 * static_cast<std::size_t>(b.n_atoms()));
  std::vector<double> cell(9 * static_cast<std::size_t>(ns), 0.0);
  std::vector<bool> pbc(3 * static_cast<std::size_t>(ns), false);
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* x = b.get("positions").data<T>();
    std::copy(x, x + pos.size(), pos.begin());
    if (b.has("cell")) {
      const T* c = b.get("cell").data<T>();
      std::copy(c, c + cell.size(), cell.begin());
    }
  });
  if (b.has("pbc")) {
    const bool* p = b.get("pbc").data<bool>();
    for (std::size_t i = 0; i < pbc.size(); ++i) pbc[i] = p[i];
  }
  std::vector<double> costs(static_cast<std::size_t>(ns), 1.0);
  for (std::int64_t s = 0; s < ns; ++s) {
    const double n = static_cast<double>(ap[s + 1] - ap[s]);
    if (n <= 0) continue;
    const double* c = &cell[9 * static_cast<std::size_t>(s)];
    const bool periodic = pbc[3 * s] && pbc[3 * s + 1] && pbc[3 * s + 2];
    double volume = 0;
    if (periodic)
      volume = std::abs(c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) +
                        c[2] * (c[3] * c[7] - c[4] * c[6]));
    if (!(volume > 0)) {  // open (or partly open): the bounding box of the atoms
      volume = 1;
      for (int d = 0; d < 3; ++d) {
        double lo = pos[3 * ap[s] + d], hi = lo;
        for (std::int64_t a = ap[s]; a < ap[s + 1]; ++a) {
          lo = std::min(lo, pos[3 * a + d]);
          hi = std::max(hi, pos[3 * a + d]);
        }
        volume *= std::max(hi - lo, rc);
      }
    }
    double neighbours = n / volume * sphere;
    if (!periodic) neighbours = std::min(neighbours, n - 1);
    costs[static_cast<std::size_t>(s)] = std::max(1.0, n * std::max(neighbours, 1.0));
  }
  return costs;
}

std::vector<std::int64_t> partition(const std::vector<double>& costs, int ranks) {
  const auto n = static_cast<std::int64_t>(costs.size());
  if (ranks < 1) throw InvalidArgument("partition: need at least one rank, got " + std::to_string(ranks));
  if (n < ranks)
    throw InvalidArgument(
        "the job has " + std::to_string(n) + " system" + (n == 1 ? "" : "s") + " for " + std::to_string(ranks) +
        " MPI ranks; every rank needs at least one system: run with at most " + std::to_string(n) +
        " ranks (mpirun -np " + std::to_string(std::max<std::int64_t>(n, 1)) + ") or give the job more systems");
  std::vector<double> prefix(static_cast<std::size_t>(n) + 1, 0.0);
  for (std::int64_t s = 0; s < n; ++s) prefix[s + 1] = prefix[s] + costs[static_cast<std::size_t>(s)];
  const double total = prefix[n];
  std::vector<std::int64_t> b(static_cast<std::size_t>(ranks) + 1, 0);
  b[ranks] = n;
  for (int r = 1; r < ranks; ++r) {
    const double target = total * r / ranks;
    // The cut (between systems) whose cumulative cost is nearest the target.
    auto it = std::lower_bound(prefix.begin(), prefix.end(), target);
    auto cut = static_cast<std::int64_t>(it - prefix.begin());
    if (cut > 0 && cut <= n && target - prefix[cut - 1] < prefix[cut] - target) --cut;
    b[r] = std::clamp(cut, b[r - 1] + 1, n - (ranks - r));
  }
  return b;
}

Share share_of(const Batch& batch, const std::vector<std::int64_t>& bounds, int rank) {
  const auto* ap = batch.atoms_ptr_data();
  Share s;
  s.first_system = bounds.at(static_cast<std::size_t>(rank));
  s.n_systems = bounds.at(static_cast<std::size_t>(rank) + 1) - s.first_system;
  s.first_atom = ap[s.first_system];
  s.n_atoms = ap[s.first_system + s.n_systems] - s.first_atom;
  return s;
}

}  // namespace batchmd::mpi
