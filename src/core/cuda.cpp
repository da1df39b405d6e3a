// SPDX-License-Identifier: Apache-2.0
// core/cuda: CUDA runtime wrapper, caching allocator, streams and pinned memory. Compiled by the
// host compiler; without BATCHMD_WITH_CUDA every GPU call throws a clear InvalidArgument.
#include "batchmd/core/cuda.hpp"

#include "batchmd/core/error.hpp"

#if BATCHMD_WITH_CUDA
#include <cuda_runtime.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <vector>
#endif

namespace batchmd::cuda {

#if BATCHMD_WITH_CUDA

namespace {

[[noreturn]] void fail(cudaError_t e, const std::string& what) { throw_cuda_error(static_cast<int>(e), what); }
void ck(cudaError_t e, const char* what) {
  if (e != cudaSuccess) fail(e, what);
}

struct DeviceState {
  std::once_flag once;
  cudaStream_t compute = nullptr, copy = nullptr;
};

constexpr int kMaxDevices = 16;
DeviceState& state(int device) {
  static DeviceState states[kMaxDevices];
  if (device < 0 || device >= kMaxDevices) throw InvalidArgument("cuda:" + std::to_string(device) + " out of range");
  DeviceState& s = states[device];
  std::call_once(s.once, [&] {
    ck(cudaSetDevice(device), "cudaSetDevice");
    ck(cudaStreamCreateWithFlags(&s.compute, cudaStreamNonBlocking), "cudaStreamCreate(compute)");
    ck(cudaStreamCreateWithFlags(&s.copy, cudaStreamNonBlocking), "cudaStreamCreate(copy)");
  });
  return s;
}

/// Size classes: multiples of 512 B up to 1 MiB, of 2 MiB above.
std::size_t size_class(std::size_t bytes) {
  constexpr std::size_t kSmall = 512, kLarge = std::size_t(2) << 20;
  if (bytes <= (std::size_t(1) << 20)) return (bytes + kSmall - 1) / kSmall * kSmall;
  return (bytes + kLarge - 1) / kLarge * kLarge;
}

struct Cache {
  std::mutex mu;
  std::map<std::pair<int, std::size_t>, std::vector<void*>> free_blocks;
  AllocatorStats stats;
};
Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: blocks may be freed during static destruction
  return *c;
}

int count_devices(std::string* why) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    if (why) {
      const std::string code = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
      if (e == cudaErrorInsufficientDriver)
        *why = "no usable NVIDIA driver (none is installed, or it is older than this CUDA " +
               std::to_string(CUDART_VERSION / 1000) + " build needs; " + code + ")";
      else if (e == cudaErrorNoDevice)
        *why = "no CUDA GPU is present (" + code + ")";
      else
        *why = "the CUDA runtime reports " + code;
    }
    cudaGetLastError();
    return 0;
  }
  if (n == 0 && why) *why = "no CUDA GPU is present";
  return n;
}

}  // namespace

bool compiled() noexcept { return true; }

void throw_cuda_error(int code, const std::string& what) {
  const auto e = static_cast<cudaError_t>(code);
  const std::string msg = "CUDA error in " + what + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
  if (e == cudaErrorMemoryAllocation) throw CapacityError(msg + " — the GPU is out of memory");
  if (e == cudaErrorInvalidValue || e == cudaErrorInvalidConfiguration || e == cudaErrorInvalidDevice)
    throw InvalidArgument(msg);
  // Everything else (launch failures, illegal addresses, lost devices, driver errors) is the
  // device's fault, not the numbers': NumericalError stays for NaN/Inf and blow-ups.
  throw DeviceError(msg);
}

int device_count() noexcept {
  static const int n = count_devices(nullptr);
  return n;
}

std::string unavailable_reason() {
  std::string why;
  return count_devices(&why) > 0 ? "" : why;
}

