// SPDX-License-Identifier: Apache-2.0
// model/torch/torch_plugin: the libtorch side of TorchScript models — the only batchmd source
// that includes libtorch, built as the plugin libbatchmd_torch.so (torch_plugin_abi.h says why).
// It loads a module, finds which calling convention its forward() follows, and per call wraps
// batchmd's arrays as tensors, calls forward() and writes energies, forces and virials back.
//
// Devices: a CPU batch's arrays are host memory; a GPU batch's are device memory on cuda:k (the
// edges built there by batchmd). Either way they are wrapped with torch::from_blob on their own
// device and the outputs copied (copy_) into batchmd's arrays there: no host round trip. The
// non-finite check reduces on the device and reads back one bool.
// Streams: built with BATCHMD_TORCH_CUDA (scripts/gpu/torch_plugin.sh defines it; it needs
// libtorch's c10/cuda headers and the CUDA runtime's), libtorch runs on batchmd's compute stream
// (c10::cuda::getStreamFromExternal + CUDAStreamGuard), so its work is ordered after batchmd's
// kernels that wrote the inputs and before those that read the outputs, without a device-wide
// wait. Without it (e.g. Debian's CPU libtorch, where the CPU tests build this file) libtorch uses
// its own current stream: batchmd synchronises its stream before the call (bmd_torch_info says
// which) and the plugin synchronises the device before returning.
//
// Conventions (docs/torchscript.md):
//  - batched (batchmd's own): forward(Dict[str, Tensor]) -> Dict[str, Tensor] with per-system
//    "energy" and optionally "forces" and "virial"; what the module does not return is taken by
//    autograd here (forces = -dE/dx; virial = -dE/d(strain) through a strain applied to
//    positions, cell and shifts).
//  - mace-lammps: the module MACE's create_lammps_model writes, forward(data, local_or_ghost,
//    compute_virials) -> {total_energy_local, node_energy, forces, virials}, given the input
//    dict LAMMPS's pair_style mace builds, with many systems through batch/ptr.
#include <torch/csrc/autograd/autograd.h>
#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/version.h>

#ifdef BATCHMD_TORCH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>

#include <optional>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "torch_plugin_abi.h"

namespace {

// An error with its ABI status, thrown inside the plugin and turned into a return code at the
// C boundary.
struct PluginError : std::runtime_error {
  int32_t status;
  PluginError(int32_t s, const std::string& what) : std::runtime_error(what), status(s) {}
};

[[noreturn]] void fail(int32_t status, const std::string& what) { throw PluginError(status, what); }

void write_error(const std::string& what, char* err, size_t len) {
  if (err == nullptr || len == 0) return;
  const size_t n = std::min(what.size(), len - 1);
  std::memcpy(err, what.data(), n);
  err[n] = '\0';
}

// The first lines of a TorchScript error (its full text carries a long interpreter traceback).
std::string brief(const std::string& what) {
  // c10 errors append the C++ stack after the message; TorchScript interpreter errors put the
  // failing operation's own error (e.g. "RuntimeError: Expected all tensors to be on the same
  // device ...") last, after the script traceback. Keep the first two lines and the last four.
  std::string msg = what;
  if (const auto p = msg.find("\nException raised from"); p != std::string::npos) msg.resize(p);
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= msg.size()) {
    size_t end = msg.find('\n', start);
    if (end == std::string::npos) end = msg.size();
    std::string line = msg.substr(start, end - start);
    if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(line);
    start = end + 1;
  }
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines.size() > 6 && i == 2) {
      out += "...\n";
      i = lines.size() - 4;
    }
    out += lines[i] + (i + 1 < lines.size() ? "\n" : "");
  }
  return out;
}

int32_t status_of(const std::string& what) {
  return what.find("CUDA") != std::string::npos ? BMD_TORCH_DEVICE : BMD_TORCH_INVALID;
}

struct Handle {
  torch::jit::script::Module module;
  int32_t convention = BMD_TORCH_BATCHED;
  // What the batched module returns, learnt at its first call (a module returns the same keys
  // every time): forces and virial taken from the outputs, or by autograd.
  bool forces_known = false, model_forces = false;
  bool virial_known = false, model_virial = false;
  int device = -1;  // where the module's parameters are: -1 the CPU (as loaded), k cuda:k
};

double scalar_attr(const torch::jit::script::Module& m, const char* name) {
  const c10::IValue v = m.attr(name);
  if (v.isTensor()) return v.toTensor().item<double>();
  if (v.isDouble()) return v.toDouble();
  if (v.isInt()) return static_cast<double>(v.toInt());
  fail(BMD_TORCH_INVALID, std::string("attribute '") + name + "' is not a number or a scalar tensor");
}

