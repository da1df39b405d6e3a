// SPDX-License-Identifier: Apache-2.0
// Test support: LAMMPS (Debian's `lmp`) run as a real process for reference results — a scratch
// directory per run, named so that scratch_cleanup.hpp counts it as this process's
// ("batchmd_<what>_<pid>_<name>"), and the run itself, with its own Open MPI session directory
// "<dir>.ompi" beside it. Used by tests/model (snap_test_util.hpp), tests/dynamics
// (npt_test_util.hpp) and tests/io (test_lammps_data.cpp).
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>

namespace batchmd::test_support {

/// A fresh (emptied) scratch directory "batchmd_<what>_<pid>_<name>" in the temporary directory,
/// for one external run; the test binary removes it once its tests have passed.
inline std::filesystem::path scratch_dir(const std::string& what, const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("batchmd_" + what + "_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

/// Runs `lmp` (the executable: a name on PATH or a path) on `script` (written to dir/in.lmp) in
/// dir: log in log.lammps, screen output in lmp.out. A failed run fails the test (with lmp.out in
/// the message) and returns false.
inline bool run_lammps(const std::filesystem::path& dir, const std::string& script, const std::string& lmp = "lmp") {
  std::ofstream(dir / "in.lmp") << script;
  // Open MPI's session directory apart for each run (beside the scratch directory, which the test
  // may remove while Open MPI still cleans it up): lmp processes started at once by parallel tests
  // raced on creating the shared /tmp/ompi.<host>.<uid> ("File exists").
  const std::string ompi = dir.string() + ".ompi";
  std::filesystem::create_directories(ompi);
  const std::string cmd = "cd '" + dir.string() + "' && TMPDIR='" + ompi + "' OMPI_MCA_orte_tmpdir_base='" + ompi +
                          "' '" + lmp + "' -in in.lmp -log log.lammps > lmp.out 2>&1";
  const int rc = std::system(cmd.c_str());
  // A singleton lmp's Open MPI daemon may still be removing its session files when lmp has
  // exited: wait (up to 5 s) for the directory to empty before removing it. Removing it while the
  // daemon deletes inside it failed now and then and left empty "<dir>.ompi" directories behind.
  std::error_code ec;
  for (int i = 0; i < 250 && !std::filesystem::is_empty(ompi, ec) && !ec; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::filesystem::remove_all(ompi, ec);  // best effort: scratch_cleanup retries at the end
  if (rc != 0) {
    std::ifstream out(dir / "lmp.out");
    std::stringstream ss;
    ss << out.rdbuf();
    ADD_FAILURE() << "lmp failed (exit " << rc << "): " << ss.str();
    return false;
  }
  return true;
}

}  // namespace batchmd::test_support
