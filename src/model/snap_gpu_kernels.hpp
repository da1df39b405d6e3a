// SPDX-License-Identifier: Apache-2.0
// model/snap_gpu_kernels (internal; CUDA builds): what the SNAP kernels read (SnapDev: device
// copies of the index tables and coefficients) and the launchers of snap_gpu.cu. No CUDA types:
// the host side (snap_gpu.cpp) includes this.
//
// Per-atom arrays are atom-fastest, [entry][atom], so that threads of neighboring atoms touch
// neighboring addresses (coalesced) in the B, beta and Y kernels.
#pragma once
#include <cstdint>

#include "full_list_gpu.hpp"
#include "snap_basis.hpp"
#include "snap_kernels.hpp"

namespace batchmd::model::detail {

template <typename T>
struct SnapDev {
  SnapScalars<T> sc;
  int jdim = 0;    ///< twojmax + 1
  int n_uf = 0;    ///< full U entries per element set
  int n_half = 0;  ///< half U entries per element set
  int n_z = 0;
  const std::int32_t* u_block = nullptr;    ///< [jdim]
  const std::int32_t* half_base = nullptr;  ///< [jdim] first half entry of layer j
  const T* rootpq = nullptr;                ///< [jdim^2]
  const T* cg = nullptr;
  const SnapZIndex* z = nullptr;        ///< [n_z]
  const SnapBIndex* b = nullptr;        ///< [n_b]
  const SnapHalfIndex* half = nullptr;  ///< [n_half]
  const std::int32_t* y_ptr = nullptr;  ///< [n_half + 1]: the Z entries feeding half entry h are
  const std::int32_t* y_z = nullptr;    ///< y_z[y_ptr[h] .. y_ptr[h+1])
  // Work items of the two Z-contracting passes (B and Y), which read U staged in shared memory:
  // B in slots (component k, row mb) whose partial sums the beta kernel adds in slot order, Y in
  // items e3 * n_half + h. Both lists of items run heaviest first (load balance across warps).
  int n_bslot = 0;
  int z_atoms_max = 32;                    ///< host side: the most atoms per block of the B and Y passes (a power of 2)
  int lanes = 32;                          ///< lanes per neighbor in the U and force kernels (8, 16 or 32)
  const std::int32_t* bslot_k = nullptr;   ///< [n_bslot] component of slot s (slots in (k, mb) order)
  const std::int32_t* bslot_mb = nullptr;  ///< [n_bslot] its row
  const std::int32_t* bslot_ptr = nullptr;  ///< [n_coeff + 1] the slots of component k
  const std::int32_t* border = nullptr;     ///< [n_bslot] slots by decreasing cost
  const std::int32_t* yorder = nullptr;     ///< [n_u * n_half] Y items by decreasing cost
  const double* coeff = nullptr;            ///< [n_elem][n_all]
  int n_all = 0;
  const T* weight = nullptr;  ///< [n_elem]
  const T* sinner = nullptr;  ///< [n_elem]
  const T* dinner = nullptr;  ///< [n_elem]
  const T* cutoff = nullptr;  ///< [n_elem^2] (0: pair excluded)
};

/// Work arrays of one call (device pointers; [entry][atom] layouts).
template <typename T>
struct SnapWork {
  T *u_re, *u_im;       ///< [n_u * n_uf][n_atoms] total U
  T* bpart;             ///< [n_bslot][n_atoms] B per (component, row), before the sum
  T* b;                 ///< [n_coeff][n_atoms] bispectrum
  T* beta;              ///< [n_coeff][n_atoms] dE/dB
  T *y_re, *y_im;       ///< [n_u * n_uf][n_atoms] adjoint (half entries)
  T* g;                 ///< [n_pairs][3] dE_i/dr_p
  double* atom_energy;  ///< [n_atoms]
};

/// The SNAP pipeline on the device's compute stream: U, B, beta and energies, Y, and per-pair
/// gradients (kernels in snap_gpu.cu; launch shapes there).
template <typename T>
void launch_snap(int device, const SnapDev<T>& d, const DeviceNeighborView<T>& v, const SnapWork<T>& w);

/// Dynamic shared memory (bytes) the U and force kernels need per warp and per block.
struct SnapSharedMemory {
  std::size_t u_per_warp, force_per_warp, force_per_block;
};
template <typename T>
SnapSharedMemory snap_shared_memory(const SnapDev<T>& d);

}  // namespace batchmd::model::detail
