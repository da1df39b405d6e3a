// SPDX-License-Identifier: Apache-2.0
// Test support: the backend parameter of tests written once for every device. A test body in a
// shared header takes a Backend; each test binary instantiates it with the backends it may run:
// the CPU binaries (run by CI, which has no GPU) with {cpu} only, the GPU binaries
// (batchmd_gpu_test, run on the GPU machine) with {cuda}. The cuda parameter fails — never skips —
// where no GPU is usable: a GPU run that tested nothing must not look green.
#pragma once
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/device.hpp"
#include "batchmd/core/dtype.hpp"

namespace batchmd::test_support {

enum class Backend { Cpu, Cuda };

inline Device device_of(Backend b) { return b == Backend::Cpu ? Device::cpu() : Device{Device::Kind::CUDA, 0}; }
inline std::string backend_name(Backend b) { return b == Backend::Cpu ? "cpu" : "cuda"; }
inline void PrintTo(Backend b, std::ostream* os) { *os << backend_name(b); }

/// For a fixture's SetUp: a fatal failure (not a skip) when the backend cannot run here.
inline void require_backend(Backend b) {
  if (b == Backend::Cuda) {
    ASSERT_GT(cuda::device_count(), 0) << "the cuda backend was asked for and no GPU is usable: "
                                       << cuda::unavailable_reason();
  }
}

}  // namespace batchmd::test_support

namespace batchmd {
// Test parameters print as "float64", not as bytes.
inline void PrintTo(DType t, std::ostream* os) { *os << dtype_name(t); }
}  // namespace batchmd
