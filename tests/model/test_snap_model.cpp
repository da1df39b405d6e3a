// SPDX-License-Identifier: Apache-2.0
// SNAP's and ZBL's backend-independent tests (snap_cases.hpp) on the CPU, each result checked
// against central differences of the energy, the float64 model or NVE conservation.
// test_snap_gpu.cpp runs the same bodies on a GPU.
#include "snap_cases.hpp"

namespace batchmd::model::snap_cases {

INSTANTIATE_TEST_SUITE_P(Backends, SnapOn, ::testing::Values(Backend::Cpu), backend_param_name);

}  // namespace batchmd::model::snap_cases
