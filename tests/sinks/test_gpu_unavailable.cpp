// SPDX-License-Identifier: Apache-2.0
// Tests for sinks that run on every build: asking for a GPUBuffer (or HostMemory's pinned
// reservation) on the CPU, in a build without CUDA or on a machine without a GPU is a clear
// InvalidArgument (never a crash or a CUDA error).
#include <gtest/gtest.h>

#include <string>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/sinks/data_sink.hpp"
#include "batchmd/sinks/gpu_buffer.hpp"

using namespace batchmd;
using namespace batchmd::sinks;

TEST(GPUBufferAvailability, TheCpuIsNotAGpuBufferDevice) {
  try {
    GPUBuffer buf(10, 10, 0, Device::cpu());
    FAIL() << "GPUBuffer accepted the CPU";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA device"), std::string::npos) << e.what();
  }
}

TEST(GPUBufferAvailability, NoGpuIsAClearError) {
  if (cuda::device_count() > 0) GTEST_SKIP() << "a GPU is present (the gpu-labelled tests cover it)";
  try {
    GPUBuffer buf(10, 10, 0);
    FAIL() << "GPUBuffer was created without a GPU";
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("GPUBuffer"), std::string::npos) << what;
    EXPECT_NE(what.find("cuda:0"), std::string::npos) << what;
    EXPECT_NE(what.find(cuda::unavailable_reason()), std::string::npos) << what;
  }
}

TEST(HostMemoryPinned, ReservingForTheCpuOrWithoutAGpuIsAClearError) {
  HostMemory sink(10);
  try {
    sink.reserve_pinned(1 << 20, Device::cpu());
    FAIL() << "reserve_pinned accepted the CPU";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("reserve_pinned"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not from 'cpu'"), std::string::npos) << e.what();
  }
  if (cuda::device_count() > 0) return;  // (the gpu-labelled tests reserve on a GPU)
  try {
    sink.reserve_pinned(1 << 20, Device::parse("cuda:0"));
    FAIL() << "reserve_pinned succeeded without a GPU";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("reserve_pinned"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(cuda::unavailable_reason()), std::string::npos) << e.what();
  }
  EXPECT_EQ(sink.allocated_bytes(), 0u);  // nothing held after the refusals
}
