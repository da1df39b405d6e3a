// SPDX-License-Identifier: Apache-2.0
// app/pressure_stage: [[stage]] tables of the pressure-control types → dynamics objects.
#include "pressure_stage.hpp"

#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/cell_relax.hpp"
#include "batchmd/dynamics/npt.hpp"
#include "batchmd/dynamics/units.hpp"

namespace batchmd::app {

std::shared_ptr<dynamics::Dynamics> make_pressure_stage(const StageSpec& st, double dt_fs,
                                                        const std::shared_ptr<model::Model>& model,
                                                        std::uint64_t seed) {
  const double p = st.pressure_bar * units::kBar;
  const dynamics::CellMode mode = dynamics::cell_mode_from_name(st.cell);
  if (st.type == "npt_mtk") {
    dynamics::MTKConfig c;
    c.temperature_K = st.temperature_K;
    c.pressure = p;
    c.tau_t_fs = st.tau_fs;
    c.tau_p_fs = st.tau_p_fs;
    c.chain_length = st.chain_length;
    c.mode = mode;
    return std::make_shared<dynamics::MTKNPT>(model, dt_fs, c);
  }
  if (st.type == "npt_csr") {
    dynamics::CSRConfig c;
    c.temperature_K = st.temperature_K;
    c.pressure = p;
    c.tau_p_fs = st.tau_p_fs;
    c.compressibility = st.compressibility_per_bar;
    c.friction_per_fs = st.friction_per_fs;
    c.seed = seed;
    c.mode = mode;
    return std::make_shared<dynamics::StochasticCellRescaling>(model, dt_fs, c);
  }
  if (st.type == "fire_cell") {
    dynamics::FIRECellConfig c;
    c.fire.max_step = st.max_step;
    c.pressure = p;
    c.mode = mode;
    return std::make_shared<dynamics::FIRECell>(model, dt_fs, c);
  }
  throw InvalidArgument("make_pressure_stage: '" + st.type + "' is not a pressure-control stage");
}

}  // namespace batchmd::app
