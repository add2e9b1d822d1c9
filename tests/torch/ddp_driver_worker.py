"""One rank of the driver-level DDP tests, started by torchrun (test_distributed_driver.py).

    torchrun --nproc_per_node=2 ddp_driver_worker.py OUT_DIR CASE[,CASE...]

Runs the shared driver (specc.driver.Trainer) with the torch backend on CPU and
writes this rank's result to <out>/<case>/result<R>.npz. CASE:
  plain       batchnorm + early stopping, as in one process
  skewed_val  each rank sees a different validation loss (as ranks with their own
              batchnorm statistics did): the early-stop decision must still be shared
  fail        rank 0 raises mid-run (a disk-full or rank-0-only check)
  accumulate  no batchnorm, batch 8 with accumulate = 2 (micro-batches, DDP's no_sync); `big` is the same
              with batch 16 and no accumulation, the one-process reference
"""
import os
import sys
import time

import numpy as np

from specc.backends.torch.backend import TorchBackend
from specc.driver import Trainer
from specc.frontend import compile_text

SPEC = """
model m {
    input p [2]
    dense(16)
    batchnorm
    tanh
    dense(2)
    softmax
}
data { source = spirals(n=200, noise=0.1); split = [0.7, 0.3, 0.0] }
train {
    loss = cross_entropy
    optimizer = sgd(lr=0.3, momentum=0.9)
    batch = 16
    epochs = 40
    early_stop = patience(2, monitor=val_loss, min_delta=0.01)
    seed = 3
}
"""
FAIL_AT_STEP = 20
DEVICE = os.environ.get("SPECC_TEST_DEVICE", "cpu")  # bench/gpu.sh sets cuda: the same cases over NCCL


class SkewedVal(TorchBackend):
    """Rank 0's validation loss keeps falling, rank 1's keeps rising (their mean is the true one)."""

    evaluations = 0

    def evaluate(self, split, batch_size):
        loss, out = super().evaluate(split, batch_size)
        self.evaluations += 1
        return loss + 0.1 * self.evaluations * (1 if self.rank == 1 else -1), out


class FailsOnRank0(TorchBackend):
    stamp = None  # file that gets the wall time of the failure (the test measures from there)

    def train_step(self, start, stop, lr, step):
        if self.rank == 0 and step == FAIL_AT_STEP:
            with open(self.stamp, "w") as f:
                f.write(repr(time.time()))
            raise OSError(28, "No space left on device")
        return super().train_step(start, stop, lr, step)


def spec_of(case):
    if case not in ("accumulate", "big"):
        return SPEC
    text = SPEC.replace("    batchnorm\n", "").replace("    early_stop = patience(2, monitor=val_loss, min_delta=0.01)\n", "")
    text = text.replace("epochs = 40", "epochs = 3")
    return text.replace("batch = 16", "batch = 8\n    accumulate = 2") if case == "accumulate" else text


def main(out, case):
    backend = {"plain": TorchBackend, "skewed_val": SkewedVal, "fail": FailsOnRank0, "accumulate": TorchBackend,
               "big": TorchBackend}[case]
    rank = int(os.environ.get("RANK", "0"))
    out = os.path.join(out, case)
    os.makedirs(out, exist_ok=True)
    FailsOnRank0.stamp = os.path.join(out, "failed_at")
    result = Trainer(compile_text(spec_of(case)), backend=backend, out=os.path.join(out, "run"),
                     options={"device": DEVICE, "dtype": "float64"}).run()
    np.savez(os.path.join(out, f"result{rank}.npz"), epochs=np.array(result.epochs),
             stopped_early=np.array(result.stopped_early), **result.params)


if __name__ == "__main__":
    with open(os.path.join(sys.argv[1], f"pid{os.environ.get('RANK', '0')}"), "w") as f:
        f.write(str(os.getpid()))  # so a hung test can stop this process
    for name in sys.argv[2].split(","):
        main(sys.argv[1], name)
