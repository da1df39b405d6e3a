# SPDX-License-Identifier: Apache-2.0
"""Dynamics: the step loop with its nine hook stages, the integrators, convergence criteria and
multi-stage pipelines, with the ALCHEMI toolkit's names and keyword arguments::

    dynamics = DemoDynamics(model=model, n_steps=1000, dt=0.5, hooks=[hook])
    dynamics.run(batch)

Every class here is the C++ class (the Python subclass only adds the toolkit's constructor
arguments): ``run`` releases the GIL for the whole run, Python hooks and models take it only while
they are called, and Ctrl-C stops a run after the current step — hooks closed, sinks flushed — and
raises KeyboardInterrupt. Units: dt in fs, temperatures in K, forces in eV/Å.

Hooks fire when ``step_count % frequency == 0``, ``step_count`` counting completed steps from 0:
1,000 steps at frequency 10 fire 100 times. Stage and frequency of a Python hook are read once,
when it is registered.
"""

import inspect

from batchmd import _batchmd as _b
from batchmd.dynamics import hooks, sinks
from batchmd.dynamics.hooks import Hook
from batchmd.dynamics.sinks import DataSink, GPUBuffer, HostMemory, ZarrData

DynamicsStage = _b.DynamicsStage
HookContext = _b.HookContext
Convergence = _b.Convergence
kinetic_energy = _b.kinetic_energy
temperature = _b.temperature
max_force = _b.max_force
maxwell_boltzmann = _b.maxwell_boltzmann


def initialize_velocities(batch, temperature, seed=0):
    """Maxwell–Boltzmann velocities at ``temperature`` K, zero total momentum per system."""
    _b.maxwell_boltzmann(batch, float(temperature), int(seed))


_CRITERION_KEYS = {
    "fmax": "fmax",
    "forces": "fmax",
    "energy_change": "energy_change",
    "steps": "steps",
    "stage_step": "steps",
    "n_steps": "steps",
}


class ConvergenceHook:
    """The toolkit's convergence specification, turned into a batchmd ``Convergence``.

    ``criteria``: a dict or list of dicts ``{"key": ..., "threshold": ...}`` (all must hold) or
    ``Convergence`` objects. Keys: ``"fmax"``/``"forces"`` (largest atomic force norm, eV/Å),
    ``"energy_change"`` (|ΔE| per step, eV), ``"steps"`` (steps taken in the stage). None means
    fmax <= 0.05 eV/Å. Criteria are evaluated every step, at AFTER_STEP before any hook.
    """

    def __init__(self, criteria=None, frequency=1, source_status=None, target_status=None):
        if frequency != 1:
            raise ValueError("ConvergenceHook: batchmd evaluates convergence every step (frequency must be 1)")
        if criteria is None:
            criteria = [{"key": "fmax", "threshold": 0.05}]
        if isinstance(criteria, (dict, Convergence)):
            criteria = [criteria]
        parts = [self._criterion(c) for c in criteria]
        if not parts:
            raise ValueError("ConvergenceHook: no criteria")
        self.convergence = parts[0] if len(parts) == 1 else Convergence.all_of(parts)
        self.frequency = 1
        self.source_status = source_status
        self.target_status = target_status

    @staticmethod
    def _criterion(c):
        if isinstance(c, Convergence):
            return c
        if not isinstance(c, dict) or "key" not in c or "threshold" not in c:
            raise TypeError("ConvergenceHook: each criterion is a Convergence or a dict with 'key' and 'threshold'")
        key = c["key"]
        if key not in _CRITERION_KEYS:
            raise ValueError(
                f"ConvergenceHook: unknown criterion key {key!r} (known: {', '.join(sorted(_CRITERION_KEYS))})"
            )
        if c.get("reduce_op", "max") not in ("max", "norm") or c.get("custom_op") is not None:
            raise ValueError(f"ConvergenceHook: criterion {key!r} supports reduce_op 'max' only")
        kind = _CRITERION_KEYS[key]
        if kind == "steps":
            return Convergence.steps(int(c["threshold"]))
        return getattr(Convergence, kind)(float(c["threshold"]))

    @classmethod
    def from_fmax(cls, threshold=0.05, source_status=None, target_status=None, frequency=1):
        """Converged when every atomic force norm is <= threshold (eV/Å)."""
        return cls([{"key": "fmax", "threshold": threshold}], frequency, source_status, target_status)

    def __repr__(self):
        return f"ConvergenceHook({self.convergence.describe()})"


def _as_convergence(spec):
    if spec is None or isinstance(spec, Convergence):
        return spec
    if isinstance(spec, ConvergenceHook):
        return spec.convergence
    if isinstance(spec, dict):
        return ConvergenceHook(**spec).convergence if "criteria" in spec else ConvergenceHook(spec).convergence
    raise TypeError(f"convergence_hook must be a ConvergenceHook, Convergence or dict, not {type(spec).__name__}")


