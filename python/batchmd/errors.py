# SPDX-License-Identifier: Apache-2.0
"""The batchmd exceptions. Each also derives from the built-in exception a Python user catches for
it, and carries the C++ message (which names the field, key, file or value at fault):

========================  =======================  ==============================================
batchmd                   also a                   raised for
========================  =======================  ==============================================
``Error``                 ``Exception``            base of all below
``InvalidArgument``       ``ValueError``           bad arguments, shapes, frequencies, configs
``FormatError``           ``ValueError``           malformed, foreign or corrupt stored data
``CapacityError``         ``RuntimeError``         a full sink or buffer (nothing was stored)
``IOError``               ``OSError``              file system and object-store failures
``NumericalError``        ``FloatingPointError``   NaN/Inf, exploding energies
========================  =======================  ==============================================

Wrong Python types give ``TypeError`` and views that would dangle ``BufferError``.
(``batchmd.errors.IOError`` is not exported by ``from batchmd.errors import *`` so that it never
hides the built-in name; catch ``OSError``.)
"""

from batchmd._batchmd import (  # noqa: F401
    CapacityError,
    Error,
    FormatError,
    InvalidArgument,
    IOError,
    NumericalError,
)

__all__ = ["CapacityError", "Error", "FormatError", "InvalidArgument", "NumericalError"]
