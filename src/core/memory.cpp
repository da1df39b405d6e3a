// SPDX-License-Identifier: Apache-2.0
// core/memory: available memory from /proc/meminfo and the cgroup v2 limit.
#include "batchmd/core/memory.hpp"

#include <algorithm>
#include <exception>
#include <fstream>
#include <string>

namespace batchmd {

namespace {

std::optional<double> read_number(const char* path) {
  std::ifstream in(path);
  std::string s;
  if (!(in >> s) || s == "max") return std::nullopt;
  try {
    return std::stod(s);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<double> available_memory_bytes() {
  std::optional<double> avail;
  std::ifstream in("/proc/meminfo");
  std::string key, rest;
  double kb = 0;
  while (in >> key >> kb) {
    std::getline(in, rest);
    if (key == "MemAvailable:") avail = kb * 1024.0;
  }
  // A container's own limit may be lower than what the machine has free.
  const auto max = read_number("/sys/fs/cgroup/memory.max");
  const auto cur = read_number("/sys/fs/cgroup/memory.current");
  if (max && cur) {
    const double left = std::max(0.0, *max - *cur);
    avail = avail ? std::min(*avail, left) : left;
  }
  return avail;
}

}  // namespace batchmd
