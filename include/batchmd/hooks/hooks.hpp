// SPDX-License-Identifier: Apache-2.0
// hooks/hooks: every hook of the library (docs/hooks.md: stages, fields read and written, GPU
// behaviour and errors of each).
//
// Writing a new hook: derive from dynamics::Hook (batchmd/dynamics/dynamics.hpp), whose comment is
// the whole contract — which state each stage sees, which fields a hook may touch, how a hook on a
// GPU batch stays on the compute stream, what happens when it throws. A hook with per-atom math
// follows this library's layout: the math once as BATCHMD_HD functions (src/hooks/hook_kernels.hpp)
// called by the CPU loop and by a kernel, the kernel's launcher declared in the CUDA-free
// src/hooks/hooks_gpu.hpp (defined in hooks_gpu.cu; hooks_gpu_stub.cpp without CUDA), and the
// hook itself calling `if (batch.is_cuda()) gpu::launcher(...)` with no #if.
#pragma once
#include "batchmd/hooks/biased_potential.hpp"
#include "batchmd/hooks/converged_snapshot.hpp"
#include "batchmd/hooks/energy_drift.hpp"
#include "batchmd/hooks/force_clamp.hpp"
#include "batchmd/hooks/freeze_atoms.hpp"
#include "batchmd/hooks/logging.hpp"
#include "batchmd/hooks/nan_detector.hpp"
#include "batchmd/hooks/profiler.hpp"
#include "batchmd/hooks/snapshot.hpp"
#include "batchmd/hooks/wrap_periodic.hpp"
