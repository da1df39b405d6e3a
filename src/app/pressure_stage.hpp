// SPDX-License-Identifier: Apache-2.0
// app/pressure_stage: the job file's pressure-control stages (npt_mtk, npt_csr, fire_cell) built
// from a [[stage]] table: bar → eV/Å³, the cell mode by name, the defaults of the stage keys.
#pragma once
#include <cstdint>
#include <memory>

#include "batchmd/app/config.hpp"
#include "batchmd/dynamics/dynamics.hpp"

namespace batchmd::app {

/// The stage of type npt_mtk, npt_csr or fire_cell (InvalidArgument for another type). dt in
/// fs; seed: the stochastic barostat's Philox key. The convergence criterion is set by the caller.
std::shared_ptr<dynamics::Dynamics> make_pressure_stage(const StageSpec& st, double dt_fs,
                                                        const std::shared_ptr<model::Model>& model, std::uint64_t seed);

}  // namespace batchmd::app