int32_t dtype_code(c10::ScalarType t) {
  if (t == c10::ScalarType::Float) return BMD_TORCH_FLOAT32;
  if (t == c10::ScalarType::Double) return BMD_TORCH_FLOAT64;
  return BMD_TORCH_DTYPE_UNKNOWN;
}

// The floating dtype the module computes in: that of its first floating parameter, else of its
// first floating buffer; UNKNOWN for a module without either (e.g. constants only).
int32_t module_dtype(const torch::jit::script::Module& m) {
  for (const at::Tensor& p : m.parameters(true))
    if (p.is_floating_point()) return dtype_code(p.scalar_type());
  for (const at::Tensor& b : m.buffers(true))
    if (b.is_floating_point()) return dtype_code(b.scalar_type());
  return BMD_TORCH_DTYPE_UNKNOWN;
}

// Resolves the convention from forward()'s schema and checks that it is the one asked for.
int32_t check_signature(const torch::jit::script::Module& m, int32_t wanted) {
  const auto method = m.find_method("forward");
  if (!method) fail(BMD_TORCH_INVALID, "the module has no forward() method");
  const c10::FunctionSchema& schema = method->function().getSchema();
  const auto& args = schema.arguments();  // args[0] is self
  std::string sig = "forward(";
  for (size_t i = 1; i < args.size(); ++i) sig += (i > 1 ? ", " : "") + args[i].type()->str();
  sig += ")";
  const bool dict_in = args.size() >= 2 && args[1].type()->str() == "Dict(str, Tensor)";
  const bool batched = dict_in && args.size() == 2;
  const bool mace = dict_in && args.size() == 4 && args[2].type()->str() == "Tensor" && args[3].type()->str() == "bool";
  const int32_t found = batched ? BMD_TORCH_BATCHED : mace ? BMD_TORCH_MACE_LAMMPS : BMD_TORCH_AUTO;
  if (found == BMD_TORCH_AUTO)
    fail(BMD_TORCH_INVALID, "the module's " + sig +
                                " follows neither calling convention: batched is forward(Dict[str, Tensor]), "
                                "mace-lammps is forward(Dict[str, Tensor], Tensor, bool)");
  if (wanted != BMD_TORCH_AUTO && wanted != found)
    fail(BMD_TORCH_INVALID, "the module's " + sig + " is not the " +
                                (wanted == BMD_TORCH_BATCHED ? "batched convention's forward(Dict[str, Tensor])"
                                                             : "mace-lammps convention's forward(Dict[str, Tensor], "
                                                               "Tensor, bool)"));
  const auto& ret = schema.returns();
  if (ret.size() != 1 || ret[0].type()->str().rfind("Dict(str, ", 0) != 0)
    fail(BMD_TORCH_INVALID, "the module's forward() must return Dict[str, Tensor], not " +
                                (ret.empty() ? std::string("nothing") : ret[0].type()->str()));
  return found;
}

// A tensor over memory the caller owns on `dev` (host memory for the CPU, device memory on
// cuda:k), without a copy.
at::Tensor wrap(const void* p, at::IntArrayRef shape, c10::ScalarType t, const c10::Device& dev) {
  return torch::from_blob(const_cast<void*>(p), shape, torch::TensorOptions().dtype(t).device(dev));
}

