#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes examples/noble_gases.xyz, the structures of examples/structures.toml: eight different
noble-gas structures in one extended XYZ file (ASE's dialect), run by the test suite.

    /usr/bin/python3 examples/make_noble_gases.py      # from the repository root

Periodic fcc crystals of Ar and Kr (one with a vacancy, one with ASE's momenta so that batchmd
keeps its velocities), a triclinic primitive Xe cell, an Ar-Kr random alloy, a Xe (111) slab
periodic in two directions, and open clusters: a Ne icosahedron, an Ar-Kr core-shell cluster and
a Ne dimer. Deterministic (fixed seed); the file is committed, this script documents it.
"""
import os

import numpy as np
from ase import Atoms
from ase.build import bulk, fcc111
from ase.cluster import Icosahedron
import ase.io

rng = np.random.default_rng(2026)
frames = []

ar = bulk("Ar", "fcc", a=5.26, cubic=True).repeat((2, 2, 2))  # 32 atoms
ar.info["name"] = "Ar fcc 2x2x2"
frames.append(ar)

kr = bulk("Kr", "fcc", a=5.72, cubic=True).repeat((2, 2, 2))
del kr[5]  # a vacancy
kr.info["name"] = "Kr fcc with a vacancy"
frames.append(kr)

xe = bulk("Xe", "fcc", a=6.20)  # primitive: a triclinic one-atom cell (replicated by the job)
xe.info["name"] = "Xe primitive cell"
frames.append(xe)

alloy = bulk("Ar", "fcc", a=5.45, cubic=True).repeat((2, 2, 2))
alloy.numbers[rng.random(len(alloy)) < 0.4] = 36  # Kr
alloy.rattle(0.05, seed=1)
alloy.info["name"] = "Ar-Kr random alloy"
frames.append(alloy)

slab = fcc111("Xe", size=(3, 3, 3), a=6.20, vacuum=6.0)  # pbc = T T F
slab.info["name"] = "Xe(111) slab"
frames.append(slab)

ne = Icosahedron("Ne", noshells=2, latticeconstant=4.43)  # 13 atoms, open
ne.center()
ne.info["name"] = "Ne13 icosahedron"
frames.append(ne)

shell = Icosahedron("Kr", noshells=3, latticeconstant=5.72)  # 55 atoms
shell.numbers[:13] = 18  # Ar core
shell.center()
shell.info["name"] = "Ar13@Kr42 core-shell cluster"
frames.append(shell)

warm = bulk("Ar", "fcc", a=5.26, cubic=True).repeat((2, 2, 1))
# velocities of about 40 K, kept by batchmd (the job gives this frame no temperature)
warm.set_velocities(rng.normal(0.0, 0.009, size=(len(warm), 3)))
warm.info["name"] = "Ar fcc with velocities"
frames.append(warm)

here = os.path.dirname(os.path.abspath(__file__))
ase.io.write(os.path.join(here, "noble_gases.xyz"), frames, format="extxyz")
print(f"wrote {len(frames)} structures, {sum(len(f) for f in frames)} atoms")
