"""One rank of the DDP tests (run by test_distributed.py with RANK/WORLD_SIZE set).

    python ddp_worker.py OUT_DIR CASE[,CASE...]

Trains each CASE's small program as the tests' single-process reference does and
writes this rank's losses, final weights and batchnorm statistics to
<out>/<case>/rank<R>.npz (one process pair runs every case: each start costs seconds).
"""
import os
import sys
from dataclasses import dataclass

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

import torch_irbuild as irbuild  # noqa: E402
from specc.backends.torch.backend import TorchBackend  # noqa: E402
from specc.backends.torch.distributed import agree, finished  # noqa: E402
from specc.ranks import is_main_process  # noqa: E402
from specc.init import initial_params  # noqa: E402


@dataclass(frozen=True)
class Case:
    layers: tuple
    loss: str
    n: int
    batch: int
    steps: int = 12
    dtype: str | None = None  # float64: compare with single-process training to ~1e-12, not float32 rounding


CASES = {
    # batches of 7 (and a last one of 2) do not divide by 2 ranks: exercises the loss scaling
    "mlp": Case((("dense", {"units": 8}), ("tanh",), ("dense", {"units": 3}), ("softmax",)), "cross_entropy", 30, 7),
    # 29 = 4*7 + 1: the last batch leaves rank 0 without samples; mse on a dense output is not
    # fused, so the last layer is only reached through the model output
    "empty_shard": Case((("dense", {"units": 8}), ("tanh",), ("dense", {"units": 3})), "mse", 29, 7),
    # batch statistics over the global batch; the last batch of 2 gives each rank one sample
    # (normalizing 2 samples amplifies float32 rounding in the gradient: compared in float64)
    "batchnorm": Case((("dense", {"units": 8}), ("batchnorm",), ("tanh",), ("dense", {"units": 3}), ("softmax",)),
                      "cross_entropy", 30, 7, dtype="float64"),
}


def make_program(case="mlp"):
    c = CASES[case]
    return irbuild.program([4], list(c.layers), loss=c.loss, optimizer=("sgd", {"lr": 0.2, "momentum": 0.5}),
                           batch=c.batch, steps=c.steps, l2=1e-3, clip_norm=1.0)


def data(case="mlp"):
    c = CASES[case]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((c.n, 4)).astype(np.float32)
    y = rng.integers(0, 3, c.n)
    return x, (np.eye(3, dtype=np.float32)[y] if c.loss == "mse" else y)


DEVICE = os.environ.get("SPECC_TEST_DEVICE", "cpu")  # bench/gpu.sh sets cuda: the same cases over NCCL


def backend(case="mlp"):
    prog = make_program(case)
    return TorchBackend(prog, initial_params(prog), seed=0, device=DEVICE, dtype=CASES[case].dtype)


def train(backend, case="mlp"):
    c = CASES[case]
    x, y = data(case)
    backend.put_data("train", x, y)
    handles, step = [], 0
    while step < c.steps:
        backend.set_order(np.random.default_rng([1, step]).permutation(c.n))
        for start in range(0, c.n, c.batch):
            if step == c.steps:
                break
            handles.append(backend.train_step(start, min(start + c.batch, c.n), 0.2, step))
            step += 1
    return backend.losses_to_numpy(handles), backend.get_params()


if __name__ == "__main__":
    for case in sys.argv[2].split(","):
        be = backend(case)
        losses, params = train(be, case)
        os.makedirs(os.path.join(sys.argv[1], case), exist_ok=True)
        np.savez(os.path.join(sys.argv[1], case, f"rank{be.rank}.npz"), losses=losses,
                 main=np.array(is_main_process()), world=np.array(be.world), agreed=np.array(agree(be.rank == 1)),
                 **params)
    finished()  # a normal end: the ranks leave the group together (no gloo teardown mid-collective)
