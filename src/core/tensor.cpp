// core/tensor: owning typed buffers (CPU memory; the CUDA backend adds device memory).
#include "batchmd/core/tensor.hpp"

#include <cstring>
#include <new>

namespace batchmd {

namespace {
constexpr std::size_t kAlign = 64;
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

void Tensor::Free::operator()(std::byte* p) const { ::operator delete[](p, std::align_val_t(kAlign)); }

Tensor::Tensor(DType dtype, Shape shape, Device device) : dtype_(dtype), shape_(std::move(shape)), device_(device) {
  if (!device_.is_cpu())
    throw InvalidArgument("device " + device_.str() + " is not available: this build of batchmd has no CUDA backend");
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
  ptr_.reset(static_cast<std::byte*>(::operator new[](bytes, std::align_val_t(kAlign))));
  std::memset(ptr_.get(), 0, bytes);
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_, device_);
  if (nbytes()) std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

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
  if (used) std::memcpy(ptr_.get(), old.get(), used);
}

void Tensor::resize_rows(std::int64_t n) {
  if (n < 0) throw InvalidArgument("resize_rows: negative row count");
  if (shape_.empty()) throw InvalidArgument("resize_rows on a 0-d tensor");
  const std::size_t old_bytes = nbytes();
  if (static_cast<std::size_t>(n) * row_bytes() > cap_bytes_) reserve_rows(std::max<std::int64_t>(n, rows() * 3 / 2));
  shape_[0] = n;
  if (nbytes() > old_bytes) std::memset(ptr_.get() + old_bytes, 0, nbytes() - old_bytes);
}

void Tensor::fill_zero() {
  if (nbytes()) std::memset(ptr_.get(), 0, nbytes());
}

}  // namespace batchmd
