// SPDX-License-Identifier: Apache-2.0
// core/memory: how much memory this process can still use, so that code sizing an allocation
// from input (a job file, a store's metadata) can refuse one that cannot fit, with a clear error,
// instead of failing in the allocator or the kernel's OOM killer.
#pragma once
#include <optional>

namespace batchmd {

/// Bytes this process can still allocate: MemAvailable of /proc/meminfo, lowered to the cgroup
/// (v2) limit memory.max - memory.current when that is smaller; nullopt where neither is
/// readable. Read afresh on every call (a few microseconds).
std::optional<double> available_memory_bytes();

}  // namespace batchmd
