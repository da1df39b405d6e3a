# SPDX-License-Identifier: Apache-2.0
"""Models written in Python run inside the C++ dynamics; C++ models are callable from Python."""

import numpy as np
import pytest
from ase.cluster import Icosahedron

from batchmd.data import Batch
from batchmd.dynamics import FIRE, ConvergenceHook, DemoDynamics, max_force
from batchmd.models import LennardJones, Model

EPS, SIGMA = 0.0104, 3.40
LJ13_MINIMUM = -44.326801  # ε, Cambridge Cluster Database (global minimum, icosahedron)


class NumpyLJ(Model):
    """Lennard-Jones by a full NumPy pair sum over each (open) system — independent of the C++ one."""

    def __init__(self, epsilon=EPS, sigma=SIGMA):
        super().__init__()
        self.epsilon, self.sigma = epsilon, sigma
        self.calls = 0

    def compute(self, batch, compute_stress):
        self.calls += 1
        ptr, pos = batch.atoms_ptr, batch.positions
        energy = np.zeros(batch.n_systems)
        forces = np.zeros((batch.n_atoms, 3))
        for s in range(batch.n_systems):
            x = pos[ptr[s]:ptr[s + 1]]
            d = x[:, None, :] - x[None, :, :]
            r2 = np.einsum("ijk,ijk->ij", d, d)
            np.fill_diagonal(r2, np.inf)
            sr6 = (self.sigma ** 2 / r2) ** 3
            energy[s] = 0.5 * np.sum(4 * self.epsilon * (sr6 * sr6 - sr6))
            coef = 24 * self.epsilon * (2 * sr6 * sr6 - sr6) / r2
            forces[ptr[s]:ptr[s + 1]] = np.einsum("ij,ijk->ik", coef, d)
        return {"energy": energy, "forces": forces}


def clusters(n=3, scale=0.2, seed=5):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        atoms = Icosahedron("Ar", noshells=2, latticeconstant=2 ** (2 / 3) * SIGMA)
        atoms.positions += rng.normal(scale=scale, size=atoms.positions.shape)
        del atoms.arrays["tags"]
        out.append(atoms)
    return Batch.from_atoms(out)


def test_python_model_drives_fire_to_the_lj13_minimum():
    batch = clusters()
    model = NumpyLJ()
    fire = FIRE(model=model, dt=5.0, n_steps=5000, convergence_hook=ConvergenceHook.from_fmax(1e-5))
    fire.run(batch)
    assert fire.steps_taken < 5000 and model.calls == fire.steps_taken + 1
    assert np.all(np.asarray(max_force(batch)) <= 1e-5)
    np.testing.assert_allclose(batch.energy / EPS, LJ13_MINIMUM, atol=2e-6)


def test_python_model_agrees_with_the_cpp_model():
    batch = clusters(scale=0.3)
    py = NumpyLJ()(batch.clone())
    cpp = LennardJones(epsilon=EPS, sigma=SIGMA, cutoff=60.0)(batch)
    np.testing.assert_allclose(py["energy"], cpp["energy"], rtol=1e-12)
    np.testing.assert_allclose(py["forces"], cpp["forces"], rtol=0, atol=1e-12)


def test_filling_in_place_and_returning_a_tuple_are_equivalent():
    class InPlace(NumpyLJ):
        def compute(self, batch, compute_stress):
            assert np.all(batch.energy == 0) and np.all(batch.forces == 0)  # zeroed before the call
            e_f = NumpyLJ.compute(self, batch, compute_stress)
            batch.energy[:] = e_f["energy"]
            batch.forces[:] = e_f["forces"]

    class Tuple(NumpyLJ):
        def compute(self, batch, compute_stress):
            r = NumpyLJ.compute(self, batch, compute_stress)
            return r["energy"].reshape(-1, 1), r["forces"].tolist()

    a, b = clusters(), clusters()
    DemoDynamics(model=InPlace(), n_steps=20, dt=2.0).run(a)
    DemoDynamics(model=Tuple(), n_steps=20, dt=2.0).run(b)
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.energy, b.energy)


def test_model_errors_reach_the_caller():
    class Raises(Model):
        def compute(self, batch, compute_stress):
            raise ZeroDivisionError("inside the model")

    class WrongShape(Model):
        def compute(self, batch, compute_stress):
            return {"energy": [1.0, 2.0, 3.0, 4.0]}

    class Missing(Model):
        pass

    batch = clusters(1)
    with pytest.raises(ZeroDivisionError, match="inside the model"):
        DemoDynamics(model=Raises(), n_steps=3, dt=1.0).run(batch)
    with pytest.raises(ValueError, match="energy"):
        WrongShape()(batch)
    with pytest.raises(ValueError, match="compute"):
        Missing()(batch)


def test_model_call_returns_views_and_stress():
    from ase.build import bulk

    batch = Batch.from_atoms([bulk("Ar", "fcc", a=5.26, cubic=True).repeat(2)])
    out = LennardJones()(batch, compute_stress=True)
    assert set(out) == {"energy", "forces", "virial", "stress"}
    assert np.shares_memory(out["forces"], batch.forces)
    volume = abs(np.linalg.det(batch.cell[0]))
    np.testing.assert_allclose(out["stress"][0], -out["virial"][0] / volume, rtol=1e-12)


def test_pytorch_model_with_autograd_forces():
    torch = pytest.importorskip("torch")

    class TorchLJ(Model):
        """LJ energy in PyTorch, forces by autograd; reads positions without a copy (DLPack)."""

        def compute(self, batch, compute_stress):
            ptr = batch.atoms_ptr
            x = torch.from_dlpack(batch.positions).detach().clone().requires_grad_(True)
            energies = []
            for s in range(batch.n_systems):
                xs = x[ptr[s]:ptr[s + 1]]
                d = xs[:, None, :] - xs[None, :, :]
                n = xs.shape[0]
                r2 = (d * d).sum(-1) + torch.eye(n, dtype=x.dtype)  # no self-pairs
                sr6 = (SIGMA ** 2 / r2) ** 3
                e = 4 * EPS * (sr6 * sr6 - sr6) * (1 - torch.eye(n, dtype=x.dtype))
                energies.append(0.5 * e.sum())
            energy = torch.stack(energies)
            (grad,) = torch.autograd.grad(energy.sum(), x)
            return {"energy": energy.detach(), "forces": (-grad).detach()}

    batch = clusters(2, scale=0.3)
    torch_out = TorchLJ()(batch.clone())
    cpp_out = LennardJones(epsilon=EPS, sigma=SIGMA, cutoff=60.0)(batch)
    np.testing.assert_allclose(torch_out["energy"], cpp_out["energy"], rtol=1e-12)
    np.testing.assert_allclose(torch_out["forces"], cpp_out["forces"], rtol=0, atol=1e-12)
    fire = FIRE(model=TorchLJ(), dt=5.0, n_steps=3000, convergence_hook=ConvergenceHook.from_fmax(1e-4))
    fire.run(batch)
    np.testing.assert_allclose(batch.energy / EPS, LJ13_MINIMUM, atol=1e-4)
