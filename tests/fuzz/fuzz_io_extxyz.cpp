// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: batchmd::fuzz::io_extxyz (tests/fuzz/harness.hpp; harness_io.cpp, linked without zarr).
#include "harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return batchmd::fuzz::io_extxyz(data, size);
}
