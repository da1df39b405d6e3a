// SPDX-License-Identifier: Apache-2.0
// A libtorch plugin of interface version 1 (before device pointers): the exported symbols of a
// plugin built from an older tree, with no libtorch behind them. test_torch loads it to check
// that batchmd refuses it with a clear error (torch_plugin_loader.cpp) instead of calling it with
// the new structs.
#include <stddef.h>
#include <stdint.h>

extern "C" {
__attribute__((visibility("default"))) int32_t bmd_torch_abi_version(void) { return 1; }
__attribute__((visibility("default"))) void* bmd_torch_open(const char*, int32_t, int32_t* status, char*, size_t,
                                                            void*) {
  *status = 1;
  return nullptr;
}
__attribute__((visibility("default"))) int32_t bmd_torch_compute(void*, const void*, void*, char*, size_t) { return 1; }
__attribute__((visibility("default"))) void bmd_torch_close(void*) {}
}
