// SPDX-License-Identifier: Apache-2.0
// model/torch/torch_plugin_abi (internal): the C interface between batchmd and its libtorch
// plugin (libbatchmd_torch.so, torch_plugin.cpp). batchmd itself never links libtorch: the
// TorchScript model (torch_model.cpp) does everything batchmd-specific — element tables, the
// neighbor list, edges and shifts, units, checks — and hands plain arrays to the plugin, which
// wraps them as tensors (torch::from_blob, no copy), calls the module's forward() in one of the
// two calling conventions and writes energies, forces and virials into batchmd's arrays. For a
// GPU batch every array is device memory on cuda:device_index (edges built there by batchmd's
// device neighbor list): nothing passes through the host.
//
// Why a plugin: libtorch is large (120 MB here) and comes in incompatible builds (Debian's CPU
// 1.13, PyTorch's CUDA 2.x). The plugin is one source file compiled against whichever libtorch
// is at hand (docs/torchscript.md), while the rest of batchmd stays the same binary. Only C
// types cross the boundary, so the two sides need not share a C++ standard library build.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Bumped on any change of the structs or functions below; batchmd refuses another version.
/// 2: device pointers for a GPU batch (bmd_torch_inputs.device_index >= 0), cuda_stream,
///    bmd_torch_info.cuda_stream.
#define BATCHMD_TORCH_ABI_VERSION 2

enum bmd_torch_convention { BMD_TORCH_AUTO = 0, BMD_TORCH_BATCHED = 1, BMD_TORCH_MACE_LAMMPS = 2 };
enum bmd_torch_dtype { BMD_TORCH_DTYPE_UNKNOWN = -1, BMD_TORCH_FLOAT32 = 0, BMD_TORCH_FLOAT64 = 1 };
/// Return codes of bmd_torch_compute and the error kinds of bmd_torch_open.
enum bmd_torch_status {
  BMD_TORCH_OK = 0,
  BMD_TORCH_INVALID = 1,    ///< the module does not follow the convention (inputs, outputs, shapes, dtype)
  BMD_TORCH_NUMERICAL = 2,  ///< the module returned NaN/Inf
  BMD_TORCH_IO = 3,         ///< the file cannot be read or is not a TorchScript archive
  BMD_TORCH_DEVICE = 4,     ///< a device (CUDA) failure inside libtorch
};

#define BMD_TORCH_MAX_ELEMENTS 128

/// What the plugin found in the module (bmd_torch_open).
struct bmd_torch_info {
  int32_t convention;  ///< BMD_TORCH_BATCHED or BMD_TORCH_MACE_LAMMPS (resolved from AUTO)
  int32_t dtype;       ///< floating dtype of the module's parameters/buffers, or UNKNOWN (none)
  double cutoff;       ///< Å: attribute r_max (MACE) or cutoff (batched); <= 0 when absent
  int64_t num_interactions;  ///< MACE: message-passing layers (attribute num_interactions); 0 otherwise
  int32_t n_elements;        ///< atomic numbers of the module's attribute atomic_numbers; 0: absent
  int64_t elements[BMD_TORCH_MAX_ELEMENTS];
  char torch_version[64];  ///< libtorch version the plugin was built against, and "+cuda" when CUDA works
  /// 1: the plugin runs libtorch on the CUDA stream the caller passes (bmd_torch_inputs.cuda_stream:
  /// built with BATCHMD_TORCH_CUDA), so the caller need not synchronise before a call; 0: it runs
  /// on libtorch's own current stream and the caller must synchronise its stream first. Either way
  /// the outputs are complete when bmd_torch_compute returns (the non-finite check reads them).
  int32_t cuda_stream;
};

/// One call. Arrays are C order, in the dtype given (float arrays), int64 otherwise. With
/// device_index -1 they are host memory and the module runs on the CPU; with k >= 0 every array
/// here and in bmd_torch_outputs is device memory on cuda:k, where the module runs (the plugin
/// wraps the pointers, it copies nothing to or from the host).
struct bmd_torch_inputs {
  int32_t dtype;         ///< BMD_TORCH_FLOAT32 / FLOAT64: the float arrays below and the model
  int32_t device_index;  ///< -1: host arrays, run on the CPU; k >= 0: device arrays, run on cuda:k
  void* cuda_stream;     ///< the cudaStream_t the arrays were written on (device_index >= 0), or null
  int32_t compute_virial;
  int64_t n_atoms, n_systems, n_edges;
  const void* positions;          ///< [n_atoms][3] Å
  const int64_t* atomic_numbers;  ///< [n_atoms]
  const int64_t* species;         ///< [n_atoms] index into the module's elements (MACE one-hot), or null
  int32_t n_species;              ///< width of the one-hot node_attrs
  const void* cell;               ///< [n_systems][3][3] Å, rows a b c (zero rows where open)
  const uint8_t* pbc;             ///< [n_systems][3] 0/1
  const int64_t* edge_index;      ///< [2][n_edges]: row 0 the centre atom i, row 1 the neighbor j
  const void* shifts;             ///< [n_edges][3] Å: r_ij = x_j - x_i + shift
  const void* unit_shifts;        ///< [n_edges][3] the same in lattice vectors (integers), float dtype
  const int64_t* batch;           ///< [n_atoms] system of each atom
  const int64_t* ptr;             ///< [n_systems + 1]
};

/// Where the plugin writes (host or device memory as the inputs, the inputs' dtype). virial may
/// be null unless compute_virial.
struct bmd_torch_outputs {
  void* energy;  ///< [n_systems] eV
  void* forces;  ///< [n_atoms][3] eV/Å
  void* virial;  ///< [n_systems][3][3] eV, W = -dE/d(strain)
};

typedef void* (*bmd_torch_open_fn)(const char* path, int32_t convention, int32_t* status, char* err, size_t err_len,
                                   struct bmd_torch_info* info);
typedef int32_t (*bmd_torch_compute_fn)(void* handle, const struct bmd_torch_inputs* in,
                                        struct bmd_torch_outputs* out, char* err, size_t err_len);
typedef void (*bmd_torch_close_fn)(void* handle);
typedef int32_t (*bmd_torch_abi_version_fn)(void);

/// Exported by the plugin under these names.
#define BMD_TORCH_SYM_OPEN "bmd_torch_open"
#define BMD_TORCH_SYM_COMPUTE "bmd_torch_compute"
#define BMD_TORCH_SYM_CLOSE "bmd_torch_close"
#define BMD_TORCH_SYM_ABI "bmd_torch_abi_version"

#ifdef __cplusplus
}
#endif
