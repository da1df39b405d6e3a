// SPDX-License-Identifier: Apache-2.0
// dynamics/units: unit conversions for Å / eV / amu / fs / K (ASE/ALCHEMI convention).
#pragma once

namespace batchmd::units {

/// 1 eV/(Å·amu) expressed in Å/fs²: converts force/mass to acceleration.
inline constexpr double kAccel = 9.648533212331e-3;
/// 1 amu·Å²/fs² in eV: converts m·v² to energy.
inline constexpr double kMv2ToEv = 1.0 / kAccel;
/// Boltzmann constant in eV/K.
inline constexpr double kBoltzmann = 8.617333262e-5;
/// 1 bar in eV/Å³ (1e5 Pa; pressures and stresses are eV/Å³ at the API).
inline constexpr double kBar = 6.241509074460763e-7;
/// 1 GPa in eV/Å³.
inline constexpr double kGPa = 1e4 * kBar;

}  // namespace batchmd::units
