"""torch's load-filter-save of the first half of a checkpoint's state_dict; prints seconds=<float>."""
import sys
import time

import torch

t0 = time.perf_counter()
obj = torch.load(sys.argv[1], map_location="cpu")
sd = obj["state_dict"] if isinstance(obj, dict) and "state_dict" in obj else obj
keys = list(sd.keys())[: (len(sd) + 1) // 2]
out = {k[len("model."):] if k.startswith("model.") else k: sd[k] for k in keys}
torch.save(out, sys.argv[2])
print("seconds=%.6f" % (time.perf_counter() - t0))
