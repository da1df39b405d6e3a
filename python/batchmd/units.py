# SPDX-License-Identifier: Apache-2.0
"""Units of batchmd: Å, eV, amu, fs, K (the ASE / ALCHEMI convention), constants from CODATA 2018.

``ASE_FS`` is one femtosecond in ASE's time unit (Å·sqrt(amu/eV)) with these constants: velocities
in Å/fs are ASE velocities times ``ASE_FS``, and an ASE integrator given ``timestep=dt * ASE_FS``
advances exactly ``dt`` batchmd femtoseconds. (``ase.units.fs`` uses CODATA 2014 and differs by
4e-9 relative.)
"""

from batchmd._batchmd import units as _u

ACCEL = _u.ACCEL  #: 1 eV/(Å·amu) in Å/fs²
MV2_TO_EV = _u.MV2_TO_EV  #: 1 amu·Å²/fs² in eV
BOLTZMANN = _u.BOLTZMANN  #: k_B in eV/K
ASE_FS = _u.ASE_FS  #: 1 fs in ASE time units

__all__ = ["ACCEL", "ASE_FS", "BOLTZMANN", "MV2_TO_EV"]
