#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/torch_lj.py: a straightforward batched PyTorch implementation of the model and MD that
bench_gpu_md runs (issue 5's PyTorch baseline): Lennard-Jones in LAMMPS in.lj units (sigma =
epsilon = m = 1, cutoff 2.5, skin 0.3, reduced density 0.8442, T* = 1.44), velocity Verlet with
dt = 0.005 tau, the same fcc systems (--case liquid: one box of 4*cells^3 atoms; --case batch:
--systems boxes of 2-4 cells per side, 64-256 atoms).

The idiomatic PyTorch way: a Verlet half list of (i, j, shift) pairs built on the GPU (batched
brute force over periodic images for small boxes, a vectorised cell list for the large liquid),
rebuilt when an atom moved more than skin/2 (one .item() per step); forces by gather, elementwise
math and index_add_. Prints atom-steps/s and the starting potential energy per atom (compare it
with bench_gpu_md's, an independent check of both codes).

  python3 bench/torch_lj.py --case batch --systems 4096 --steps 1000 [--dtype float32] [--check]
"""
import argparse
import math
import time

import torch

K_ACCEL = 9.648533212331e-3  # eV/(A amu) -> A/fs^2
K_B = 8.617333262e-5  # eV/K
SHAPES = [(2, 2, 4), (2, 3, 3), (2, 3, 4), (3, 3, 3), (2, 4, 4), (3, 3, 4), (3, 4, 4), (4, 4, 4)]
CUT, SKIN = 2.5, 0.3


def fcc_box(nx, ny, nz, dtype, dev):
    a = (4.0 / 0.8442) ** (1.0 / 3.0)
    basis = torch.tensor([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]], dtype=torch.float64)
    g = torch.stack(torch.meshgrid(torch.arange(nx), torch.arange(ny), torch.arange(nz), indexing="ij"), -1)
    pos = (g.reshape(-1, 1, 3).double() + basis[None]).reshape(-1, 3) * a
    box = torch.tensor([nx * a, ny * a, nz * a], dtype=torch.float64)
    return pos.to(dev, dtype), box.to(dev, dtype)


class Systems:
    def __init__(self, case, cells, systems, dtype, dev):
        shapes = [(cells, cells, cells)] if case == "liquid" else [SHAPES[s % 8] for s in range(systems)]
        self.groups = []  # (first system, count, atoms per system, box) of consecutive same-shape systems
        pos, boxes, counts = [], [], []
        by_shape = {}
        for s, sh in enumerate(shapes):
            by_shape.setdefault(sh, []).append(s)
        order = [s for sh in by_shape for s in by_shape[sh]]  # group equal shapes together
        first = 0
        for sh, members in by_shape.items():
            p, b = fcc_box(*sh, dtype, dev)
            n = p.shape[0]
            pos.append(p.repeat(len(members), 1))
            boxes.append(b.repeat(len(members), 1))
            counts += [n] * len(members)
            self.groups.append((first, len(members), n, b))
            first += len(members)
        del order
        self.x = torch.cat(pos)
        self.box = torch.cat(boxes)  # [S, 3]
        self.counts = torch.tensor(counts, device=dev)
        self.ptr = torch.zeros(len(counts) + 1, dtype=torch.long, device=dev)
        self.ptr[1:] = torch.cumsum(self.counts, 0)
        self.sys = torch.repeat_interleave(torch.arange(len(counts), device=dev), self.counts)
        self.n = self.x.shape[0]
        self.liquid = case == "liquid"


def pairs_brute_force(S, rcs, chunk_bytes=1 << 30):
    """Half list over explicit periodic images, batched over systems of one shape."""
    out_i, out_j, out_s = [], [], []
    dev, dt = S.x.device, S.x.dtype
    for first, count, n, box in S.groups:
        reach = [math.ceil(rcs / float(L)) for L in box]
        rng = [torch.arange(-r, r + 1, device=dev) for r in reach]
        img = torch.stack(torch.meshgrid(*rng, indexing="ij"), -1).reshape(-1, 3).to(dt)  # [K,3]
        shifts = img * box[None]
        K = shifts.shape[0]
        positive = (img[:, 0] > 0) | ((img[:, 0] == 0) & (img[:, 1] > 0)) | ((img[:, 0] == 0) & (img[:, 1] == 0) & (img[:, 2] > 0))
        a0 = int(S.ptr[first])
        xs = S.x[a0:a0 + count * n].reshape(count, n, 3)
        per_sys = n * n * K * 3 * xs.element_size() * 3
        step = max(1, chunk_bytes // per_sys)
        ii = torch.arange(n, device=dev)
        upper = ii[:, None] < ii[None, :]
        same = ii[:, None] == ii[None, :]
        for c0 in range(0, count, step):
            xc = xs[c0:c0 + step]
            r = xc[:, None, :, None, :] - xc[:, :, None, None, :] + shifts[None, None, None]  # [C,n,n,K,3]
            close = (r * r).sum(-1) < rcs * rcs
            # each unordered pair once: i < j with any image; an atom and its own image only for
            # the "positive" half of the images (k and -k are the same pair)
            keep = close & (upper[None, :, :, None] | (same[None, :, :, None] & positive[None, None, None]))
            c, i, j, k = keep.nonzero(as_tuple=True)
            base = a0 + (c0 + c) * n
            out_i.append(base + i)
            out_j.append(base + j)
            out_s.append(shifts[k])
    return torch.cat(out_i), torch.cat(out_j), torch.cat(out_s)


def pairs_cell_list(S, rcs, chunk=1 << 16):
    """Half list of one large periodic orthorhombic box with a vectorised cell list."""
    dev, dt = S.x.device, S.x.dtype
    box = S.box[0]
    nc = torch.clamp((box / rcs).floor().long(), min=3)
    x = S.x - torch.floor(S.x / box) * box
    c3 = torch.minimum((x / box * nc).long(), nc - 1)
    cid = (c3[:, 0] * nc[1] + c3[:, 1]) * nc[2] + c3[:, 2]
    ncell = int(nc.prod())
    order = torch.argsort(cid)
    counts = torch.bincount(cid, minlength=ncell)
    maxocc = int(counts.max())
    start = torch.zeros(ncell, dtype=torch.long, device=dev)
    start[1:] = torch.cumsum(counts, 0)[:-1]
    rank = torch.arange(S.n, device=dev) - start[cid[order]]
    table = torch.full((ncell, maxocc), -1, dtype=torch.long, device=dev)
    table[cid[order], rank] = order
    off = torch.stack(torch.meshgrid(*[torch.arange(-1, 2, device=dev)] * 3, indexing="ij"), -1).reshape(-1, 3)
    out_i, out_j, out_s = [], [], []
    for a0 in range(0, S.n, chunk):
        ia = torch.arange(a0, min(a0 + chunk, S.n), device=dev)
        nb = (c3[ia][:, None, :] + off[None]) % nc  # [A,27,3]
        ncid = (nb[..., 0] * nc[1] + nb[..., 1]) * nc[2] + nb[..., 2]
        cand = table[ncid].reshape(len(ia), -1)  # [A, 27*maxocc]
        valid = cand > ia[:, None]
        cj = cand.clamp(min=0)
        r = x[cj] - x[ia][:, None, :]
        img = -torch.round(r / box)
        r = r + img * box
        valid &= (r * r).sum(-1) < rcs * rcs
        a, b = valid.nonzero(as_tuple=True)
        i, j = ia[a], cj[a, b]
        out_i.append(i)
        out_j.append(j)
        # separation x_j - x_i + shift with the caller's (unwrapped) positions
        out_s.append((x[j] - x[i] + img[a, b] * box) - (S.x[j] - S.x[i]))
    return torch.cat(out_i), torch.cat(out_j), torch.cat(out_s)


def lj_forces(S, i, j, shift):
    r = S.x[j] - S.x[i] + shift
    r2 = (r * r).sum(1)
    inside = r2 < CUT * CUT
    inv2 = torch.where(inside, 1.0 / r2, torch.zeros_like(r2))
    inv6 = inv2 * inv2 * inv2
    fpair = 24.0 * inv6 * (2.0 * inv6 - 1.0) * inv2  # force on j = fpair * r
    e = 4.0 * inv6 * (inv6 - 1.0)
    fv = fpair[:, None] * r
    f = torch.zeros_like(S.x).index_add_(0, j, fv).index_add_(0, i, -fv)
    # per-system energies summed in float64: a float32 sum over a million atoms drifts by percents
    energy = torch.zeros(S.counts.shape[0], dtype=torch.float64, device=S.x.device).index_add_(0, S.sys[i], e.double())
    return f, energy


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", choices=["batch", "liquid"], default="batch")
    ap.add_argument("--cells", type=int, default=63)
    ap.add_argument("--systems", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--check", action="store_true", help="compare the half list with brute force on a small case")
    a = ap.parse_args()
    dev = torch.device("cuda")
    dt_ = getattr(torch, a.dtype)
    S = Systems(a.case, a.cells, a.systems, dt_, dev)
    rcs = CUT + SKIN
    build = pairs_cell_list if S.liquid else pairs_brute_force
    if a.check:
        Sb = Systems("liquid", 7, 1, torch.float64, dev)  # 1,372 atoms, 4 cells per side
        e_cell = lj_forces(Sb, *pairs_cell_list(Sb, rcs))[1]
        e_bf = lj_forces(Sb, *pairs_brute_force(Sb, rcs))[1]
        print(f"check: cell list {float(e_cell.sum()):.10f} brute force {float(e_bf.sum()):.10f} eV")
        assert torch.allclose(e_cell, e_bf, rtol=1e-10), "cell list and brute force disagree"
    torch.manual_seed(87287)
    m = torch.ones(S.n, dtype=dt_, device=dev)
    kT = 1.44
    v = torch.randn(S.n, 3, dtype=dt_, device=dev) * math.sqrt(kT * K_ACCEL)
    i, j, sh = build(S, rcs)
    f, energy = lj_forces(S, i, j, sh)
    print(f"torch_lj case={a.case} dtype={a.dtype} systems={S.counts.shape[0]} atoms={S.n} pairs={i.numel()}")
    print(f"potential_energy_per_atom_start {float(energy.sum()) / S.n:.8f}")
    dt = 0.005 * math.sqrt(1.0 / K_ACCEL)
    h = 0.5 * dt * K_ACCEL
    builds = 1
    x_ref = S.x.clone()

    def step():
        nonlocal f, i, j, sh, x_ref, builds
        v.add_(h * f / m[:, None])
        S.x.add_(dt * v)
        if float(((S.x - x_ref) ** 2).sum(1).max()) > (0.5 * SKIN) ** 2:  # the one sync per step
            i, j, sh = build(S, rcs)
            x_ref = S.x.clone()
            builds += 1
        f, _ = lj_forces(S, i, j, sh)
        v.add_(h * f / m[:, None])

    for _ in range(a.warmup):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    b0 = builds
    for _ in range(a.steps):
        step()
    torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    print(f"gpu {torch.cuda.get_device_name()}")
    print(f"loop_time_s {secs:.4f}")
    print(f"atom_steps_per_s {S.n * a.steps / secs:.4g}")
    print(f"neighbor_builds {builds - b0}")
    print(f"peak_gpu_memory_gb {torch.cuda.max_memory_allocated() / 1e9:.2f}")


if __name__ == "__main__":
    main()
