#!/usr/bin/python3
"""The torch side of the LightningCkpt benchmark (run by bench/LightningCkpt.Bench under torch 1.13 and torch 2.x).

    bench_torch.py make DIR            writes DIR/bench_a.ckpt and its perturbed twin DIR/bench_b.ckpt (~1.3 GB each)
    bench_torch.py load A [N]          torch.load
    bench_torch.py stats A [N]         torch.load + min/max/mean/std of every state_dict tensor (as double); A may be a weights file
    bench_torch.py compare A B [N]     torch.load both + per tensor max|a-b| and allclose, over every tensor
    bench_torch.py half A OUT [N]      torch.load + the first half of the state_dict, "model." stripped + torch.save
    bench_torch.py cast A OUT [N]      torch.load + every state_dict tensor .to(bfloat16) + torch.save
    bench_torch.py upcast A OUT [N]    torch.load + every tensor of a weights file .to(float32) + torch.save
    bench_torch.py merge A B OUT [N]   torch.load both + state_dict average (float64 accumulation, cast back) + torch.save; weights files too
    bench_torch.py hash A [N]          torch.load + SHA-256 (hashlib) of every state_dict tensor's bytes, and its statistics
    bench_torch.py many DIR [N]        torch.load every DIR/*.ckpt and read its ModelCheckpoint current_score
    bench_torch.py make_many DIR K     writes K small Lightning-shaped checkpoints (plain-data hyper-parameters) into DIR
Each recipe is the best one the running torch has. torch 2.x: torch.load(mmap=True, weights_only=True) (no copy of the
tensor bytes; pages are read when touched), torch.set_num_threads(os.cpu_count()), reductions in the tensor's own dtype
(float32 here; LightningCkpt's statistics are float64-exact, torch's float32 reductions are not), hashlib over the
mmap'd bytes. torch 1.13 has no mmap: torch.load reads every byte, statistics in float64 as before.
Timed the way LightningCkpt is timed: one untimed warm-up run in the same process (imports, allocator, page cache),
then the best of N runs (default 3). Each timing mode prints one JSON line: {"seconds": best, "maxrss_bytes": n}.
"""
import glob
import hashlib
import json
import os
import resource
import sys
import time
from collections import OrderedDict

import torch

TORCH2 = int(torch.__version__.split(".")[0]) >= 2
if TORCH2:
    torch.set_num_threads(os.cpu_count() or 1)

LAYERS, D, FF, VOCAB = 12, 768, 3072, 32000


def model_state(g):
    sd = OrderedDict()

    def p(name, *shape):
        sd[name] = torch.randn(*shape, generator=g) * 0.02

    p("model.embed.weight", VOCAB, D)
    p("model.pos.weight", 1024, D)
    for i in range(LAYERS):
        pre = "model.layers.%d." % i
        p(pre + "attn.qkv.weight", 3 * D, D); p(pre + "attn.qkv.bias", 3 * D)
        p(pre + "attn.out.weight", D, D); p(pre + "attn.out.bias", D)
        p(pre + "ln1.weight", D); p(pre + "ln1.bias", D)
        p(pre + "mlp.fc1.weight", FF, D); p(pre + "mlp.fc1.bias", FF)
        p(pre + "mlp.fc2.weight", D, FF); p(pre + "mlp.fc2.bias", D)
        p(pre + "ln2.weight", D); p(pre + "ln2.bias", D)
    p("model.ln_f.weight", D); p("model.ln_f.bias", D)
    return sd


def checkpoint(sd, g, epoch, step):
    state = {}
    for i, (k, v) in enumerate(sd.items()):
        state[i] = {"step": torch.tensor(float(step)),
                    "exp_avg": torch.randn(v.shape, generator=g) * 1e-3,
                    "exp_avg_sq": torch.rand(v.shape, generator=g) * 1e-6}
    return {
        "epoch": epoch,
        "global_step": step,
        "pytorch-lightning_version": "2.1.0",
        "state_dict": sd,
        "loops": {"fit_loop": {"epoch_progress": {"current": {"completed": epoch}}}},
        "callbacks": {"ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min'}": {
            "monitor": "val_loss", "best_model_score": torch.tensor(0.25), "best_model_path": "/tmp/x.ckpt",
            "current_score": torch.tensor(0.25), "dirpath": "/tmp", "best_k_models": {}, "kth_best_model_path": "",
            "kth_value": torch.tensor(float("inf")), "last_model_path": ""}},
        "optimizer_states": [{"state": state, "param_groups": [
            {"lr": 3e-4, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01, "amsgrad": False,
             "params": list(range(len(sd)))}]}],
        "lr_schedulers": [],
        "hparams_name": "kwargs",
        "hyper_parameters": {"d_model": D, "layers": LAYERS, "lr": 3e-4, "vocab": VOCAB},
    }


