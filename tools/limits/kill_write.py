#!/usr/bin/python3
"""kill -9 a large Select-CkptWeights write at five moments (issue 12).

  /usr/bin/python3 tools/limits/kill_write.py [--mb 256] [--work DIR]

Needs the built module (pwsh ./build.ps1 -Task Build -Configuration Release) and /tmp/pwshtool/pwsh. For each
moment it starts a write of a large torch-made checkpoint over an existing target, kills the pwsh process with
SIGKILL at that moment, then checks: the input is byte-identical, the target holds its old content or the complete
new file (never a partial one), and after the next write into the same folder no temporary file is left.
"""
import argparse
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PWSH = "/tmp/pwshtool/pwsh"
MODULE = os.path.join(REPO, "out", "LightningCkpt")
STALE_AGE = 5.5  # TempFiles.StaleAge is 5 s


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def temps(folder):
    return sorted(n for n in os.listdir(folder) if n.startswith(".") and ".lckpt-" in n and n.endswith(".tmp"))


def select(inp, out, extra=""):
    cmd = (f"Import-Module '{MODULE}'; Select-CkptWeights -LiteralPath '{inp}' -OutFile '{out}' -Force -DType float16 {extra}"
           "; if (-not $?) { exit 3 }")
    return subprocess.Popen([PWSH, "-NoProfile", "-NonInteractive", "-Command", cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=256)
    ap.add_argument("--work")
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="lightningckpt-kill-")
    os.makedirs(work, exist_ok=True)
    inp = os.path.join(work, "input.ckpt")
    if not os.path.exists(inp):
        subprocess.run(["/usr/bin/python3", "-c", f"""
import torch
torch.manual_seed(0)
n = {a.mb} * 2**20 // 4 // 8
torch.save({{'epoch': 1, 'global_step': 2, 'pytorch-lightning_version': '2.1.3',
            'state_dict': {{f'model.layer{{i}}.weight': torch.randn(n) for i in range(8)}}}}, {inp!r})
"""], check=True)
    in_hash = sha(inp)
    out = os.path.join(work, "out.ckpt")
    old = b"previous content of the target\n"

    # an uninterrupted write: how long it takes and what the finished target is
    with open(out, "wb") as f:
        f.write(old)
    t0 = time.time()
    p = select(inp, out)
    _, err = p.communicate()
    full = time.time() - t0
    assert p.returncode == 0, err.decode()
    new_hash = sha(out)
    print(f"input {os.path.getsize(inp) / 1e6:.0f} MB; an uninterrupted write takes {full:.1f} s (pwsh start included)")

    ok = True
    for k in range(5):
        moment = full * (k + 1) / 6
        with open(out, "wb") as f:
            f.write(old)
        p = select(inp, out)
        time.sleep(moment)
        p.send_signal(signal.SIGKILL)
        p.wait()
        left = temps(work)
        with open(out, "rb") as f:
            head = f.read(len(old) + 1)
        target = "old" if head == old else ("new" if sha(out) == new_hash else "DAMAGED")
        input_ok = sha(inp) == in_hash
        # the next write into the same folder, once the killed writer's temporary file is older than the stale age
        time.sleep(STALE_AGE)
        q = select(inp, os.path.join(work, "next.ckpt"))
        q.communicate()
        after = temps(work)
        good = input_ok and target != "DAMAGED" and q.returncode == 0 and not after
        ok &= good
        print(f"kill -9 at {moment:5.1f} s: input {'intact' if input_ok else 'CHANGED'}, target {target}, "
              f"temp files left by the kill {len(left)}, after the next write {len(after)}  {'ok' if good else 'FAIL'}")
    print("all five: " + ("ok" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
