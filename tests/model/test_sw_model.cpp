// SPDX-License-Identifier: Apache-2.0
// Stillinger–Weber's and Morse's backend-independent tests (sw_cases.hpp) on the CPU, each result
// checked against central differences of the energy, the float64 model or NVE conservation.
// test_sw_gpu.cpp runs the same bodies on a GPU.
#include "sw_cases.hpp"

namespace batchmd::model::sw_cases {

INSTANTIATE_TEST_SUITE_P(Backends, SwOn, ::testing::Values(Backend::Cpu), backend_param_name);

}  // namespace batchmd::model::sw_cases
