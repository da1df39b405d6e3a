# SPDX-License-Identifier: Apache-2.0
# Read by CTest after test_zarr_interop's tests are discovered: labels them zarr and interop.
set_tests_properties(${test_zarr_interop_TESTS} PROPERTIES LABELS "zarr;interop")
