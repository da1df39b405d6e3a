// SPDX-License-Identifier: Apache-2.0
// hooks/hooks_gpu: the GPU kernels of the hooks (see hooks_gpu.hpp). Each is the per-atom or
// per-system function of hook_kernels.hpp — the same code the CPU loops call — run through
// cuda::parallel_for / cuda::segment_reduce on the batch's compute stream. Compiled with
// --fmad=false (src/hooks/CMakeLists.txt) so elementwise results equal the CPU's bit for bit.
#include <cmath>
#include <cstring>

#include "batchmd/core/error.hpp"
#include "batchmd/core/launch.cuh"
#include "batchmd/core/reduce.cuh"
#include "batchmd/dynamics/units.hpp"
#include "hook_kernels.hpp"
#include "hooks_gpu.hpp"

namespace batchmd::hooks::gpu {

namespace kern = batchmd::hooks::kernels;
using ull = unsigned long long;

namespace impl {

int device_of(const Batch& b) {
  const int d = b.device().index;
  cuda::set_device(d);
  return d;
}

__device__ inline void count(std::int64_t* c) {
  if (c) atomicAdd(reinterpret_cast<ull*>(c), 1ull);
}
__device__ inline void lower(std::int64_t* slot, std::int64_t v) {
  if (slot) atomicMin(reinterpret_cast<ull*>(slot), static_cast<ull>(v));
}

/// segment_reduce operator: NaN-propagating max of squared norms (identity 0, as on the CPU).
struct NanMaxOp {
  __device__ static double identity() { return 0.0; }
  __device__ static double apply(double a, double b) { return kern::nan_max(a, b); }
};

// ------------------------------------------------------------------------------ per atom

template <typename T>
void clamp_t(Batch& b, double max_force, std::int64_t* last, std::int64_t* total) {
  T* f = b.get("forces").data<T>();
  const double fmax2 = max_force * max_force;
  cuda::parallel_for(
      device_of(b), b.n_atoms(),
      [=] __device__(std::int64_t i) {
        if (kern::clamp_force(f + 3 * i, max_force, fmax2)) {
          count(last);
          count(total);
        }
      },
      nullptr, "MaxForceClampHook");
}

template <typename T>
void wrap_t(Batch& b, std::int32_t* img, std::int64_t* moved, std::int64_t* singular) {
  const int dev = device_of(b);
  const std::int64_t ns = b.n_systems();
  Tensor frames(DType::UInt8, {ns * static_cast<std::int64_t>(sizeof(kern::Frame))}, b.device());
  auto* fr = reinterpret_cast<kern::Frame*>(frames.data<std::uint8_t>());
  const T* cell = b.get("cell").data<T>();
  const bool* pbc = b.get("pbc").data<bool>();
  cuda::parallel_for(
      dev, ns,
      [=] __device__(std::int64_t s) {
        fr[s] = kern::make_frame(cell + 9 * s, pbc + 3 * s);
        if (fr[s].singular) lower(singular, s);
      },
      nullptr, "WrapPeriodicHook(frames)");
  T* x = b.get("positions").data<T>();
  const std::int64_t* si = b.system_index_on_device();
  cuda::parallel_for(
      dev, b.n_atoms(),
      [=] __device__(std::int64_t i) {
        if (kern::wrap_atom(x + 3 * i, img + 3 * i, fr[si[i]])) count(moved);
      },
      nullptr, "WrapPeriodicHook");
}

template <typename T>
void freeze_capture_t(Batch& b, std::int64_t n, const std::uint8_t* src, std::uint8_t* frozen, T* ref,
                      std::int64_t* cnt) {
  const T* x = b.get("positions").data<T>();
  T* v = b.has("velocities") ? b.get("velocities").data<T>() : nullptr;
  T* f = b.has("forces") ? b.get("forces").data<T>() : nullptr;
  std::uint8_t* out = frozen == src ? nullptr : frozen;
  cuda::parallel_for(
      device_of(b), n,
      [=] __device__(std::int64_t i) {
        const std::uint8_t fz = src[i] != 0 ? 1 : 0;
        if (out) out[i] = fz;
        if (!fz) return;
        kern::freeze_capture(x, v, f, ref, i, i);
        count(cnt);
      },
      nullptr, "FreezeAtomsHook(capture)");
}

template <typename T>
void freeze_pin_t(Batch& b, std::int64_t n, const std::uint8_t* frozen, const T* ref) {
  T* x = b.get("positions").data<T>();
  T* v = b.has("velocities") ? b.get("velocities").data<T>() : nullptr;
  T* f = b.has("forces") ? b.get("forces").data<T>() : nullptr;
  cuda::parallel_for(
      device_of(b), n,
      [=] __device__(std::int64_t i) {
        if (frozen[i]) kern::freeze_pin(x, v, f, ref, i, i);
      },
      nullptr, "FreezeAtomsHook(pin)");
}

template <typename T>
void restraint_t(Batch& b, double k, const double* r, const std::uint8_t* sel, double* energy) {
  const T* x = b.get("positions").data<T>();
  T* f = b.get("forces").data<T>();
  const int dev = device_of(b);
  cuda::segment_reduce<1>(
      dev, b.n_systems(), b.atoms_ptr_on_device(),
      [=] __device__(std::int64_t i, double* v) {
        v[0] = 0;
        if (sel && !sel[i]) return;
        for (std::int64_t d = 3 * i; d < 3 * i + 3; ++d) v[0] += kern::restrain(x, f, r, k, d);
      },
      energy, nullptr, "harmonic_restraint");
  cuda::parallel_for(
      dev, b.n_systems(), [=] __device__(std::int64_t s) { energy[s] *= 0.5 * k; }, nullptr,
      "harmonic_restraint(energy)");
}

template <typename T>
void add_bias_t(Batch& b, const double* bias, std::int64_t* bad) {
  T* e = b.get("energy").data<T>();
  cuda::parallel_for(
      device_of(b), b.n_systems(),
      [=] __device__(std::int64_t s) {
        if (!hd::isfinite(bias[s])) {
          lower(bad, s);
          return;
        }
        e[s] = kern::add_bias(e[s], bias[s]);
      },
      nullptr, "BiasedPotentialHook");
}

// ------------------------------------------------------------------------------ monitors

template <typename T>
struct Checked {
  const T* data[4];
  std::int64_t row[4];
  bool atom[4];
  int n;
};

template <typename T>
void nonfinite_t(const Batch& b, std::uint8_t* flags) {
  Checked<T> c{};
  for (const char* name : {"positions", "velocities", "forces", "energy"}) {
    if (!b.has(name)) continue;
    const Tensor& t = b.get(name);
    if (t.dtype() != b.float_dtype()) continue;
    c.data[c.n] = t.data<T>();
    c.row[c.n] = t.row_numel();
    c.atom[c.n] = b.level(name) == Level::Atom;
    ++c.n;
  }
  if (c.n == 0) return;
  const std::int64_t na = b.n_atoms();
  const std::int64_t* si = b.system_index_on_device();
  cuda::parallel_for(
      device_of(b), na + b.n_systems(),
      [=] __device__(std::int64_t j) {
        const bool atom = j < na;
        const std::int64_t idx = atom ? j : j - na;
        for (int k = 0; k < c.n; ++k) {
          if (c.atom[k] != atom) continue;
          if (!kern::all_finite(c.data[k], idx * c.row[k], (idx + 1) * c.row[k])) {
            flags[atom ? si[idx] : idx] = 1;
            return;
          }
        }
      },
      nullptr, "NaNDetectorHook");
}

template <typename T>
void scalars_t(const Batch& b, bool with_fmax, double* ke, double* fm2, double* energy, std::int64_t* id,
               std::int64_t* status) {
  const int dev = device_of(b);
  const std::int64_t ns = b.n_systems();
  const std::int64_t* ptr = b.atoms_ptr_on_device();
  if (b.has("velocities")) {
    const T* v = b.get("velocities").data<T>();
    const T* m = b.get("masses").data<T>();
    cuda::segment_reduce<1>(
        dev, ns, ptr, [=] __device__(std::int64_t i, double* out) { out[0] = kern::mv2_atom(v, m, i); }, ke, nullptr,
        "kinetic energy");
  } else {
    cuda::memset_async(ke, 0, static_cast<std::size_t>(ns) * sizeof(double), cuda::compute_stream(dev));
  }
  if (with_fmax && b.has("forces")) {
    const T* f = b.get("forces").data<T>();
    cuda::segment_reduce<1, NanMaxOp>(
        dev, ns, ptr, [=] __device__(std::int64_t i, double* out) { out[0] = kern::force_norm2(f, i); }, fm2, nullptr,
        "fmax");
  } else {
    cuda::memset_async(fm2, 0, static_cast<std::size_t>(ns) * sizeof(double), cuda::compute_stream(dev));
  }
  const T* e = b.has("energy") ? b.get("energy").data<T>() : nullptr;
  const Tensor* idt = b.has("system_id") ? &b.get("system_id") : nullptr;
  const std::int64_t* id64 = idt && idt->dtype() == DType::Int64 ? idt->data<std::int64_t>() : nullptr;
  const std::int32_t* id32 = idt && idt->dtype() == DType::Int32 ? idt->data<std::int32_t>() : nullptr;
  const Tensor* st = b.has("status") && b.level("status") == Level::System ? &b.get("status") : nullptr;
  const std::int64_t* st64 = st && st->dtype() == DType::Int64 ? st->data<std::int64_t>() : nullptr;
  const std::int32_t* st32 = st && st->dtype() == DType::Int32 ? st->data<std::int32_t>() : nullptr;
  cuda::parallel_for(
      dev, ns,
      [=] __device__(std::int64_t s) {
        energy[s] = e ? double(e[s]) : __longlong_as_double(0x7ff8000000000000ll);  // NaN
        id[s] = id64 ? id64[s] : id32 ? std::int64_t(id32[s]) : s;
        status[s] = st64 ? st64[s] : st32 ? std::int64_t(st32[s]) : 0;
      },
      nullptr, "system scalars");
}

}  // namespace impl

// ------------------------------------------------------------------------------ entry points

void clamp_forces(Batch& b, double max_force, std::int64_t* last, std::int64_t* total) {
  dispatch_float(b.float_dtype(), [&](auto zero) { impl::clamp_t<decltype(zero)>(b, max_force, last, total); });
}

void wrap_positions(Batch& b, std::int32_t* images, std::int64_t* moved, std::int64_t* singular) {
  if (!b.has("pbc") || !b.has("cell") || b.n_systems() == 0) return;
  dispatch_float(b.float_dtype(), [&](auto zero) { impl::wrap_t<decltype(zero)>(b, images, moved, singular); });
}

void freeze_capture(Batch& b, std::int64_t n, const std::uint8_t* source, std::uint8_t* frozen, void* reference,
                    std::int64_t* count) {
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    impl::freeze_capture_t<T>(b, n, source, frozen, static_cast<T*>(reference), count);
  });
}

