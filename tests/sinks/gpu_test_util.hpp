// SPDX-License-Identifier: Apache-2.0
// Test support for the GPU sink tests: a fixture that skips (counted as skipped) without a GPU,
// exact comparison of two batches on any devices, what a sink must read back after masked
// writes (host index_select + concat), random batches with oddly sized rows, and a kernel that
// changes a GPU tensor in place (as a step of the dynamics would) without host synchronisation.
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "batchmd/core/cuda.hpp"
#include "batchmd/data/batch.hpp"

namespace batchmd::test_support {

inline const Device kGpu{Device::Kind::CUDA, 0};

/// Adds `value` to every element of a float32 or float64 tensor on a GPU, asynchronously on
/// its compute stream (gpu_test_kernels.cu).
void gpu_add(Tensor& t, double value);

class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda::device_count() == 0) GTEST_SKIP() << "no usable CUDA GPU: " << cuda::unavailable_reason();
  }
};

/// "" if the batches hold the same systems, fields (level, dtype, shape) and bytes; else why not.
inline std::string batch_difference(const Batch& got_any, const Batch& want_any) {
  const Batch got = got_any.to(Device::cpu());
  const Batch want = want_any.to(Device::cpu());
  if (got.n_systems() != want.n_systems())
    return std::to_string(got.n_systems()) + " systems, expected " + std::to_string(want.n_systems());
  for (std::int64_t s = 0; s <= got.n_systems(); ++s) {
    if (got.atoms_ptr_data()[s] != want.atoms_ptr_data()[s]) return "atoms_ptr differs at " + std::to_string(s);
    if (got.edges_ptr().data<std::int64_t>()[s] != want.edges_ptr().data<std::int64_t>()[s])
      return "edges_ptr differs at " + std::to_string(s);
  }
  if (got.fields().size() != want.fields().size()) return "the numbers of fields differ";
  for (const auto& [k, f] : want.fields()) {
    if (!got.has(k)) return "field '" + k + "' is missing";
    const Tensor& t = got.get(k);
    if (got.level(k) != f.level) return "level of '" + k + "'";
    if (t.dtype() != f.tensor.dtype()) return "dtype of '" + k + "'";
    if (t.shape() != f.tensor.shape())
      return "shape of '" + k + "': " + shape_str(t.shape()) + " vs " + shape_str(f.tensor.shape());
    if (t.nbytes() && std::memcmp(t.raw(), f.tensor.raw(), t.nbytes()) != 0) return "values of '" + k + "'";
  }
  return "";
}

inline std::vector<std::int64_t> where(const std::vector<bool>& mask) {
  std::vector<std::int64_t> idx;
  for (std::size_t i = 0; i < mask.size(); ++i)
    if (mask[i]) idx.push_back(static_cast<std::int64_t>(i));
  return idx;
}

/// What a sink that stored `parts` (batch, mask) in order must read back: the concatenation of
/// the host batches' index_selects.
inline Batch expected(const std::vector<std::pair<const Batch*, std::vector<bool>>>& parts) {
  std::vector<Batch> sel;
  for (const auto& [b, mask] : parts) sel.push_back(b->to(Device::cpu()).index_select(where(mask)));
  std::vector<const Batch*> ptrs;
  for (const auto& s : sel) ptrs.push_back(&s);
  return Batch::concat(ptrs);
}

/// Systems of 1..max_atoms atoms with fields whose rows are 1, 4 or 8 (masses), 12 and 12 or 24
/// bytes, so segment boundaries fall on every alignment the gather kernel distinguishes.
inline Batch random_batch(std::int64_t n_systems, std::int64_t max_atoms, std::uint64_t seed, DType fdt) {
  std::mt19937_64 rng(seed);
  std::vector<AtomicData> systems;
  for (std::int64_t s = 0; s < n_systems; ++s) {
    const auto na = static_cast<std::int64_t>(1 + rng() % static_cast<std::uint64_t>(max_atoms));
    std::vector<double> pos;
    std::vector<std::int64_t> z;
    for (std::int64_t a = 0; a < na; ++a) {
      for (int c = 0; c < 3; ++c) pos.push_back(static_cast<double>(rng() % 100000) * 1e-3);
      z.push_back(static_cast<std::int64_t>(1 + rng() % 54));
    }
    AtomicData d = AtomicData::make(fdt, pos, z, {10, 0, 0, 0, 11, 0, 0, 0, 12}, {true, s % 2 == 0, false});
    Tensor f(DType::Float32, {na, 3});
    for (std::int64_t i = 0; i < 3 * na; ++i) f.data<float>()[i] = static_cast<float>(rng() % 1000) - 500.0f;
    d.set("forces", Level::Atom, std::move(f));
    Tensor tag(DType::UInt8, {na});
    for (std::int64_t a = 0; a < na; ++a) tag.data<std::uint8_t>()[a] = static_cast<std::uint8_t>(rng());
    d.set("tag", Level::Atom, std::move(tag));
    Tensor e(DType::Float64, {1});
    e.data<double>()[0] = static_cast<double>(s) * -0.25;
    d.set("energy", Level::System, std::move(e));
    d.set("system_id", Level::System, Tensor::from<std::int64_t>({s}, {1}));
    systems.push_back(std::move(d));
  }
  return Batch::from_systems(systems);
}

}  // namespace batchmd::test_support