def _stage_of(value):
    if isinstance(value, DynamicsStage):
        return value
    if isinstance(value, str):
        return _b.stage_from_name(value)
    name = getattr(value, "name", None)  # another enum with the same member names (nvalchemi's)
    if isinstance(name, str) and hasattr(DynamicsStage, name):
        return getattr(DynamicsStage, name)
    if isinstance(value, int):
        return DynamicsStage(value)
    raise TypeError(f"hook stage must be a DynamicsStage, its name or its value, not {value!r}")


def _wants_stage(hook):
    """Whether hook.__call__ takes (ctx, stage) — the toolkit's protocol — rather than (ctx)."""
    try:
        params = inspect.signature(hook.__call__).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


def _python_hook(hook):
    if not callable(hook):
        raise TypeError(f"hook {type(hook).__name__} is not callable (define __call__(self, ctx))")
    frequency = getattr(hook, "frequency", 1)
    if not isinstance(frequency, int) or isinstance(frequency, bool):
        raise TypeError(f"hook {type(hook).__name__}: frequency must be an int, got {frequency!r}")
    name = getattr(hook, "name", None)
    if not isinstance(name, str):
        name = type(hook).__name__
    stage = _stage_of(getattr(hook, "stage", DynamicsStage.AFTER_STEP))
    return _b.PythonHook(hook, stage, frequency, name, _wants_stage(hook))


class _DynamicsAPI:
    """What every dynamics adds on the Python side: n_steps, hooks=[...], convergence_hook=..., run()
    returning the batch, ``a + b`` fusing stages."""

    def _setup(self, model, n_steps, hooks, convergence_hook):
        self.model = model
        self.n_steps = None if n_steps is None else int(n_steps)
        self._hooks = []
        self.steps_taken = 0
        conv = _as_convergence(convergence_hook)
        if conv is not None:
            self.set_convergence(conv)
        for h in hooks or []:
            self.register_hook(h)

    @property
    def hooks(self):
        """The hooks registered so far (the objects given to register_hook), in order."""
        return list(self._hooks)

    def register_hook(self, hook):
        """Registers a hook: a batchmd hook, an object with attach(dynamics) (FreezeAtomsHook,
        ProfilerHook), or any Python object with ``stage``, ``frequency`` and ``__call__(ctx)`` (or
        the toolkit's ``__call__(ctx, stage)``) — e.g. a subclass of batchmd.dynamics.Hook."""
        if callable(getattr(hook, "attach", None)):  # first: FreezeAtomsHook is a NativeHook with pins
            hook.attach(self)
        elif isinstance(hook, _b.NativeHook):
            self._register_hook(hook)
        else:
            self._register_hook(_python_hook(hook))
        self._hooks.append(hook)
        return hook

    def run(self, batch, n_steps=None):
        """Runs n_steps steps (default: the constructor's n_steps) on the batch in place, stopping
        early when every system has converged; returns the batch. ``steps_taken`` holds the steps
        of this run. Hooks are opened before and closed after — also on an error or Ctrl-C."""
        n = self.n_steps if n_steps is None else n_steps
        if n is None:
            raise ValueError(f"{type(self).__name__}.run: no step count (pass n_steps here or to the constructor)")
        self.steps_taken = self._run(batch, int(n))
        return batch

    def __add__(self, other):
        stages = list(self.stages) if isinstance(self, FusedStage) else [self]
        stages += list(other.stages) if isinstance(other, FusedStage) else [other]
        return FusedStage(stages)

    def __repr__(self):
        return f"{type(self).__name__}(dt={self.dt}, n_steps={self.n_steps}, hooks={len(self._hooks)})"


class DemoDynamics(_DynamicsAPI, _b.DemoDynamics):
    """Velocity Verlet (NVE). dt in fs."""

    def __init__(self, model, n_steps=None, dt=1.0, hooks=None, convergence_hook=None):
        _b.DemoDynamics.__init__(self, model, float(dt))
        self._setup(model, n_steps, hooks, convergence_hook)


class FIRE(_DynamicsAPI, _b.FIRE):
    """FIRE geometry optimizer. dt: initial time step (fs); dt_max default 10·dt; maxstep: largest
    displacement of any atom per step (Å)."""

    def __init__(self, model, dt=1.0, dt_max=None, maxstep=0.2, n_min=5, f_dec=0.5, f_inc=1.1,
                 alpha_start=0.1, f_alpha=0.99, n_steps=None, hooks=None, convergence_hook=None):
        _b.FIRE.__init__(self, model, float(dt), dt_start=0.0, dt_max=float(dt_max or 0.0), n_min=int(n_min),
                         f_inc=float(f_inc), f_dec=float(f_dec), alpha_start=float(alpha_start),
                         f_alpha=float(f_alpha), max_step=float(maxstep))
        self._setup(model, n_steps, hooks, convergence_hook)