void freeze_pin(Batch& b, std::int64_t n, const std::uint8_t* frozen, const void* reference) {
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    impl::freeze_pin_t<T>(b, n, frozen, static_cast<const T*>(reference));
  });
}

void harmonic_restraint(Batch& b, double k, const double* reference, const std::uint8_t* sel, double* energy) {
  dispatch_float(b.float_dtype(), [&](auto zero) { impl::restraint_t<decltype(zero)>(b, k, reference, sel, energy); });
}

void add_bias_energy(Batch& b, const double* bias, std::int64_t* bad) {
  dispatch_float(b.float_dtype(), [&](auto zero) { impl::add_bias_t<decltype(zero)>(b, bias, bad); });
}

std::vector<std::uint8_t> nonfinite_systems(const Batch& b) {
  const std::int64_t ns = b.n_systems();
  std::vector<std::uint8_t> out(static_cast<std::size_t>(ns), 0);
  if (ns == 0) return out;
  Tensor flags(DType::UInt8, {ns}, b.device());  // zero-filled on the compute stream
  dispatch_float(b.float_dtype(), [&](auto zero) { impl::nonfinite_t<decltype(zero)>(b, flags.data<std::uint8_t>()); });
  cuda::copy(out.data(), flags.data<std::uint8_t>(), out.size(), cuda::compute_stream(b.device().index));
  return out;
}

