#!/usr/bin/python3
"""Measures statistics + SHA-256 of wide strided views against torch (issue 12: a wide transposed view was correct
but slow, gathered range by range).

  /usr/bin/python3 tools/views/measure_wide_transposed.py [--module PATH] [--rows N] [--work DIR]

Writes one checkpoint with a [N, 4] float32 stored transposed (x.t().contiguous().t(), strides (1, N)) and a
[4, N] view of a [N, 4] (strides (1, 4)), both wider than Limits.MaxGatherWindowBytes for the default N = 8M, then
runs Get-CkptTensor -Statistics -Hash in a fresh pwsh and compares every figure with torch's. Prints the cmdlet's
own time per tensor beside the time of a plain read of the file. Build the module first.
"""
import argparse
import hashlib
import os
import subprocess
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--module", default=os.path.join(REPO, "out", "LightningCkpt"))
    ap.add_argument("--rows", type=int, default=8 << 20)
    ap.add_argument("--work", default="/tmp/safety2")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    path = os.path.join(a.work, "wide_transposed.pt")
    g = torch.Generator().manual_seed(12)
    base = torch.randn(a.rows, 4, generator=g)
    views = {"transposed": base.t().contiguous().t(), "wide": torch.randn(a.rows, 4, generator=g).t()}
    torch.save(views, path)
    truth = {}
    for k, v in views.items():
        d = v.double()
        truth[k] = dict(sha=hashlib.sha256(v.contiguous().numpy().tobytes()).hexdigest(), min=d.min().item(),
                        max=d.max().item(), mean=d.mean().item(), std=d.std().item(), stride=v.stride())
    t0 = time.time()
    with open(path, "rb") as f:
        while f.read(4 << 20):
            pass
    read = time.time() - t0
    script = (f"Import-Module '{a.module}'; $null = Get-CkptTensor -LiteralPath '{path}' -Name transposed; "
              f"foreach ($n in 'transposed', 'wide') {{ $sw = [Diagnostics.Stopwatch]::StartNew(); "
              f"$t = Get-CkptTensor -LiteralPath '{path}' -Name $n -Statistics -Hash; "
              f"'{{0}} {{1}} {{2:R}} {{3:R}} {{4:R}} {{5:R}} {{6}}' -f $n, $t.Sha256, $t.Min, $t.Max, $t.Mean, $t.Std, $sw.Elapsed.TotalSeconds }}")
    r = subprocess.run(["/tmp/pwshtool/pwsh", "-NoProfile", "-NonInteractive", "-Command", script], capture_output=True, text=True)
    if r.returncode != 0 or r.stderr.strip():
        print(r.stdout, r.stderr)
        return 1
    print(f"file {os.path.getsize(path) / 1e6:.0f} MB, plain read {read:.2f} s; load {os.getloadavg()[0]:.1f}")
    ok = True
    for line in r.stdout.split("\n"):
        if not line.strip():
            continue
        name, sha, mn, mx, mean, std, secs = line.split()
        t = truth[name]
        same = sha.lower() == t["sha"] and float(mn) == t["min"] and float(mx) == t["max"] \
            and abs(float(mean) - t["mean"]) <= 1e-12 * max(1, abs(t["mean"])) and abs(float(std) - t["std"]) <= 1e-9 * t["std"]
        ok &= same
        print(f"{name:11} strides {t['stride']}: {float(secs):6.2f} s  {'matches torch' if same else 'DIFFERS from torch: ' + line}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
