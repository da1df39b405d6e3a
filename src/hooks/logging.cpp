// SPDX-License-Identifier: Apache-2.0
// hooks/logging: LoggingHook.
#include "batchmd/hooks/logging.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/dynamics/units.hpp"
#include "hook_kernels.hpp"
#include "hook_util.hpp"
#include "hooks_gpu.hpp"

namespace batchmd::hooks {

namespace {
void put(std::string& out, double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}
void put(std::string& out, std::int64_t v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Largest atomic force magnitude per system (eV/Å); 0 for a system without atoms or forces.
std::vector<double> fmax_per_system(const Batch& b) {
  std::vector<double> out(static_cast<std::size_t>(b.n_systems()), 0.0);
  if (!b.has("forces")) return out;
  dispatch_float(b.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* f = b.get("forces").data<T>();
    const auto* ap = b.atoms_ptr_data();
    double* o = out.data();
    parallel_for_dynamic(b.n_systems(), [=](std::int64_t s) {
      double m2 = 0;
      for (std::int64_t i = ap[s]; i < ap[s + 1]; ++i) {
        m2 = kernels::nan_max(m2, kernels::force_norm2(f, i));
        if (std::isnan(m2)) break;
      }
      o[s] = std::sqrt(m2);
    });
  });
  return out;
}
}  // namespace

LoggingHook::LoggingHook(std::string path, std::int64_t frequency, dynamics::Stage stage)
    : path_(std::move(path)), frequency_(frequency), stage_(stage) {
  if (frequency < 1) throw InvalidArgument("LoggingHook frequency must be >= 1, got " + std::to_string(frequency));
  errno = 0;
  out_.open(path_, std::ios::out | std::ios::trunc | std::ios::binary);
  if (!out_)
    throw IOError("LoggingHook: cannot open '" + path_ + "' for writing" +
                  (errno ? std::string(": ") + std::strerror(errno) : std::string()));
}

void LoggingHook::operator()(dynamics::Context& ctx) {
  const Batch& b = ctx.batch;
  std::string text;
  if (!header_written_) {
    with_status_ = b.has("status") && b.level("status") == Level::System;
    text = "step,system_id,energy,kinetic_energy,temperature,fmax";
    if (with_status_) text += ",status";
    text += '\n';
    header_written_ = true;
  }
  const std::int64_t ns = b.n_systems();
  const std::int64_t step = ctx.step + (stage_ >= dynamics::Stage::AFTER_PRE_UPDATE ? 1 : 0);
  const auto n = static_cast<std::size_t>(ns);
  std::vector<double> energy, ke, temp, fmax;
  std::vector<std::int64_t> ids(n), status(n, 0);
  if (b.is_cuda()) {  // every per-system value with one kernel pass and one copy
    auto sc = gpu::system_scalars(b, true);
    energy = std::move(sc.energy);
    ke = std::move(sc.kinetic_energy);
    fmax = std::move(sc.fmax);
    ids = std::move(sc.system_id);
    status = std::move(sc.status);
    temp.resize(n);
    for (std::size_t s = 0; s < n; ++s) {  // as dynamics::temperature()
      const double dof = dynamics::degrees_of_freedom(b, static_cast<std::int64_t>(s));
      temp[s] = dof > 0 ? 2.0 * ke[s] / (dof * units::kBoltzmann) : 0.0;
    }
  } else {
    ke = dynamics::kinetic_energy(b);
    temp = dynamics::temperature(b);
    fmax = fmax_per_system(b);
    energy.assign(n, std::nan(""));
    if (b.has("energy"))
      dispatch_float(b.float_dtype(), [&](auto zero) {
        const auto* e = b.get("energy").data<decltype(zero)>();
        for (std::int64_t s = 0; s < ns; ++s) energy[static_cast<std::size_t>(s)] = double(e[s]);
      });
    const Tensor* st = with_status_ && b.has("status") ? &b.get("status") : nullptr;
    for (std::int64_t s = 0; s < ns; ++s) {
      const auto u = static_cast<std::size_t>(s);
      ids[u] = detail::system_id_of(b, s);
      if (st && st->dtype() == DType::Int32)
        status[u] = st->data<std::int32_t>()[s];
      else if (st && st->dtype() == DType::Int64)
        status[u] = st->data<std::int64_t>()[s];
    }
  }
  text.reserve(text.size() + n * 96);
  for (std::size_t s = 0; s < n; ++s) {
    put(text, step);
    text += ',';
    put(text, ids[s]);
    for (double v : {energy[s], ke[s], temp[s], fmax[s]}) {
      text += ',';
      put(text, v);
    }
    if (with_status_) {
      text += ',';
      put(text, status[s]);
    }
    text += '\n';
  }
  out_.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out_) throw IOError("LoggingHook: cannot write to '" + path_ + "'");
  rows_ += ns;
}

void LoggingHook::close(dynamics::Context&) {
  out_.flush();
  if (!out_) throw IOError("LoggingHook: cannot write to '" + path_ + "'");
}

}  // namespace batchmd::hooks
