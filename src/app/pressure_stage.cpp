// SPDX-License-Identifier: Apache-2.0
// app/pressure_stage: [[stage]] tables of the pressure-control types → dynamics objects.
#include "pressure_stage.hpp"

#include <array>
#include <optional>

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
  std::optional<dynamics::StressTarget> stress;  // stress_bar: Voigt, bar → 3×3, eV/Å³
  if (st.stress_bar.size() == 6) {
    std::array<double, 6> v{};
    for (std::size_t k = 0; k < 6; ++k) v[k] = st.stress_bar[k] * units::kBar;
    stress = dynamics::stress_from_voigt(v);
  } else if (!st.stress_bar.empty()) {
    throw InvalidArgument("stress_bar must hold 6 numbers (xx, yy, zz, yz, xz, xy)");
  }
  if (st.type == "npt_mtk") {
    dynamics::MTKConfig c;
    c.temperature_K = st.temperature_K;
    c.pressure = p;
    c.stress = stress;
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
    c.stress = stress;
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
    c.stress = stress;
    c.mode = mode;
    return std::make_shared<dynamics::FIRECell>(model, dt_fs, c);
  }
  throw InvalidArgument("make_pressure_stage: '" + st.type + "' is not a pressure-control stage");
}

}  // namespace batchmd::app
