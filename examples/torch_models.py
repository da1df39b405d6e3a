#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the TorchScript model of examples/torch_argon.toml.

    python3 examples/torch_models.py [OUT_DIR]      (default: this folder)

torch_argon.pt is Lennard-Jones argon written in PyTorch (epsilon 0.0104 eV, sigma 3.40 Å,
cutoff 8.5 Å, energy shifted to zero at the cutoff: the parameters of examples/argon.toml) in
batchmd's batched calling convention (docs/torchscript.md): forward() takes the batch as a dict
of tensors and returns per-system energies; batchmd takes forces and the virial by autograd.
Any model written this way — a GNN, a descriptor model — runs the same; the file is generated
rather than committed so that it always matches the installed libtorch.
"""
import os
import sys
from typing import Dict

import torch


class ArgonLJ(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.cutoff = 8.5  # Å: batchmd builds the edges up to this distance
        self.epsilon = 0.0104  # eV
        self.sigma = 3.40  # Å
        self.register_buffer("atomic_numbers", torch.tensor([18]))  # the elements it covers
        sr6 = (self.sigma / self.cutoff) ** 6
        self.e_cut = 4.0 * self.epsilon * (sr6 * sr6 - sr6)

    def forward(self, data: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        pos, edges = data["positions"], data["edge_index"]
        # r_ij = x_j - x_i + shift: edges run from edge_index[0] (i) to edge_index[1] (j), each
        # pair in both directions, periodic images through the shifts (Å).
        r = pos[edges[1]] - pos[edges[0]] + data["shifts"]
        sr6 = (self.sigma * self.sigma / (r * r).sum(dim=1)) ** 3
        pair = 0.5 * (4.0 * self.epsilon * (sr6 * sr6 - sr6) - self.e_cut)  # half: both directions
        n_systems = data["ptr"].numel() - 1
        energy = torch.zeros(n_systems, dtype=pos.dtype, device=pos.device)
        return {"energy": energy.index_add(0, data["batch"][edges[0]], pair)}


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    torch.jit.script(ArgonLJ().double()).save(os.path.join(out, "torch_argon.pt"))
    print("wrote", os.path.join(out, "torch_argon.pt"))