// The outputs of a call: add() checks each one's shape and dtype as it comes; write() then copies
// them into the caller's arrays on `dev` only if all of them are finite, so that a call that fails
// leaves those arrays as they were. The test is one sum per output where it lies (a sum of finite
// values is finite unless it overflows; only then, or when an element is not finite, is each
// output checked element by element, to name it) and one bool read back for all. On a GPU the
// copies are queued before that read-back, each selecting on the device between the output and
// the array's own values (torch::where on the all-finite flag, into the array), so the one
// synchronisation per call also waits for them.
class Outputs {
 public:
  void add(const at::Tensor& t, const char* name, at::IntArrayRef shape, c10::ScalarType dtype, void* dst) {
    if (!t.defined()) fail(BMD_TORCH_INVALID, std::string("the module returned no '") + name + "'");
    if (t.sizes() != shape)
      fail(BMD_TORCH_INVALID, std::string("the module's '") + name + "' has shape " + c10::str(t.sizes()) +
                                  ", expected " + c10::str(shape));
    if (t.scalar_type() != dtype)
      fail(BMD_TORCH_INVALID, std::string("the module's '") + name + "' is " + c10::toString(t.scalar_type()) +
                                  ", expected " + c10::toString(dtype) + " (the model's dtype)");
    const at::Tensor v = t.detach();
    const at::Tensor sum = v.sum();
    total_ = total_.defined() ? total_ + sum : sum;
    items_.push_back(Item{name, v, dst});
  }
  void write(const c10::Device& dev) const {
    if (!total_.defined()) return;
    const at::Tensor all = torch::isfinite(total_);
    if (dev.is_cuda())
      for (const Item& o : items_) {
        at::Tensor dst = wrap(o.dst, o.value.sizes(), o.value.scalar_type(), dev);
        at::where_out(dst, all, o.value, dst);
      }
    const bool sums_finite = all.item<bool>();
    if (!sums_finite)
      for (const Item& o : items_)
        if (!torch::isfinite(o.value).all().item<bool>())
          fail(BMD_TORCH_NUMERICAL, std::string("the module returned non-finite values in '") + o.name + "'");
    // Not yet copied: on the CPU, or every element finite but a sum overflowed (the outputs stand).
    if (!dev.is_cuda() || !sums_finite)
      for (const Item& o : items_) wrap(o.dst, o.value.sizes(), o.value.scalar_type(), dev).copy_(o.value);
  }

 private:
  struct Item {
    const char* name;
    at::Tensor value;
    void* dst;
  };
  at::Tensor total_;
  std::vector<Item> items_;
};

at::Tensor entry(const c10::impl::GenericDict& d, const char* key) {
  const auto it = d.find(c10::IValue(std::string(key)));
  if (it == d.end() || it->value().isNone()) return {};
  if (!it->value().isTensor()) fail(BMD_TORCH_INVALID, std::string("the module's '") + key + "' is not a tensor");
  return it->value().toTensor();
}

struct Inputs {
  c10::ScalarType dtype;
  c10::Device dev{torch::kCPU};
  int64_t N, S, E;
  at::Tensor positions, cell, shifts, unit_shifts, edge_index, batch, ptr;
};

// The batched convention: one call, then autograd for what the module does not return.
void compute_batched(Handle& h, const bmd_torch_inputs& in, Inputs& x, bmd_torch_outputs& out) {
  const bool virial = in.compute_virial != 0;
  const bool grad_x = !h.forces_known || !h.model_forces;
  const bool strain = virial && (!h.virial_known || !h.model_virial);
  at::Tensor pos = x.positions, cell = x.cell, shifts = x.shifts, eps;
  if (grad_x) pos = pos.detach().requires_grad_(true);
  at::Tensor pos_in = pos;
  if (strain) {
    // Homogeneous strain x -> x (1 + eps): W = -dE/deps = -sum over edges of r (x) dE/dr.
    eps = torch::zeros({x.S, 3, 3}, torch::TensorOptions().dtype(x.dtype).device(x.dev)).requires_grad_(true);
    pos_in = pos + torch::bmm(pos.unsqueeze(1), eps.index_select(0, x.batch)).squeeze(1);
    cell = cell + torch::bmm(cell, eps);
    const at::Tensor cell_of_edge = cell.index_select(0, x.batch.index_select(0, x.edge_index[0]));
    shifts = torch::bmm(x.unit_shifts.unsqueeze(1), cell_of_edge).squeeze(1);
  }
  c10::Dict<std::string, at::Tensor> d;
  d.insert("positions", pos_in);
  d.insert("atomic_numbers", wrap(in.atomic_numbers, {x.N}, torch::kInt64, x.dev));
  d.insert("cell", cell);
  d.insert("pbc", wrap(in.pbc, {x.S, 3}, torch::kBool, x.dev));  // bytes 0 or 1 (torch_plugin_abi.h)
  d.insert("edge_index", x.edge_index);
  d.insert("shifts", shifts);
  d.insert("batch", x.batch);
  d.insert("ptr", x.ptr);
  const c10::IValue r = h.module.forward({c10::IValue(d)});
  if (!r.isGenericDict()) fail(BMD_TORCH_INVALID, "the module's forward() did not return a dict");
  const auto o = r.toGenericDict();
  const at::Tensor energy = entry(o, "energy");
  if (!energy.defined()) fail(BMD_TORCH_INVALID, "the module returned no 'energy' (per-system energies [S], eV)");
  at::Tensor forces = entry(o, "forces"), w = entry(o, "virial");
  if (!h.forces_known) h.forces_known = true, h.model_forces = forces.defined();
  if (virial && !h.virial_known) h.virial_known = true, h.model_virial = w.defined();
  std::vector<at::Tensor> wrt;
  if (!h.model_forces) wrt.push_back(pos);
  if (virial && !h.model_virial) wrt.push_back(eps);
  if (!wrt.empty()) {
    if (!energy.requires_grad())
      fail(BMD_TORCH_INVALID,
           "the module returned neither 'forces' nor an 'energy' that depends on 'positions' (autograd)");
    if (energy.sizes() != at::IntArrayRef{x.S})
      fail(BMD_TORCH_INVALID,
           "the module's 'energy' has shape " + c10::str(energy.sizes()) + ", expected [" + std::to_string(x.S) + "]");
    auto g = torch::autograd::grad({energy.sum()}, wrt, {}, false, false, true);
    size_t k = 0;
    if (!h.model_forces) forces = g[k].defined() ? -g[k] : torch::zeros_like(pos), ++k;
    if (virial && !h.model_virial) w = g[k].defined() ? -g[k] : torch::zeros({x.S, 3, 3}, pos.options());
  }
  Outputs outs;
  outs.add(energy, "energy", {x.S}, x.dtype, out.energy);
  outs.add(forces, "forces", {x.N, 3}, x.dtype, out.forces);
  if (virial) outs.add(w, "virial", {x.S, 3, 3}, x.dtype, out.virial);
  outs.write(x.dev);
}

