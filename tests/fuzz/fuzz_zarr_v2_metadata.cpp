// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: batchmd::fuzz::zarr_v2_metadata (tests/fuzz/harness.hpp).
#include "harness.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  batchmd::fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return batchmd::fuzz::zarr_v2_metadata(data, size);
}
