// dynamics/units: unit conversions for Å / eV / amu / fs / K (ASE/ALCHEMI convention).
#pragma once

namespace batchmd::units {

/// 1 eV/(Å·amu) expressed in Å/fs²: converts force/mass to acceleration.
inline constexpr double kAccel = 9.648533212331e-3;
/// 1 amu·Å²/fs² in eV: converts m·v² to energy.
inline constexpr double kMv2ToEv = 1.0 / kAccel;
/// Boltzmann constant in eV/K.
inline constexpr double kBoltzmann = 8.617333262e-5;

}  // namespace batchmd::units
