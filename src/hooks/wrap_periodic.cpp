// hooks/wrap_periodic: WrapPeriodicHook.
#include "batchmd/hooks/wrap_periodic.hpp"

#include <array>
#include <atomic>
#include <cmath>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "hook_util.hpp"

namespace batchmd::hooks {

namespace {
constexpr const char* kImages = "images";

struct Frame {
  std::array<bool, 3> pbc{};
  bool any = false;
  std::array<double, 9> cell{};  // rows a, b, c
  std::array<double, 9> inv{};   // f = x · inv
};

// Per-system cell, inverse and periodic flags (systems without a periodic direction: any=false).
template <typename T>
std::vector<Frame> frames(const Batch& b) {
  std::vector<Frame> fr(static_cast<std::size_t>(b.n_systems()));
  if (!b.has("pbc") || !b.has("cell")) return fr;
  const bool* pbc = b.get("pbc").data<bool>();
  const T* cell = b.get("cell").data<T>();
  for (std::int64_t s = 0; s < b.n_systems(); ++s) {
    Frame& f = fr[static_cast<std::size_t>(s)];
    for (int k = 0; k < 3; ++k) f.pbc[static_cast<std::size_t>(k)] = pbc[3 * s + k];
    f.any = f.pbc[0] || f.pbc[1] || f.pbc[2];
    if (!f.any) continue;
    for (int k = 0; k < 9; ++k) f.cell[static_cast<std::size_t>(k)] = double(cell[9 * s + k]);
    const auto& c = f.cell;
    const double det =
        c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) + c[2] * (c[3] * c[7] - c[4] * c[6]);
    const double scale = std::abs(c[0]) + std::abs(c[4]) + std::abs(c[8]) + 1e-300;
    if (!(std::isfinite(det) && std::abs(det) > 1e-12 * scale * scale * scale))
      throw InvalidArgument("WrapPeriodicHook: " + detail::describe_system(b, s) +
                            " is periodic but its cell is singular (det = " + std::to_string(det) + ")");
    auto& m = f.inv;  // inverse of the row-major matrix c
    m[0] = (c[4] * c[8] - c[5] * c[7]) / det;
    m[1] = (c[2] * c[7] - c[1] * c[8]) / det;
    m[2] = (c[1] * c[5] - c[2] * c[4]) / det;
    m[3] = (c[5] * c[6] - c[3] * c[8]) / det;
    m[4] = (c[0] * c[8] - c[2] * c[6]) / det;
    m[5] = (c[2] * c[3] - c[0] * c[5]) / det;
    m[6] = (c[3] * c[7] - c[4] * c[6]) / det;
    m[7] = (c[1] * c[6] - c[0] * c[7]) / det;
    m[8] = (c[0] * c[4] - c[1] * c[3]) / det;
  }
  return fr;
}

Tensor& images_field(Batch& b) {
  if (b.has(kImages)) {
    const Tensor& t = b.get(kImages);
    if (b.level(kImages) != Level::Atom || t.dtype() != DType::Int32 || t.ndim() != 2 || t.dim(1) != 3)
      throw InvalidArgument("WrapPeriodicHook: field 'images' must be int32 [n_atoms,3] at atom level, got " +
                            std::string(dtype_name(t.dtype())) + " " + shape_str(t.shape()));
  }
  return b.add_field(kImages, Level::Atom, DType::Int32, {3});
}
}  // namespace

WrapPeriodicHook::WrapPeriodicHook(std::int64_t frequency, dynamics::Stage stage)
    : frequency_(frequency), stage_(stage) {
  if (frequency < 1) throw InvalidArgument("WrapPeriodicHook frequency must be >= 1, got " + std::to_string(frequency));
}

std::int64_t WrapPeriodicHook::wrap(Batch& b) {
  Tensor& img_t = images_field(b);
  std::atomic<std::int64_t> moved{0};
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const auto fr = frames<T>(b);
    bool any = false;
    for (const auto& f : fr) any = any || f.any;
    if (!any) return;
    T* x = b.get("positions").data<T>();
    std::int32_t* img = img_t.data<std::int32_t>();
    const std::int64_t* si = b.system_index().data<std::int64_t>();
    const Frame* frp = fr.data();
    parallel_for(b.n_atoms(), [&, x, img, si, frp](std::int64_t i) {
      const Frame& f = frp[si[i]];
      if (!f.any) return;
      T* xi = x + 3 * i;
      std::array<double, 3> n{};
      bool shift = false;
      for (std::size_t k = 0; k < 3; ++k) {
        if (!f.pbc[k]) continue;
        const double fk = double(xi[0]) * f.inv[k] + double(xi[1]) * f.inv[3 + k] + double(xi[2]) * f.inv[6 + k];
        n[k] = std::floor(fk);
        if (n[k] != 0) shift = true;
      }
      if (!shift) return;  // inside (or NaN: left for NaNDetectorHook)
      for (std::size_t d = 0; d < 3; ++d) {
        const double dx = n[0] * f.cell[d] + n[1] * f.cell[3 + d] + n[2] * f.cell[6 + d];
        xi[d] = static_cast<T>(double(xi[d]) - dx);
      }
      for (std::size_t k = 0; k < 3; ++k) img[3 * i + static_cast<std::int64_t>(k)] += static_cast<std::int32_t>(n[k]);
      moved.fetch_add(1, std::memory_order_relaxed);
    });
  });
  return moved.load();
}

std::vector<double> WrapPeriodicHook::unwrapped_positions(const Batch& b) {
  std::vector<double> u(static_cast<std::size_t>(3 * b.n_atoms()));
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* x = b.get("positions").data<T>();
    for (std::size_t i = 0; i < u.size(); ++i) u[i] = double(x[i]);
    if (!b.has(kImages) || !b.has("cell")) return;
    const std::int32_t* img = b.get(kImages).data<std::int32_t>();
    const T* cell = b.get("cell").data<T>();
    const std::int64_t* si = b.system_index().data<std::int64_t>();
    double* up = u.data();
    parallel_for(b.n_atoms(), [=](std::int64_t i) {
      const T* c = cell + 9 * si[i];
      for (int d = 0; d < 3; ++d)
        up[3 * i + d] +=
            img[3 * i] * double(c[d]) + img[3 * i + 1] * double(c[3 + d]) + img[3 * i + 2] * double(c[6 + d]);
    });
  });
  return u;
}

void WrapPeriodicHook::open(dynamics::Context& ctx) { last_moved_ = wrap(ctx.batch); }

void WrapPeriodicHook::operator()(dynamics::Context& ctx) { last_moved_ = wrap(ctx.batch); }

}  // namespace batchmd::hooks
