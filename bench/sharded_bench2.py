"""Sharded consolidation benchmark, torch 2.x side (bench/LightningCkpt.Bench --sharded; run by tools/torch2/python.sh).

    sharded_bench2.py make DIR      -- DIR/dcp2: a ~1.3 GB DCP folder written by torch 2.x's own dcp.save on 2 gloo
                                       ranks (40 fp32 [2048, 4096] DTensors, Shard(0) on a CPU DeviceMesh of 2: one
                                       .distcp file per rank, each tensor in two row shards)
    sharded_bench2.py dcp DIR OUT   -- torch 2.x's consolidation: torch.distributed.checkpoint.format_utils.dcp_to_torch_save
Prints {"seconds", "maxrss_bytes"} as the last line (time excludes interpreter start and imports).
torch 1.13's DCP folder (DIR/dcp, sharded_bench.py) is not readable by torch 2.x ("expected BytesStorageMetadata but found
torch.distributed._shard.checkpoint.metadata.BytesStorageMetadata"), hence a folder of its own.
"""
import datetime
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
import gloo_ranks  # noqa: E402
import timed_modes  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.distributed.checkpoint as dcp  # noqa: E402

N, ROWS, COLS, WORLD = 40, 2048, 4096, 2


def rank_main(rank, out, port):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), GLOO_SOCKET_IFNAME="lo", USE_LIBUV="0")  # Debian's torch has no libuv
    dist.init_process_group("gloo", init_method="env://", rank=rank, world_size=WORLD, timeout=datetime.timedelta(seconds=600))
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Shard, distribute_tensor
    mesh = init_device_mesh("cpu", (WORLD,))
    g = torch.Generator().manual_seed(1)
    sd = {}
    for i in range(N):
        full = torch.randn((ROWS, COLS), generator=g)  # the same on every rank: no scatter needed
        sd[f"layers.{i}.weight"] = distribute_tensor(full, mesh, [Shard(0)], src_data_rank=None)
    sd["epoch"] = 3
    dcp.save(sd, checkpoint_id=out)
    dist.barrier()
    dist.destroy_process_group()


def make(work):
    out = os.path.join(work, "dcp2")
    if os.path.exists(os.path.join(out, ".metadata")):
        return
    gloo_ranks.run_ranks(rank_main, (out,), WORLD, 900)


def consolidate(src, out):
    from torch.distributed.checkpoint.format_utils import dcp_to_torch_save
    dcp_to_torch_save(src, out)


if __name__ == "__main__":
    timed_modes.main(make, {"dcp": consolidate})
