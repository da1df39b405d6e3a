// SPDX-License-Identifier: Apache-2.0
// lock_holder: a process that takes a store's writer lock and keeps it until it is killed, for
// the lock tests (tests/zarr/test_lock.cpp, tests/zarr/s3/test_s3_lock.cpp).
//
// usage: lock_holder STORE_URL READY_FD
//   Takes the writer lock (options from the environment: BATCHMD_FILE_LOCK, BATCHMD_LOCK_LEASE_S,
//   ...), writes one byte to READY_FD, then sleeps until a signal ends it.
// Exit status: 3 when another writer holds the store (message on stderr), 1 on another error.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "batchmd/zarr/lock.hpp"
#include "batchmd/zarr/store.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: lock_holder STORE_URL READY_FD\n");
    return 2;
  }
  try {
    auto store = batchmd::zarr::open_store(argv[1]);
    const auto lock = store->lock_writer(batchmd::zarr::WriterLockOptions::from_environment());
    const int ready = std::stoi(argv[2]);
    const char one = 1;
    if (::write(ready, &one, 1) != 1) return 1;
    ::close(ready);
    for (;;) ::pause();
  } catch (const batchmd::zarr::StoreLockedError& e) {
    std::fprintf(stderr, "lock_holder: %s\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lock_holder: %s\n", e.what());
    return 1;
  }
}
