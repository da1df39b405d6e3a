// SPDX-License-Identifier: Apache-2.0
// A preloadable SIGSEGV handler for hunting crashes where no debugger is installed (the GPU
// machine has no gdb): on a segfault it prints the native backtrace, each frame as library +
// offset (and symbol where exported), then exits with 139 like the default action.
//   gcc -shared -fPIC -O1 -o /tmp/segv.so scripts/gpu/segv_backtrace.c -ldl
//   LD_PRELOAD=/tmp/segv.so python3 -m pytest tests/python/test_gpu.py
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static void say(const char* s, int n) {
  while (n > 0) {
    const ssize_t k = write(2, s, (size_t)n);
    if (k <= 0) return;
    s += k;
    n -= (int)k;
  }
}

static void on_segv(int sig, siginfo_t* si, void* ctx) {
  (void)ctx;
  void* frames[64];
  const int n = backtrace(frames, 64);
  char line[512];
  say(line, snprintf(line, sizeof line, "\n*** signal %d at address %p; %d frames:\n", sig, si->si_addr, n));
  for (int i = 0; i < n; ++i) {
    Dl_info d;
    if (dladdr(frames[i], &d) && d.dli_fname)
      say(line, snprintf(line, sizeof line, "  #%d %s+0x%lx %s\n", i, d.dli_fname,
                         (unsigned long)((char*)frames[i] - (char*)d.dli_fbase), d.dli_sname ? d.dli_sname : ""));
    else
      say(line, snprintf(line, sizeof line, "  #%d %p\n", i, frames[i]));
  }
  _exit(139);
}

__attribute__((constructor)) static void install(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, 0);
}
