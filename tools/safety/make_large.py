"""Writes a Lightning-shaped checkpoint whose weights are ONE large float32 tensor, so that cancellation and
progress can be observed inside a single tensor.  Usage: make_large.py OUT.ckpt [GIB]  (default 1.5 GiB)."""
import sys
import torch

out = sys.argv[1]
gib = float(sys.argv[2]) if len(sys.argv) > 2 else 1.5
n = int(gib * (1 << 30)) // 4
torch.manual_seed(0)
w = torch.empty(n, dtype=torch.float32).uniform_(-1, 1)
torch.save({"epoch": 0, "global_step": 1, "pytorch-lightning_version": "1.9.0",
            "state_dict": {"layer.weight": w, "layer.bias": torch.zeros(4)}}, out)
