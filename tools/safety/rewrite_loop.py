"""Rewrites a Lightning-shaped checkpoint in place with torch.save, again and again, as training rewrites last.ckpt
every epoch (torch.save(obj, path) truncates the file and writes it anew, same inode).
Usage: rewrite_loop.py PATH SIZE_MB STOP_FILE   - runs until STOP_FILE exists, then prints the number of saves."""
import os
import sys
import time
import torch

path, size_mb, stop = sys.argv[1], float(sys.argv[2]), sys.argv[3]
n = int(size_mb * (1 << 20)) // 4
torch.manual_seed(0)
big = torch.randn(n // 2)
state = {f"model.layer{i}.weight": torch.randn(n // 8) for i in range(4)}
saves = 0
while not os.path.exists(stop):
    state["model.big.weight"] = big + saves          # new values each epoch
    torch.save({"epoch": saves, "global_step": 10 * saves, "pytorch-lightning_version": "1.9.0",
                "state_dict": state, "callbacks": {"ModelCheckpoint": {"best_model_score": torch.tensor(0.5)}}}, path)
    saves += 1
    time.sleep(0.05)
print(saves)