SystemScalars system_scalars(const Batch& b, bool with_fmax) {
  SystemScalars r;
  const std::int64_t ns = b.n_systems();
  const auto n = static_cast<std::size_t>(ns);
  if (ns == 0) return r;
  // one buffer, five rows of n 8-byte words: ke (Σ m v²), fmax², energy | system_id, status
  Tensor buf(DType::UInt8, {ns * 40}, b.device());
  auto* words = buf.data<std::uint8_t>();
  auto* dbl = reinterpret_cast<double*>(words);
  auto* ints = reinterpret_cast<std::int64_t*>(words + 24 * n);
  dispatch_float(b.float_dtype(), [&](auto zero) {
    impl::scalars_t<decltype(zero)>(b, with_fmax, dbl, dbl + n, dbl + 2 * n, ints, ints + n);
  });
  std::vector<unsigned char> host(40 * n);
  cuda::copy(host.data(), words, host.size(), cuda::compute_stream(b.device().index));
  auto take = [&](auto& vec, std::size_t offset) {
    vec.resize(n);
    std::memcpy(vec.data(), host.data() + offset, 8 * n);
  };
  take(r.kinetic_energy, 0);
  take(r.fmax, 8 * n);
  take(r.energy, 16 * n);
  take(r.system_id, 24 * n);
  take(r.status, 32 * n);
  for (std::size_t s = 0; s < n; ++s) {
    r.kinetic_energy[s] = 0.5 * r.kinetic_energy[s] * units::kMv2ToEv;
    r.fmax[s] = std::sqrt(r.fmax[s]);
  }
  return r;
}

}  // namespace batchmd::hooks::gpu
