// SPDX-License-Identifier: Apache-2.0
// EAM's backend-independent tests (eam_cases.hpp) on the CPU, each result checked against central
// differences of the energy, the float64 model or NVE conservation. test_eam_gpu.cpp runs the
// same bodies on a GPU.
#include "eam_cases.hpp"

namespace batchmd::model::eam_cases {

INSTANTIATE_TEST_SUITE_P(Backends, EamOn, ::testing::Values(Backend::Cpu), backend_param_name);

}  // namespace batchmd::model::eam_cases
