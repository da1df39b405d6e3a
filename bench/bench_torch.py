#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The Python side of bench/torch_overhead.sh: the TorchScript module called directly from Python
(forward + autograd forces) on the inputs bench_torch saved, median of REPEATS calls after 2
warm-ups, in process CPU time (as bench_torch); with DEVICE cuda the inputs are moved to the GPU
once, the outputs copied into preallocated GPU tensors, and each call is timed in wall time up
to a device synchronisation.  usage: bench_torch.py MODEL.pt INPUTS.pt [REPEATS [DEVICE]]"""
import statistics
import sys
import time

import torch

device = sys.argv[4] if len(sys.argv) > 4 else "cpu"
cuda = device == "cuda"
model = torch.jit.load(sys.argv[1], map_location=device)
model.eval()
# weights_only=False: the inputs were saved here with type tags that PyTorch >= 2.6 refuses by default.
data = {k: v.to(device) for k, v in torch.load(sys.argv[2], weights_only=False).items()}
repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 10
energy = torch.zeros_like(data["ptr"][1:], dtype=data["positions"].dtype)
forces = torch.zeros_like(data["positions"])


def call():
    d = dict(data)
    x = d["positions"].detach().requires_grad_(True)
    d["positions"] = x
    e = model(d)["energy"]
    (g,) = torch.autograd.grad([e.sum()], [x])
    if cuda:
        energy.copy_(e.detach())
        forces.copy_(-g)
        return None
    return e.detach().numpy().copy(), (-g).numpy().copy()


def clock():
    if cuda:
        torch.cuda.synchronize()
        return time.perf_counter()
    return time.process_time()


for _ in range(2):
    call()
times = []
for _ in range(repeats):
    t0 = clock()
    call()
    times.append((clock() - t0) * 1e3)
print(f"direct_python_ms={statistics.median(times):.3f}")
