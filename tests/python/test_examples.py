# SPDX-License-Identifier: Apache-2.0
"""The examples in examples/*.py run and say what they should (each in its own python3 process)."""

import re
import subprocess
import sys

import pytest

from conftest import EXAMPLES


def run_example(name, tmp_path, env, *args):
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *map(str, args)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_every_example_is_tested():
    # torch_models.py writes the TorchScript example's model: run by ctest's torch_example_model
    # fixture before cli_example_torch_argon (tests/model/CMakeLists.txt, label torch).
    tested = {"toolkit_example.py", "relax_structures.py", "zarr_trajectory.py", "custom_hook.py",
              "make_noble_gases.py", "torch_models.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_toolkit_example(tmp_path, child_env):
    out = run_example("toolkit_example.py", tmp_path, child_env)
    assert "100 snapshots of 2 systems: 200 samples" in out
    assert "steps 1..991" in out


def test_relax_structures_reaches_the_lj_minima(tmp_path, child_env):
    out = run_example("relax_structures.py", tmp_path, child_env, tmp_path / "clusters.xyz")
    assert (tmp_path / "clusters.xyz").exists()
    rows = re.findall(r"^\s*(\d+)\s+(\d+)\s+(-?\d+\.\d+)\s+(-?\d+\.\d+)\s+(\d+)$", out, re.M)
    assert sorted(int(r[0]) for r in rows) == [0, 1, 2, 3, 4]
    for _, atoms, energy, reference, _ in rows:
        assert abs(float(energy) - float(reference)) < 1e-4 * int(atoms), (atoms, energy, reference)


def test_zarr_trajectory(tmp_path, child_env):
    out = run_example("zarr_trajectory.py", tmp_path, child_env, tmp_path / "argon.zarr")
    assert "33 samples, Zarr v2, systems [10, 11, 12]" in out
    assert "steps [1, 21, 41, 61, 81, 101, 121, 141, 161, 181, 200]" in out
    assert "equals TrajectoryReader's: True" in out
    assert (tmp_path / "argon.xyz").exists()


def test_custom_hook(tmp_path, child_env):
    out = run_example("custom_hook.py", tmp_path, child_env)
    assert re.search(r"stopped early: every system above 55.0 K after \d+ steps", out)
    steps = [int(m) for m in re.findall(r"^\s*(\d+)\s+\d+\.\d", out, re.M)]
    assert steps and steps == list(range(1, steps[-1] + 1, 10))


def test_readme_python_example():
    """The README's Python section runs as printed, and its comment holds."""
    readme = (EXAMPLES.parent / "README.md").read_text()
    section = readme.split("## Python\n", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["hook"].snapshots == 100
    assert len(scope["sink"]) == 100 * scope["batch"].n_systems == scope["trajectory"].n_systems


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))


def test_make_noble_gases_writes_the_committed_file(tmp_path, child_env):
    """examples/noble_gases.xyz (read by examples/structures.toml) is what its script writes."""
    import shutil

    import ase.io
    import numpy as np

    shutil.copy(EXAMPLES / "make_noble_gases.py", tmp_path)
    proc = subprocess.run([sys.executable, str(tmp_path / "make_noble_gases.py")], cwd=tmp_path, env=child_env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    made = ase.io.read(tmp_path / "noble_gases.xyz", index=":")
    committed = ase.io.read(EXAMPLES / "noble_gases.xyz", index=":")
    assert len(made) == len(committed) == 8
    for a, b in zip(made, committed):
        assert a.get_chemical_symbols() == b.get_chemical_symbols()
        assert np.allclose(a.positions, b.positions, atol=1e-8)
        assert np.allclose(a.cell.array, b.cell.array, atol=1e-8)
        assert (a.pbc == b.pbc).all()
