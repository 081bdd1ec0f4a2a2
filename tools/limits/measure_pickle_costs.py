#!/usr/bin/python3
"""Measures what hostile-but-small pickles cost the reader (issue 12: costs bounded by the file).

  /usr/bin/python3 tools/limits/measure_pickle_costs.py [--module PATH] [--keep DIR] [--only TEXT]

Writes each case as a torch-style zip into a temporary folder, runs Get-CkptInfo on it in a fresh pwsh under
/usr/bin/time -v and prints the whole pwsh's wall time, the Get-CkptInfo call's own time, peak resident memory (pwsh's own included), that peak minus the first
row's (a tiny checkpoint: pwsh + module, the reader's share is the difference) and the outcome. Build
the module first: pwsh ./build.ps1 -Task Build -Configuration Release. Nothing here unpickles anything.
"""
import argparse
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_MODULE = os.path.join(REPO, "out", "LightningCkpt")
PWSH = "/tmp/pwshtool/pwsh"
BASELINE = "tiny checkpoint (baseline: pwsh + module)"


def write_zip(path, pkl, deflate):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("archive/data.pkl", (1980, 1, 1, 0, 0, 0)), pkl,
                   compress_type=zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED)
        z.writestr(zipfile.ZipInfo("archive/version", (1980, 1, 1, 0, 0, 0)), b"3\n")


def small_lists(target_bytes, items_per_list):
    """[[k, k, …], …] at protocol 2 with every inner list memoized (LONG_BINPUT), as pickle writes it."""
    out = bytearray(b"\x80\x02]r\x00\x00\x00\x00")
    memo = 1
    unit_len = 1 + 5 + 1 + 2 * items_per_list + 1
    n = max(1, int((target_bytes - 16) // (unit_len + 2 / 1000)))
    done = 0
    while done < n:
        batch = min(1000, n - done)
        out += b"("
        for _ in range(batch):
            out += b"]r" + struct.pack("<I", memo) + b"(" + b"K\x07" * items_per_list + b"e"
            memo += 1
        out += b"e"
        done += batch
    out += b"."
    return bytes(out)


def deflated_bomb(compressed_target):
    """A data.pkl of NONE/POP pairs that deflates about 1000:1, sized to ~compressed_target compressed bytes."""
    body = b"\x80\x02" + b"N0" * (compressed_target * 1000 // 2) + b"N."
    return body


def cases():
    # the shell's own cost (pwsh, the module, one tiny read): the reader's share of each row is its peak minus this
    yield BASELINE, b"\x80\x02}q\x00.", False
    yield "96 MB pickle of small lists (1 item)", small_lists(96 << 20, 1), False
    yield "96 MB pickle of small lists (4 items)", small_lists(96 << 20, 4), False
    yield "1 MB deflated data.pkl (NONE/POP, ~1 GB inflated)", deflated_bomb(1 << 20), True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--module", default=DEFAULT_MODULE)
    ap.add_argument("--keep")
    ap.add_argument("--only", help="substring of the case names to run")
    a = ap.parse_args()
    folder = a.keep or tempfile.mkdtemp(prefix="lightningckpt-costs-")
    os.makedirs(folder, exist_ok=True)
    print(f"{'case':52} {'file':>9} {'pwsh':>7} {'call':>6} {'peak RSS':>9} {'- base':>8}  outcome")
    base_rss, base_wall = 0, 0.0
    for i, (name, pkl, deflate) in enumerate(cases()):
        if a.only and a.only not in name and name != BASELINE:
            continue
        path = os.path.join(folder, f"case{i}.pt")
        write_zip(path, pkl, deflate)
        del pkl
        size = os.path.getsize(path)
        t0 = time.time()
        script = (f"Import-Module '{a.module}'; $sw = [Diagnostics.Stopwatch]::StartNew(); "
                  f"$null = Get-CkptInfo -LiteralPath '{path}' -ErrorVariable ev -ErrorAction SilentlyContinue; "
                  f"'call: ' + $sw.Elapsed.TotalSeconds; if ($ev) {{ 'error: ' + $ev[0].Exception.Message; exit 1 }}")
        r = subprocess.run(["/usr/bin/time", "-v", PWSH, "-NoProfile", "-NonInteractive", "-Command", script], capture_output=True, text=True)
        wall = time.time() - t0
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1)) * 1024
        lines = [l for l in (r.stdout + r.stderr).splitlines() if l.startswith("error:")]
        call = next((float(l[6:]) for l in r.stdout.splitlines() if l.startswith("call: ")), float("nan"))
        outcome = "ok" if r.returncode == 0 else (lines[0][:110] if lines else f"exit {r.returncode}")
        if name == BASELINE:
            base_rss, base_wall = rss, wall
        print(f"{name:52} {size / 1e6:8.1f}M {wall:6.1f}s {call:5.2f}s {rss / 1e6:8.0f}M {(rss - base_rss) / 1e6:7.0f}M  {outcome[:90]}", flush=True)
        if not a.keep:
            os.remove(path)
    if not a.keep:
        os.rmdir(folder)


if __name__ == "__main__":
    sys.exit(main())
