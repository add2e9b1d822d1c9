"""One rank of the 2-process DDP test (run by test_distributed.py with RANK/WORLD_SIZE set).

Trains the same small program as the test's single-process reference and writes
this rank's losses and final weights to <out>/rank<R>.npz.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

import torch_irbuild as irbuild  # noqa: E402
from specc.backends.torch.backend import TorchBackend  # noqa: E402
from specc.backends.torch.distributed import agree, is_main_process  # noqa: E402
from specc.init import initial_params  # noqa: E402

N, BATCH, STEPS = 30, 7, 12  # batches of 7 (and a last one of 2) do not divide by 2 ranks

SPECS = [("dense", {"units": 8}), ("tanh",), ("dense", {"units": 3}), ("softmax",)]


def make_program():
    return irbuild.program([4], SPECS, loss="cross_entropy", optimizer=("sgd", {"lr": 0.2, "momentum": 0.5}),
                           batch=BATCH, steps=STEPS, l2=1e-3, clip_norm=1.0)


def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((N, 4)).astype(np.float32), rng.integers(0, 3, N)


def train(backend):
    x, y = data()
    backend.put_data("train", x, y)
    handles, step = [], 0
    while step < STEPS:
        backend.set_order(np.random.default_rng([1, step]).permutation(N))
        for start in range(0, N, BATCH):
            if step == STEPS:
                break
            handles.append(backend.train_step(start, min(start + BATCH, N), 0.2, step))
            step += 1
    return backend.losses_to_numpy(handles), backend.get_params()


if __name__ == "__main__":
    prog = make_program()
    be = TorchBackend(prog, initial_params(prog), seed=0, device="cpu")
    losses, params = train(be)
    np.savez(os.path.join(sys.argv[1], f"rank{be.rank}.npz"), losses=losses, main=np.array(is_main_process()),
             world=np.array(be.world), agreed=np.array(agree(be.rank == 1)), **params)
