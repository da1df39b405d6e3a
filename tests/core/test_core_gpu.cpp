// SPDX-License-Identifier: Apache-2.0
// GPU tests of core: device tensors (copies both ways, growth, zeroing), the caching allocator
// (no cudaMalloc once warm), parallel_for and segment_reduce against host loops, and which
// batchmd error a CUDA runtime error becomes.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/core/frame.hpp"
#include "batchmd/core/tensor.hpp"

namespace batchmd::test {
void gpu_make_frames(int device, std::int64_t n, const double* cells, const bool* pbc, Frame* frames, int* errors);
void gpu_square(int device, std::int64_t n, const double* x, double* y);
void gpu_segment_sum_max(int device, std::int64_t n_seg, const std::int64_t* ptr, const double* x, double* sum,
                         double* max);
}  // namespace batchmd::test

using namespace batchmd;

namespace {
const Device kGpu{Device::Kind::CUDA, 0};

std::vector<double> to_host(const Tensor& t) {
  Tensor h = t.to(Device::cpu());
  return {h.data<double>(), h.data<double>() + h.numel()};
}
}  // namespace

TEST(CudaCore, GpuIsPresent) {
  ASSERT_GT(cuda::device_count(), 0) << cuda::unavailable_reason();
  EXPECT_FALSE(cuda::device_name(0).empty());
  EXPECT_EQ(cuda::default_device(), kGpu);
}

TEST(CudaCore, TensorRoundTripGrowAndZero) {
  std::vector<double> v(3000);
  std::iota(v.begin(), v.end(), 1.0);
  Tensor h = Tensor::from(v, {1000, 3});
  Tensor d = h.to(kGpu);
  EXPECT_TRUE(d.is_cuda());
  EXPECT_EQ(to_host(d), v);
  d.resize_rows(2500);  // grows with a device-to-device copy; new rows are zero
  auto back = to_host(d);
  ASSERT_EQ(back.size(), 7500u);
  for (std::size_t i = 0; i < v.size(); ++i) ASSERT_EQ(back[i], v[i]);
  for (std::size_t i = v.size(); i < back.size(); ++i) ASSERT_EQ(back[i], 0.0);
  Tensor c = d.clone();
  d.fill_zero();
  EXPECT_EQ(to_host(c)[5], 6.0);
  EXPECT_EQ(to_host(d)[5], 0.0);
  Tensor e(DType::Float64, {2500, 3}, kGpu);
  e.copy_from(c);
  EXPECT_EQ(to_host(e), to_host(c));
  EXPECT_THROW(e.copy_from(h), InvalidArgument);  // wrong element count
}

TEST(CudaCore, AllocatorReusesBlocks) {
  { Tensor warm(DType::Float32, {12345, 3}, kGpu); }
  const auto before = cuda::allocator_stats();
  for (int i = 0; i < 50; ++i) {
    Tensor t(DType::Float32, {12345, 3}, kGpu);
    Tensor u(DType::Float32, {12000, 3}, kGpu);  // same size class
    (void)u;
  }
  const auto after = cuda::allocator_stats();
  EXPECT_LE(after.cuda_mallocs - before.cuda_mallocs, 1);
  EXPECT_GE(after.cache_hits - before.cache_hits, 99);
}

TEST(CudaCore, ParallelForAndSegmentReduce) {
  const std::vector<std::int64_t> ptr{0, 3, 3, 1000, 1001, 70000};
  std::vector<double> x(70000);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(double(i)) * 3;
  Tensor xd = Tensor::from(x, {70000}).to(kGpu);
  Tensor yd(DType::Float64, {70000}, kGpu);
  test::gpu_square(0, 70000, xd.data<double>(), yd.data<double>());
  auto y = to_host(yd);
  for (std::size_t i = 0; i < x.size(); ++i) ASSERT_DOUBLE_EQ(y[i], x[i] * x[i]);

  Tensor pd = Tensor::from(ptr, {6}).to(kGpu);
  Tensor sum(DType::Float64, {5, 2}, kGpu), mx(DType::Float64, {5}, kGpu);
  test::gpu_segment_sum_max(0, 5, pd.data<std::int64_t>(), xd.data<double>(), sum.data<double>(), mx.data<double>());
  auto s = to_host(sum), m = to_host(mx);
  for (std::size_t seg = 0; seg < 5; ++seg) {
    double ref = 0, refmax = -INFINITY;
    for (auto i = ptr[seg]; i < ptr[seg + 1]; ++i) {
      ref += x[static_cast<std::size_t>(i)];
      refmax = std::max(refmax, x[static_cast<std::size_t>(i)]);
    }
    EXPECT_NEAR(s[2 * seg], ref, 1e-9 * (1 + std::abs(ref)));
    EXPECT_NEAR(s[2 * seg + 1], 2 * ref, 2e-9 * (1 + std::abs(ref)));
    EXPECT_EQ(m[seg], refmax);
  }
}

