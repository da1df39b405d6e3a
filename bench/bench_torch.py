#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The Python side of bench/torch_overhead.sh: the TorchScript module called directly from Python
(forward + autograd forces) on the inputs bench_torch saved, median of REPEATS calls after 2
warm-ups, in process CPU time (as bench_torch).  usage: bench_torch.py MODEL.pt INPUTS.pt [REPEATS]"""
import statistics
import sys
import time

import torch

model = torch.jit.load(sys.argv[1])
model.eval()
data = torch.load(sys.argv[2])
repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 10


def call():
    d = dict(data)
    x = d["positions"].detach().requires_grad_(True)
    d["positions"] = x
    e = model(d)["energy"]
    (g,) = torch.autograd.grad([e.sum()], [x])
    return e.detach().numpy().copy(), (-g).numpy().copy()


for _ in range(2):
    call()
times = []
for _ in range(repeats):
    t0 = time.process_time()
    call()
    times.append((time.process_time() - t0) * 1e3)
print(f"direct_python_ms={statistics.median(times):.3f}")
