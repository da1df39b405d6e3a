// SPDX-License-Identifier: Apache-2.0
// tests/support/scratch_cleanup: which entries of the temporary directory a test process made. The
// tests name their scratch files and directories "batchmd_<what>_<pid>_<name>" (or end them in
// "_<pid>"), and LAMMPS runs get a "<scratch>.ompi" sibling; scratch_cleanup.cpp removes this
// process's entries when its tests have passed.
#pragma once
#include <string>
#include <string_view>

namespace batchmd::test_support {

/// Whether a directory entry `name` is scratch of the test process `pid`: it starts with
/// "batchmd_" and holds "_<pid>" followed by '_', '.' or the end of the name.
inline bool is_scratch_of(std::string_view name, long pid) {
  if (name.substr(0, 8) != "batchmd_") return false;
  std::string tag(1, '_');  // (not "_" + to_string: GCC 12's -Wrestrict false positive at -O3)
  tag += std::to_string(pid);
  for (std::size_t at = name.find(tag); at != std::string_view::npos; at = name.find(tag, at + 1)) {
    const std::size_t end = at + tag.size();
    if (end == name.size() || name[end] == '_' || name[end] == '.') return true;
  }
  return false;
}

}  // namespace batchmd::test_support