def make(out):
    os.makedirs(out, exist_ok=True)
    a, b = os.path.join(out, "bench_a.ckpt"), os.path.join(out, "bench_b.ckpt")
    g = torch.Generator().manual_seed(0)
    sd = model_state(g)
    ck = checkpoint(sd, g, 0, 1000)
    torch.save(ck, a)
    # the twin: every weight and exp_avg perturbed, exp_avg_sq unchanged (identical bytes), later epoch
    g2 = torch.Generator().manual_seed(1)
    sd2 = OrderedDict((k, v + torch.randn(v.shape, generator=g2) * 1e-4) for k, v in sd.items())
    ck["state_dict"] = sd2
    for s in ck["optimizer_states"][0]["state"].values():
        s["exp_avg"] = s["exp_avg"] + torch.randn(s["exp_avg"].shape, generator=g2) * 1e-6
        s["step"] = torch.tensor(2000.0)
    ck["epoch"], ck["global_step"] = 1, 2000
    torch.save(ck, b)


def load(path):
    if TORCH2:
        return torch.load(path, map_location="cpu", mmap=True, weights_only=True)
    return torch.load(path, map_location="cpu")


def make_many(out, count):
    # small Lightning-shaped checkpoints (an MLP, Adam state, ModelCheckpoint state) that weights_only=True accepts
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(2)
    for i in range(count):
        sd = OrderedDict((n, torch.randn(*shape, generator=g)) for n, shape in
                         (("model.net.0.weight", (32, 16)), ("model.net.0.bias", (32,)), ("model.net.2.weight", (4, 32)), ("model.net.2.bias", (4,))))
        score = 1.0 / (1 + i)
        ck = checkpoint(sd, g, i, 10 * (i + 1))
        ck["callbacks"]["ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min'}"]["current_score"] = torch.tensor(score)
        torch.save(ck, os.path.join(out, "epoch=%d-step=%d.ckpt" % (i, 10 * (i + 1))))


def tensors(obj, path=""):
    if torch.is_tensor(obj):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from tensors(v, "%s.%s" % (path, k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from tensors(v, "%s.%d" % (path, i))


def run(mode, args):
    if mode == "load":
        load(args[0])
    elif mode == "stats":
        for v in state_dict(load(args[0])).values():
            x = v if TORCH2 and v.is_floating_point() else v.double()
            x.min(), x.max(), x.mean(), x.std()
    elif mode == "hash":
        for v in state_dict(load(args[0])).values():
            x = v if TORCH2 and v.is_floating_point() else v.double()
            x.min(), x.max(), x.mean(), x.std()
            hashlib.sha256(memoryview(v.contiguous().view(torch.uint8).numpy())).digest()
    elif mode == "many":
        for f in sorted(glob.glob(os.path.join(args[0], "*.ckpt"))):
            ck = load(f)
            for k, cb in ck.get("callbacks", {}).items():
                if k.startswith("ModelCheckpoint"):
                    float(cb["current_score"])
    elif mode == "compare":
        a = dict(tensors(load(args[0])))
        b = dict(tensors(load(args[1])))
        for k, x in a.items():
            y = b.get(k)
            if y is None or y.shape != x.shape or y.dtype != x.dtype:
                continue
            (x - y).abs().max(), torch.allclose(x, y)
    elif mode == "half":
        sd = load(args[0])["state_dict"]
        keys = list(sd.keys())[: (len(sd) + 1) // 2]
        save(OrderedDict((k[len("model."):] if k.startswith("model.") else k, sd[k]) for k in keys), args[1])
    elif mode == "cast":
        sd = load(args[0])["state_dict"]
        save(OrderedDict((k, v.to(torch.bfloat16)) for k, v in sd.items()), args[1])
    elif mode == "upcast":
        sd = state_dict(load(args[0]))
        save(OrderedDict((k, v.to(torch.float32)) for k, v in sd.items()), args[1])
    elif mode == "merge":
        sa = state_dict(load(args[0]))
        sb = state_dict(load(args[1]))
        save(OrderedDict((k, ((sa[k].double() + sb[k].double()) / 2).to(sa[k].dtype)) for k in sa), args[2])
    else:
        raise SystemExit("unknown mode " + mode)


def state_dict(ck):
    # a Lightning checkpoint's weights, or a weights file (what Select-CkptWeights and Merge-CkptWeights write) as is
    return ck["state_dict"] if "state_dict" in ck else ck


def save(obj, path):
    # flushed to disk like LightningCkpt's writer (which fsyncs before its atomic rename)
    with open(path, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())


def main():
    mode = sys.argv[1]
    if mode == "make":
        make(sys.argv[2])
        return
    if mode == "make_many":
        make_many(sys.argv[2], int(sys.argv[3]))
        return
    if mode == "version":
        print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}))
        return
    nargs = {"load": 1, "stats": 1, "hash": 1, "many": 1, "compare": 2, "half": 2, "cast": 2, "upcast": 2, "merge": 3}[mode]
    args = sys.argv[2:2 + nargs]
    repeat = int(sys.argv[2 + nargs]) if len(sys.argv) > 2 + nargs else 3
    run(mode, args)  # warm-up, untimed
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        run(mode, args)
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({"seconds": best, "maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


if __name__ == "__main__":
    main()