// A failing CUDA call is reported by what it means to the user: out of memory is a capacity
// problem, a bad value or launch shape is a bad argument, and everything else (a kernel that
// faulted, a lost device) is the device's fault — a DeviceError, never a NumericalError.
TEST(CudaCore, CudaErrorsMapToTheErrorHierarchy) {
  auto message_of = [](cudaError_t e) -> std::string {
    try {
      cuda::throw_cuda_error(e, "test call");
    } catch (const Error& x) {
      return x.what();
    }
    return "";
  };
  EXPECT_THROW(cuda::throw_cuda_error(cudaErrorMemoryAllocation, "cudaMalloc"), CapacityError);
  EXPECT_THROW(cuda::throw_cuda_error(cudaErrorInvalidValue, "cudaMemcpyAsync"), InvalidArgument);
  EXPECT_THROW(cuda::throw_cuda_error(cudaErrorInvalidConfiguration, "kernel k"), InvalidArgument);
  for (cudaError_t e : {cudaErrorIllegalAddress, cudaErrorLaunchFailure, cudaErrorLaunchOutOfResources,
                        cudaErrorDevicesUnavailable, cudaErrorUnknown}) {
    EXPECT_THROW(cuda::throw_cuda_error(e, "kernel k"), DeviceError) << cudaGetErrorName(e);
    try {
      cuda::throw_cuda_error(e, "kernel k");
    } catch (const NumericalError&) {
      ADD_FAILURE() << cudaGetErrorName(e) << " reported as a NumericalError";
    } catch (const Error&) {
    }
  }
  const std::string msg = message_of(cudaErrorIllegalAddress);
  EXPECT_NE(msg.find("test call"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cudaErrorIllegalAddress"), std::string::npos) << msg;
}

// The cell geometry both neighbor lists use is one host/device function: on the GPU it accepts
// and rejects the same cells and builds the same frames (to the last bits an FMA may change).
TEST(CudaCore, FramesOnTheDeviceEqualTheHostsFrames) {
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> u(-1, 1);
  const std::int64_t n = 400;
  std::vector<double> cells(9 * n);
  std::vector<std::uint8_t> pbc(3 * n);
  for (std::int64_t s = 0; s < n; ++s) {
    for (int d = 0; d < 3; ++d) {
      pbc[3 * s + d] = (s >> d) & 1;
      for (int e = 0; e < 3; ++e) cells[9 * s + 3 * d + e] = (d == e ? 12.0 : 0.0) + 4 * u(rng);
    }
    if (s % 50 == 7)  // some degenerate ones: b = a, a NaN in b, a left-handed cell
      for (int e = 0; e < 3; ++e) cells[9 * s + 3 + e] = cells[9 * s + e];
    if (s % 50 == 9) cells[9 * s + 4] = std::nan("");
    if (s % 50 == 11)
      for (int e = 0; e < 3; ++e) cells[9 * s + 6 + e] = -cells[9 * s + 6 + e];
  }
  const Tensor dc = Tensor::from(cells, {n, 9}).to(kGpu);
  Tensor dp = Tensor(DType::Bool, {n, 3});
  std::memcpy(dp.raw(), pbc.data(), pbc.size());
  dp = dp.to(kGpu);
  Tensor df(DType::UInt8, {n * static_cast<std::int64_t>(sizeof(Frame))}, kGpu);
  Tensor de(DType::Int32, {n}, kGpu);
  test::gpu_make_frames(0, n, dc.data<double>(), dp.data<bool>(), reinterpret_cast<Frame*>(df.raw()),
                        de.data<std::int32_t>());
  const Tensor hf = df.to(Device::cpu()), he = de.to(Device::cpu());
  const auto* gpu_frames = reinterpret_cast<const Frame*>(hf.raw());
  int rejected = 0;
  for (std::int64_t s = 0; s < n; ++s) {
    Frame f;
    const bool p[3] = {pbc[3 * s] != 0, pbc[3 * s + 1] != 0, pbc[3 * s + 2] != 0};
    const FrameStatus st = make_frame(&cells[9 * s], p, f);
    ASSERT_EQ(static_cast<int>(st.error), he.data<std::int32_t>()[s]) << "system " << s;
    if (!st.ok()) {
      ++rejected;
      continue;
    }
    const Frame& g = gpu_frames[s];
    for (int d = 0; d < 3; ++d) {
      EXPECT_NEAR(g.h[d], f.h[d], 1e-14 * f.h[d]) << s;
      for (int e = 0; e < 3; ++e) {
        EXPECT_NEAR(g.row[d][e], f.row[d][e], 1e-14) << s;
        EXPECT_NEAR(g.recip[d][e], f.recip[d][e], 1e-15) << s;
      }
    }
  }
  EXPECT_EQ(rejected, 10);  // 4 with b = a, 4 with a NaN in b, 2 left-handed (where periodic)
}
