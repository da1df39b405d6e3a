// SPDX-License-Identifier: Apache-2.0
// Tests for core: Tensor ownership/shape/growth, dtype names, device parsing, parallel_for; and
// the test binaries' scratch cleanup's name rule (tests/support/scratch_cleanup.hpp).
#include <gtest/gtest.h>

#include <atomic>

#include "../support/scratch_cleanup.hpp"
#include "batchmd/core/cuda.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/core/tensor.hpp"

using namespace batchmd;

TEST(DType, NamesRoundTrip) {
  for (DType t : {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::Bool, DType::UInt8})
    EXPECT_EQ(dtype_from_name(dtype_name(t)), t);
  EXPECT_EQ(dtype_size(DType::Float64), 8u);
  EXPECT_EQ(dtype_size(DType::Bool), 1u);
  EXPECT_THROW(dtype_from_name("complex64"), InvalidArgument);
}

TEST(Device, Parse) {
  EXPECT_TRUE(Device::parse("cpu").is_cpu());
  EXPECT_EQ(Device::parse("cuda:3").index, 3);
  EXPECT_EQ(Device::parse("cuda:1").str(), "cuda:1");
  EXPECT_THROW(Device::parse("gpu"), InvalidArgument);
  EXPECT_THROW(Device::parse("cuda:x"), InvalidArgument);
  EXPECT_THROW(Device::parse("cuda:-1"), InvalidArgument);
}

TEST(Tensor, ZeroFilledShapedTyped) {
  Tensor t(DType::Float64, {4, 3});
  EXPECT_EQ(t.numel(), 12);
  EXPECT_EQ(t.nbytes(), 96u);
  EXPECT_EQ(t.row_numel(), 3);
  for (double v : t.span<double>()) EXPECT_EQ(v, 0.0);
  EXPECT_THROW(t.data<float>(), InvalidArgument);
  EXPECT_THROW(Tensor(DType::Float32, {-1}), InvalidArgument);
}

TEST(Tensor, MoveLeavesSourceEmptyCloneIsDeep) {
  auto a = Tensor::from<std::int64_t>({1, 2, 3, 4}, {2, 2});
  Tensor b = std::move(a);
  EXPECT_EQ(b.shape(), (Shape{2, 2}));
  EXPECT_EQ(a.numel(), 1);  // 0-d after move: no shape
  EXPECT_EQ(a.raw(), nullptr);
  Tensor c = b.clone();
  c.data<std::int64_t>()[0] = 42;
  EXPECT_EQ(b.data<std::int64_t>()[0], 1);
  EXPECT_THROW(Tensor::from<int>({1, 2, 3}, {2, 2}), InvalidArgument);
}

TEST(Tensor, ResizeRowsKeepsDataAndZeroesNewRows) {
  auto t = Tensor::from<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  t.resize_rows(5);
  EXPECT_EQ(t.shape(), (Shape{5, 3}));
  EXPECT_EQ(t.data<float>()[5], 6.0f);
  for (int i = 6; i < 15; ++i) EXPECT_EQ(t.data<float>()[i], 0.0f);
  const void* p = t.raw();
  t.resize_rows(1);
  t.resize_rows(5);  // shrinking then growing within capacity does not reallocate
  EXPECT_EQ(t.raw(), p);
  EXPECT_EQ(t.data<float>()[3], 0.0f);  // rows beyond the old end are re-zeroed
}

TEST(Tensor, CudaDeviceNeedsAUsableGpu) {
  // Without the backend or a GPU a CUDA tensor is refused with a reason; a device index past the
  // last GPU is refused everywhere.
  if (cuda::device_count() == 0) {
    try {
      Tensor t(DType::Float32, {2}, Device::parse("cuda:0"));
      ADD_FAILURE() << "expected InvalidArgument";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("not available"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(cuda::default_device().is_cpu());
  }
  EXPECT_THROW(Tensor(DType::Float32, {2}, Device::parse("cuda:15")), InvalidArgument);
}

TEST(Parallel, VisitsEveryIndexOnce) {
  std::vector<std::atomic<int>> hits(10000);
  parallel_for(10000, [&](std::int64_t i) { hits[static_cast<std::size_t>(i)]++; });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  EXPECT_THROW(set_num_threads(0), InvalidArgument);
}

// The end-of-process cleanup of every test binary (tests/support/scratch_cleanup.cpp) removes only
// this process's scratch: names "batchmd_..." holding "_<pid>" as a whole field.
TEST(ScratchCleanup, NamesOnlyThisProcesssScratch) {
  using batchmd::test_support::is_scratch_of;
  EXPECT_TRUE(is_scratch_of("batchmd_structs_1234_three.xyz", 1234));
  EXPECT_TRUE(is_scratch_of("batchmd_npt_test_1234_lmp_solid.ompi", 1234));
  EXPECT_TRUE(is_scratch_of("batchmd_snap_test_1234_swfiles", 1234));
  EXPECT_TRUE(is_scratch_of("batchmd_x_1234", 1234));
  EXPECT_TRUE(is_scratch_of("batchmd_app_1234.err", 1234));
  EXPECT_FALSE(is_scratch_of("batchmd_structs_12345_three.xyz", 1234));  // another process
  EXPECT_FALSE(is_scratch_of("batchmd_structs_91234_three.xyz", 1234));
  EXPECT_FALSE(is_scratch_of("other_1234_x", 1234));                // not the tests' prefix
  EXPECT_FALSE(is_scratch_of("batchmd-20261206-1234.zarr", 1234));  // a run's default store
  EXPECT_FALSE(is_scratch_of("batchmd_", 1234));
}
