// SPDX-License-Identifier: Apache-2.0
// core/tensor: owning typed buffers in host memory or (CUDA backend) GPU memory.
#include "batchmd/core/tensor.hpp"

#include <cstring>
#include <new>

#include "batchmd/core/cuda.hpp"

namespace batchmd {

namespace {
constexpr std::size_t kAlign = 64;
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

void Tensor::Free::operator()(std::byte* p) const {
  if (device < 0)
    ::operator delete[](p, std::align_val_t(kAlign));
  else
    cuda::free(p, bytes, device);
}

Tensor::Tensor(DType dtype, Shape shape, Device device) : dtype_(dtype), shape_(std::move(shape)), device_(device) {
  cuda::require(device_);
  for (auto d : shape_)
    if (d < 0) throw InvalidArgument("Tensor: negative dimension in shape " + shape_str(shape_));
  allocate(nbytes());
}

Tensor::Tensor(Tensor&& o) noexcept
    : dtype_(o.dtype_),
      shape_(std::move(o.shape_)),
      device_(o.device_),
      ptr_(std::move(o.ptr_)),
      cap_bytes_(o.cap_bytes_) {
  o.shape_.clear();
  o.cap_bytes_ = 0;
}

Tensor& Tensor::operator=(Tensor&& o) noexcept {
  if (this != &o) {
    dtype_ = o.dtype_;
    shape_ = std::move(o.shape_);
    device_ = o.device_;
    ptr_ = std::move(o.ptr_);
    cap_bytes_ = o.cap_bytes_;
    o.shape_.clear();
    o.cap_bytes_ = 0;
  }
  return *this;
}

void Tensor::allocate(std::size_t bytes) {
  cap_bytes_ = bytes;
  if (bytes == 0) {
    ptr_.reset();
    return;
  }
  if (device_.is_cpu()) {
    ptr_ = std::unique_ptr<std::byte[], Free>(
        static_cast<std::byte*>(::operator new[](bytes, std::align_val_t(kAlign))), Free{-1, bytes});
    std::memset(ptr_.get(), 0, bytes);
  } else {
    ptr_ = std::unique_ptr<std::byte[], Free>(static_cast<std::byte*>(cuda::alloc(bytes, device_.index)),
                                              Free{device_.index, bytes});
    cuda::memset_async(ptr_.get(), 0, bytes, cuda::compute_stream(device_.index));
  }
}

namespace {
/// Copies bytes between any two devices; waits when the destination is host memory.
void copy_bytes(void* dst, const Device& dd, const void* src, const Device& sd, std::size_t n) {
  if (n == 0) return;
  if (dd.is_cpu() && sd.is_cpu()) {
    std::memcpy(dst, src, n);
    return;
  }
  const int dev = dd.is_cpu() ? sd.index : dd.index;
  if (dd.is_cpu())
    cuda::copy(dst, src, n, cuda::compute_stream(dev));
  else
    cuda::copy_async(dst, src, n, cuda::compute_stream(dev));
}
}  // namespace

Tensor Tensor::to(const Device& d) const {
  Tensor t(dtype_, shape_, d);
  copy_bytes(t.raw(), d, raw(), device_, nbytes());
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  if (src.dtype_ != dtype_ || src.numel() != numel())
    throw InvalidArgument("Tensor::copy_from: " + std::string(dtype_name(src.dtype_)) + " " + shape_str(src.shape_) +
                          " into " + std::string(dtype_name(dtype_)) + " " + shape_str(shape_));
  copy_bytes(raw(), device_, src.raw(), src.device_, nbytes());
}

Tensor Tensor::clone() const { return to(device_); }

std::int64_t Tensor::numel() const {
  std::int64_t n = 1;
  for (auto d : shape_) n *= d;
  return n;
}

std::int64_t Tensor::row_numel() const {
  std::int64_t n = 1;
  for (std::size_t i = 1; i < shape_.size(); ++i) n *= shape_[i];
  return n;
}

void Tensor::check_dtype(DType want) const {
  if (want != dtype_)
    throw InvalidArgument("tensor holds " + std::string(dtype_name(dtype_)) + ", accessed as " +
                          std::string(dtype_name(want)));
}

void Tensor::reserve_rows(std::int64_t n) {
  if (shape_.empty()) throw InvalidArgument("reserve_rows on a 0-d tensor");
  const std::size_t want = static_cast<std::size_t>(n) * row_bytes();
  if (want <= cap_bytes_) return;
  std::unique_ptr<std::byte[], Free> old = std::move(ptr_);
  const std::size_t used = nbytes();
  allocate(want);
  copy_bytes(ptr_.get(), device_, old.get(), device_, used);
}

void Tensor::resize_rows(std::int64_t n) {
  if (n < 0) throw InvalidArgument("resize_rows: negative row count");
  if (shape_.empty()) throw InvalidArgument("resize_rows on a 0-d tensor");
  const std::size_t old_bytes = nbytes();
  if (static_cast<std::size_t>(n) * row_bytes() > cap_bytes_) reserve_rows(std::max<std::int64_t>(n, rows() * 3 / 2));
  shape_[0] = n;
  if (nbytes() > old_bytes) zero_bytes(old_bytes, nbytes() - old_bytes);
}

void Tensor::zero_bytes(std::size_t offset, std::size_t n) {
  if (n == 0) return;
  if (device_.is_cpu())
    std::memset(ptr_.get() + offset, 0, n);
  else
    cuda::memset_async(ptr_.get() + offset, 0, n, cuda::compute_stream(device_.index));
}

void Tensor::fill_zero() { zero_bytes(0, nbytes()); }

}  // namespace batchmd