std::string device_name(int index) {
  require(Device{Device::Kind::CUDA, index});
  cudaDeviceProp p{};
  ck(cudaGetDeviceProperties(&p, index), "cudaGetDeviceProperties");
  char mem[32];
  std::snprintf(mem, sizeof mem, "%.1f GiB", double(p.totalGlobalMem) / double(1u << 30));
  return std::string(p.name) + " (" + mem + ", sm_" + std::to_string(p.major) + std::to_string(p.minor) + ")";
}

void require(const Device& d) {
  if (d.is_cpu()) return;
  const int n = device_count();
  if (n == 0) throw InvalidArgument("device " + d.str() + " is not available: " + unavailable_reason());
  if (d.index >= n)
    throw InvalidArgument("device " + d.str() + " is not available: this machine has " + std::to_string(n) +
                          " CUDA GPU(s)");
}

Device default_device() { return device_count() > 0 ? Device{Device::Kind::CUDA, 0} : Device::cpu(); }

Stream compute_stream(int device) { return state(device).compute; }
Stream copy_stream(int device) { return state(device).copy; }

void set_device(int device) {
  thread_local int current = -1;  // cudaSetDevice is cheap, but launches call this every time
  if (device == current) return;
  ck(cudaSetDevice(device), "cudaSetDevice");
  current = device;
}

void* alloc(std::size_t bytes, int device) {
  if (bytes == 0) return nullptr;
  state(device);
  const std::size_t sz = size_class(bytes);
  Cache& c = cache();
  {
    std::lock_guard lk(c.mu);
    auto it = c.free_blocks.find({device, sz});
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      ++c.stats.cache_hits;
      c.stats.bytes_cached -= sz;
      c.stats.bytes_in_use += sz;
      return p;
    }
  }
  set_device(device);
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, sz);
  if (e == cudaErrorMemoryAllocation) {  // give the cache back and try once more
    cudaGetLastError();
    ck(cudaStreamSynchronize(state(device).compute), "cudaStreamSynchronize");
    empty_cache();
    e = cudaMalloc(&p, sz);
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    fail(e, "cudaMalloc(" + std::to_string(sz) + " bytes)");
  }
  std::lock_guard lk(c.mu);
  ++c.stats.cuda_mallocs;
  c.stats.bytes_in_use += sz;
  return p;
}

void free(void* p, std::size_t bytes, int device) noexcept {
  if (!p) return;
  const std::size_t sz = size_class(bytes);
  Cache& c = cache();
  std::lock_guard lk(c.mu);
  c.free_blocks[{device, sz}].push_back(p);
  c.stats.bytes_in_use -= sz;
  c.stats.bytes_cached += sz;
}

AllocatorStats allocator_stats() {
  std::lock_guard lk(cache().mu);
  return cache().stats;
}

void empty_cache() {
  Cache& c = cache();
  std::lock_guard lk(c.mu);
  for (auto& [key, blocks] : c.free_blocks) {
    for (void* p : blocks) cudaFree(p);
    c.stats.bytes_cached -= key.second * blocks.size();
    blocks.clear();
  }
}

void* alloc_pinned(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  if (device_count() == 0) throw InvalidArgument("pinned host memory needs a CUDA GPU: " + unavailable_reason());
  void* p = nullptr;
  ck(cudaHostAlloc(&p, bytes, cudaHostAllocDefault), "cudaHostAlloc");
  return p;
}
void free_pinned(void* p) noexcept {
  if (p) cudaFreeHost(p);
}
void* try_alloc_pinned(std::size_t bytes, int device) noexcept {
  if (bytes == 0 || device_count() == 0) return nullptr;
  try {
    set_device(device);  // through the cache of the current device, which cudaSetDevice would bypass
  } catch (...) {
    return nullptr;
  }
  void* p = nullptr;
  const cudaError_t e = cudaHostAlloc(&p, bytes, cudaHostAllocPortable);
  if (e != cudaSuccess) {
    cudaGetLastError();  // not left for the next check_launch to report
    return nullptr;
  }
  return p;
}

