// SPDX-License-Identifier: Apache-2.0
// main() of every GPU test binary (batchmd_gpu_test in cmake/Warnings.cmake). A GPU test binary
// asked to run where no GPU is usable fails at once, naming the reason, instead of skipping its
// tests and exiting 0: a GPU run on a broken driver must not look green (scripts/gpu/check.sh
// judges exit codes). Listing the tests still works without a GPU, so CTest's test discovery at
// build time (on CI, which has none) is unaffected.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "batchmd/core/cuda.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (!GTEST_FLAG_GET(list_tests) && batchmd::cuda::device_count() == 0) {
    const std::string why = batchmd::cuda::unavailable_reason();
    std::fprintf(stderr, "%s: FAILED: a GPU test binary, and no CUDA GPU is usable here: %s\n", argv[0], why.c_str());
    return 1;
  }
  return RUN_ALL_TESTS();
}
