// SPDX-License-Identifier: Apache-2.0
// mpi/session_common: the parts of Session that need no MPI — the rank's share of the systems,
// threads and device per rank, where a rank prints and logs. Compiled in every build.
#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <string>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/mpi/session.hpp"

namespace batchmd::mpi {

int launched_ranks() noexcept {
  // The launchers' own variables: Open MPI, MPICH/Hydra and Intel MPI (PMI), MVAPICH.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE"})
    if (const char* v = std::getenv(name)) {
      const int n = std::atoi(v);
      if (n >= 1) return n;
    }
  return 1;
}

std::string Session::label() const {
  return distributed() ? "rank " + std::to_string(rank_) + " of " + std::to_string(size_) : std::string();
}

int Session::default_threads() const {
  if (!distributed()) return 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  const int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  return std::max(1, cpus / std::max(1, local_size_));
}

Device Session::default_device() const {
  if (!distributed()) return cuda::default_device();
  const int gpus = cuda::device_count();
  if (gpus <= 0) return Device::cpu();
  return Device{Device::Kind::CUDA, local_rank_ % gpus};
}

std::FILE* Session::output(std::FILE* out) {
  if (is_root()) return out;
  if (!devnull_) {
    std::FILE* f = std::fopen("/dev/null", "w");
    if (!f) throw IOError("rank " + std::to_string(rank_) + ": cannot open /dev/null");
    devnull_ = std::shared_ptr<std::FILE>(f, [](std::FILE* p) { std::fclose(p); });
  }
  return devnull_.get();
}

std::string Session::per_rank_path(const std::string& path) const {
  if (!distributed() || path.empty()) return path;
  const std::filesystem::path p(path);
  return (p.parent_path() / (p.stem().string() + ".rank" + std::to_string(rank_) + p.extension().string())).string();
}

Batch Session::local_share(Batch all, double cutoff_A) {
  const std::int64_t ns = all.n_systems();
  if (!distributed()) {
    share_ = Share{0, ns, 0, all.n_atoms()};
    return all;
  }
  if (!all.has("system_id")) {  // ids stay global: the whole job's numbering, not the share's
    auto* id = all.add_standard("system_id").data<std::int64_t>();
    std::iota(id, id + ns, std::int64_t{0});
  }
  n_systems_ = ns;
  // The pipeline's systems start on the ranks of its first stage: ranks [0, ⌊N/S⌋).
  const int sharing = pipeline() ? size_ / pipeline_stages_ : size_;
  const auto bounds = partition(system_costs(all, cutoff_A), sharing);
  if (rank_ < sharing) {
    share_ = share_of(all, bounds, rank_);
  } else {
    share_ = Share{ns, 0, all.n_atoms(), 0};
  }
  std::vector<std::int64_t> idx(static_cast<std::size_t>(share_.n_systems));
  std::iota(idx.begin(), idx.end(), share_.first_system);
  return all.index_select(idx);
}

std::vector<double> Session::local_slice(const std::vector<double>& all, std::int64_t per_atom) const {
  if (!distributed()) return all;
  const auto first = static_cast<std::size_t>(share_.first_atom * per_atom);
  const auto n = static_cast<std::size_t>(share_.n_atoms * per_atom);
  if (first + n > all.size())
    throw InvalidArgument("per-atom values of " + std::to_string(all.size()) + " entries do not cover " + label() +
                          "'s atoms");
  return {all.begin() + static_cast<std::ptrdiff_t>(first), all.begin() + static_cast<std::ptrdiff_t>(first + n)};
}

}  // namespace batchmd::mpi
