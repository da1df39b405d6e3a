// hooks/hooks: every hook of the library (see docs/hooks.md).
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