// MACE's LAMMPS export: the dict pair_style mace builds, every atom local.
void compute_mace(Handle& h, const bmd_torch_inputs& in, Inputs& x, bmd_torch_outputs& out) {
  const auto opt = torch::TensorOptions().dtype(x.dtype).device(x.dev);
  at::Tensor one_hot = torch::zeros({x.N, in.n_species}, opt);
  if (x.N > 0) {
    const at::Tensor sp = wrap(in.species, {x.N, 1}, torch::kInt64, x.dev);
    one_hot.scatter_(1, sp, 1.0);
  }
  c10::Dict<std::string, at::Tensor> d;
  d.insert("batch", x.batch);
  d.insert("cell", x.cell);
  d.insert("edge_index", x.edge_index);
  d.insert("energy", torch::zeros({x.S}, opt));
  d.insert("forces", torch::zeros({x.N, 3}, opt));
  d.insert("node_attrs", one_hot);
  d.insert("positions", x.positions.detach().clone());  // the module sets requires_grad on it
  d.insert("ptr", x.ptr);
  d.insert("shifts", x.shifts);
  d.insert("unit_shifts", x.unit_shifts);
  d.insert("weight", torch::ones({x.S}, opt));
  const at::Tensor local = torch::ones({x.N}, torch::TensorOptions().dtype(torch::kBool).device(x.dev));
  const bool virial = in.compute_virial != 0;
  const c10::IValue r = h.module.forward({c10::IValue(d), local, virial});
  if (!r.isGenericDict()) fail(BMD_TORCH_INVALID, "the module's forward() did not return a dict");
  const auto o = r.toGenericDict();
  Outputs outs;
  outs.add(entry(o, "total_energy_local"), "total_energy_local", {x.S}, x.dtype, out.energy);
  outs.add(entry(o, "forces"), "forces", {x.N, 3}, x.dtype, out.forces);
  if (virial) outs.add(entry(o, "virials"), "virials", {x.S, 3, 3}, x.dtype, out.virial);
  outs.write(x.dev);
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int32_t bmd_torch_abi_version(void) { return BATCHMD_TORCH_ABI_VERSION; }

__attribute__((visibility("default"))) void* bmd_torch_open(const char* path, int32_t convention, int32_t* status,
                                                            char* err, size_t err_len, bmd_torch_info* info) {
  *status = BMD_TORCH_OK;
  try {
    if (!std::ifstream(path).good()) fail(BMD_TORCH_IO, "cannot open the file");
    auto h = std::make_unique<Handle>();
    try {
      h->module = torch::jit::load(path, torch::kCPU);
    } catch (const std::exception& e) {
      fail(BMD_TORCH_IO,
           "not a TorchScript archive that this libtorch (" TORCH_VERSION ") can load: " + brief(e.what()));
    }
    h->module.eval();
    h->convention = check_signature(h->module, convention);
    *info = bmd_torch_info{};
    info->convention = h->convention;
    info->dtype = module_dtype(h->module);
    const char* cut = h->convention == BMD_TORCH_MACE_LAMMPS ? "r_max" : "cutoff";
    info->cutoff = h->module.hasattr(cut) ? scalar_attr(h->module, cut) : 0.0;
    if (h->module.hasattr("num_interactions"))
      info->num_interactions = static_cast<int64_t>(scalar_attr(h->module, "num_interactions"));
    if (h->module.hasattr("atomic_numbers")) {
      const c10::IValue v = h->module.attr("atomic_numbers");
      if (!v.isTensor()) fail(BMD_TORCH_INVALID, "attribute 'atomic_numbers' is not a tensor");
      const at::Tensor z = v.toTensor().to(torch::kCPU).to(torch::kInt64).flatten();
      if (z.numel() > BMD_TORCH_MAX_ELEMENTS)
        fail(BMD_TORCH_INVALID, "attribute 'atomic_numbers' has too many elements");
      info->n_elements = static_cast<int32_t>(z.numel());
      for (int64_t i = 0; i < z.numel(); ++i) info->elements[i] = z[i].item<int64_t>();
    }
    std::string version = TORCH_VERSION;
    if (torch::cuda::is_available()) version += "+cuda";
    write_error(version, info->torch_version, sizeof(info->torch_version));
#ifdef BATCHMD_TORCH_CUDA
    info->cuda_stream = 1;
#else
    info->cuda_stream = 0;
#endif
    return h.release();
  } catch (const PluginError& e) {
    *status = e.status;
    write_error(e.what(), err, err_len);
  } catch (const std::exception& e) {
    *status = BMD_TORCH_INVALID;
    write_error(brief(e.what()), err, err_len);
  }
  return nullptr;
}

__attribute__((visibility("default"))) int32_t bmd_torch_compute(void* handle, const bmd_torch_inputs* in,
                                                                 bmd_torch_outputs* out, char* err, size_t err_len) {
  try {
    Handle& h = *static_cast<Handle*>(handle);
    Inputs x;
    x.dtype = in->dtype == BMD_TORCH_FLOAT32 ? torch::kFloat32 : torch::kFloat64;
    if (in->device_index >= 0) {
      if (!torch::cuda::is_available())
        fail(BMD_TORCH_DEVICE, "the batch is on a GPU but this plugin's libtorch (" TORCH_VERSION ") has no CUDA");
      x.dev = c10::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(in->device_index));
    }
#ifdef BATCHMD_TORCH_CUDA
    // libtorch's work of this call (the module's move included) on batchmd's stream.
    std::optional<c10::cuda::CUDAStreamGuard> on_stream;
    if (in->device_index >= 0 && in->cuda_stream != nullptr)
      on_stream.emplace(c10::cuda::getStreamFromExternal(static_cast<cudaStream_t>(in->cuda_stream), x.dev.index()));
#endif
    if (h.device != in->device_index) {  // the module's parameters to the batch's device, once
      h.module.to(x.dev);
      h.device = in->device_index;
    }
    x.N = in->n_atoms, x.S = in->n_systems, x.E = in->n_edges;
    x.positions = wrap(in->positions, {x.N, 3}, x.dtype, x.dev);
    x.cell = wrap(in->cell, {x.S, 3, 3}, x.dtype, x.dev);
    x.shifts = wrap(in->shifts, {x.E, 3}, x.dtype, x.dev);
    x.unit_shifts = wrap(in->unit_shifts, {x.E, 3}, x.dtype, x.dev);
    x.edge_index = wrap(in->edge_index, {2, x.E}, torch::kInt64, x.dev);
    x.batch = wrap(in->batch, {x.N}, torch::kInt64, x.dev);
    x.ptr = wrap(in->ptr, {x.S + 1}, torch::kInt64, x.dev);
    try {
      if (h.convention == BMD_TORCH_MACE_LAMMPS)
        compute_mace(h, *in, x, *out);
      else
        compute_batched(h, *in, x, *out);
#ifndef BATCHMD_TORCH_CUDA
      // libtorch ran on its own stream: the outputs must be complete before batchmd's stream
      // reads them.
      if (in->device_index >= 0) torch::cuda::synchronize(in->device_index);
#endif
    } catch (const PluginError&) {
      throw;
    } catch (const std::exception& e) {
      fail(status_of(e.what()), "forward() failed: " + brief(e.what()));
    }
    return BMD_TORCH_OK;
  } catch (const PluginError& e) {
    write_error(e.what(), err, err_len);
    return e.status;
  } catch (const std::exception& e) {
    write_error(brief(e.what()), err, err_len);
    return status_of(e.what());
  }
}

__attribute__((visibility("default"))) void bmd_torch_close(void* handle) { delete static_cast<Handle*>(handle); }

}  // extern "C"
