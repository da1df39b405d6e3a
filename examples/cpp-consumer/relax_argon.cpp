// SPDX-License-Identifier: Apache-2.0
// A downstream program built against an installed batchmd (find_package(batchmd)): relaxes a
// batch of argon clusters with FIRE and records every 10th step into a Zarr store, then reads
// the store back and checks that the relaxation lowered every cluster's energy.
//   relax_argon OUT.zarr
#include <cmath>
#include <cstdio>
#include <memory>
#include <utility>
#include <vector>

#include "batchmd/core/version.hpp"
#include "batchmd/dynamics/convergence.hpp"
#include "batchmd/dynamics/integrators.hpp"
#include "batchmd/hooks/snapshot.hpp"
#include "batchmd/model/lennard_jones.hpp"
#include "batchmd/sinks/zarr_data.hpp"

using namespace batchmd;

// A simple cubic block of n³ argon atoms at spacing a (Å), slightly off the minimum.
static AtomicData block(int n, double a) {
  std::vector<double> pos;
  std::vector<std::int64_t> z;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      for (int k = 0; k < n; ++k) {
        pos.insert(pos.end(), {a * i + 0.05 * std::sin(i + 2.0 * j), a * j, a * k + 0.03 * std::cos(k + 1.0 * i)});
        z.push_back(18);
      }
  return AtomicData::make(DType::Float64, pos, z);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT.zarr\n", argv[0]);
    return 2;
  }
  std::printf("%s\n", version_text().c_str());
  std::vector<AtomicData> systems;
  for (auto [n, a] : {std::pair{2, 3.9}, std::pair{3, 3.8}, std::pair{2, 3.6}}) systems.push_back(block(n, a));
  Batch batch = Batch::from_systems(systems);
  auto model = std::make_shared<model::LennardJones>(model::LJConfig{});
  dynamics::FIRE fire(model, /*dt fs*/ 2.0);
  fire.set_convergence(dynamics::Convergence::fmax(0.01));
  auto sink = std::make_shared<sinks::ZarrData>(argv[1]);
  fire.register_hook(std::make_shared<hooks::SnapshotHook>(sink, /*every*/ 10));
  const std::int64_t steps = fire.run(batch, 2000);
  sink->flush();

  sinks::TrajectoryReader reader(argv[1]);
  const Batch first = reader.read_range(0, batch.n_systems());
  const double* e0 = first.get("energy").data<double>();
  const double* e1 = batch.get("energy").data<double>();
  int bad = 0;
  for (std::int64_t s = 0; s < batch.n_systems(); ++s) {
    std::printf("system %lld: %.6f -> %.6f eV\n", static_cast<long long>(s), e0[s], e1[s]);
    if (!(e1[s] < e0[s])) ++bad;
  }
  std::printf("%lld FIRE steps, %lld samples in %s\n", static_cast<long long>(steps),
              static_cast<long long>(reader.num_samples()), argv[1]);
  return bad == 0 && reader.num_samples() > 0 ? 0 : 1;
}
