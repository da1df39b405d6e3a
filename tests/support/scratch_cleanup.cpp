// SPDX-License-Identifier: Apache-2.0
// tests/support/scratch_cleanup: linked into every test binary (batchmd_test and batchmd_gpu_test in
// cmake/Warnings.cmake). A GoogleTest environment that, once every test of the process has run and
// passed, removes the scratch files and directories the process left in the temporary directory
// (scratch_cleanup.hpp says which); after a failure they stay, for the developer to look at. Without
// it the suite left hundreds of entries in /tmp per few runs.
#include "scratch_cleanup.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <system_error>
#include <vector>

namespace {

class ScratchCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    if (::testing::UnitTest::GetInstance()->Failed()) return;
    std::error_code ec;
    const std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
    if (ec) return;
    const long pid = static_cast<long>(::getpid());
    std::vector<std::filesystem::path> own;
    for (auto it = std::filesystem::directory_iterator(tmp, ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec))
      if (batchmd::test_support::is_scratch_of(it->path().filename().string(), pid)) own.push_back(it->path());
    // Best effort, never failing a run; a second try for a directory another process (an Open
    // MPI daemon cleaning up its session) was emptying at the same moment.
    for (const auto& p : own)
      if (std::filesystem::remove_all(p, ec) == static_cast<std::uintmax_t>(-1)) std::filesystem::remove_all(p, ec);
  }
};

// Registered before main() runs; GoogleTest owns the environment.
[[maybe_unused]] ::testing::Environment* const kScratchCleanup =
    ::testing::AddGlobalTestEnvironment(new ScratchCleanup);

}  // namespace
