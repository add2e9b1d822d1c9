"""Data-parallel training across processes and machines (torch.distributed + DDP).

One machine, N GPUs (or N CPU processes with gloo):

    torchrun --nproc_per_node=N -m specc train model.nn --backend torch

Several machines (the same command on every node; HOST is one node's address,
reachable from every node; ranks are assigned at the rendezvous):

    torchrun --nnodes=2 --nproc_per_node=8 \\
        --rdzv_backend=c10d --rdzv_endpoint=HOST:29500 \\
        -m specc train model.nn --backend torch

(docs/cli.md, "Several processes and machines", says what holds under torchrun.)

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK; TorchBackend sees them and joins
the process group itself (NCCL on CUDA, gloo on CPU). Every rank runs the same
driver on the same data and batch order; each takes an even shard of every
global batch, and the per-rank losses are scaled so DDP's gradient average is
exactly the gradient of the mean loss over the whole global batch (also when
the batch does not divide by the number of ranks). Only rank 0 writes the run
directory: the driver asks specc/ranks.py, which reads the same environment
without importing torch.
"""
from __future__ import annotations

import atexit
import contextlib
import os

from specc.ranks import local_rank, world_size  # noqa: F401  (torchrun's environment; local_rank for the backend)


def is_distributed() -> bool:
    """True when launched by torchrun (or equivalent) with more than one process."""
    return world_size() > 1


# Seconds a collective may wait for the other ranks before it fails (torch's defaults are
# 10 minutes on NCCL, 30 on gloo). A rank that died is usually noticed at once (gloo: the
# connection resets; torchrun stops the others); this bounds the cases that are not.
DEFAULT_TIMEOUT = 300.0

_finished = False  # set by finished(): this rank ended its run normally


def timeout_seconds() -> float:
    """SPECC_DIST_TIMEOUT (seconds) or DEFAULT_TIMEOUT."""
    value = os.environ.get("SPECC_DIST_TIMEOUT")
    try:
        seconds = float(value) if value else DEFAULT_TIMEOUT
    except ValueError:
        seconds = DEFAULT_TIMEOUT
    return seconds if seconds > 0 else DEFAULT_TIMEOUT


def init_process_group(device) -> None:
    """Join the process group described by the environment (idempotent)."""
    import datetime

    import torch.distributed as dist

    if dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    kwargs = {"device_id": device} if device.type == "cuda" else {}
    dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=timeout_seconds()), **kwargs)
    atexit.register(_shutdown)


def finished() -> None:
    """This rank's run ended normally (done, or a stop every rank agreed on): at exit it
    waits for the others before leaving the group."""
    global _finished
    _finished = True


def _shutdown() -> None:
    """Leave the process group at exit.

    After a normal end the ranks leave together (a barrier): one that exits while
    another is still in a collective tears gloo's threads down mid-flight. After a
    failure there is no barrier: the others are inside a gradient all-reduce that
    this rank will never join, and a barrier would keep this process alive, so
    torchrun would not see the failure until the timeout. Leaving at once makes
    their collective fail (gloo) or lets torchrun stop them.
    """
    import torch.distributed as dist

    if not dist.is_initialized():
        return
    if _finished:
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()
    else:
        with contextlib.suppress(Exception):
            dist.destroy_process_group()


def shard(start: int, stop: int, r: int, w: int) -> tuple[int, int]:
    """Rank r's slice of the global batch [start, stop): sizes differ by at most one."""
    n = stop - start
    return start + (n * r) // w, start + (n * (r + 1)) // w


def loss_scale(local: int, global_: int, w: int) -> float:
    """Factor turning a rank's mean-over-its-shard loss into one whose DDP average
    (sum over ranks / w) equals the mean over the global batch."""
    return w * local / global_


def _collective_device():
    import torch
    import torch.distributed as dist

    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def agree(flag: bool) -> bool:
    """True on every rank when it is true on any rank (e.g. an early-stop or interrupt
    decision), so no rank leaves the training loop alone and hangs the others.
    Without a process group it is `flag` itself."""
    if not is_distributed():
        return bool(flag)
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        return bool(flag)
    t = torch.tensor([1.0 if flag else 0.0], device=_collective_device())
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def all_mean(value: float) -> float:
    """The mean of `value` over the ranks (float64), the same number on every rank."""
    if not is_distributed():
        return float(value)
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        return float(value)
    t = torch.tensor([float(value)], dtype=torch.float64, device=_collective_device())
    dist.all_reduce(t)
    return float(t.item()) / dist.get_world_size()
