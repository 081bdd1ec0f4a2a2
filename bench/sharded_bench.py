"""Sharded consolidation benchmark, torch side (bench/LightningCkpt.Bench --sharded).

    sharded_bench.py make DIR       -- DIR/dcp: a ~1.3 GB DCP folder written by real torch 1.13 (40 fp32 [2048, 4096]
                                       ShardedTensors, each in 4 row shards); DIR/ds: a ~1.3 GB DeepSpeed ZeRO-3 folder
                                       with 4 ranks (tests/fixtures/make_sharded.py's partition rules)
    sharded_bench.py dcp DIR OUT    -- torch's consolidation: load_state_dict into full-size tensors, torch.save
    sharded_bench.py ds DIR OUT     -- zero_to_fp32's stage-3 algorithm in plain torch (no DeepSpeed here), torch.save
Prints {"seconds", "maxrss_bytes"} as the last line (time excludes interpreter start and imports).
"""
import collections
import glob
import json
import math
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
import make_sharded as ms  # noqa: E402  (imports torch with the dataclass shim)
import torch  # noqa: E402

N, ROWS, COLS = 40, 2048, 4096


def make(out):
    g = torch.Generator().manual_seed(1)
    if not os.path.exists(os.path.join(out, "dcp", ".metadata")):
        specs = collections.OrderedDict()
        for i in range(N):
            full = torch.randn((ROWS, COLS), generator=g)
            specs[f"layers.{i}.weight"] = (full, ms.row_boxes((ROWS, COLS), [ROWS // 4, ROWS // 2, 3 * ROWS // 4]))
        ms.dcp_sharded(out, "dcp", {"epoch": 3}, specs, single_file=False)
        specs = None
    if not os.path.exists(os.path.join(out, "ds", "latest")):
        shapes = {"groups": [[(f"layers.{i}.weight", (ROWS, COLS)) for i in range(N // 2)], [(f"layers.{i}.weight", (ROWS, COLS)) for i in range(N // 2, N)]],
                  "frozen": [("norm.weight", (3,))]}
        shapes["groups"][0].insert(0, ("embed.weight", (5, 3)))
        ms.ds_write(out, "ds", g, 3, 4, shapes=shapes)


def dcp(src, out):
    sd = ms.dcp_truth_load(src, None)
    torch.save(sd, out)


def ds(src, out):
    tag = open(os.path.join(src, "latest")).read().strip()
    d = os.path.join(src, tag)
    optim = sorted(glob.glob(os.path.join(d, "*_optim_states.pt")), key=lambda p: int(p.split("_rank_")[1].split("_")[0]))
    flats = [torch.cat(torch.load(f, map_location="cpu")["optimizer_state_dict"]["fp32_flat_groups"]) for f in optim]
    model = torch.load(os.path.join(d, "zero_pp_rank_0_mp_rank_00_model_states.pt"), map_location="cpu")
    ws = len(flats)
    sd, offset = collections.OrderedDict(), 0
    for group in model["param_shapes"]:
        for name, shape in group.items():
            numel = shape.numel()
            ps = math.ceil(numel / ws)
            sd[name] = torch.cat([f.narrow(0, offset, ps) for f in flats]).narrow(0, 0, numel).view(shape).clone()
            offset += ps
    for b in model["buffer_names"]:
        sd[b] = model["module"][b]
    torch.save(sd, out)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "make":
        make(sys.argv[2])
        sys.exit(0)
    t0 = time.perf_counter()
    {"dcp": dcp, "ds": ds}[mode](sys.argv[2], sys.argv[3])
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