void copy_async(void* dst, const void* src, std::size_t bytes, Stream s) {
  if (bytes == 0) return;
  ck(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, static_cast<cudaStream_t>(s)), "cudaMemcpyAsync");
}
void copy(void* dst, const void* src, std::size_t bytes, Stream s) {
  copy_async(dst, src, bytes, s);
  synchronize(s);
}
void memset_async(void* p, int value, std::size_t bytes, Stream s) {
  if (bytes == 0) return;
  ck(cudaMemsetAsync(p, value, bytes, static_cast<cudaStream_t>(s)), "cudaMemsetAsync");
}
void synchronize(Stream s) { ck(cudaStreamSynchronize(static_cast<cudaStream_t>(s)), "cudaStreamSynchronize"); }

void check_launch(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) fail(e, std::string("kernel ") + what);
}

Event::Event() {
  cudaEvent_t e = nullptr;
  ck(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreate");
  ev_ = e;
}
Event::~Event() {
  if (ev_) cudaEventDestroy(static_cast<cudaEvent_t>(ev_));
}
void Event::record(Stream s) {
  ck(cudaEventRecord(static_cast<cudaEvent_t>(ev_), static_cast<cudaStream_t>(s)), "cudaEventRecord");
}
void Event::wait(Stream s) const {
  ck(cudaStreamWaitEvent(static_cast<cudaStream_t>(s), static_cast<cudaEvent_t>(ev_), 0), "cudaStreamWaitEvent");
}
bool Event::done() const {
  const cudaError_t e = cudaEventQuery(static_cast<cudaEvent_t>(ev_));
  if (e == cudaErrorNotReady) {
    cudaGetLastError();
    return false;
  }
  ck(e, "cudaEventQuery");
  return true;
}
void Event::sync() const { ck(cudaEventSynchronize(static_cast<cudaEvent_t>(ev_)), "cudaEventSynchronize"); }

#else  // ------------------------------------------------------------------ no CUDA backend

namespace {
[[noreturn]] void no_cuda() {
  throw InvalidArgument(
      "no CUDA GPU can be used: this build of batchmd has no CUDA backend "
      "(configure with nvcc available, or -DBATCHMD_CUDA=ON)");
}
}  // namespace

bool compiled() noexcept { return false; }
void throw_cuda_error(int code, const std::string& what) {
  throw DeviceError("CUDA error " + std::to_string(code) + " in " + what + " (this build has no CUDA backend)");
}
int device_count() noexcept { return 0; }
std::string unavailable_reason() { return "this build of batchmd has no CUDA backend"; }
std::string device_name(int) { no_cuda(); }
void require(const Device& d) {
  if (!d.is_cpu())
    throw InvalidArgument("device " + d.str() + " is not available: this build of batchmd has no CUDA backend");
}
Device default_device() { return Device::cpu(); }
Stream compute_stream(int) { no_cuda(); }
Stream copy_stream(int) { no_cuda(); }
void set_device(int) { no_cuda(); }
void* alloc(std::size_t, int) { no_cuda(); }
void free(void*, std::size_t, int) noexcept {}
AllocatorStats allocator_stats() { return {}; }
void empty_cache() {}
void* alloc_pinned(std::size_t) { no_cuda(); }
void free_pinned(void*) noexcept {}
void* try_alloc_pinned(std::size_t, int) noexcept { return nullptr; }
void copy_async(void*, const void*, std::size_t, Stream) { no_cuda(); }
void copy(void*, const void*, std::size_t, Stream) { no_cuda(); }
void memset_async(void*, int, std::size_t, Stream) { no_cuda(); }
void synchronize(Stream) { no_cuda(); }
void check_launch(const char*) {}
Event::Event() { no_cuda(); }
Event::~Event() = default;
void Event::record(Stream) { no_cuda(); }
void Event::wait(Stream) const { no_cuda(); }
bool Event::done() const { return true; }
void Event::sync() const {}

#endif

}  // namespace batchmd::cuda
