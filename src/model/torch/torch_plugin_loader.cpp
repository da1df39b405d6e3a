// SPDX-License-Identifier: Apache-2.0
// model/torch/torch_plugin_loader: dlopen of the libtorch plugin. An explicit path (argument or
// $BATCHMD_TORCH_PLUGIN) is the only candidate when given — a user who names a plugin gets that
// one or an error, never another found elsewhere.
#include "torch_plugin_loader.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "batchmd/core/error.hpp"

namespace batchmd::model::detail {

namespace {

constexpr const char* kName = "libbatchmd_torch.so";

std::vector<std::string> candidates() {
  std::vector<std::string> out;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back((exe.parent_path() / kName).string());
#ifdef BATCHMD_TORCH_PLUGIN_LIBDIR
    out.push_back(
        (exe.parent_path() / ".." / BATCHMD_TORCH_PLUGIN_LIBDIR / "batchmd" / kName).lexically_normal().string());
#endif
  }
#ifdef BATCHMD_TORCH_PLUGIN_BUILD
  out.push_back(BATCHMD_TORCH_PLUGIN_BUILD);
#endif
#ifdef BATCHMD_TORCH_PLUGIN_INSTALL
  out.push_back(BATCHMD_TORCH_PLUGIN_INSTALL);
#endif
  return out;
}

// Opens one candidate; on failure returns null and says why.
std::unique_ptr<TorchPlugin> try_open(const std::string& path, std::string& why) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    why = path + ": no such file";
    return nullptr;
  }
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* e = dlerror();
    why = path + ": " + (e ? e : "dlopen failed");
    return nullptr;
  }
  auto abi = reinterpret_cast<bmd_torch_abi_version_fn>(dlsym(lib, BMD_TORCH_SYM_ABI));
  auto p = std::make_unique<TorchPlugin>();
  p->path = path;
  p->open = reinterpret_cast<bmd_torch_open_fn>(dlsym(lib, BMD_TORCH_SYM_OPEN));
  p->compute = reinterpret_cast<bmd_torch_compute_fn>(dlsym(lib, BMD_TORCH_SYM_COMPUTE));
  p->close = reinterpret_cast<bmd_torch_close_fn>(dlsym(lib, BMD_TORCH_SYM_CLOSE));
  if (abi == nullptr || p->open == nullptr || p->compute == nullptr || p->close == nullptr) {
    why = path + ": not a batchmd libtorch plugin (missing " BMD_TORCH_SYM_OPEN "/" BMD_TORCH_SYM_COMPUTE ")";
    return nullptr;
  }
  if (abi() != BATCHMD_TORCH_ABI_VERSION) {
    why = path + ": plugin interface version " + std::to_string(abi()) + ", this batchmd needs " +
          std::to_string(BATCHMD_TORCH_ABI_VERSION) + " (rebuild the plugin from this source tree)";
    return nullptr;
  }
  return p;
}

}  // namespace

const TorchPlugin& load_torch_plugin(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<TorchPlugin>> loaded;  // by requested path ("" = search)
  std::lock_guard<std::mutex> lock(mu);
  std::string key = path;
  if (key.empty())
    if (const char* env = std::getenv("BATCHMD_TORCH_PLUGIN"); env != nullptr && *env != '\0') key = env;
  if (auto it = loaded.find(key); it != loaded.end()) return *it->second;
  const std::vector<std::string> tries = key.empty() ? candidates() : std::vector<std::string>{key};
  std::string whys;
  for (const auto& c : tries) {
    std::string why;
    if (auto p = try_open(c, why)) return *(loaded[key] = std::move(p));
    whys += (whys.empty() ? " " : "; ") + why;
  }
  throw InvalidArgument(std::string("TorchScript models need batchmd's libtorch plugin (") + kName +
                        "), which is not available: this batchmd may have been built without libtorch "
                        "(-DBATCHMD_TORCH=OFF, or no libtorch found); build it, or point "
                        "BATCHMD_TORCH_PLUGIN at a plugin built against your libtorch (docs/torchscript.md). Tried:" +
                        whys);
}

}  // namespace batchmd::model::detail