class FIRE2(_DynamicsAPI, _b.FIRE2):
    """FIRE 2.0. dt: initial time step (fs); dt_max default 10·dt, dt_min default 0.02·dt."""

    def __init__(self, model, dt=1.0, dt_max=None, dt_min=None, maxstep=0.2, n_delay=20, f_dec=0.5, f_inc=1.1,
                 alpha_start=0.25, f_alpha=0.99, initial_delay=True, n_steps=None, hooks=None,
                 convergence_hook=None):
        _b.FIRE2.__init__(self, model, float(dt), dt_start=0.0, dt_max=float(dt_max or 0.0),
                          dt_min=float(dt_min or 0.0), n_delay=int(n_delay), f_inc=float(f_inc),
                          f_dec=float(f_dec), alpha_start=float(alpha_start), f_alpha=float(f_alpha),
                          initial_delay=bool(initial_delay), max_step=float(maxstep))
        self._setup(model, n_steps, hooks, convergence_hook)


class Langevin(_DynamicsAPI, _b.Langevin):
    """Langevin NVT (BAOAB). temperature in K, friction in 1/fs; per-system overrides through the
    fields thermostat_temperature and langevin_friction."""

    def __init__(self, model, dt, temperature, friction, random_seed=42, n_steps=None, hooks=None,
                 convergence_hook=None):
        _b.Langevin.__init__(self, model, float(dt), float(temperature), float(friction), int(random_seed))
        self._setup(model, n_steps, hooks, convergence_hook)


class NoseHooverChain(_DynamicsAPI, _b.NoseHooverChain):
    """Nosé–Hoover chain NVT. temperature in K, thermostat_time (τ) in fs."""

    def __init__(self, model, dt, temperature, thermostat_time=100.0, chain_length=3, n_steps=None, hooks=None,
                 convergence_hook=None):
        _b.NoseHooverChain.__init__(self, model, float(dt), float(temperature), float(thermostat_time),
                                    int(chain_length))
        self._setup(model, n_steps, hooks, convergence_hook)


class FusedStage(_DynamicsAPI, _b.FusedStage):
    """Several dynamics on one batch with one model evaluation per step; a system that meets stage
    k's convergence criterion moves to stage k+1, and run() ends when every system has finished the
    last stage (or after n_steps). ``sub_stages``: dynamics, or the toolkit's (status, dynamics)
    pairs with status 0, 1, ...; also ``opt + md``. As in the toolkit, a sub-stage's own n_steps is
    a per-system step budget in the pipeline: it is added to that stage's criterion (``| steps(n)``).
    Hooks are registered on the FusedStage; each stage keeps its dt; the first stage's model serves
    all."""

    def __init__(self, sub_stages, n_steps=None, hooks=None):
        stages = []
        for i, s in enumerate(sub_stages):
            if isinstance(s, tuple):
                status, s = s
                if status != i:
                    raise ValueError(f"FusedStage: sub-stage statuses must be 0, 1, ... in order; got {status} at {i}")
            stages.append(s)
        if not stages:
            raise ValueError("FusedStage needs at least one stage")
        for s in stages:
            budget = getattr(s, "n_steps", None)
            if budget is not None:
                steps = Convergence.steps(int(budget))
                s.set_convergence(steps if s.convergence is None else s.convergence | steps)
        _b.FusedStage.__init__(self, stages)
        self.stages = stages
        self._setup(getattr(stages[0], "model", None), n_steps, hooks, None)

    def run(self, batch, n_steps=None):
        """Runs until every system has finished the last stage, or n_steps steps (default: the
        constructor's; None: no limit)."""
        n = self.n_steps if n_steps is None else n_steps
        return _DynamicsAPI.run(self, batch, (1 << 62) if n is None else n)


NVTLangevin = Langevin
NVTNoseHoover = NoseHooverChain

__all__ = [
    "Convergence",
    "ConvergenceHook",
    "DataSink",
    "DemoDynamics",
    "DynamicsStage",
    "FIRE",
    "FIRE2",
    "FusedStage",
    "GPUBuffer",
    "Hook",
    "HookContext",
    "HostMemory",
    "Langevin",
    "NVTLangevin",
    "NVTNoseHoover",
    "NoseHooverChain",
    "ZarrData",
    "hooks",
    "initialize_velocities",
    "kinetic_energy",
    "max_force",
    "maxwell_boltzmann",
    "sinks",
    "temperature",
]
