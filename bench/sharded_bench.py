"""Sharded consolidation benchmark, torch side (bench/LightningCkpt.Bench --sharded).

    sharded_bench.py make DIR       -- DIR/dcp: a ~1.3 GB DCP folder written by real torch 1.13 (40 fp32 [2048, 4096]
                                       ShardedTensors, each in 4 row shards); DIR/ds: a ~1.3 GB DeepSpeed ZeRO-3 folder
                                       with 4 ranks (tests/fixtures/make_sharded.py's partition rules)
                                       (weights only); DIR/dsopt: a ~1.3 GB ZeRO-3 folder, 4 ranks, with its Adam state
                                       (14 fp32 [2048, 4096] masters + exp_avg + exp_avg_sq)
    sharded_bench.py dcp DIR OUT    -- torch's consolidation: load_state_dict into full-size tensors, torch.save
    sharded_bench.py ds DIR OUT     -- zero_to_fp32's stage-3 algorithm in plain torch (no DeepSpeed here), torch.save
    sharded_bench.py dsopt DIR OUT  -- the same for the masters and both moments, saved with torch's optimizer layout
Prints {"seconds", "maxrss_bytes"} as the last line (time excludes interpreter start and imports).
"""
import collections
import glob
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
import make_sharded as ms  # noqa: E402  (imports torch with the dataclass shim)
import timed_modes  # noqa: E402
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
        ms.ds_write(out, "ds", g, 3, 4, shapes=shapes, adam=False)
    if not os.path.exists(os.path.join(out, "dsopt", "latest")):
        n = 14
        shapes = {"groups": [[(f"layers.{i}.weight", (ROWS, COLS)) for i in range(n // 2)], [(f"layers.{i}.weight", (ROWS, COLS)) for i in range(n // 2, n)]],
                  "frozen": [("norm.weight", (3,))]}
        shapes["groups"][0].insert(0, ("embed.weight", (5, 3)))
        ms.ds_write(out, "dsopt", g, 3, 4, shapes=shapes)


def dcp(src, out):
    sd = ms.dcp_truth_load(src, None)
    torch.save(sd, out)


def cut3(flats, param_shapes):
    """zero_to_fp32's stage-3 cut: parameter p of every rank's flat at the running offset, ceil(numel/ws) each."""
    ws = len(flats)
    sd, offset = collections.OrderedDict(), 0
    for group in param_shapes:
        for name, shape in group.items():
            numel = shape.numel()
            ps = math.ceil(numel / ws)
            sd[name] = torch.cat([f.narrow(0, offset, ps) for f in flats]).narrow(0, 0, numel).view(shape).clone()
            offset += ps
    return sd


def ds(src, out, adam=False):
    tag = open(os.path.join(src, "latest")).read().strip()
    d = os.path.join(src, tag)
    optim = sorted(glob.glob(os.path.join(d, "*_optim_states.pt")), key=lambda p: int(p.split("_rank_")[1].split("_")[0]))
    osds = [torch.load(f, map_location="cpu")["optimizer_state_dict"] for f in optim]
    model = torch.load(os.path.join(d, "zero_pp_rank_0_mp_rank_00_model_states.pt"), map_location="cpu")
    sd = cut3([torch.cat(o["fp32_flat_groups"]) for o in osds], model["param_shapes"])
    for b in model["buffer_names"]:
        sd[b] = model["module"][b]
    if not adam:
        torch.save(sd, out)
        return
    inner = [o["optimizer_state_dict"] for o in osds]
    groups = len(inner[0]["param_groups"])
    moments = {k: cut3([torch.cat([i["state"][g][k] for g in range(groups)]) for i in inner], model["param_shapes"]) for k in ("exp_avg", "exp_avg_sq")}
    state, param_groups, index = {}, [], 0
    for g, shapes in enumerate(model["param_shapes"]):
        ids = []
        for name in shapes:
            state[index] = {"step": inner[0]["state"][g]["step"].clone(), "exp_avg": moments["exp_avg"][name], "exp_avg_sq": moments["exp_avg_sq"][name]}
            ids.append(index)
            index += 1
        param_groups.append(dict({k: v for k, v in inner[0]["param_groups"][g].items() if k != "params"}, params=ids, param_names=list(shapes)))
    torch.save({"module": sd, "optimizer": {"state": state, "param_groups": param_groups}}, out)


def dsopt(src, out):
    ds(src, out, adam=True)


if __name__ == "__main__":
    timed_modes.main(make, {"dcp": dcp, "ds": ds, "dsopt": dsopt})
