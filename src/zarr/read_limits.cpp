// SPDX-License-Identifier: Apache-2.0
// zarr/read_limits: the process-wide bound on one read's allocation.
#include "batchmd/zarr/read_limits.hpp"

#include <algorithm>
#include <atomic>
#include <sstream>

#include "batchmd/core/error.hpp"
#include "batchmd/core/memory.hpp"

namespace batchmd::zarr {

namespace {

constexpr double kAlwaysAllowed = 64.0 * (1 << 20);
std::atomic<std::uint64_t> g_max_read{0};  // 0: the memory available at each check

std::string bytes_str(double b) {
  const char* unit[] = {"bytes", "KB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  while (b >= 1000 && u < 6) b /= 1000, ++u;
  std::ostringstream os;
  os.precision(3);
  os << b << " " << unit[u];
  return os.str();
}

}  // namespace

std::uint64_t max_read_bytes() {
  if (const std::uint64_t set = g_max_read.load(std::memory_order_relaxed)) return set;
  const auto avail = available_memory_bytes();
  // Where nothing is known, 2^40: still far below what a crafted size can claim.
  return avail ? static_cast<std::uint64_t>(std::max(*avail, kAlwaysAllowed)) : std::uint64_t{1} << 40;
}

void set_max_read_bytes(std::uint64_t bytes) { g_max_read.store(bytes, std::memory_order_relaxed); }

void check_read_size(double bytes, const std::string& what) {
  if (!(bytes >= 0)) throw FormatError(what + ": negative or undefined size to read");
  if (bytes <= kAlwaysAllowed && g_max_read.load(std::memory_order_relaxed) == 0) return;
  const auto limit = static_cast<double>(max_read_bytes());
  if (bytes > limit)
    throw CapacityError(
        what + ": reading it takes " + bytes_str(bytes) + ", more than the " + bytes_str(limit) +
        (g_max_read.load(std::memory_order_relaxed) ? " allowed for one read" : " of memory available") +
        " (is the store's metadata damaged?)");
}

}  // namespace batchmd::zarr
