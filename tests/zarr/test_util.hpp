// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the zarr tests: scratch directories and deterministic test data.
#pragma once
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "batchmd/core/dtype.hpp"
#include "batchmd/zarr/store.hpp"

namespace batchmd::zarr::testing {

/// A fresh directory under the system temp folder, removed with its contents at scope exit.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("batchmd_zarr_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

/// `count` elements of `dtype` as raw bytes; element i depends only on (seed, i), so a value can
/// be recomputed anywhere (and in the interop scripts: see values_formula there).
inline Bytes make_values(DType dtype, std::size_t count, std::uint64_t seed = 1) {
  Bytes out(count * dtype_size(dtype));
  for (std::size_t i = 0; i < count; ++i) {
    const double x = static_cast<double>(i) + static_cast<double>(seed) * 1000.0;
    std::byte* p = out.data() + i * dtype_size(dtype);
    switch (dtype) {
      case DType::Float32: {
        const float v = static_cast<float>(std::sin(x) * 100.0);
        std::memcpy(p, &v, 4);
        break;
      }
      case DType::Float64: {
        const double v = std::sin(x) * 1e6 + 0.25;
        std::memcpy(p, &v, 8);
        break;
      }
      case DType::Int32: {
        const auto v = static_cast<std::int32_t>(static_cast<std::int64_t>(x * 7919) % 200003 - 100000);
        std::memcpy(p, &v, 4);
        break;
      }
      case DType::Int64: {
        const std::int64_t v = (static_cast<std::int64_t>(x) * 2654435761LL) - (1LL << 40);
        std::memcpy(p, &v, 8);
        break;
      }
      case DType::Bool:
        p[0] = static_cast<std::byte>((i * 7 + seed) % 3 == 0 ? 1 : 0);
        break;
      case DType::UInt8:
        p[0] = static_cast<std::byte>((i * 31 + seed) % 256);
        break;
    }
  }
  return out;
}

/// Random bytes (for codec tests).
inline Bytes random_bytes(std::size_t n, std::uint32_t seed, bool compressible) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) {
    // Compressible: runs of a few values with the odd change, as in slowly varying data.
    out[i] = static_cast<std::byte>(compressible ? ((i / 64) % 5 + (rng() % 32 == 0 ? 1 : 0)) : (rng() & 0xFFu));
  }
  return out;
}

inline Bytes as_bytes(const std::string& s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return Bytes(p, p + s.size());
}

inline std::string as_string(const Bytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

}  // namespace batchmd::zarr::testing

namespace batchmd::zarr::testing {

/// A real store (MemoryStore or FileStore underneath) that counts the calls made to it, so
/// tests can check how much I/O an operation costs.
class CountingStore final : public Store {
 public:
  explicit CountingStore(std::shared_ptr<Store> inner) : inner_(std::move(inner)) {}
  std::optional<Bytes> get(const std::string& key) const override {
    ++gets;
    return inner_->get(key);
  }
  std::optional<Bytes> get_range(const std::string& key, std::uint64_t offset, std::uint64_t length) const override {
    ++gets;
    return inner_->get_range(key, offset, length);
  }
  std::optional<Bytes> get_suffix(const std::string& key, std::uint64_t length) const override {
    ++gets;
    return inner_->get_suffix(key, length);
  }
  void set(const std::string& key, std::span<const std::byte> value) override {
    ++sets;
    inner_->set(key, value);
  }
  void erase(const std::string& key) override { inner_->erase(key); }
  std::vector<std::string> list(const std::string& prefix) const override { return inner_->list(prefix); }
  bool exists(const std::string& key) const override { return inner_->exists(key); }
  std::string url() const override { return inner_->url(); }

  mutable std::atomic<int> gets{0};
  std::atomic<int> sets{0};

 private:
  std::shared_ptr<Store> inner_;
};

}  // namespace batchmd::zarr::testing
