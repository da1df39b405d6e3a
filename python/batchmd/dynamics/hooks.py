# SPDX-License-Identifier: Apache-2.0
"""Hooks: callbacks that fire at the nine stages of every step.

The library (C++): ``SnapshotHook(sink=..., frequency=...)``, ``ConvergedSnapshotHook(sink=...)``,
``MaxForceClampHook(max_force=...)``, ``NaNDetectorHook(frequency=...)``,
``EnergyDriftMonitorHook(threshold=..., action="warn"|"raise")``, ``WrapPeriodicHook(frequency=...)``,
``LoggingHook(log_path=..., frequency=...)``, ``FreezeAtomsHook(frozen=mask | field name)``,
``ProfilerHook()``, ``BiasedPotentialHook(bias_fn=...)`` (see docs/hooks.md for what each reads and
writes).

Python hooks subclass ``Hook`` (or are any object with ``stage``, ``frequency`` and ``__call__``)::

    class PrintTemperature(Hook):
        stage = DynamicsStage.AFTER_STEP
        frequency = 100

        def __call__(self, ctx):
            print(ctx.step, batchmd.dynamics.temperature(ctx.batch))

``ctx`` (HookContext) has ``batch``, ``model``, ``dynamics``, ``step`` (steps completed before the
current one), ``dt`` (fs), ``stage``, ``newly_converged`` and ``active``; it is valid during the call
only. Optional ``open(ctx)`` / ``close(ctx)`` run once at the start and end of every run (close also
when the run fails: ``ctx.failed``). An exception raised by a hook ends the run (hooks are closed)
and propagates out of ``run()``.
"""

import abc

from batchmd import _batchmd as _b

DynamicsStage = _b.DynamicsStage
HookContext = _b.HookContext
SnapshotHook = _b.SnapshotHook
ConvergedSnapshotHook = _b.ConvergedSnapshotHook
MaxForceClampHook = _b.MaxForceClampHook
NaNDetectorHook = _b.NaNDetectorHook
EnergyDriftMonitorHook = _b.EnergyDriftMonitorHook
WrapPeriodicHook = _b.WrapPeriodicHook
LoggingHook = _b.LoggingHook
FreezeAtomsHook = _b.FreezeAtomsHook
ProfilerHook = _b.ProfilerHook
BiasedPotentialHook = _b.BiasedPotentialHook


class Hook(abc.ABC):
    """Base class of hooks written in Python. Set ``stage`` (a DynamicsStage) and ``frequency``
    (fires when step_count % frequency == 0) and define ``__call__(self, ctx)``; optionally
    ``open(self, ctx)`` and ``close(self, ctx)``. The C++ hooks of this module are Hooks too."""

    stage = DynamicsStage.AFTER_STEP
    frequency = 1

    @abc.abstractmethod
    def __call__(self, ctx):
        """Called with a HookContext when the hook fires."""


Hook.register(_b.NativeHook)
Hook.register(_b.ProfilerHook)

__all__ = [
    "BiasedPotentialHook",
    "ConvergedSnapshotHook",
    "DynamicsStage",
    "EnergyDriftMonitorHook",
    "FreezeAtomsHook",
    "Hook",
    "HookContext",
    "LoggingHook",
    "MaxForceClampHook",
    "NaNDetectorHook",
    "ProfilerHook",
    "SnapshotHook",
    "WrapPeriodicHook",
]
