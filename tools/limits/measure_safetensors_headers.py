#!/usr/bin/python3
"""Measures what hostile safetensors headers within the format's 100 MB limit cost the reader (issue 25 item 5).

  /usr/bin/python3 tools/limits/measure_safetensors_headers.py [--module LABEL=PATH[:raise]]... [--reference] [--keep DIR]

Writes two headers just under 100,000,000 bytes (1.66 M zero-size tensors; one metadata string) and a tiny file as the
baseline, then for each module runs Get-CkptInfo on each file in a fresh pwsh under /usr/bin/time -v and prints the
wall time of the pwsh, the call's own time, the peak resident memory and that peak minus the baseline's (the
reader's share). ':raise' first sets [LightningCkpt.Limits]::MaxSafetensorsHeaderBytes = 100000000, so a module with
the lower default limit parses the whole header instead of refusing it. --reference also times the safetensors
package (safe_open, keys, metadata) in the torch 2.x chroot, the reference reader. Build the module first.
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LIMIT = 100_000_000


def write(path, header: bytes, data=b""):
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        f.write(data)


def zero_size_tensors(path):
    entry = '"t{}":{{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}'
    parts, size, i = [], 2, 0
    while True:
        e = entry.format(i)
        if size + len(e) + 1 > LIMIT:
            break
        parts.append(e)
        size += len(e) + 1
        i += 1
    write(path, ("{" + ",".join(parts) + "}").encode())
    return i


def one_metadata_string(path):
    head = '{"__metadata__":{"notes":"'
    tail = '"}}'
    write(path, (head + "a" * (LIMIT - len(head) - len(tail)) + tail).encode())


def tiny(path):
    write(path, json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode(), b"\0" * 4)


def run(cmd, cwd):
    t0 = time.time()
    r = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, cwd=cwd)
    wall = time.time() - t0
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1)) * 1024
    return r, wall, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--module", action="append", default=[], help="LABEL=PATH to the built module folder, ':raise' to lift the limit")
    ap.add_argument("--reference", action="store_true")
    ap.add_argument("--keep")
    a = ap.parse_args()
    modules = a.module or [f"this={os.path.join(REPO, 'out', 'LightningCkpt')}"]
    folder = a.keep or tempfile.mkdtemp(prefix="lightningckpt-sthdr-")
    os.makedirs(folder, exist_ok=True)
    files = [("tiny (baseline)", os.path.join(folder, "tiny.safetensors"))]
    tiny(files[0][1])
    files.append((f"{zero_size_tensors(os.path.join(folder, 'zero.safetensors')):,} zero-size tensors", os.path.join(folder, "zero.safetensors")))
    one_metadata_string(os.path.join(folder, "meta.safetensors"))
    files.append(("one 100 MB metadata string", os.path.join(folder, "meta.safetensors")))
    print(f"{'reader':28} {'case':32} {'pwsh':>7} {'call':>7} {'peak RSS':>9} {'- base':>8}  outcome")
    for spec in modules:
        label, _, rest = spec.partition("=")
        raise_ = rest.endswith(":raise")
        path = rest[:-len(":raise")] if raise_ else rest
        base = 0
        for name, f in files:
            pre = f"[LightningCkpt.Limits]::MaxSafetensorsHeaderBytes = {LIMIT}; " if raise_ else ""
            script = (f"$ErrorActionPreference = 'Stop'; Import-Module '{path}'; {pre}$sw = [Diagnostics.Stopwatch]::StartNew(); "
                      f"$null = Get-CkptInfo -LiteralPath '{f}' -ErrorVariable ev -ErrorAction SilentlyContinue; "
                      f"'call: ' + $sw.Elapsed.TotalSeconds; if ($ev) {{ 'error: ' + $ev[0].FullyQualifiedErrorId + ' ' + $ev[0].Exception.Message; exit 1 }}")
            r, wall, rss = run(["dotnet", "pwsh", "-NoProfile", "-NonInteractive", "-Command", script], REPO)
            call = next((float(l[6:]) for l in r.stdout.splitlines() if l.startswith("call: ")), float("nan"))
            err = [l for l in r.stdout.splitlines() if l.startswith("error:")]
            outcome = "ok" if r.returncode == 0 else (err[0][7:] if err else f"exit {r.returncode}: {r.stderr[-200:]}")
            if name.startswith("tiny"):
                base = rss
            print(f"{label + (' (limit raised)' if raise_ else ''):28} {name:32} {wall:6.1f}s {call:6.2f}s {rss / 1e6:8.0f}M {(rss - base) / 1e6:7.0f}M  {outcome[:100]}", flush=True)
    if a.reference:
        base = 0
        for name, f in files:
            code = f"from safetensors import safe_open\nwith safe_open({f!r}, 'pt') as s:\n    n = len(list(s.keys())); m = s.metadata()\nprint(n)"
            r, wall, rss = run(["bash", os.path.join(REPO, "tools", "torch2", "python.sh"), "-c", code], REPO)
            if name.startswith("tiny"):
                base = rss
            outcome = "ok" if r.returncode == 0 else r.stderr.strip().splitlines()[-1][:100]
            print(f"{'safetensors (Rust, python)':28} {name:32} {wall:6.1f}s {'':>7} {rss / 1e6:8.0f}M {(rss - base) / 1e6:7.0f}M  {outcome}", flush=True)
    if not a.keep:
        for _, f in files:
            os.remove(f)
        os.rmdir(folder)


if __name__ == "__main__":
    sys.exit(main())
