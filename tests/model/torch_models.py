#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""TorchScript models for batchmd's tests, written at test time with Debian's python3-torch, and
the Python-side reference evaluation of a model.

  torch_models.py write DIR           every model below as DIR/<name>.pt
  torch_models.py mace-ref MODEL IN OUT
      evaluates a mace-lammps module in Python on the structures of IN (JSON: positions, numbers,
      cell, pbc per system), with edges from a brute-force search over periodic images (no
      batchmd code involved), one call for all systems, and writes energies, forces, virials.

Models (float64 unless named _f32):
  lj            Lennard-Jones in the batched convention, energy only (forces and virial by
                batchmd's autograd); attributes cutoff, epsilon, sigma
  manybody      a small neural many-body model (radial features -> MLP, fixed random weights),
                batched convention, energy only; attributes cutoff, atomic_numbers
  manybody_forces  the same weights, returning its own forces and virial (autograd inside)
  mace          a MACE-like message-passing model in the mace-lammps convention (the module
                MACE's create_lammps_model writes: same signature, input keys, outputs, buffers)
  bad_*         broken modules for the error tests
"""
import json
import math
import sys
from typing import Dict, List, Optional

import torch

torch.set_default_dtype(torch.float64)

LJ_EPS, LJ_SIGMA, LJ_CUT = 0.0104, 3.40, 8.5


class LJ(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.cutoff = LJ_CUT
        self.epsilon = LJ_EPS
        self.sigma = LJ_SIGMA

    def forward(self, data: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        pos, ei, batch = data["positions"], data["edge_index"], data["batch"]
        r = pos[ei[1]] - pos[ei[0]] + data["shifts"]
        d2 = (r * r).sum(dim=1)
        s6 = (self.sigma * self.sigma / d2) ** 3
        e_edge = 2.0 * self.epsilon * (s6 * s6 - s6)  # each pair appears twice in the full list
        n_sys = data["ptr"].numel() - 1
        energy = torch.zeros(n_sys, dtype=pos.dtype, device=pos.device).index_add(0, batch[ei[0]], e_edge)
        return {"energy": energy}


def cosine_cutoff(d: torch.Tensor, rc: float) -> torch.Tensor:
    return 0.5 * (torch.cos(math.pi * d / rc) + 1.0) * (d < rc).to(d.dtype)


class ManyBody(torch.nn.Module):
    """E = sum_i MLP_{species i}(G_i) + Born-Mayer repulsion, G_i,k = sum_j w_{s_j} exp(-eta_k (r_ij - mu_k)^2) fc(r_ij)."""

    def __init__(self, elements: List[int], return_forces: bool, seed: int = 7):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        nf, nh = 6, 8
        self.cutoff = 5.0
        self.register_buffer("atomic_numbers", torch.tensor(elements, dtype=torch.int64))
        self.mu = torch.nn.Parameter(torch.linspace(1.0, 4.5, nf), requires_grad=False)
        self.eta = torch.nn.Parameter(torch.full((nf,), 2.0), requires_grad=False)
        ns = len(elements)
        self.wsp = torch.nn.Parameter(0.5 + torch.rand(ns, generator=g), requires_grad=False)
        self.w1 = torch.nn.Parameter(0.5 * torch.randn(ns, nf, nh, generator=g), requires_grad=False)
        self.b1 = torch.nn.Parameter(0.1 * torch.randn(ns, nh, generator=g), requires_grad=False)
        self.w2 = torch.nn.Parameter(0.2 * torch.randn(ns, nh, generator=g), requires_grad=False)
        self.return_forces = return_forces

    def species(self, z: torch.Tensor) -> torch.Tensor:
        return (z.unsqueeze(1) == self.atomic_numbers.unsqueeze(0)).to(torch.int64).argmax(dim=1)

    def forward(self, data: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        pos, ei, batch = data["positions"], data["edge_index"], data["batch"]
        shifts = data["shifts"]
        if self.return_forces:
            pos = pos.detach().requires_grad_(True)
            shifts = shifts.detach().requires_grad_(True)
        sp = self.species(data["atomic_numbers"])
        r = pos[ei[1]] - pos[ei[0]] + shifts
        d = torch.sqrt((r * r).sum(dim=1))
        radial = torch.exp(-self.eta * (d.unsqueeze(1) - self.mu) ** 2) * cosine_cutoff(d, self.cutoff).unsqueeze(1)
        radial = radial * self.wsp[sp[ei[1]]].unsqueeze(1)
        feats = torch.zeros(pos.shape[0], self.mu.numel(), dtype=pos.dtype, device=pos.device).index_add(0, ei[0], radial)
        h = torch.tanh(torch.bmm(feats.unsqueeze(1), self.w1[sp]).squeeze(1) + self.b1[sp])
        e_atom = (h * self.w2[sp]).sum(dim=1)
        # a Born-Mayer core keeps atoms apart in dynamics
        rep = 0.5 * 1000.0 * torch.exp(-d / 0.3) * cosine_cutoff(d, self.cutoff)
        e_atom = e_atom.index_add(0, ei[0], rep)
        n_sys = data["ptr"].numel() - 1
        energy = torch.zeros(n_sys, dtype=pos.dtype, device=pos.device).index_add(0, batch, e_atom)
        out = {"energy": energy}
        if self.return_forces:
            # dE/dx from positions; the virial from the edge vectors: W = -sum_edges r (x) dE/dr,
            # where dE/dr = dE/d(shift) (the shift enters r with unit weight).
            gx, gs = torch.autograd.grad([energy.sum()], [pos, shifts])
            assert gx is not None and gs is not None
            out["forces"] = -gx
            w = -(r.detach().unsqueeze(2) * gs.unsqueeze(1))
            out["virial"] = torch.zeros(n_sys, 3, 3, dtype=pos.dtype, device=pos.device).index_add(0, batch[ei[0]], w)
        return out


class MaceLike(torch.nn.Module):
    """The inner model: MACE's interface (node_attrs one-hot, positions, edge_index, shifts,
    unit_shifts, cell, batch, ptr; symmetric displacement for virials) with a small invariant
    message-passing network inside."""

    def __init__(self, elements: List[int], r_max: float, seed: int = 11):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        ns, nr, nh = len(elements), 8, 12
        self.register_buffer("atomic_numbers", torch.tensor(elements, dtype=torch.int64))
        self.register_buffer("r_max", torch.tensor(r_max))
        self.register_buffer("num_interactions", torch.tensor(2, dtype=torch.int64))
        self.n_rad = nr
        self.embed = torch.nn.Parameter(torch.randn(ns, nh, generator=g) * 0.5)
        self.rad_w = torch.nn.Parameter(torch.randn(2, nr, nh, generator=g) * 0.3)
        self.upd_w = torch.nn.Parameter(torch.randn(2, nh, nh, generator=g) * 0.3)
        self.readout = torch.nn.Parameter(torch.randn(2, nh, generator=g) * 0.2)
        self.e0 = torch.nn.Parameter(torch.randn(ns, generator=g) * 0.1)

    def forward(self, data: Dict[str, torch.Tensor], compute_displacement: bool) -> Dict[str, Optional[torch.Tensor]]:
        data["positions"].requires_grad_(True)
        positions, cell, batch = data["positions"], data["cell"], data["batch"]
        ei = data["edge_index"]
        num_graphs = data["ptr"].numel() - 1
        displacement: Optional[torch.Tensor] = None
        shifts = data["shifts"]
        if compute_displacement:
            disp = torch.zeros(num_graphs, 3, 3, dtype=positions.dtype, device=positions.device)
            disp.requires_grad_(True)
            sym = 0.5 * (disp + disp.transpose(-1, -2))
            positions = positions + torch.einsum("be,bec->bc", positions, sym[batch])
            c = cell.view(-1, 3, 3)
            c = c + torch.matmul(c, sym)
            shifts = torch.einsum("be,bec->bc", data["unit_shifts"], c[batch[ei[0]]])
            data["positions"] = positions
            displacement = disp
        vec = positions[ei[1]] - positions[ei[0]] + shifts
        d = torch.sqrt((vec * vec).sum(dim=1))
        n = torch.arange(1, self.n_rad + 1, dtype=d.dtype, device=d.device)
        rc = self.r_max
        bessel = math.sqrt(2.0 / float(rc)) * torch.sin(n * math.pi * d.unsqueeze(1) / rc) / d.unsqueeze(1)
        fc = cosine_cutoff(d, float(rc)).unsqueeze(1)
        radial = bessel * fc
        attrs = data["node_attrs"]
        h = attrs @ self.embed
        node_energy = attrs @ self.e0
        for layer in range(2):
            msg = (radial @ self.rad_w[layer]) * h[ei[1]]
            agg = torch.zeros_like(h).index_add(0, ei[0], msg)
            h = torch.tanh(agg @ self.upd_w[layer]) + h
            node_energy = node_energy + h @ self.readout[layer]
        return {"node_energy": node_energy, "displacement": displacement}


class LammpsMaceLike(torch.nn.Module):
    """Wrapper with the signature, buffers and outputs of MACE's LAMMPS_MACE."""

    def __init__(self, model: MaceLike):
        super().__init__()
        self.model = model
        self.register_buffer("atomic_numbers", model.atomic_numbers)
        self.register_buffer("r_max", model.r_max)
        self.register_buffer("num_interactions", model.num_interactions)
        for p in self.model.parameters():
            p.requires_grad = False

    def forward(
        self, data: Dict[str, torch.Tensor], local_or_ghost: torch.Tensor, compute_virials: bool = False
    ) -> Dict[str, Optional[torch.Tensor]]:
        num_graphs = data["ptr"].numel() - 1
        out = self.model(data, compute_virials)
        node_energy = out["node_energy"]
        assert node_energy is not None
        positions = data["positions"]
        displacement = out["displacement"]
        virials: Optional[torch.Tensor] = torch.zeros_like(data["cell"])
        e_local = torch.zeros(num_graphs, dtype=node_energy.dtype, device=node_energy.device).index_add(
            0, data["batch"], node_energy * local_or_ghost
        )
        go: List[Optional[torch.Tensor]] = [torch.ones_like(e_local)]
        if compute_virials and displacement is not None:
            f, v = torch.autograd.grad([e_local], [positions, displacement], grad_outputs=go, allow_unused=True)
            forces = -f if f is not None else torch.zeros_like(positions)
            virials = -v if v is not None else torch.zeros_like(displacement)
        else:
            f = torch.autograd.grad([e_local], [positions], grad_outputs=go, allow_unused=True)[0]
            forces = -f if f is not None else torch.zeros_like(positions)
        return {"total_energy_local": e_local, "node_energy": node_energy, "forces": forces, "virials": virials}


class BadSignature(torch.nn.Module):
    def forward(self, positions: torch.Tensor) -> Dict[str, torch.Tensor]:
        return {"energy": positions.sum().unsqueeze(0)}


class BadOutputs(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.cutoff = 4.0

    def forward(self, data: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return {"e": data["positions"].sum().unsqueeze(0)}


class BadShape(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.cutoff = 4.0

    def forward(self, data: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        n = data["ptr"].numel() - 1
        return {"energy": torch.zeros(n, 2, dtype=data["positions"].dtype, device=data["positions"].device), "forces": data["positions"] * 0.0}


class NaNOutput(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.cutoff = 4.0

    def forward(self, data: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        n = data["ptr"].numel() - 1
        e = torch.full((n,), float("nan"), dtype=data["positions"].dtype, device=data["positions"].device)
        return {"energy": e, "forces": data["positions"] * 0.0}


class NoCutoff(torch.nn.Module):
    def forward(self, data: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return {"energy": (data["positions"] ** 2).sum().unsqueeze(0)}


def write(out_dir: str) -> None:
    models = {
        "lj": LJ(),
        "manybody": ManyBody([18, 29], return_forces=False),
        "manybody_forces": ManyBody([18, 29], return_forces=True),
        "mace": LammpsMaceLike(MaceLike([1, 8, 29], r_max=4.5)),
        "bad_signature": BadSignature(),
        "bad_outputs": BadOutputs(),
        "bad_shape": BadShape(),
        "bad_nan": NaNOutput(),
        "no_cutoff": NoCutoff(),
    }
    models["manybody_f32"] = ManyBody([18, 29], return_forces=False).float()
    for name, m in models.items():
        torch.jit.script(m).save(f"{out_dir}/{name}.pt")


def brute_force_edges(pos, cell, pbc, rc):
    """Every (i, j, image) with 0 < |x_j + image.cell - x_i| < rc, by looping over images."""
    # open directions get an orthonormal completion, only to size the image search
    full = cell.clone()
    for d in range(3):
        if not pbc[d] or float(torch.linalg.norm(full[d])) == 0.0:
            full[d] = torch.zeros(3)
    for d in range(3):
        if float(torch.linalg.norm(full[d])) == 0.0:
            a, b = full[(d + 1) % 3], full[(d + 2) % 3]
            n = torch.linalg.cross(a, b)
            if float(torch.linalg.norm(n)) == 0.0:
                n = torch.eye(3)[d] if float(torch.linalg.norm(a)) == 0.0 else torch.linalg.cross(a, torch.eye(3)[(d + 1) % 3])
                if float(torch.linalg.norm(n)) == 0.0:
                    n = torch.linalg.cross(a, torch.eye(3)[(d + 2) % 3])
            full[d] = n / torch.linalg.norm(n)
    reach = []
    for d in range(3):
        if not pbc[d]:
            reach.append(0)
            continue
        a, b = full[(d + 1) % 3], full[(d + 2) % 3]
        nrm = torch.linalg.cross(a, b)
        h = abs(float(torch.dot(full[d], nrm))) / float(torch.linalg.norm(nrm))
        reach.append(int(math.ceil(rc / h)) + 1)
    ii, jj, img = [], [], []
    n = pos.shape[0]
    for a in range(-reach[0], reach[0] + 1):
        for b in range(-reach[1], reach[1] + 1):
            for c in range(-reach[2], reach[2] + 1):
                s = torch.tensor([a, b, c], dtype=pos.dtype)
                shift = s @ cell
                r = pos.unsqueeze(0) - pos.unsqueeze(1) + shift  # [i, j]
                d = torch.linalg.norm(r, dim=2)
                m = (d < rc) & (d > 1e-10)
                i, j = torch.nonzero(m, as_tuple=True)
                ii.append(i)
                jj.append(j)
                img.append(s.repeat(i.numel(), 1))
    return torch.cat(ii), torch.cat(jj), torch.cat(img)


def mace_ref(model_path: str, in_path: str, out_path: str) -> None:
    model = torch.jit.load(model_path)
    systems = json.load(open(in_path))
    rc = float(model.r_max)
    elements = model.atomic_numbers.tolist()
    pos_l, attr_l, cell_l, ei_l, us_l, sh_l, batch_l, ptr = [], [], [], [], [], [], [], [0]
    for k, s in enumerate(systems):
        pos = torch.tensor(s["positions"]).view(-1, 3)
        cell = torch.tensor(s["cell"]).view(3, 3)
        i, j, img = brute_force_edges(pos, cell, s["pbc"], rc)
        base = ptr[-1]
        ei_l.append(torch.stack([i + base, j + base]))
        us_l.append(img)
        sh_l.append(img @ cell)
        pos_l.append(pos)
        attr_l.append(torch.nn.functional.one_hot(
            torch.tensor([elements.index(z) for z in s["numbers"]]), len(elements)).to(torch.float64))
        cell_l.append(cell)
        batch_l.append(torch.full((pos.shape[0],), k, dtype=torch.int64))
        ptr.append(base + pos.shape[0])
    n = ptr[-1]
    data = {
        "positions": torch.cat(pos_l), "node_attrs": torch.cat(attr_l), "cell": torch.stack(cell_l),
        "edge_index": torch.cat(ei_l, dim=1), "unit_shifts": torch.cat(us_l), "shifts": torch.cat(sh_l),
        "batch": torch.cat(batch_l), "ptr": torch.tensor(ptr), "energy": torch.zeros(len(systems)),
        "forces": torch.zeros(n, 3), "weight": torch.ones(len(systems)),
    }
    out = model(data, torch.ones(n, dtype=torch.bool), True)
    json.dump({
        "energy": out["total_energy_local"].tolist(),
        "forces": out["forces"].reshape(-1).tolist(),
        "virial": out["virials"].reshape(-1).tolist(),
        "edges": int(data["edge_index"].shape[1]),
    }, open(out_path, "w"))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "mace-ref":
        mace_ref(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
