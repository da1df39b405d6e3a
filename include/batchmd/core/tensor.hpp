// SPDX-License-Identifier: Apache-2.0
// core/tensor: Tensor, an owning, typed, shaped, contiguous buffer on a device (host memory, or
// GPU memory from the caching allocator of core/cuda). data<T>() gives the raw pointer on the
// tensor's device: host code may only dereference it for CPU tensors. Copies are explicit
// (clone(), to(), copy_from()); moves are cheap. The leading axis can grow in place
// (reserve_rows/resize_rows) so batches and sinks append without reallocating each time.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "batchmd/core/device.hpp"
#include "batchmd/core/dtype.hpp"
#include "batchmd/core/error.hpp"

namespace batchmd {

using Shape = std::vector<std::int64_t>;

std::string shape_str(const Shape& s);

class Tensor {
 public:
  Tensor() = default;
  /// Zero-filled tensor of the given dtype and shape.
  Tensor(DType dtype, Shape shape, Device device = Device::cpu());
  Tensor(Tensor&& o) noexcept;
  Tensor& operator=(Tensor&& o) noexcept;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;
  ~Tensor() = default;

  template <typename T>
  static Tensor from(const std::vector<T>& values, Shape shape) {
    Tensor t(dtype_of<T>(), std::move(shape));
    if (static_cast<std::size_t>(t.numel()) != values.size())
      throw InvalidArgument("Tensor::from: " + std::to_string(values.size()) + " values do not fill shape " +
                            shape_str(t.shape()));
    std::copy(values.begin(), values.end(), t.data<T>());
    return t;
  }

  Tensor clone() const;
  /// A copy on another device (the same tensor's clone when d is its own device). Copies to the
  /// host are complete on return; copies to a GPU are ordered on its compute stream.
  Tensor to(const Device& d) const;
  /// Copies src's bytes into this tensor (same dtype and element count; any devices).
  void copy_from(const Tensor& src);
  bool is_cuda() const { return !device_.is_cpu(); }

  bool defined() const { return ptr_ != nullptr || !shape_.empty(); }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  std::size_t ndim() const { return shape_.size(); }
  std::int64_t dim(std::size_t i) const { return shape_.at(i); }
  std::int64_t numel() const;
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }
  const Device& device() const { return device_; }
  /// Elements per index of the leading axis (product of trailing dims; 1 for 1-D).
  std::int64_t row_numel() const;
  std::size_t row_bytes() const { return static_cast<std::size_t>(row_numel()) * dtype_size(dtype_); }
  std::int64_t rows() const { return shape_.empty() ? 1 : shape_[0]; }
  std::size_t capacity_bytes() const { return cap_bytes_; }

  void* raw() { return ptr_.get(); }
  const void* raw() const { return ptr_.get(); }
  std::byte* bytes() { return ptr_.get(); }
  const std::byte* bytes() const { return ptr_.get(); }

  template <typename T>
  T* data() {
    check_dtype(dtype_of<T>());
    return reinterpret_cast<T*>(ptr_.get());
  }
  template <typename T>
  const T* data() const {
    check_dtype(dtype_of<T>());
    return reinterpret_cast<const T*>(ptr_.get());
  }
  template <typename T>
  std::span<T> span() {
    return {data<T>(), static_cast<std::size_t>(numel())};
  }
  template <typename T>
  std::span<const T> span() const {
    return {data<T>(), static_cast<std::size_t>(numel())};
  }

  /// Makes room for n rows of the leading axis without changing the shape.
  void reserve_rows(std::int64_t n);
  /// Sets the leading dimension to n, keeping existing rows; new rows are zero.
  void resize_rows(std::int64_t n);
  void fill_zero();

 private:
  struct Free {
    Free() noexcept : device(-1), bytes(0) {}
    Free(int d, std::size_t b) noexcept : device(d), bytes(b) {}
    int device;  // -1: host memory
    std::size_t bytes;
    void operator()(std::byte* p) const;
  };
  void check_dtype(DType want) const;
  void allocate(std::size_t bytes);
  void zero_bytes(std::size_t offset, std::size_t n);

  DType dtype_ = DType::Float64;
  Shape shape_;
  Device device_;
  std::unique_ptr<std::byte[], Free> ptr_;
  std::size_t cap_bytes_ = 0;
};

}  // namespace batchmd
